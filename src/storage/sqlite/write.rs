//! The write path: events into the log, their changes into the state tables.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, ToSql, Transaction, TransactionBehavior, params, params_from_iter};
use tokio::sync::mpsc;

use crate::domain::Event;
use crate::domain::state::{Changes, ListingChange};
use crate::storage::report_stats::sqlite_form;
use crate::storage::rows::{MergePicker, SqlValue, table_rows};
use crate::storage::sql;
use crate::storage::{
    EventChunk, IngestMessage, IngestSummary, MERGE_AT_BYTES, StoreError, StoreResult, WorkspaceId,
};

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
    let mut listings_changed = false;
    let mut retired = ChunkFreer::default();
    loop {
        match messages.blocking_recv() {
            Some(IngestMessage::Events(chunk)) => {
                for event in store_events(&transaction, workspace, &chunk, &mut summary)? {
                    pending.record(event);
                }
                retired.free(chunk);
                if pending.footprint() >= MERGE_AT_BYTES {
                    listings_changed |= reorders_listing(&transaction, workspace, &pending)?;
                    merge_changes(&transaction, workspace, &std::mem::take(&mut pending))?;
                }
            }
            Some(IngestMessage::Commit) => {
                listings_changed |= reorders_listing(&transaction, workspace, &pending)?;
                merge_changes(&transaction, workspace, &pending)?;
                if summary.accepted > 0 {
                    transaction
                        .prepare_cached(&sqlite_form(sql::BUMP_VERSION_SQL))?
                        .execute(params![workspace, listings_changed])?;
                }
                transaction.commit()?;
                return Ok(summary);
            }
            // Dropping the transaction rolls it back.
            None => return Err(StoreError::Aborted),
        }
    }
}

/// Whether merging `changes` moves reports already listed, so that the
/// remembered starts of pages (see [`crate::storage::positions`]) no longer
/// hold. Reports created with ids above every report row the workspace has
/// only lengthen the listing, which readers see by walking its end: new
/// reports, the common case, keep deep pages cheap. This is decided before
/// the merge, under SQLite's single writer, so no other batch interleaves.
fn reorders_listing(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    changes: &Changes,
) -> rusqlite::Result<bool> {
    match changes.report_listing_change() {
        ListingChange::None => Ok(false),
        ListingChange::Reordered => Ok(true),
        ListingChange::CreatedOrMovedFrom(first) => {
            let largest: Option<i64> = transaction
                .prepare_cached("SELECT max(report_id) FROM reports WHERE workspace_id = ?1")?
                .query_row([workspace], |row| row.get(0))?;
            Ok(largest.is_some_and(|largest| largest >= first.get()))
        }
    }
}

/// Frees the stored chunks of a long stream on a thread of its own: a chunk
/// is thousands of small strings, and freeing them took a twentieth of the
/// writer's time, which is an import's bottleneck. A batch is one chunk,
/// freed where it is: a thread for it would cost more than it saves.
#[derive(Default)]
struct ChunkFreer {
    freed: usize,
    /// Bounded, so that chunks cannot pile up in memory if the thread falls
    /// behind: the writer then waits for it.
    thread: Option<std::sync::mpsc::SyncSender<EventChunk>>,
}

impl ChunkFreer {
    fn free(&mut self, chunk: EventChunk) {
        self.freed += 1;
        if self.freed == 2 {
            let (sender, receiver) = std::sync::mpsc::sync_channel::<EventChunk>(2);
            let spawned = std::thread::Builder::new()
                .name("reportstats-free".into())
                .spawn(move || receiver.into_iter().for_each(drop));
            self.thread = spawned.is_ok().then_some(sender);
        }
        match &self.thread {
            // A send fails only if the thread is gone; the chunk then drops here.
            Some(sender) => drop(sender.send(chunk)),
            None => drop(chunk),
        }
    }
}

/// Appends a chunk's events to the log; returns those not stored before.
///
/// Each id goes into `event_ids` (the idempotency check); the bodies of the
/// new ones go together into one row of `event_blocks`.
fn store_events<'e>(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    chunk: &'e EventChunk,
    summary: &mut IngestSummary,
) -> rusqlite::Result<Vec<&'e Event>> {
    let mut insert_id = transaction.prepare_cached(
        "INSERT INTO event_ids (workspace_id, event_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    let mut new_events = Vec::with_capacity(chunk.len());
    let mut block = String::new();
    for (event, body) in chunk.events.iter().zip(&chunk.bodies) {
        if insert_id.execute(params![workspace, event.id.as_str()])? == 1 {
            if block.is_empty() {
                block.reserve(chunk.bodies_len);
            } else {
                block.push('\n');
            }
            block.push_str(body);
            new_events.push(event);
        }
    }
    if !block.is_empty() {
        transaction
            .prepare_cached("INSERT INTO event_blocks (workspace_id, bodies) VALUES (?1, ?2)")?
            .execute(params![workspace, block])?;
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
///
/// Each row's statement sets only the columns the row brings something
/// for: a view or a run then rewrites its report's row and no index (the
/// last of ten 1M-event files into a million reports took 18.9 s instead of
/// 20.4). Rows stay in key order, so each page of a table larger than the
/// cache is read once per merge.
fn merge_changes(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    changes: &Changes,
) -> rusqlite::Result<()> {
    for table in table_rows(changes) {
        let picker = MergePicker::new(&table.upsert);
        let mut statements = HashMap::new();
        for row in table.rows {
            let merges = picker.merges(&row);
            let statement = match statements.entry(merges) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    entry.insert(transaction.prepare_cached(&table.upsert.single_row_sql(merges))?)
                }
            };
            statement.execute(params_from_iter(
                std::iter::once(SqlValue::Int(Some(workspace))).chain(row),
            ))?;
        }
    }
    Ok(())
}
