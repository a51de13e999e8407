//! The Python tools the suite drives (Mode's clients, schemathesis), in a
//! virtualenv made from tests/python/requirements*.txt.
//!
//! The virtualenv is made once per set of pins, under cargo's target
//! directory, so later runs start at once and need no network. Making it
//! needs `python3` (3.11 or later, for mode-sdk and schemathesis) and PyPI;
//! when either is missing the tests fail saying so, rather than skipping.

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

/// Why a virtualenv could not be made, and what it takes to make one.
fn cannot_make(venv: &Path, step: &str, detail: &str) -> ! {
    panic!(
        "cannot build the Python virtualenv the suite runs Mode's clients in\n\
         ({}): {step} failed.\n{detail}\n\
         It is made once per set of pins in tests/python/requirements*.txt and needs \
         `python3` 3.11 or later (with its `venv` module) and access to PyPI that once; \
         after that the Python tests run offline. Install python3, or run once where \
         PyPI (or a mirror named by PIP_INDEX_URL) is reachable, then run the tests again.",
        venv.display()
    )
}

/// Runs one step of making `venv`, failing with [`cannot_make`].
fn make(venv: &Path, step: &str, command: &mut Command) {
    match command.output() {
        Err(error) => cannot_make(venv, step, &format!("cannot run {command:?}: {error}")),
        Ok(output) if !output.status.success() => cannot_make(
            venv,
            step,
            &format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        ),
        Ok(_) => {}
    }
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
        make(
            &venv,
            "checking that `python3` is 3.11 or later",
            Command::new("python3").args([
                "-c",
                "import sys; sys.exit(f'python3 is {sys.version.split()[0]}' \
                 if sys.version_info < (3, 11) else 0)",
            ]),
        );
        make(
            &venv,
            "`python3 -m venv`",
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
        );
        let pip = |extra: &[&str], file: &Path| {
            let mut command = Command::new(&python);
            command
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    // Without PyPI, say so in a minute rather than in five.
                    "--retries",
                    "2",
                    "--timeout",
                    "20",
                ])
                .args(extra)
                .arg("-r")
                .arg(file);
            make(
                &venv,
                &format!("`pip install -r {}`", file.display()),
                &mut command,
            );
        };
        pip(&[], &requirements);
        pip(&["--no-deps"], &without_dependencies);
        std::fs::write(venv.join("ready"), "").unwrap();
    }
    venv
}
