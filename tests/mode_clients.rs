//! Mode's own clients against reportstats: the Python half of the suite
//! (tests/python), run by pytest in a virtualenv made from
//! tests/python/requirements*.txt. It covers the `mode-sdk` package,
//! Amundsen's `ModeDashboardUsageExtractor`, the seed page's curl and Python
//! examples, and the OpenAPI document's validity, on both backends.
//!
//! The virtualenv is made once per requirements file, under cargo's target
//! directory, so later runs start at once. Making it needs `python3` and
//! PyPI.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A virtualenv with the pinned requirements, named after their hash.
fn virtualenv(requirements: &Path, without_dependencies: &Path) -> PathBuf {
    use sha2::{Digest, Sha256};
    let mut pins = std::fs::read(requirements).unwrap();
    pins.extend(std::fs::read(without_dependencies).unwrap());
    let name = format!("python-{}", &hex::encode(Sha256::digest(&pins))[..12]);
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin/python");
    if !venv.join("ready").exists() {
        let _ = std::fs::remove_dir_all(&venv);
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(requirements));
        run(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "-r",
            ])
            .arg(without_dependencies));
        std::fs::write(venv.join("ready"), "").unwrap();
    }
    venv
}

#[test]
fn mode_clients_work_against_reportstats_by_changing_only_the_base_url() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tests = root.join("tests/python");
    let venv = virtualenv(
        &tests.join("requirements.txt"),
        &tests.join("requirements-no-deps.txt"),
    );
    let mut pytest = Command::new(venv.join("bin/python"));
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"])
        .arg(&tests)
        .env("REPORTSTATS_BIN", env!("CARGO_BIN_EXE_reportstats"))
        .env("REPORTSTATS_FIXTURES", common::fixtures_dir());
    let output = pytest.output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "pytest failed:\n{report}");
    // Without PostgreSQL the PostgreSQL cases are skipped; say so.
    if report.contains("skipped") {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{report}");
    }
}
