//! Mode's own clients against reportstats: the Python half of the suite
//! (tests/python), run by pytest in the suite's virtualenv
//! (`common::python`). It covers every Discovery method of the `mode-sdk`
//! package, all nine of Amundsen's Mode extractors (with
//! `include_all_space` on and off), Mode's REST paths those clients follow,
//! the seed page's curl and Python examples, and the OpenAPI document's
//! validity, on both backends. Their answers are checked against an
//! independent reading of the SPEC (tests/python/reference.py).
//!
//! Once the virtualenv exists the run needs no network: the Python tests
//! refuse any connection beyond this machine. Without `python3` or PyPI to
//! make the virtualenv, this test fails and says which.

use std::process::Command;

mod common;

#[test]
fn mode_clients_work_against_reportstats_by_changing_only_the_base_url() {
    let tests = common::python::tests_dir();
    let venv = common::python::virtualenv();
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
