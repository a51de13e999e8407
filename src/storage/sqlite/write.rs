//! The write path: events into the log, their changes into the state tables.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use rusqlite::types::ToSqlOutput;
use rusqlite::{
    CachedStatement, Connection, ToSql, Transaction, TransactionBehavior, params_from_iter,
};
use tokio::sync::mpsc;

use super::folding::{Folded, Folder};
use super::sums::{self, TriggersOff};
use super::{log, sliced_batches};
use crate::domain::state::Changes;
use crate::storage::group_commit::Part;
use crate::storage::listing_version::{self, BUMP_VERSION, LARGEST_REPORT_ID, Moved};
use crate::storage::rows::{MergePicker, SqlValue};
use crate::storage::schema::table_rows;
use crate::storage::sql::{MergeMask, Upsert};
use crate::storage::usage_sums;
use crate::storage::{
    EventChunk, IngestMessage, IngestSummary, StoreError, StoreResult, WorkspaceId,
};

/// Stores a stream of chunks in one transaction, committing only on
/// [`IngestMessage::Commit`].
pub(super) fn ingest_stream(
    connection: &mut Connection,
    workspace: WorkspaceId,
    merge_at_bytes: usize,
    mut messages: mpsc::Receiver<IngestMessage>,
) -> StoreResult<IngestSummary> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut summary = IngestSummary::default();
    let mut moved = Moved::default();
    let mut folder = Folder::merging_at(merge_at_bytes);
    // A stream of more than one chunk (an import) rebuilds the usage sums
    // once at its end rather than row by row (see `usage_sums`), once it has
    // stored an event: an import run again, every event a duplicate,
    // changes nothing and rebuilds nothing.
    let mut chunks = 0;
    let mut deferred = false;
    let mut triggers_off = None;
    let mut apply = |folded: Folded| -> rusqlite::Result<()> {
        match folded {
            Folded::Block(block) => log::insert(&transaction, workspace, block),
            Folded::Changes(changes) => {
                moved |= moves(&transaction, workspace, &changes)?;
                merge_changes(&transaction, workspace, &changes)
            }
        }
    };
    loop {
        match messages.blocking_recv() {
            Some(IngestMessage::Events(chunk)) => {
                chunks += 1;
                let new = insert_ids(&transaction, workspace, &chunk, &mut summary)?;
                if chunks >= 2 && summary.accepted > 0 && !deferred {
                    transaction
                        .prepare_cached(usage_sums::DEFER.sqlite())?
                        .execute([workspace])?;
                    // Marked, the triggers would only look the mark up, for
                    // every row merged (see `sums`).
                    triggers_off = Some(TriggersOff::new(&transaction)?);
                    deferred = true;
                }
                for folded in folder.fold(chunk, new)? {
                    apply(folded)?;
                }
            }
            Some(IngestMessage::Commit) => {
                for folded in folder.finish()? {
                    apply(folded)?;
                }
                if deferred {
                    let started = std::time::Instant::now();
                    sums::rebuild(&transaction, workspace)?;
                    tracing::debug!(workspace, elapsed = ?started.elapsed(), "rebuilt the usage sums");
                }
                drop(triggers_off);
                let bump = listing_version::version_bump(workspace, summary.accepted, moved);
                if let Some(params) = bump {
                    transaction
                        .prepare_cached(BUMP_VERSION.sqlite())?
                        .execute(params_from_iter(params))?;
                }
                transaction.commit()?;
                return Ok(summary);
            }
            // Dropping the transaction rolls it back.
            None => return Err(StoreError::Aborted),
        }
    }
}

/// Stores a group of batches in one transaction (see
/// [`crate::storage::group_commit`]): each batch's ids in arrival order, so
/// the earlier of two batches carrying an id stores it; then per workspace
/// one log block, its changes merged once and its version bumped once; and
/// what each slice of a sliced batch does to its journal.
/// Returns each batch's summary, in the batches' order.
pub(super) fn store_group(
    connection: &mut Connection,
    batches: &[Part<'_>],
) -> StoreResult<Vec<IngestSummary>> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for part in batches {
        sliced_batches::record(&transaction, part.workspace, &part.journal)?;
    }
    let mut summaries = vec![IngestSummary::default(); batches.len()];
    let mut workspaces: Vec<WorkspaceId> = batches.iter().map(|part| part.workspace).collect();
    workspaces.sort_unstable();
    workspaces.dedup();
    for workspace in workspaces {
        let mut changes = Changes::default();
        let mut block = String::new();
        let mut accepted = 0;
        let of_workspace = batches
            .iter()
            .zip(&mut summaries)
            .filter(|(part, _)| part.workspace == workspace);
        for (Part { chunk, .. }, summary) in of_workspace {
            let new = insert_ids(&transaction, workspace, chunk, summary)?;
            for (event, _) in chunk.events.iter().zip(&new).filter(|(_, new)| **new) {
                changes.record(event);
            }
            log::push_new(&mut block, chunk, &new);
            accepted += summary.accepted;
        }
        let block = log::compress_text(&block).map_err(|error| {
            StoreError::Other(anyhow::Error::new(error).context("compressing a log block"))
        })?;
        log::insert(&transaction, workspace, block)?;
        let moved = moves(&transaction, workspace, &changes)?;
        merge_changes(&transaction, workspace, &changes)?;
        if let Some(params) = listing_version::version_bump(workspace, accepted, moved) {
            transaction
                .prepare_cached(BUMP_VERSION.sqlite())?
                .execute(params_from_iter(params))?;
        }
    }
    transaction.commit()?;
    Ok(summaries)
}

/// What merging `changes` can move: reports already listed (SQLite has one
/// writer: see [`listing_version::reorders_for_single_writer`]), and the
/// queries and charts listings.
fn moves(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    changes: &Changes,
) -> rusqlite::Result<Moved> {
    let reports = listing_version::reorders_for_single_writer(changes, || {
        transaction
            .prepare_cached(LARGEST_REPORT_ID.sqlite())?
            .query_row([workspace], |row| row.get(0))
    })?;
    Ok(Moved {
        reports,
        catalog: listing_version::moves_catalog(changes),
    })
}

/// Records a chunk's event ids in `event_ids`, the idempotency check:
/// whether each event is new (`true`) or was stored before.
fn insert_ids(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    chunk: &EventChunk,
    summary: &mut IngestSummary,
) -> rusqlite::Result<Vec<bool>> {
    let mut insert_id = transaction.prepare_cached(
        "INSERT INTO event_ids (workspace_id, event_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    // The workspace stays bound from one insert to the next.
    insert_id.raw_bind_parameter(1, workspace)?;
    let mut new = vec![false; chunk.len()];
    for index in locality_order(chunk) {
        insert_id.raw_bind_parameter(2, chunk.events[index].id.as_str())?;
        new[index] = insert_id.raw_execute()? == 1;
    }
    let accepted = new.iter().filter(|new| **new).count();
    summary.accepted += accepted as u64;
    summary.duplicates += (chunk.len() - accepted) as u64;
    Ok(new)
}

/// The order in which to insert a chunk's ids: nearly the ids' own, so that
/// successive inserts descend through the same pages of the index, which
/// are then in the CPU's caches (BENCHMARKS.md has what it bought).
/// Repeats of an id keep their order, so the
/// first is the one stored.
///
/// Ids are ordered by the eight bytes after the prefix all of the chunk's
/// ids share, not whole: generated and time-based ids share long prefixes,
/// and sorting by whole ids showed in profiles of the writer.
fn locality_order(chunk: &EventChunk) -> Vec<usize> {
    let ids = || {
        chunk
            .events
            .iter()
            .map(|event| event.id.as_str().as_bytes())
    };
    let shared = ids().fold(None, |shared: Option<&[u8]>, id| {
        Some(shared.map_or(id, |shared| {
            let common = shared.iter().zip(id).take_while(|(a, b)| a == b).count();
            &shared[..common]
        }))
    });
    let skip = shared.map_or(0, <[u8]>::len);
    let mut keyed: Vec<(u64, usize)> = ids()
        .map(|id| {
            // Padding with zeros keeps the order, as no id holds a control
            // character.
            let mut key = [0u8; 8];
            let rest = &id[skip..];
            let take = rest.len().min(8);
            key[..take].copy_from_slice(&rest[..take]);
            u64::from_be_bytes(key)
        })
        .zip(0..)
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, index)| index).collect()
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

/// Merges changes into the state tables: each run of rows of one shape
/// (the columns they bring something for) in multi-row statements of up to
/// [`STATEMENT_ROWS`] rows, in key order, so each page of a table larger
/// than the cache is read once per merge.
///
/// Each row's statement sets only the columns the row brings something
/// for: a view or a run then rewrites its report's row and no index
/// (BENCHMARKS.md). Rows go many to a statement because each statement
/// that may fail midway keeps a copy of every page it changes (SQLite's
/// statement journal, 16 KiB a page here), and the usage triggers make a
/// row change a dozen: with a statement per row, copying pages took a
/// tenth of a live server's CPU (BENCHMARKS.md, "live ingestion"). Tables
/// without triggers whose indexes take rows in an order of their own go a
/// row to a statement (see `Table::row_by_row`).
fn merge_changes(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    changes: &Changes,
) -> rusqlite::Result<()> {
    for table in table_rows(changes) {
        let started = std::time::Instant::now();
        let (mut rows_merged, mut statements_run) = (0, 0);
        let picker = MergePicker::new(&table.upsert);
        let statement_rows = if table.upsert.row_by_row {
            1
        } else {
            STATEMENT_ROWS
        };
        let mut statements = HashMap::new();
        let mut run = Vec::with_capacity(statement_rows);
        let mut rows = table.rows.peekable();
        while let Some(row) = rows.next() {
            let merges = picker.merges(&row);
            run.push(row);
            while run.len() < statement_rows
                && rows
                    .peek()
                    .is_some_and(|next| picker.merges(next) == merges)
            {
                run.extend(rows.next());
            }
            let upsert = &table.upsert;
            rows_merged += run.len();
            statements_run += upsert_run(
                transaction,
                workspace,
                upsert,
                &mut statements,
                merges,
                &mut run,
            )?;
        }
        tracing::trace!(
            table = table.upsert.table,
            rows = rows_merged,
            statements = statements_run,
            elapsed = ?started.elapsed(),
            "merged"
        );
    }
    Ok(())
}

/// Rows of one statement at most. A shorter run goes in statements of
/// powers of two rows, so that a handful of statements per shape stay
/// prepared.
const STATEMENT_ROWS: usize = 64;

/// Upserts (and empties) a run of rows that make the same merges, with the
/// table's `statements` prepared so far, by merges and rows; returns how
/// many statements it ran.
fn upsert_run<'t>(
    transaction: &'t Transaction<'_>,
    workspace: WorkspaceId,
    upsert: &Upsert,
    statements: &mut HashMap<(MergeMask, usize), CachedStatement<'t>>,
    merges: MergeMask,
    run: &mut Vec<Vec<SqlValue<'_>>>,
) -> rusqlite::Result<usize> {
    let mut executed = 0;
    while !run.is_empty() {
        let rows = 1 << run.len().ilog2();
        let statement = match statements.entry((merges, rows)) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                entry.insert(transaction.prepare_cached(&upsert.multi_row_sql(merges, rows))?)
            }
        };
        let parameters = run
            .drain(..rows)
            .flat_map(|row| std::iter::once(SqlValue::Int(Some(workspace))).chain(row));
        statement.execute(params_from_iter(parameters))?;
        executed += 1;
    }
    Ok(executed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Event, Position, Timestamp};

    fn chunk_of(ids: &[&str]) -> EventChunk {
        let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        EventChunk::new(
            ids.iter()
                .map(|id| {
                    let json = format!(r#"{{"id":"{id}","type":"report_viewed","report_id":1}}"#);
                    Event::parse(&json, Position::Line(1), now).unwrap()
                })
                .collect(),
        )
    }

    #[test]
    fn ids_go_in_in_order_with_repeats_in_the_order_they_came() {
        let chunk = chunk_of(&[
            "evt-000000000012", // a shared prefix longer than 8 bytes
            "evt-000000000003",
            "evt-000000000012",
            "evt-0000000000",
            "evt-000000000003",
            "evt-000000000001",
        ]);
        assert_eq!(locality_order(&chunk), [3, 5, 1, 4, 0, 2]);
        assert_eq!(locality_order(&chunk_of(&["b", "a", "b"])), [1, 0, 2]);
        assert_eq!(locality_order(&chunk_of(&["same", "same"])), [0, 1]);
        assert!(locality_order(&EventChunk::default()).is_empty());
    }
}
