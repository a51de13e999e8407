//! Findings of issue 18's adversarial review about data and the command
//! line, each checked the way it was found: a NUL character (U+0000) in an
//! event or a credential, `reportstats copy` from a source it cannot read or
//! from an older SQLite file holding a NUL, `reportstats import` into a
//! database that fails, and database URLs in messages.

#[macro_use]
mod common;

use std::io::{BufReader, Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{TestApp, TestDatabase, fixture_lines, fixture_now};
use reportstats::domain::{Event, Position, WorkspaceName};
use reportstats::ingest::{ImportError, import_ndjson};
use reportstats::storage::{self, Store};
use serde_json::{Value, json};

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

fn parse(json: &str) -> Event {
    Event::parse(json, Position::Line(1), fixture_now()).unwrap()
}

async fn workspace_id(store: &dyn Store, name: &str) -> Option<i64> {
    store
        .workspace(&WorkspaceName::parse(name).unwrap())
        .await
        .unwrap()
        .map(|workspace| workspace.id)
}

// ---------------------------------------------------------------------------
// Finding 1: NUL characters.

/// One event per string field, that field holding a NUL.
fn events_with_a_nul_in_each_string_field() -> Vec<(&'static str, Value)> {
    let nul = "a\u{0}b";
    vec![
        (
            "id",
            json!({"id": nul, "type": "report_viewed", "report_id": 1}),
        ),
        (
            "type",
            json!({"id": "e", "type": "report_viewed\u{0}", "report_id": 1}),
        ),
        (
            "occurred_at",
            json!({"id": "e", "type": "report_viewed", "report_id": 1,
            "occurred_at": "2026-10-01T00:00:00Z\u{0}"}),
        ),
        (
            "email",
            json!({"id": "e", "type": "member_upserted", "email": "a\u{0}@acme.com"}),
        ),
        (
            "username",
            json!({"id": "e", "type": "member_upserted", "email": "a@acme.com",
            "username": nul}),
        ),
        (
            "name",
            json!({"id": "e", "type": "member_upserted", "email": "a@acme.com", "name": nul}),
        ),
        (
            "space_token",
            json!({"id": "e", "type": "space_upserted", "space_token": nul,
            "name": "Space"}),
        ),
        (
            "description",
            json!({"id": "e", "type": "space_upserted", "space_token": "s",
            "name": "Space", "description": nul}),
        ),
        (
            "space_type",
            json!({"id": "e", "type": "space_upserted", "space_token": "s",
            "name": "Space", "space_type": "custom\u{0}"}),
        ),
        (
            "report_token",
            json!({"id": "e", "type": "report_created", "report_id": 1,
            "report_token": nul, "space_token": "s", "email": "a@acme.com", "name": "R"}),
        ),
        (
            "description",
            json!({"id": "e", "type": "report_created", "report_id": 1,
            "report_token": "r", "space_token": "s", "email": "a@acme.com", "name": "R",
            "description": nul}),
        ),
        (
            "description",
            json!({"id": "e", "type": "report_edited", "report_id": 1,
            "email": "a@acme.com", "description": "\u{0}"}),
        ),
        (
            "run_token",
            json!({"id": "e", "type": "report_run", "report_id": 1, "run_token": nul,
            "trigger": "manual", "email": "a@acme.com"}),
        ),
        (
            "trigger",
            json!({"id": "e", "type": "report_run", "report_id": 1, "run_token": "t",
            "trigger": "manual\u{0}", "email": "a@acme.com"}),
        ),
        (
            "state",
            json!({"id": "e", "type": "report_run", "report_id": 1, "run_token": "t",
            "trigger": "manual", "email": "a@acme.com", "state": "failed\u{0}"}),
        ),
        (
            "schedule_token",
            json!({"id": "e", "type": "schedule_created", "schedule_token": nul,
            "report_id": 1, "email": "a@acme.com"}),
        ),
        (
            "exploration_token",
            json!({"id": "e", "type": "exploration_created",
            "exploration_token": nul, "report_id": 1, "email": "a@acme.com"}),
        ),
    ]
}

async fn a_nul_in_any_string_field_of_an_event_is_a_400_naming_the_field(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    for (field, event) in events_with_a_nul_in_each_string_field() {
        // serde_json writes the NUL as `\u0000`, as any JSON client must.
        let line = event.to_string();
        assert!(line.contains("\\u0000"), "{line}");
        for (content_type, body) in [
            ("application/x-ndjson", line.clone()),
            ("application/json", format!("[{line}]")),
        ] {
            let response = app.post_events(&credentials, content_type, body).await;
            let status = response.status();
            let answer: Value = response.json().await.unwrap();
            assert_eq!(status, 400, "{line}: {answer}");
            assert_eq!(answer["errors"][0]["field"], field, "{line}: {answer}");
        }
    }
    let log = app.store.event_log(credentials.workspace.id).await.unwrap();
    assert!(log.is_empty(), "{log:?}");

    // Other control characters stay allowed where they were: a description
    // may span lines.
    let multiline = json!({"id": "e", "type": "space_upserted", "space_token": "s",
        "name": "Space", "description": "line one\n\tline two"});
    app.post_ndjson_ok(&credentials, &[multiline.to_string()])
        .await;
}

/// Sends `authorization` where a credential goes, expecting a 401.
async fn assert_refused(app: &TestApp, authorization: &str) {
    let response = app
        .get_with(Some(authorization), "/batch/acme/report_stats")
        .await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 401, "{authorization}: {body}");
}

async fn a_credential_or_token_holding_a_nul_is_refused_not_a_500(database: TestDatabase) {
    use base64::Engine;
    let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    assert_refused(&app, &format!("Basic {}", encode("to\u{0}ken:secret"))).await;
    assert_refused(&app, &format!("Bearer {}", encode("to\u{0}ken:key:secret"))).await;
    let response = app
        .client
        .delete(app.url("/batch/acme/signature_tokens/to%00ken"))
        .header("Authorization", credentials.basic_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// The schema of a SQLite file as reportstats 0.1 wrote it before the event
/// log was split into blocks, when descriptions could hold a NUL.
const SQLITE_SCHEMA_2: [&str; 2] = [
    include_str!("../src/storage/sqlite/migrations/0001_initial.sql"),
    include_str!("../src/storage/sqlite/migrations/0002_signature_tokens.sql"),
];

/// Two stored events with NULs in their descriptions, as an older
/// reportstats stored them (canonical JSON escapes a NUL as `\u0000`).
const NUL_EVENTS: [&str; 2] = [
    r#"{"id":"nul-space","type":"space_upserted","occurred_at":"2026-10-01T00:00:00Z","space_token":"nulspace","name":"Odd","description":"\u0000"}"#,
    r#"{"id":"nul-report","type":"report_created","occurred_at":"2026-10-01T00:00:01Z","report_id":9001,"report_token":"nulreport","space_token":"nulspace","email":"ann@acme.com","name":"Odd","description":"before\u0000after"}"#,
];

/// A SQLite file at schema version 2 holding workspace `acme`, an API key,
/// the fixture's events and [`NUL_EVENTS`], written directly.
fn write_sqlite_file_with_nul_events(path: &str) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut bodies: Vec<(String, String)> = fixture_lines()
        .iter()
        .map(|line| parse(line))
        .filter(|event| seen.insert(event.id.clone()))
        .map(|event| (event.id.to_string(), event.to_json()))
        .collect();
    for body in NUL_EVENTS {
        let id: Value = serde_json::from_str(body).unwrap();
        bodies.push((id["id"].as_str().unwrap().to_owned(), body.to_owned()));
    }
    let mut old = rusqlite::Connection::open(path).unwrap();
    let transaction = old.transaction().unwrap();
    for migration in SQLITE_SCHEMA_2 {
        transaction.execute_batch(migration).unwrap();
    }
    transaction
        .execute_batch(
            "INSERT INTO workspaces (workspace_id, name, created_at, version) VALUES (1, 'acme', 0, 1);
             INSERT INTO api_keys (workspace_id, token, secret_sha256, created_at)
             VALUES (1, 'oldkey', zeroblob(32), 0);",
        )
        .unwrap();
    for (id, body) in &bodies {
        transaction
            .execute(
                "INSERT INTO events (workspace_id, event_id, body) VALUES (1, ?1, ?2)",
                (id, body),
            )
            .unwrap();
    }
    transaction.pragma_update(None, "user_version", 2).unwrap();
    transaction.commit().unwrap();
    bodies.len()
}

async fn a_copy_from_an_older_sqlite_file_holding_nuls_drops_them_with_a_warning(
    target: TestDatabase,
) {
    let source = TestDatabase::sqlite();
    let events = write_sqlite_file_with_nul_events(source.url.strip_prefix("sqlite://").unwrap());

    let copy = || {
        run_within(
            reportstats().args(["copy", "--from", &source.url, "--to", &target.url]),
            Duration::from_secs(120),
        )
    };
    let output = copy();
    let warnings = stderr_of(&output);
    assert!(output.status.success(), "{warnings}");
    for id in ["nul-space", "nul-report"] {
        assert!(
            warnings
                .lines()
                .any(|line| line.contains(id) && line.contains("NUL")),
            "no warning names {id}: {warnings}"
        );
    }
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        said.contains(&format!("{events} events ({events} new")),
        "{said}"
    );

    let store = target.open().await;
    let acme = workspace_id(store.as_ref(), "acme").await.unwrap();
    let log = store.event_log(acme).await.unwrap();
    assert_eq!(log.len(), events);
    let copied: Vec<String> = log
        .iter()
        .filter(|event| event.id.as_str().starts_with("nul-"))
        .map(Event::to_json)
        .collect();
    assert_eq!(copied.len(), 2);
    assert!(
        copied.iter().all(|json| !json.contains("\\u0000")),
        "{copied:?}"
    );
    assert!(
        copied
            .iter()
            .any(|json| json.contains(r#""description":"beforeafter""#))
    );
    let reports = store
        .reports(
            acme,
            storage::PageRequest {
                page: 1,
                per_page: 1000,
            },
            reportstats::domain::stats::SpaceFilter::All,
        )
        .await
        .unwrap();
    let odd = reports
        .items
        .iter()
        .find(|row| row.token == "nulreport")
        .expect("the report with a NUL was copied");
    assert_eq!(odd.description.as_deref(), Some("beforeafter"));

    // Rerun, the copy finds everything there already.
    let again = copy();
    assert!(again.status.success(), "{}", stderr_of(&again));
    let said = String::from_utf8_lossy(&again.stdout).into_owned();
    assert!(said.contains(&format!("{events} events (0 new")), "{said}");
}

// ---------------------------------------------------------------------------
// Finding 8: a copy whose source cannot be read.

async fn a_copy_whose_source_fails_mid_read_ends_with_the_error_and_leaves_the_target_writable(
    target: TestDatabase,
) {
    let source = TestDatabase::sqlite();
    {
        let store = source.open().await;
        let acme = common::create_workspace(store.as_ref(), "acme").await;
        let view = |index: usize| {
            parse(&format!(
                r#"{{"id":"view-{index:05}","type":"report_viewed","report_id":{}}}"#,
                index % 50 + 1
            ))
        };
        // Two log blocks: the first fills a whole page of the copy's reads,
        // so the second, which is made unreadable, is met mid-copy.
        storage::ingest(
            store.as_ref(),
            acme.workspace.id,
            (0..10_000).map(view).collect(),
        )
        .await
        .unwrap();
        storage::ingest(
            store.as_ref(),
            acme.workspace.id,
            (10_000..12_000).map(view).collect(),
        )
        .await
        .unwrap();
    }
    rusqlite::Connection::open(source.url.strip_prefix("sqlite://").unwrap())
        .unwrap()
        .execute(
            "UPDATE event_blocks SET bodies = x'28b52ffd0011223344556677'
             WHERE block_id = (SELECT max(block_id) FROM event_blocks)",
            [],
        )
        .unwrap();

    let started = Instant::now();
    let output = run_within(
        reportstats().args(["copy", "--from", &source.url, "--to", &target.url]),
        Duration::from_secs(60),
    );
    let said = stderr_of(&output);
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains("block"),
        "the error names the unreadable block: {said}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );

    // Nothing of the workspace's log was stored, and the target takes
    // writes at once.
    let store = target.open().await;
    let acme = workspace_id(store.as_ref(), "acme").await.unwrap();
    assert!(store.event_log(acme).await.unwrap().is_empty());
    let write = storage::ingest(
        store.as_ref(),
        acme,
        vec![parse(
            r#"{"id":"after","type":"report_viewed","report_id":1}"#,
        )],
    );
    let written = tokio::time::timeout(Duration::from_secs(10), write)
        .await
        .expect("the target was still locked")
        .unwrap();
    assert_eq!(written.accepted, 1);
}

// ---------------------------------------------------------------------------
// Finding 9: an import into a database that fails.

/// Makes every write of an event into `database`'s log fail, as a full disk
/// or a lost connection would, with the message `disk on fire`.
async fn make_the_log_refuse_writes(database: &TestDatabase) {
    match database.url.strip_prefix("sqlite://") {
        Some(path) => {
            rusqlite::Connection::open(path)
                .unwrap()
                .execute_batch(
                    "CREATE TRIGGER refuse BEFORE INSERT ON event_ids
                     BEGIN SELECT raise(ABORT, 'disk on fire'); END;",
                )
                .unwrap();
        }
        None => {
            let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&database.url)
                .await
                .unwrap();
            sqlx::Executor::execute(
                &mut connection,
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                     $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$;
                 CREATE TRIGGER refuse BEFORE INSERT ON events
                     FOR EACH ROW EXECUTE FUNCTION refuse();",
            )
            .await
            .unwrap();
        }
    }
}

/// Valid NDJSON events without end, counting the lines it gave, until told
/// to stop (so that a test that fails does not read for ever).
struct EndlessEvents {
    lines: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    buffered: Vec<u8>,
    offset: usize,
}

impl Read for EndlessEvents {
    fn read(&mut self, into: &mut [u8]) -> std::io::Result<usize> {
        if self.offset == self.buffered.len() {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(0);
            }
            let line = self.lines.fetch_add(1, Ordering::Relaxed);
            self.buffered = format!(
                "{{\"id\":\"endless-{line}\",\"type\":\"report_viewed\",\"report_id\":{}}}\n",
                line % 100 + 1
            )
            .into_bytes();
            self.offset = 0;
        }
        let count = into.len().min(self.buffered.len() - self.offset);
        into[..count].copy_from_slice(&self.buffered[self.offset..self.offset + count]);
        self.offset += count;
        Ok(count)
    }
}

async fn an_import_stops_reading_and_reports_the_error_as_soon_as_the_database_fails(
    database: TestDatabase,
) {
    let store = database.open().await;
    let acme = common::create_workspace(store.as_ref(), "acme").await;
    make_the_log_refuse_writes(&database).await;

    let lines = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = BufReader::new(EndlessEvents {
        lines: lines.clone(),
        stop: stop.clone(),
        buffered: Vec::new(),
        offset: 0,
    });
    let started = Instant::now();
    let import = import_ndjson(store, acme.workspace.id, reader, fixture_now(), ());
    let result = tokio::time::timeout(Duration::from_secs(30), import).await;
    stop.store(true, Ordering::Relaxed);
    let result = result.expect("the import kept reading after the database failed");
    match result {
        Err(ImportError::Store(error)) => {
            assert!(format!("{error:#}").contains("disk on fire"), "{error:#}");
        }
        other => panic!("expected the database's error, got {other:?}"),
    }
    // The reader is at most a few chunks ahead of the writer, which failed
    // on its first or second.
    let read = lines.load(Ordering::Relaxed);
    assert!(
        read < 8 * reportstats::ingest::import::CHUNK_EVENTS as u64,
        "{read} lines read"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

async fn the_import_command_exits_with_the_database_error_while_input_keeps_coming(
    database: TestDatabase,
) {
    let store = database.open().await;
    common::create_workspace(store.as_ref(), "acme").await;
    make_the_log_refuse_writes(&database).await;

    let mut child = reportstats()
        .env("REPORTSTATS_DATABASE_URL", &database.url)
        .args(["import", "--workspace", "acme", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // `yes | reportstats import -`: input without end, until the pipe closes.
    std::thread::spawn(move || {
        for line in 0u64.. {
            let event =
                format!("{{\"id\":\"piped-{line}\",\"type\":\"report_viewed\",\"report_id\":1}}\n");
            if stdin.write_all(event.as_bytes()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the import was still running 30 s after the database failed");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut said = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    assert!(!status.success());
    assert!(said.contains("disk on fire"), "{said}");
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

on_every_backend!(
    a_nul_in_any_string_field_of_an_event_is_a_400_naming_the_field,
    a_credential_or_token_holding_a_nul_is_refused_not_a_500,
    a_copy_from_an_older_sqlite_file_holding_nuls_drops_them_with_a_warning,
    a_copy_whose_source_fails_mid_read_ends_with_the_error_and_leaves_the_target_writable,
    an_import_stops_reading_and_reports_the_error_as_soon_as_the_database_fails,
    the_import_command_exits_with_the_database_error_while_input_keeps_coming,
);
