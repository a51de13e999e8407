//! The event log's blocks: a chunk's new events, one body per line, stored
//! as a zstd frame.
//!
//! The bodies are most of the bytes an import writes, and every byte is
//! written twice: into the WAL, then, read back from it, into the database
//! by the checkpoint. Uncompressed, storing them took the writer about a
//! third of an import's time; zstd's fastest level makes them several times
//! smaller for less CPU than that, which the folding thread (see
//! [`super::folding`]) spends while the writer goes on. BENCHMARKS.md has
//! the measurements.
//!
//! `event_blocks.bodies` is a BLOB holding the frame, or, for blocks written
//! before schema version 6, the TEXT itself; [`block_text`] reads either.

use std::borrow::Cow;

use anyhow::Context;
use rusqlite::types::ValueRef;
use rusqlite::{Transaction, params};

use crate::storage::{EventChunk, WorkspaceId};

/// zstd's level 1. lz4 compresses faster but leaves more bytes, which the
/// writer then spends longer on (BENCHMARKS.md, "tried and dropped").
const LEVEL: i32 = 1;

/// The text of a stored block, one body per line.
pub(super) fn block_text(value: ValueRef<'_>) -> anyhow::Result<Cow<'_, str>> {
    match value {
        ValueRef::Text(text) => Ok(Cow::Borrowed(
            std::str::from_utf8(text).context("a log block is not UTF-8")?,
        )),
        ValueRef::Blob(frame) => {
            let bytes = zstd::decode_all(frame).context("a log block does not decompress")?;
            Ok(Cow::Owned(
                String::from_utf8(bytes).context("a log block is not UTF-8")?,
            ))
        }
        other => anyhow::bail!("a log block is {:?}, not text", other.data_type()),
    }
}

/// A log block: the compressed text of a chunk's new events (`new[i]` for
/// `chunk.events[i]`), or `None` if none is new.
pub(super) fn compress(chunk: &EventChunk, new: &[bool]) -> std::io::Result<Option<Vec<u8>>> {
    let text = if new.iter().all(|new| *new) {
        Cow::Borrowed(chunk.text())
    } else {
        let mut text = String::new();
        push_new(&mut text, chunk, new);
        Cow::Owned(text)
    };
    compress_text(&text)
}

/// Appends a chunk's new events to a block's text, one body per line; a
/// block may hold several chunks' (a group commit's).
pub(super) fn push_new(text: &mut String, chunk: &EventChunk, new: &[bool]) {
    for (body, _) in chunk.bodies().zip(new).filter(|(_, new)| **new) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(body);
    }
}

/// The block of `text`, or `None` if it is empty.
pub(super) fn compress_text(text: &str) -> std::io::Result<Option<Vec<u8>>> {
    if text.is_empty() {
        return Ok(None);
    }
    zstd::bulk::compress(text.as_bytes(), LEVEL).map(Some)
}

pub(super) fn insert(
    transaction: &Transaction<'_>,
    workspace: WorkspaceId,
    block: Option<Vec<u8>>,
) -> rusqlite::Result<()> {
    if let Some(frame) = block {
        transaction
            .prepare_cached("INSERT INTO event_blocks (workspace_id, bodies) VALUES (?1, ?2)")?
            .execute(params![workspace, frame])?;
    }
    Ok(())
}
