//! The rebuild against the triggers and PostgreSQL's grouped statements.

use rusqlite::types::Value;

use super::*;
use crate::domain::{Timestamp, WorkspaceName};
use crate::storage::sqlite::SqliteStore;
use crate::storage::sqlite::folding::tests::chunks_of_activity;
use crate::storage::{ApiKeyRecord, Store};

/// The tables of sums, and how many columns of each are its key.
const SUMS: [(&str, usize); 7] = [
    ("space_days", 3),
    ("space_viewer_days", 4),
    ("viewer_days", 3),
    ("viewer_latest", 2),
    ("scope_days", 3),
    ("space_reports", 3),
    ("report_viewers", 3),
];

/// `sums` without the rows whose counts are all zero: what the triggers
/// leave of a viewer, a date or a space no longer counted, and a
/// rebuild does not make.
fn counted(sums: &[(&'static str, Vec<Vec<Value>>)]) -> Vec<(&'static str, Vec<Vec<Value>>)> {
    sums.iter()
        .map(|(table, rows)| {
            let key = SUMS
                .iter()
                .find(|(name, _)| name == table)
                .map_or(usize::MAX, |(_, key)| *key);
            let rows = rows
                .iter()
                .filter(|row| {
                    row.len() <= key || row[key..].iter().any(|value| *value != Value::Integer(0))
                })
                .cloned()
                .collect();
            (*table, rows)
        })
        .collect()
}

/// Every row of the sums, and each report's `total_viewers`.
fn sums(connection: &Connection) -> Vec<(&'static str, Vec<Vec<Value>>)> {
    let tables = SUMS
        .iter()
        .map(|(table, _)| (*table, format!("SELECT * FROM {table} ORDER BY 1, 2, 3, 4")));
    let windows = (
        "report_windows",
        "SELECT report_id, total_viewers FROM report_windows ORDER BY 1".to_owned(),
    );
    tables
        .chain([windows])
        .map(|(table, sql)| {
            let mut statement = connection.prepare(&sql).unwrap();
            let width = statement.column_count();
            let rows = statement
                .query_map([], |row| (0..width).map(|column| row.get(column)).collect())
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            (table, rows)
        })
        .collect()
}

fn mark(connection: &Connection, workspace: WorkspaceId) {
    connection
        .execute(usage_sums::DEFER.sqlite(), [workspace])
        .unwrap();
}

/// The sums the triggers keep batch by batch (but for rows at zero),
/// PostgreSQL's grouped statements (which run on SQLite too) and this
/// rebuild, in one stretch of dates or in one a date, are the same
/// rows, over activity
/// that moves, deletes and re-creates reports and makes spaces personal
/// and not again.
#[tokio::test]
async fn the_rebuild_makes_the_rows_the_triggers_and_the_grouped_statements_make() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("sums.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
    let key = ApiKeyRecord {
        token: "sums".to_owned(),
        secret_hash: [7; 32],
        created_at: now,
        revoked_at: None,
    };
    let acme = WorkspaceName::parse("acme").unwrap();
    let workspace = store.create_workspace(&acme, &key, now).await.unwrap().id;
    for chunk in chunks_of_activity() {
        crate::storage::ingest(&store, workspace, chunk.events)
            .await
            .unwrap();
    }
    drop(store);

    let connection = Connection::open(&path).unwrap();
    let kept = sums(&connection);
    let rows: usize = kept.iter().map(|(_, rows)| rows.len()).sum();
    assert!(rows > 10_000, "{rows} rows");
    assert!(
        kept[4].1.iter().any(|row| row[2] == Value::Integer(1)),
        "no personal scope: {:?}",
        kept[4].1
    );

    mark(&connection, workspace);
    for statement in usage_sums::rebuild_statements() {
        connection.execute(statement.sqlite(), [workspace]).unwrap();
    }
    let grouped = sums(&connection);
    assert!(grouped == counted(&kept), "the grouped statements differ");

    for stretch_rows in [STRETCH_ROWS, 1] {
        mark(&connection, workspace);
        let transaction = connection.unchecked_transaction().unwrap();
        rebuild_in_stretches(&transaction, workspace, stretch_rows).unwrap();
        transaction.commit().unwrap();
        assert!(
            sums(&connection) == grouped,
            "the rebuild in stretches of {stretch_rows} rows differs"
        );
    }
    assert!(
        connection
            .db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER)
            .unwrap(),
        "the triggers are off"
    );
}

#[test]
fn stretches_cover_every_date_once_in_order() {
    let days: BTreeMap<(i64, u32), [i64; 4]> = [(-3, 5), (0, 2), (0, 2), (4, 9), (7, 1)]
        .iter()
        .enumerate()
        .map(|(space, (day, views))| ((*day, space as u32), [*views, 0, 0, 0]))
        .collect();
    assert_eq!(stretches(&days, 100), [i64::MIN..=i64::MAX]);
    assert_eq!(
        stretches(&days, 9),
        [i64::MIN..=3, 4..=6, 7..=i64::MAX],
        "a date above the bound stands alone"
    );
    assert_eq!(
        stretches(&days, 1),
        [i64::MIN..=-1, 0..=3, 4..=6, 7..=i64::MAX]
    );
    assert_eq!(stretches(&BTreeMap::new(), 1), [i64::MIN..=i64::MAX]);
}
