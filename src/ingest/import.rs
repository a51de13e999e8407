//! Streaming NDJSON import: the `reportstats import` path.
//!
//! A reader thread parses lines into chunks of events while the store writes
//! the previous chunk, so parsing and writing use a core each. The whole
//! import is one transaction: the reader sends [`IngestMessage::Commit`] only
//! when every line parsed, and a store that sees the channel close without it
//! rolls back. Memory stays bounded by the chunk size and channel depth,
//! whatever the size of the input.

use std::io::BufRead;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::batch::Rejections;
use crate::domain::{Event, EventError, Position, Timestamp};
use crate::storage::{EventChunk, IngestMessage, IngestSummary, Store, StoreError, WorkspaceId};

/// Events per chunk handed to the store: large enough to amortise per-chunk
/// work, small enough to keep memory flat (a few chunks are in flight at
/// once, about 5 MB each).
pub const CHUNK_EVENTS: usize = 10_000;

/// Lines read between reports of progress: often enough for a progress bar
/// to move smoothly, rarely enough that telling it costs nothing.
const PROGRESS_LINES: usize = 1_000;

/// Chunks in flight between the reader and the store.
const CHANNEL_DEPTH: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{count} events were rejected; nothing was stored")]
    Rejected {
        errors: Vec<EventError>,
        count: usize,
    },
    #[error("reading the input failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Progress as the reader sees it, for a progress bar.
pub trait ImportProgress: Send + 'static {
    fn advanced(&self, bytes: u64, events: u64);
}

impl ImportProgress for () {
    fn advanced(&self, _: u64, _: u64) {}
}

/// Imports NDJSON from `reader` into `workspace`, all or nothing.
///
/// Returns as soon as the outcome is known: when the store fails, its error
/// comes back at once, and the reader stops at its next chunk rather than
/// reading the rest of the input.
pub async fn import_ndjson<R, P>(
    store: Arc<dyn Store>,
    workspace: WorkspaceId,
    reader: R,
    received_at: Timestamp,
    progress: P,
) -> Result<IngestSummary, ImportError>
where
    R: BufRead + Send + 'static,
    P: ImportProgress,
{
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    let (read_sender, read) = oneshot::channel();
    // A thread of its own rather than `spawn_blocking`: after the store
    // failed, the reader may still be blocked reading (a pipe, standard
    // input) when this returns, and a runtime waits for its blocking tasks
    // at shutdown but not for a thread: the process exits with the error.
    std::thread::Builder::new()
        .name("import-reader".into())
        .spawn(move || {
            let _ = read_sender.send(read_chunks(reader, received_at, sender, &progress));
        })?;
    match store.ingest_stream(workspace, receiver).await {
        // The stream ended without `Commit`: the reader stopped, and why is
        // the error to report.
        Err(StoreError::Aborted) => {}
        Err(error) => return Err(ImportError::Store(error)),
        Ok(summary) => return Ok(summary),
    }
    let rejections = read
        .await
        .map_err(|_| ImportError::Io(std::io::Error::other("the reader panicked")))??;
    if rejections.is_empty() {
        return Err(ImportError::Store(StoreError::Aborted));
    }
    Err(ImportError::Rejected {
        errors: rejections.errors,
        count: rejections.count,
    })
}

/// Reads the whole input. Sends chunks while every line is good; after the
/// first bad line it drops the sender, so that the store rolls back and
/// lets go of the database at once, and keeps reading only to report the
/// other bad lines. Stops as soon as the store hangs up, which it does
/// only when it failed.
fn read_chunks(
    mut reader: impl BufRead,
    received_at: Timestamp,
    sender: mpsc::Sender<IngestMessage>,
    progress: &impl ImportProgress,
) -> Result<Rejections, ImportError> {
    let mut sender = Some(sender);
    let mut rejections = Rejections::default();
    let mut chunk = EventChunk::with_capacity(CHUNK_EVENTS, 0);
    let mut line = Vec::new();
    let mut line_number = 0usize;
    // Bytes and events read since progress was last told.
    let mut unreported = (0u64, 0u64);
    loop {
        line.clear();
        let bytes = reader.read_until(b'\n', &mut line)?;
        if bytes == 0 {
            break;
        }
        line_number += 1;
        let position = Position::Line(line_number);
        let parsed = match std::str::from_utf8(&line) {
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => Some(Event::parse_for_log(text.trim(), position, received_at)),
            Err(_) => Some(Err(EventError::malformed(position, "is not UTF-8 text"))),
        };
        let is_event = parsed.is_some();
        match parsed {
            None => {}
            Some(Ok((event, body))) if rejections.is_empty() => chunk.push(event, &body),
            Some(Ok(_)) => {}
            Some(Err(error)) => {
                rejections.push(error);
                chunk = EventChunk::default();
                sender = None;
            }
        }
        unreported.0 += bytes as u64;
        unreported.1 += u64::from(is_event);
        if line_number % PROGRESS_LINES == 0 {
            progress.advanced(unreported.0, unreported.1);
            unreported = (0, 0);
        }
        if chunk.len() >= CHUNK_EVENTS {
            // The next chunk's bodies are likely about as long as these:
            // room for them and an eighth more.
            let room = chunk.text_len() + chunk.text_len() / 8;
            let next = EventChunk::with_capacity(CHUNK_EVENTS, room);
            let full = std::mem::replace(&mut chunk, next);
            let sent = sender
                .as_ref()
                .is_some_and(|store| store.blocking_send(IngestMessage::Events(full)).is_ok());
            if !sent {
                // The store failed; its error is the one to report.
                return Ok(rejections);
            }
        }
    }
    progress.advanced(unreported.0, unreported.1);
    if let Some(store) = sender {
        if !chunk.is_empty() {
            let _ = store.blocking_send(IngestMessage::Events(chunk));
        }
        let _ = store.blocking_send(IngestMessage::Commit);
    }
    Ok(rejections)
}
