//! Older SQLite databases open, migrate, and keep what they held: one
//! written before the event log was split into ids and blocks (schema
//! version 2) keeps every event, and one whose reports were a rowid table
//! (schema version 4) keeps every statistic, and one whose event ids were
//! keyed by workspace first (schema version 6) still knows every id it
//! stored, in each workspace apart, and one whose queries were keyed by
//! token (schema version 8) lists them as before.

mod common;

use std::collections::BTreeSet;

use common::{TestDatabase, create_workspace, fixture_lines, fixture_now};
use reportstats::domain::listings::derived_id;
use reportstats::domain::state::Changes;
use reportstats::domain::stats::SpaceFilter;
use reportstats::domain::{Event, Position, Timestamp};
use reportstats::storage::rows::SqlValue;
use reportstats::storage::schema::table_rows;
use reportstats::storage::{self, LogCursor, PageRequest, ReportStatsQuery, Store, WorkspaceId};

const SCHEMA_2: [&str; 2] = [
    include_str!("../src/storage/sqlite/migrations/0001_initial.sql"),
    include_str!("../src/storage/sqlite/migrations/0002_signature_tokens.sql"),
];

const SCHEMA_4: [&str; 4] = [
    include_str!("../src/storage/sqlite/migrations/0001_initial.sql"),
    include_str!("../src/storage/sqlite/migrations/0002_signature_tokens.sql"),
    include_str!("../src/storage/sqlite/migrations/0003_event_blocks.sql"),
    include_str!("../src/storage/sqlite/migrations/0004_listing_version.sql"),
];

const SCHEMA_6: [&str; 6] = [
    include_str!("../src/storage/sqlite/migrations/0001_initial.sql"),
    include_str!("../src/storage/sqlite/migrations/0002_signature_tokens.sql"),
    include_str!("../src/storage/sqlite/migrations/0003_event_blocks.sql"),
    include_str!("../src/storage/sqlite/migrations/0004_listing_version.sql"),
    include_str!("../src/storage/sqlite/migrations/0005_reports_without_rowid.sql"),
    include_str!("../src/storage/sqlite/migrations/0006_compressed_event_blocks.sql"),
];

const SCHEMA_8: [&str; 8] = [
    include_str!("../src/storage/sqlite/migrations/0001_initial.sql"),
    include_str!("../src/storage/sqlite/migrations/0002_signature_tokens.sql"),
    include_str!("../src/storage/sqlite/migrations/0003_event_blocks.sql"),
    include_str!("../src/storage/sqlite/migrations/0004_listing_version.sql"),
    include_str!("../src/storage/sqlite/migrations/0005_reports_without_rowid.sql"),
    include_str!("../src/storage/sqlite/migrations/0006_compressed_event_blocks.sql"),
    include_str!("../src/storage/sqlite/migrations/0007_event_ids_id_first.sql"),
    include_str!("../src/storage/sqlite/migrations/0008_queries_charts_member_activity.sql"),
];

/// Writes a database at the schema `migrations` make, with workspace 1
/// (`acme`) and what `fill` adds, as an older reportstats left it.
fn write_old_database(
    path: &str,
    migrations: &[&str],
    fill: impl FnOnce(&rusqlite::Transaction<'_>),
) {
    let mut old = rusqlite::Connection::open(path).unwrap();
    // Schema 8 derives ids in SQL with the server's function.
    old.create_scalar_function(
        "reportstats_derived_id",
        1,
        rusqlite::functions::FunctionFlags::SQLITE_UTF8,
        |context| Ok(derived_id(&context.get::<String>(0)?)),
    )
    .unwrap();
    let transaction = old.transaction().unwrap();
    for migration in migrations {
        transaction.execute_batch(migration).unwrap();
    }
    transaction
        .execute(
            "INSERT INTO workspaces (workspace_id, name, created_at, version) VALUES (1, 'acme', 0, 1)",
            [],
        )
        .unwrap();
    fill(&transaction);
    transaction
        .pragma_update(None, "user_version", migrations.len())
        .unwrap();
    transaction.commit().unwrap();
}

/// The `CREATE TABLE` statement of `table` in the SQLite file at `path`.
fn table_sql(path: &str, table: &str) -> String {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |row| row.get(0),
        )
        .unwrap()
}

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
    write_old_database(&path, &SCHEMA_2, |transaction| {
        for event in &events {
            transaction
                .execute(
                    "INSERT INTO events (workspace_id, event_id, body) VALUES (1, ?1, ?2)",
                    (event.id.as_str(), event.to_json()),
                )
                .unwrap();
        }
    });

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

/// Merges `changes` into the state tables an older schema had, with the
/// columns they had then (later schemas add some), by name.
fn fill_state(transaction: &rusqlite::Transaction<'_>, changes: &Changes) {
    for table in table_rows(changes) {
        let old_columns: BTreeSet<String> = transaction
            .prepare(&format!(
                "SELECT name FROM pragma_table_info('{}')",
                table.upsert.table
            ))
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        if old_columns.is_empty() {
            continue;
        }
        let kept: Vec<bool> = table
            .upsert
            .columns
            .iter()
            .map(|(name, _)| old_columns.contains(name))
            .collect();
        let names: Vec<&str> = table
            .upsert
            .columns
            .iter()
            .filter(|(name, _)| old_columns.contains(name))
            .map(|(name, _)| name.as_str())
            .collect();
        let placeholders = vec!["?"; names.len() + 1].join(", ");
        let sql = format!(
            "INSERT INTO {} (workspace_id, {}) VALUES ({placeholders})",
            table.upsert.table,
            names.join(", ")
        );
        let mut statement = transaction.prepare(&sql).unwrap();
        for row in table.rows {
            let values = row.into_iter().zip(&kept).filter(|(_, kept)| **kept);
            statement
                .execute(rusqlite::params_from_iter(
                    std::iter::once(SqlValue::Int(Some(1))).chain(values.map(|(v, _)| v)),
                ))
                .unwrap();
        }
    }
}

/// Both listings of a workspace, whole, for comparing two databases.
async fn listings(
    store: &dyn Store,
    workspace: WorkspaceId,
) -> Vec<(Vec<reportstats::domain::stats::ReportStat>, u64)> {
    let mut listings = Vec::new();
    for filter in [SpaceFilter::ExcludePersonal, SpaceFilter::All] {
        let page = PageRequest {
            page: 1,
            per_page: 1000,
        };
        let query = ReportStatsQuery {
            page,
            filter,
            recent_since: fixture_now().saturating_sub_days(90),
        };
        let stats = store.report_stats(workspace, query).await.unwrap();
        let reports = store.reports(workspace, page, filter).await.unwrap();
        listings.push((stats.items, reports.total_count));
    }
    listings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_of_schema_4_move_without_rowid_and_keep_their_statistics() {
    let events = fixture_events();
    let old_database = TestDatabase::sqlite();
    let path = old_database
        .url
        .strip_prefix("sqlite://")
        .unwrap()
        .to_owned();
    // The state as schema 4 held it, merged with the same upserts.
    write_old_database(&path, &SCHEMA_4, |transaction| {
        fill_state(transaction, &Changes::from_events(&events))
    });
    let migrated = old_database.open().await;
    assert!(migrated.schema_version().await.unwrap() > 4);
    let schema = table_sql(&path, "reports");
    assert!(schema.contains("WITHOUT ROWID"), "{schema}");

    let new_database = TestDatabase::sqlite();
    let new = new_database.open().await;
    let workspace = create_workspace(new.as_ref(), "acme").await.workspace.id;
    storage::ingest(new.as_ref(), workspace, events)
        .await
        .unwrap();
    let expected = listings(new.as_ref(), workspace).await;
    assert!(!expected[1].0.is_empty());
    assert_eq!(listings(migrated.as_ref(), 1).await, expected);

    // Members kept their rows and got the id the server derives (schema 8
    // computes it in SQL, with the server's own function).
    let everything = PageRequest {
        page: 1,
        per_page: 1000,
    };
    let members = migrated.members(1, everything).await.unwrap().items;
    assert!(!members.is_empty());
    for member in &members {
        assert_eq!(member.id, derived_id(&member.email), "{}", member.email);
    }
    let fresh = new.members(workspace, everything).await.unwrap().items;
    let emails = |rows: &[reportstats::domain::listings::MemberRow]| {
        rows.iter().map(|row| row.email.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        emails(&members),
        emails(&fresh),
        "the same members, in the same order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_ids_of_schema_6_are_rekeyed_and_still_deduplicate_per_workspace() {
    let database = TestDatabase::sqlite();
    let path = database.url.strip_prefix("sqlite://").unwrap().to_owned();
    write_old_database(&path, &SCHEMA_6, |transaction| {
        transaction
            .execute(
                "INSERT INTO workspaces (workspace_id, name, created_at, version) VALUES (2, 'beta', 0, 1)",
                [],
            )
            .unwrap();
        for (workspace, id) in [(1, "a"), (1, "b"), (2, "a")] {
            transaction
                .execute(
                    "INSERT INTO event_ids (workspace_id, event_id) VALUES (?1, ?2)",
                    (workspace, id),
                )
                .unwrap();
        }
    });

    let store = database.open().await;
    assert!(store.schema_version().await.unwrap() > 6);
    let schema = table_sql(&path, "event_ids");
    assert!(
        schema.contains("PRIMARY KEY (event_id, workspace_id)"),
        "{schema}"
    );
    let view = |id: &str| {
        let json = format!(r#"{{"id":"{id}","type":"report_viewed","report_id":1}}"#);
        Event::parse(&json, Position::Line(1), fixture_now()).unwrap()
    };
    let into_acme = storage::ingest(store.as_ref(), 1, vec![view("a"), view("b"), view("c")])
        .await
        .unwrap();
    assert_eq!((into_acme.accepted, into_acme.duplicates), (1, 2));
    let into_beta = storage::ingest(store.as_ref(), 2, vec![view("a"), view("b"), view("c")])
        .await
        .unwrap();
    assert_eq!((into_beta.accepted, into_beta.duplicates), (2, 1));
}

/// Queries of schema 8 (a rowid table keyed by token) move into id order
/// and list exactly as a database that ingested the same events lists them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_of_schema_8_move_into_id_order_and_list_as_before() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/discovery.ndjson"),
    )
    .unwrap();
    let received = Timestamp::parse("2026-11-20T13:45:00Z").unwrap();
    let mut seen = std::collections::HashSet::new();
    let events: Vec<Event> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| Event::parse(line, Position::Line(1), received).unwrap())
        .filter(|event| seen.insert(event.id.clone()))
        .collect();
    let old_database = TestDatabase::sqlite();
    let path = old_database
        .url
        .strip_prefix("sqlite://")
        .unwrap()
        .to_owned();
    write_old_database(&path, &SCHEMA_8, |transaction| {
        fill_state(transaction, &Changes::from_events(&events))
    });
    assert!(!table_sql(&path, "queries").contains("WITHOUT ROWID"));
    let migrated = old_database.open().await;
    assert!(migrated.schema_version().await.unwrap() > 8);
    let schema = table_sql(&path, "queries");
    assert!(schema.contains("WITHOUT ROWID"), "{schema}");

    let new_database = TestDatabase::sqlite();
    let new = new_database.open().await;
    let workspace = create_workspace(new.as_ref(), "acme").await.workspace.id;
    storage::ingest(new.as_ref(), workspace, events)
        .await
        .unwrap();
    for filter in [SpaceFilter::ExcludePersonal, SpaceFilter::All] {
        let page = PageRequest {
            page: 1,
            per_page: 1000,
        };
        let expected = new.queries(workspace, page, filter).await.unwrap();
        assert!(!expected.items.is_empty());
        let queries = migrated.queries(1, page, filter).await.unwrap();
        assert_eq!(queries.items, expected.items);
        assert_eq!(queries.total_count, expected.total_count);
        let charts = migrated.charts(1, page, filter).await.unwrap();
        assert_eq!(
            charts.items,
            new.charts(workspace, page, filter).await.unwrap().items
        );
    }
}
