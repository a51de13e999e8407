//! The shared fixture stream must produce exactly the expected statistics,
//! however it arrives.

#[macro_use]
mod common;

use common::binary::reportstats;
use common::{TestApp, TestDatabase, fixture_expected, fixture_lines};
use serde_json::Value;

async fn assert_fixture_stats(app: &TestApp, credentials: &common::Credentials) {
    for include_all in [false, true] {
        let query = if include_all {
            "?include_spaces=all"
        } else {
            ""
        };
        let rows = app.all_report_stats(credentials, query).await;
        assert_eq!(
            Value::Array(rows),
            fixture_expected(include_all),
            "include_spaces=all: {include_all}"
        );
    }
}

async fn fixture_as_one_ndjson_batch_gives_the_expected_stats(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let lines = fixture_lines();
    let body = app.post_ndjson_ok(&credentials, &lines).await;
    // The fixture repeats some events verbatim, as a retrying client would.
    let unique: std::collections::HashSet<String> = lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["id"].to_string())
        .collect();
    assert_eq!(body["accepted"], unique.len() as u64);
    assert_eq!(body["duplicates"], (lines.len() - unique.len()) as u64);
    assert_fixture_stats(&app, &credentials).await;
}

async fn fixture_as_a_json_array_gives_the_expected_stats(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let body = format!("[{}]", fixture_lines().join(","));
    let response = app
        .post_events(&credentials, "application/json", body)
        .await;
    assert_eq!(response.status(), 200);
    assert_fixture_stats(&app, &credentials).await;
}

async fn fixture_reversed_in_small_batches_and_sent_twice_gives_the_expected_stats(
    database: TestDatabase,
) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let mut lines = fixture_lines();
    lines.reverse();
    for batch in lines.chunks(7) {
        app.post_ndjson_ok(&credentials, batch).await;
    }
    let again = app.post_ndjson_ok(&credentials, &lines).await;
    assert_eq!(again["accepted"], 0);
    assert_eq!(again["duplicates"], lines.len() as u64);
    assert_fixture_stats(&app, &credentials).await;
}

async fn fixture_read_seven_rows_at_a_time_gives_the_expected_stats(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    app.post_ndjson_ok(&credentials, &fixture_lines()).await;
    for include_all in [false, true] {
        let query = if include_all {
            "?per_page=7&include_spaces=all"
        } else {
            "?per_page=7"
        };
        let rows = app.all_report_stats(&credentials, query).await;
        assert_eq!(Value::Array(rows), fixture_expected(include_all));
    }
}

async fn fixture_through_the_import_command_gives_the_expected_stats(database: TestDatabase) {
    let created = reportstats(&database.url)
        .args(["workspace", "create", "acme", "--json"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let key: Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(key["workspace"], "acme");

    let fixture = common::fixtures_dir().join("small.ndjson");
    let imported = reportstats(&database.url)
        .args(["import", "--workspace", "acme"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let summary = String::from_utf8(imported.stdout).unwrap();
    assert!(
        summary.starts_with("Imported 226 events into `acme`: 216 new, 10 duplicates"),
        "{summary}"
    );

    // Read back through a server on the same file, with the fixture clock.
    let app = TestApp::spawn_with(database, Default::default()).await;
    let credentials = common::Credentials {
        workspace: app
            .store
            .workspace(&reportstats::domain::WorkspaceName::parse("acme").unwrap())
            .await
            .unwrap()
            .unwrap(),
        token: key["token"].as_str().unwrap().to_owned(),
        secret: key["secret"].as_str().unwrap().to_owned(),
    };
    assert_fixture_stats(&app, &credentials).await;
}

async fn an_import_with_a_bad_line_stores_nothing_and_names_the_line(database: TestDatabase) {
    let created = reportstats(&database.url)
        .args(["workspace", "create", "acme"])
        .output()
        .unwrap();
    assert!(created.status.success());

    let mut lines = fixture_lines();
    lines.insert(
        100,
        r#"{"id":"bad","type":"report_viewed","report_id":"1001"}"#.to_owned(),
    );
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("events.ndjson");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let imported = reportstats(&database.url)
        .args(["import", "--workspace", "acme"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!imported.status.success());
    let stderr = String::from_utf8(imported.stderr).unwrap();
    assert!(
        stderr.contains("line 101: `report_id` must be an integer, got a string"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was stored"), "{stderr}");

    let store = database.open().await;
    let workspace = store
        .workspace(&reportstats::domain::WorkspaceName::parse("acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(store.event_log(workspace.id).await.unwrap().is_empty());
}

on_every_backend!(
    fixture_as_one_ndjson_batch_gives_the_expected_stats,
    fixture_as_a_json_array_gives_the_expected_stats,
    fixture_reversed_in_small_batches_and_sent_twice_gives_the_expected_stats,
    fixture_read_seven_rows_at_a_time_gives_the_expected_stats,
    fixture_through_the_import_command_gives_the_expected_stats,
    an_import_with_a_bad_line_stores_nothing_and_names_the_line,
);
