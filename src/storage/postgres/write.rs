//! The write path: a batch in one transaction, events deduplicated by the
//! log's primary key, state merged in SQL.
//!
//! Concurrency. Every merge is done by the database (`ON CONFLICT DO UPDATE`
//! with the rules of [`crate::storage::sql`]), so concurrent writers never
//! overwrite each other's work. Two servers storing the same event at once
//! both try to insert it into the log; the second waits for the first to
//! commit, then sees the conflict and counts it as a duplicate, so its
//! effects are merged exactly once. Within a batch, events and rows are
//! written in key order, table by table, so two batches lock rows in the
//! same order and cannot deadlock. A multi-chunk import cannot keep that
//! order across chunks, so it takes its workspace's advisory lock
//! exclusively, and batches take it shared: an import waits for batches in
//! flight and holds new ones back until it commits, as SQLite's single writer
//! does anyway.

use std::collections::HashSet;

use sqlx::postgres::PgPool;
use sqlx::{Postgres, Transaction};
use tokio::sync::mpsc;

use crate::domain::Event;
use crate::domain::state::Changes;
use crate::storage::listing_version::{self, BUMP_VERSION, Moved};
use crate::storage::pending::footprint;
use crate::storage::rows::SqlValue;
use crate::storage::schema::table_rows;
use crate::storage::sql::ColumnType;
use crate::storage::usage_sums;
use crate::storage::{
    EventChunk, IngestMessage, IngestSummary, StoreError, StoreResult, WorkspaceId,
};

/// How often a single batch is retried after a deadlock or serialization
/// failure (which key ordering should prevent; this is the safety net).
const BATCH_ATTEMPTS: usize = 3;

pub(super) async fn ingest_stream(
    pool: &PgPool,
    workspace: WorkspaceId,
    merge_at_bytes: usize,
    mut messages: mpsc::Receiver<IngestMessage>,
) -> StoreResult<IngestSummary> {
    let first = match messages.recv().await {
        Some(IngestMessage::Events(events)) => events,
        Some(IngestMessage::Commit) => return Ok(IngestSummary::default()),
        None => return Err(StoreError::Aborted),
    };
    match messages.recv().await {
        Some(IngestMessage::Commit) => ingest_batch(pool, workspace, &first).await,
        Some(IngestMessage::Events(second)) => {
            ingest_chunks(pool, workspace, merge_at_bytes, first, second, messages).await
        }
        None => Err(StoreError::Aborted),
    }
}

/// Batches of one workspace in one transaction (a group commit, see
/// [`crate::storage::group_commit`], or a single batch): a shared workspace
/// lock, every event into the log with one statement, their changes merged
/// once, the version bumped once; retried on a transient failure. Returns
/// each batch's summary, in the batches' order.
pub(super) async fn store_batches(
    pool: &PgPool,
    workspace: WorkspaceId,
    chunks: Vec<&EventChunk>,
) -> StoreResult<Vec<IngestSummary>> {
    let mut attempt = 1;
    loop {
        let result = async {
            let mut transaction = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
                .bind(workspace)
                .execute(&mut *transaction)
                .await?;
            let (summaries, new_events) =
                insert_events(&mut transaction, workspace, &chunks).await?;
            let changes = Changes::from_events(new_events);
            merge_changes(&mut transaction, workspace, &changes).await?;
            let accepted = summaries.iter().map(|summary| summary.accepted).sum();
            bump_version(&mut transaction, workspace, accepted, moves(&changes)).await?;
            transaction.commit().await?;
            Ok::<_, sqlx::Error>(summaries)
        }
        .await;
        match result {
            Err(error) if attempt < BATCH_ATTEMPTS && is_transient(&error) => {
                tracing::warn!(attempt, %error, "retrying batches after a transient failure");
                attempt += 1;
            }
            result => return Ok(result?),
        }
    }
}

/// One batch, as [`store_batches`] stores a group.
async fn ingest_batch(
    pool: &PgPool,
    workspace: WorkspaceId,
    chunk: &EventChunk,
) -> StoreResult<IngestSummary> {
    let summaries = store_batches(pool, workspace, vec![chunk]).await?;
    Ok(summaries[0])
}

/// A stream of chunks (an import): an exclusive workspace lock, no retry
/// (the chunks already consumed are gone; the import as a whole can be
/// rerun, since it is idempotent).
async fn ingest_chunks(
    pool: &PgPool,
    workspace: WorkspaceId,
    merge_at_bytes: usize,
    first: EventChunk,
    second: EventChunk,
    mut messages: mpsc::Receiver<IngestMessage>,
) -> StoreResult<IngestSummary> {
    let mut transaction = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(workspace)
        .execute(&mut *transaction)
        .await?;
    // The usage sums are rebuilt once at the end rather than statement by
    // statement (see `usage_sums`), once the import has stored an event (an
    // import run again, every event a duplicate, rebuilds nothing).
    let mut deferred = false;
    let mut summary = IngestSummary::default();
    // As in SQLite, changes are merged once they hold so many rows rather
    // than per chunk: each merge rewrites every row it touches (a new row version in
    // PostgreSQL, for VACUUM to collect), and a busy report is touched by
    // nearly every chunk.
    let mut pending = Changes::default();
    let mut moved = Moved::default();
    let mut received = [first, second].into_iter();
    loop {
        let chunk = match received.next() {
            Some(chunk) => chunk,
            None => match messages.recv().await {
                Some(IngestMessage::Events(chunk)) => chunk,
                Some(IngestMessage::Commit) => break,
                // Dropping the transaction rolls it back.
                None => return Err(StoreError::Aborted),
            },
        };
        let (chunk_summary, new_events) =
            insert_events(&mut transaction, workspace, &[&chunk]).await?;
        summary.accepted += chunk_summary[0].accepted;
        summary.duplicates += chunk_summary[0].duplicates;
        if summary.accepted > 0 && !deferred {
            sqlx::query(usage_sums::DEFER.postgres())
                .bind(workspace)
                .execute(&mut *transaction)
                .await?;
            deferred = true;
        }
        for event in new_events {
            pending.record(event);
        }
        if footprint(&pending) >= merge_at_bytes {
            moved |= moves(&pending);
            merge_changes(&mut transaction, workspace, &std::mem::take(&mut pending)).await?;
        }
    }
    moved |= moves(&pending);
    merge_changes(&mut transaction, workspace, &pending).await?;
    if deferred {
        for statement in usage_sums::rebuild_statements() {
            sqlx::query(statement.postgres())
                .bind(workspace)
                .execute(&mut *transaction)
                .await?;
        }
    }
    bump_version(&mut transaction, workspace, summary.accepted, moved).await?;
    transaction.commit().await?;
    Ok(summary)
}

/// Marks the workspace changed, last in the transaction (see
/// [`listing_version::version_bump`]).
async fn bump_version(
    transaction: &mut Transaction<'static, Postgres>,
    workspace: WorkspaceId,
    accepted: u64,
    moved: Moved,
) -> Result<(), sqlx::Error> {
    if let Some(params) = listing_version::version_bump(workspace, accepted, moved) {
        super::read::bind(sqlx::query(BUMP_VERSION.postgres()), &params)
            .execute(&mut **transaction)
            .await?;
    }
    Ok(())
}

fn is_transient(error: &sqlx::Error) -> bool {
    // 40P01 deadlock_detected, 40001 serialization_failure.
    matches!(error, sqlx::Error::Database(database)
        if matches!(database.code().as_deref(), Some("40P01" | "40001")))
}

/// What merging `changes` can move: reports already listed (writers here
/// run concurrently: see [`listing_version::reorders_for_concurrent_writers`]),
/// and the queries and charts listings.
fn moves(changes: &Changes) -> Moved {
    Moved {
        reports: listing_version::reorders_for_concurrent_writers(changes),
        catalog: listing_version::moves_catalog(changes),
    }
}

/// Appends the chunks' events to the log with one statement; returns each
/// chunk's summary and the events not stored before. Of several events with
/// one id the first wins, as in SQLite: the earlier chunk's, or within a
/// chunk the earlier line's.
async fn insert_events<'e>(
    transaction: &mut Transaction<'static, Postgres>,
    workspace: WorkspaceId,
    chunks: &[&'e EventChunk],
) -> Result<(Vec<IngestSummary>, Vec<&'e Event>), sqlx::Error> {
    let mut seen = HashSet::with_capacity(chunks.iter().map(|chunk| chunk.len()).sum());
    let mut distinct: Vec<(usize, &Event, &str)> = chunks
        .iter()
        .enumerate()
        .flat_map(|(index, chunk)| {
            chunk
                .events
                .iter()
                .zip(chunk.bodies())
                .map(move |(event, body)| (index, event, body))
        })
        .filter(|(_, event, _)| seen.insert(event.id.as_str()))
        .collect();
    distinct.sort_by(|a, b| a.1.id.cmp(&b.1.id));

    let ids: Vec<&str> = distinct
        .iter()
        .map(|(_, event, _)| event.id.as_str())
        .collect();
    let bodies: Vec<&str> = distinct.iter().map(|(_, _, body)| *body).collect();
    let inserted: Vec<String> = sqlx::query_scalar(
        "INSERT INTO events (workspace_id, event_id, body)
         SELECT $1, e.event_id, e.body FROM UNNEST($2::text[], $3::text[]) AS e(event_id, body)
         ORDER BY e.event_id
         ON CONFLICT DO NOTHING
         RETURNING event_id",
    )
    .bind(workspace)
    .bind(&ids)
    .bind(&bodies)
    .fetch_all(&mut **transaction)
    .await?;
    let inserted: HashSet<&str> = inserted.iter().map(String::as_str).collect();
    let mut summaries: Vec<IngestSummary> = chunks
        .iter()
        .map(|chunk| IngestSummary {
            accepted: 0,
            duplicates: chunk.len() as u64,
        })
        .collect();
    let new_events: Vec<&Event> = distinct
        .into_iter()
        .filter(|(_, event, _)| inserted.contains(event.id.as_str()))
        .map(|(index, event, _)| {
            summaries[index].accepted += 1;
            summaries[index].duplicates -= 1;
            event
        })
        .collect();
    Ok((summaries, new_events))
}

/// Rows bound to one upsert statement: enough to make round trips rare,
/// few enough that their arrays stay a small part of an import's memory.
const STATEMENT_ROWS: usize = 20_000;

/// Merges changes into the state tables: per table, multi-row upserts of
/// [`STATEMENT_ROWS`] rows at most, in key order.
async fn merge_changes(
    transaction: &mut Transaction<'static, Postgres>,
    workspace: WorkspaceId,
    changes: &Changes,
) -> Result<(), sqlx::Error> {
    for mut table in table_rows(changes) {
        let sql = table.upsert.unnest_sql();
        loop {
            let rows: Vec<_> = table.rows.by_ref().take(STATEMENT_ROWS).collect();
            if rows.is_empty() {
                break;
            }
            upsert_rows(transaction, workspace, &sql, &table.upsert.columns, &rows).await?;
        }
    }
    Ok(())
}

/// One multi-row upsert: `sql` binds the workspace, then one array per column.
async fn upsert_rows(
    transaction: &mut Transaction<'static, Postgres>,
    workspace: WorkspaceId,
    sql: &str,
    columns: &[(String, ColumnType)],
    rows: &[Vec<SqlValue<'_>>],
) -> Result<(), sqlx::Error> {
    let mut query = sqlx::query(sql).bind(workspace);
    for (index, (_, column_type)) in columns.iter().enumerate() {
        let column = rows.iter().map(|row| row[index]);
        query = match column_type {
            ColumnType::BigInt => query.bind(
                column
                    .map(|value| match value {
                        SqlValue::Int(value) => value,
                        _ => None,
                    })
                    .collect::<Vec<Option<i64>>>(),
            ),
            ColumnType::Text => query.bind(
                column
                    .map(|value| match value {
                        SqlValue::Text(value) => value,
                        _ => None,
                    })
                    .collect::<Vec<Option<&str>>>(),
            ),
            ColumnType::Bool => query.bind(
                column
                    .map(|value| match value {
                        SqlValue::Bool(value) => value,
                        _ => None,
                    })
                    .collect::<Vec<Option<bool>>>(),
            ),
        };
    }
    query.execute(&mut **transaction).await?;
    Ok(())
}
