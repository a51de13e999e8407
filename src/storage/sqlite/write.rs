//! The write path: events into the log, their changes into the state tables.

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, ToSql, Transaction, TransactionBehavior, params, params_from_iter};
use tokio::sync::mpsc;

use crate::domain::Event;
use crate::domain::state::Changes;
use crate::storage::rows::{SqlValue, table_rows};
use crate::storage::{
    EventChunk, IngestMessage, IngestSummary, StoreError, StoreResult, WorkspaceId,
};

/// New events folded into one [`Changes`] before it is merged into the
/// tables. Merging touches every page holding a row it changes; in a large
/// workspace those rows are spread all over the tables, so merging the
/// changes of many events at once (a report viewed a hundred times is one
/// row update) writes far fewer pages than merging each chunk's.
const MERGE_EVERY_EVENTS: usize = 50_000;

/// Stores a stream of chunks in one transaction, committing only on
/// [`IngestMessage::Commit`].
pub(super) fn ingest_stream(
    connection: &mut Connection,
    workspace: WorkspaceId,
    mut messages: mpsc::Receiver<IngestMessage>,
) -> StoreResult<IngestSummary> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut summary = IngestSummary::default();
    let mut pending = Changes::default();
    let mut pending_events = 0;
    loop {
        match messages.blocking_recv() {
            Some(IngestMessage::Events(chunk)) => {
                let new_events = store_events(&transaction, workspace, &chunk, &mut summary)?;
                pending_events += new_events.len();
                for event in new_events {
                    pending.record(event);
                }
                if pending_events >= MERGE_EVERY_EVENTS {
                    merge_changes(&transaction, workspace, &std::mem::take(&mut pending))?;
                    pending_events = 0;
                }
            }
            Some(IngestMessage::Commit) => {
                merge_changes(&transaction, workspace, &pending)?;
                if summary.accepted > 0 {
                    transaction.execute(
                        "UPDATE workspaces SET version = version + 1 WHERE workspace_id = ?1",
                        [workspace],
                    )?;
                }
                transaction.commit()?;
                return Ok(summary);
            }
            // Dropping the transaction rolls it back.
            None => return Err(StoreError::Aborted),
        }
    }
}

/// Appends events to the log; returns those not stored before.
fn store_events<'e>(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    chunk: &'e EventChunk,
    summary: &mut IngestSummary,
) -> rusqlite::Result<Vec<&'e Event>> {
    let mut insert = transaction.prepare_cached(
        "INSERT INTO events (workspace_id, event_id, body) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?;
    let mut new_events = Vec::with_capacity(chunk.len());
    for (event, body) in chunk.events.iter().zip(&chunk.bodies) {
        if insert.execute(params![workspace, event.id.as_str(), body])? == 1 {
            new_events.push(event);
        }
    }
    summary.accepted += new_events.len() as u64;
    summary.duplicates += (chunk.len() - new_events.len()) as u64;
    Ok(new_events)
}

impl ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            SqlValue::Int(value) => value.to_sql(),
            SqlValue::Text(value) => value.to_sql(),
            SqlValue::Bool(value) => value.to_sql(),
        }
    }
}

/// Merges a batch's changes into the state tables, one row at a time (in
/// SQLite a prepared statement per row costs microseconds; there is no
/// round trip to save).
fn merge_changes(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    changes: &Changes,
) -> rusqlite::Result<()> {
    for table in table_rows(changes) {
        if table.rows.is_empty() {
            continue;
        }
        let mut statement = transaction.prepare_cached(&table.upsert.single_row_sql())?;
        for row in &table.rows {
            statement.execute(params_from_iter(
                std::iter::once(SqlValue::Int(Some(workspace))).chain(row.iter().copied()),
            ))?;
        }
    }
    Ok(())
}
