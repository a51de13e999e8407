//! Findings of issue 18's adversarial review about data and the command
//! line, each checked the way it was found: database URLs in messages.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use reportstats::storage;

fn reportstats() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_reportstats"));
    command
        .env_remove("REPORTSTATS_DATABASE_URL")
        .env("RUST_LOG", "warn");
    command
}

/// Runs `command` to its end, or kills it after `limit` and fails the test:
/// the findings here were commands that never ended.
fn run_within(command: &mut Command, limit: Duration) -> Output {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(limit) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("{command:?} was still running after {limit:?}");
        }
    }
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
// ---------------------------------------------------------------------------
// Finding 12: database URLs in messages.

#[test]
fn no_message_about_a_database_shows_its_password() {
    for url in [
        "mysql://admin:hunter2@db.example/reportstats",
        "postgres://app:hunter2@127.0.0.1:notaport/reportstats",
        "postgres://app@127.0.0.1:notaport/reportstats?password=hunter2",
    ] {
        let output = run_within(
            reportstats().args(["--database-url", url, "migrate"]),
            Duration::from_secs(20),
        );
        let said = stderr_of(&output);
        assert!(!output.status.success(), "{url}: {said}");
        assert!(!said.contains("hunter2"), "{said}");
        assert!(
            said.contains("***"),
            "the message still names the database: {said}"
        );
    }
    let help = run_within(
        reportstats()
            .env("REPORTSTATS_DATABASE_URL", "postgres://app:hunter2@db/x")
            .args(["migrate", "--help"]),
        Duration::from_secs(20),
    );
    assert!(help.status.success());
    assert!(!String::from_utf8_lossy(&help.stdout).contains("hunter2"));
}

#[tokio::test]
async fn opening_a_database_fails_without_showing_its_password() {
    let error = storage::open("mysql://admin:hunter2@db.example/x")
        .await
        .err()
        .unwrap();
    let shown = format!("{error:#} {error:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("mysql://admin:***@db.example/x"), "{shown}");
}
