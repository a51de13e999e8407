//! The Python tools the suite drives (Mode's clients, schemathesis), in a
//! virtualenv made from tests/python/requirements*.txt.
//!
//! The virtualenv is made once per set of pins, under cargo's target
//! directory, so later runs start at once. Making it needs `python3` and
//! PyPI.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python half of the suite.
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python")
}

/// Runs `command`, panicking with its output unless it succeeds.
pub fn run(command: &mut Command) {
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

/// A virtualenv with the pinned requirements, named after their hash: its
/// `bin/python` runs the tools.
pub fn virtualenv() -> PathBuf {
    use sha2::{Digest, Sha256};
    // Tests of one binary run at once, and two making the same virtualenv
    // remove each other's files: one makes it, the others wait and use it.
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _making = MAKING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let tests = tests_dir();
    let requirements = tests.join("requirements.txt");
    let without_dependencies = tests.join("requirements-no-deps.txt");
    let mut pins = std::fs::read(&requirements).unwrap();
    pins.extend(std::fs::read(&without_dependencies).unwrap());
    let name = format!("python-{}", &hex::encode(Sha256::digest(&pins))[..12]);
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin/python");
    if !venv.join("ready").exists() {
        let _ = std::fs::remove_dir_all(&venv);
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        let pip = |extra: &[&str], file: &Path| {
            let mut command = Command::new(&python);
            command
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(extra)
                .arg("-r")
                .arg(file);
            run(&mut command);
        };
        pip(&[], &requirements);
        pip(&["--no-deps"], &without_dependencies);
        std::fs::write(venv.join("ready"), "").unwrap();
    }
    venv
}
