//! The journal of batches written a slice at a time (see
//! [`crate::storage::group_commit`]): each slice's transaction records how
//! far its batch got, and opening the database finishes any batch a
//! stopped process left between two slices.

use anyhow::Context;
use rusqlite::{Connection, Transaction, params};

use super::{log, write};
use crate::storage::group_commit::{Journal, Part};
use crate::storage::{EventChunk, WorkspaceId, parse_stored_event};

/// Writes what a part does to its batch's journal, in the part's
/// transaction.
pub(super) fn record(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    journal: &Journal<'_>,
) -> rusqlite::Result<()> {
    match *journal {
        Journal::None => Ok(()),
        Journal::Begin {
            id,
            bodies,
            written,
        } => transaction
            .prepare_cached(
                "INSERT INTO sliced_batches (batch_id, workspace_id, bodies, written) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, workspace, bodies, written as i64])
            .map(drop),
        Journal::Advance { id, written } => transaction
            .prepare_cached("UPDATE sliced_batches SET written = ?2 WHERE batch_id = ?1")?
            .execute(params![id, written as i64])
            .map(drop),
        Journal::End { id } => transaction
            .prepare_cached("DELETE FROM sliced_batches WHERE batch_id = ?1")?
            .execute([id])
            .map(drop),
    }
}

/// Stores the rest of every batch the journal holds, each in one
/// transaction that also removes its journal. Its request was never
/// answered; a client that sent it again found the events stored so far
/// duplicates, and finds the rest so now.
///
/// Run as the database opens. Another process writing to the same file may
/// be amid one of these batches: finished here too, its events are stored
/// once all the same, as the id check in each slice's transaction sees.
pub(super) fn finish_cut_off(connection: &mut Connection) -> anyhow::Result<()> {
    let cut_off: Vec<(i64, WorkspaceId, Vec<u8>, i64)> = connection
        .prepare("SELECT batch_id, workspace_id, bodies, written FROM sliced_batches")?
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, workspace, bodies, written) in cut_off {
        let text = log::block_text(rusqlite::types::ValueRef::Blob(&bodies))
            .with_context(|| format!("reading the journal of sliced batch {id}"))?;
        let mut chunk = EventChunk::default();
        for (line, body) in text.split('\n').enumerate().skip(written as usize) {
            let event = parse_stored_event(format_args!("{line} of sliced batch {id}"), body)?;
            chunk.push(event, body);
        }
        let part = Part {
            workspace,
            chunk: &chunk,
            journal: Journal::End { id },
        };
        let summaries = write::store_group(connection, &[part])
            .with_context(|| format!("finishing sliced batch {id}"))?;
        tracing::info!(
            workspace,
            events = chunk.len(),
            accepted = summaries[0].accepted,
            "finished a batch whose writing a stopped process left between two slices"
        );
    }
    Ok(())
}
