//! The served OpenAPI document is the contract. schemathesis reads
//! `/openapi.json` from a server holding the fixture workspace and runs
//! every check it has (`--checks all`: no server errors, documented status
//! codes, content types, headers and response schemas, schema-valid
//! requests accepted and schema-violating ones refused, credentials
//! enforced, the links between operations) against it, on each backend.
//!
//! The run is bounded by the number of cases per operation and seeded, so
//! it takes about the same half minute each time and a failure reproduces; set
//! `REPORTSTATS_CONTRACT_SEED` (and `REPORTSTATS_CONTRACT_EXAMPLES`) to
//! explore further. tests/python/schemathesis_hooks.py says what no OpenAPI
//! document can (how an NDJSON body is written, which instants the frozen
//! clock accepts).

#[macro_use]
mod common;

use std::process::Command;

use common::{FIXTURE_NOW, TestApp, TestDatabase, fixture_lines};
use reportstats::http::Settings;

const DEFAULT_SEED: &str = "18";
const DEFAULT_EXAMPLES: &str = "100";

async fn the_server_keeps_every_promise_of_its_openapi_document(database: TestDatabase) {
    // schemathesis outpaces any sensible rate limit; 429 is tested elsewhere.
    let settings = Settings {
        rate_limit_per_minute: 0,
        event_rate_limit_per_minute: 0,
        ..Settings::default()
    };
    let app = TestApp::spawn_with(database, settings).await;
    let credentials = app.create_workspace("acme").await;
    app.post_ndjson_ok(&credentials, &fixture_lines()).await;

    let seed = std::env::var("REPORTSTATS_CONTRACT_SEED").unwrap_or(DEFAULT_SEED.into());
    let examples =
        std::env::var("REPORTSTATS_CONTRACT_EXAMPLES").unwrap_or(DEFAULT_EXAMPLES.into());
    let arguments = [
        app.url("/openapi.json"),
        format!("{}:{}", credentials.token, credentials.secret),
        examples,
        seed.clone(),
    ];
    let output = tokio::task::spawn_blocking(move || schemathesis(arguments))
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis (seed {seed}) found what the document and the server disagree on:\n\
         {report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The summary, for the log of the run.
    use std::io::Write;
    let summary = report.lines().rev().take(12).collect::<Vec<_>>();
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        summary.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}

/// Runs `schemathesis run` on the document at `url` with Basic `auth`.
fn schemathesis([url, auth, examples, seed]: [String; 4]) -> std::process::Output {
    let tests = common::python::tests_dir();
    let venv = common::python::virtualenv();
    let scratch = tempfile::tempdir().unwrap();
    Command::new(venv.join("bin/schemathesis"))
        .arg("--config-file")
        .arg(tests.join("schemathesis.toml"))
        .args([
            "--no-color",
            "run",
            &url,
            "--checks",
            "all",
            "--auth",
            &auth,
        ])
        .args(["--max-examples", &examples, "--seed", &seed])
        // One worker: with two, hypothesis' reading of lambda sources in
        // threads at once sometimes fails inside CPython's `ast` ("AST
        // constructor recursion depth mismatch"), a runtime error of the tool
        // that fails the run though the server did nothing wrong.
        .args(["--workers", "1", "--request-timeout", "10"])
        .args([
            "--generation-database",
            "none",
            "--output-sanitize",
            "false",
        ])
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", &tests)
        .env("REPORTSTATS_CONTRACT_NOW", FIXTURE_NOW)
        // Hypothesis keeps its files in the working directory.
        .current_dir(scratch.path())
        .output()
        .expect("schemathesis runs")
}

on_every_backend!(the_server_keeps_every_promise_of_its_openapi_document);
