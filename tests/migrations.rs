//! A SQLite database written before the event log was split into ids and
//! blocks (schema version 2) opens, migrates, and keeps every event: the
//! log reads back whole and a retried event is still a duplicate.

mod common;

use common::{TestDatabase, fixture_lines, fixture_now};
use reportstats::domain::{Event, Position};
use reportstats::storage::{self, LogCursor};

const SCHEMA_2: [&str; 2] = [
    include_str!("../src/storage/sqlite/migrations/0001_initial.sql"),
    include_str!("../src/storage/sqlite/migrations/0002_signature_tokens.sql"),
];

/// The fixture's events, each id once (the fixture repeats some, as a
/// retrying client would; the log keeps the first).
fn fixture_events() -> Vec<Event> {
    let mut seen = std::collections::HashSet::new();
    fixture_lines()
        .iter()
        .map(|line| Event::parse(line, Position::Line(1), fixture_now()).unwrap())
        .filter(|event| seen.insert(event.id.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_log_of_schema_2_moves_into_blocks_and_still_deduplicates() {
    let database = TestDatabase::sqlite();
    let path = database.url.strip_prefix("sqlite://").unwrap().to_owned();
    let events = fixture_events();
    {
        let mut old = rusqlite::Connection::open(&path).unwrap();
        let transaction = old.transaction().unwrap();
        for migration in SCHEMA_2 {
            transaction.execute_batch(migration).unwrap();
        }
        transaction
            .execute(
                "INSERT INTO workspaces (workspace_id, name, created_at, version) VALUES (1, 'acme', 0, 1)",
                [],
            )
            .unwrap();
        for event in &events {
            transaction
                .execute(
                    "INSERT INTO events (workspace_id, event_id, body) VALUES (1, ?1, ?2)",
                    (event.id.as_str(), event.to_json()),
                )
                .unwrap();
        }
        transaction.pragma_update(None, "user_version", 2).unwrap();
        transaction.commit().unwrap();
    }

    let store = database.open().await;
    assert!(store.schema_version().await.unwrap() > 2);
    let mut expected = events.clone();
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(store.event_log(1).await.unwrap(), expected);

    // Walked a few events at a time, the log gives each event once.
    let mut walked = Vec::new();
    let mut from: Option<LogCursor> = None;
    loop {
        let page = store.read_log(1, from.as_ref(), 50).await.unwrap();
        assert!(page.events.len() <= 50);
        walked.extend(page.events);
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    walked.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(walked, expected);

    let again = storage::ingest(store.as_ref(), 1, events.clone())
        .await
        .unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, events.len() as u64));

    let new = Event::parse(
        r#"{"id":"after-migration","type":"report_viewed","report_id":1}"#,
        Position::Line(1),
        fixture_now(),
    )
    .unwrap();
    let stored = storage::ingest(store.as_ref(), 1, vec![new.clone()])
        .await
        .unwrap();
    assert_eq!(stored.accepted, 1);
    assert!(store.event_log(1).await.unwrap().contains(&new));
}
