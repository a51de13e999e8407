//! The writer's second thread. SQLite takes one writer, and recording a
//! chunk's ids is work only that connection can do; the rest of a chunk's
//! work does not touch the database and moves here: folding its new events
//! into the pending changes, building and compressing its log block, and
//! freeing it (thousands of small values). The writer goes on to the next
//! chunk's ids meanwhile, and takes back what is finished: the blocks to
//! insert, in the chunks' order, and the changes to merge once they reach
//! the store's threshold (see [`crate::storage::pending`]).
//!
//! The first chunk is folded on the writer's own thread: a batch is one
//! chunk, and a thread for it would cost more than it saves.

use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::Context;

use super::log;
use crate::domain::state::Changes;
use crate::storage::pending::footprint;
use crate::storage::{EventChunk, StoreError, StoreResult};

/// What folding gives back to the writer.
pub(super) enum Folded {
    /// A chunk's log block (`None` if it had no new event).
    Block(Option<Vec<u8>>),
    /// Changes to merge into the tables. Merges commute (SPEC section 4), so
    /// they may come in any number and order.
    Changes(Changes),
}

pub(super) struct Folder {
    /// The footprint at which changes go back to be merged.
    merge_at: usize,
    chunks: usize,
    /// The changes folded on the writer's thread: those of the first chunk
    /// until the thread takes them over, or of all chunks if it could not
    /// start.
    pending: Changes,
    thread: Option<FoldThread>,
}

struct FoldThread {
    /// The changes the thread starts from. Sent once it runs: a thread that
    /// could not start would have dropped them.
    start: mpsc::SyncSender<Changes>,
    /// Bounded, so that chunks cannot pile up in memory if the thread falls
    /// behind: the writer then waits for it.
    jobs: mpsc::SyncSender<(EventChunk, Vec<bool>)>,
    /// Unbounded, yet never long: the writer takes what is finished every
    /// time it hands over a chunk.
    folded: mpsc::Receiver<anyhow::Result<Folded>>,
    handle: JoinHandle<()>,
}

impl Folder {
    pub(super) fn merging_at(merge_at: usize) -> Self {
        Folder {
            merge_at,
            chunks: 0,
            pending: Changes::default(),
            thread: None,
        }
    }

    /// Folds a chunk whose events are new where `new` says so; returns what
    /// is finished so far.
    pub(super) fn fold(&mut self, chunk: EventChunk, new: Vec<bool>) -> StoreResult<Vec<Folded>> {
        self.chunks += 1;
        if self.chunks == 2 {
            // Without the thread (it could not start) chunks are folded here.
            self.thread = FoldThread::spawn(self.merge_at).ok();
            if let Some(thread) = &self.thread {
                // The thread goes on from the first chunk's changes, so that
                // they are not merged on their own at the end: in a large
                // workspace a merge has a fixed cost however small it is
                // (BENCHMARKS.md).
                if let Err(mpsc::SendError(changes)) =
                    thread.start.send(std::mem::take(&mut self.pending))
                {
                    self.pending = changes;
                }
            }
        }
        let Some(thread) = self.thread.take() else {
            return Ok(fold_chunk(&mut self.pending, &chunk, &new, self.merge_at)?);
        };
        if thread.jobs.send((chunk, new)).is_err() {
            return Err(thread.stopped());
        }
        let finished = thread.folded.try_iter().collect::<anyhow::Result<_>>();
        self.thread = Some(thread);
        finished.map_err(StoreError::Other)
    }

    /// Everything still being folded, and the last changes.
    pub(super) fn finish(&mut self) -> StoreResult<Vec<Folded>> {
        let mut finished = Vec::new();
        if let Some(thread) = self.thread.take() {
            // The thread sends its last changes when it sees no more jobs.
            drop(thread.jobs);
            for result in thread.folded {
                finished.push(result?);
            }
            if let Err(panic) = thread.handle.join() {
                return Err(panicked(&panic));
            }
        }
        finished.push(Folded::Changes(std::mem::take(&mut self.pending)));
        Ok(finished)
    }
}

impl FoldThread {
    /// Why the thread stopped before its jobs did: the error it sent, or
    /// its panic.
    fn stopped(self) -> StoreError {
        if let Some(Err(error)) = self.folded.try_iter().find(Result::is_err) {
            return StoreError::Other(error);
        }
        match self.handle.join() {
            Err(panic) => panicked(&panic),
            Ok(()) => StoreError::Other(anyhow::anyhow!(
                "folding the import's events stopped early; nothing was stored"
            )),
        }
    }

    fn spawn(merge_at: usize) -> std::io::Result<Self> {
        let (start, started) = mpsc::sync_channel::<Changes>(1);
        let (jobs, received) = mpsc::sync_channel::<(EventChunk, Vec<bool>)>(2);
        let (sender, folded) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("reportstats-fold".into())
            .spawn(move || {
                let mut pending = started.recv().unwrap_or_default();
                for (chunk, new) in received {
                    match fold_chunk(&mut pending, &chunk, &new, merge_at) {
                        Ok(folded) => {
                            for folded in folded {
                                if sender.send(Ok(folded)).is_err() {
                                    return;
                                }
                            }
                        }
                        Err(error) => {
                            let _ = sender.send(Err(error));
                            return;
                        }
                    }
                    drop(chunk);
                }
                let _ = sender.send(Ok(Folded::Changes(pending)));
            })?;
        Ok(FoldThread {
            start,
            jobs,
            folded,
            handle,
        })
    }
}

fn panicked(panic: &Box<dyn std::any::Any + Send>) -> StoreError {
    let reason = panic
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    StoreError::Other(anyhow::anyhow!(
        "folding the import's events failed ({reason}); nothing was stored"
    ))
}

/// Folds a chunk's new events into `pending`; returns its log block, and the
/// changes if they have grown large enough to merge.
fn fold_chunk(
    pending: &mut Changes,
    chunk: &EventChunk,
    new: &[bool],
    merge_at: usize,
) -> anyhow::Result<Vec<Folded>> {
    for (event, _) in chunk.events.iter().zip(new).filter(|(_, new)| **new) {
        pending.record(event);
    }
    let block = log::compress(chunk, new).context("compressing a log block")?;
    let mut folded = vec![Folded::Block(block)];
    if footprint(pending) >= merge_at {
        folded.push(Folded::Changes(std::mem::take(pending)));
    }
    Ok(folded)
}

#[cfg(test)]
pub(super) mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::json;

    use super::*;
    use crate::domain::{Event, EventKind, Position, Timestamp};

    /// Ten chunks of a varied stream, made here rather than by the demo
    /// generator: mostly views and runs, and every other kind of event the
    /// fold turns into changes, spread over 180 days.
    pub(in crate::storage::sqlite) fn chunks_of_activity() -> Vec<EventChunk> {
        let end = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let mut rng = StdRng::seed_from_u64(20_261_101);
        let events: Vec<Event> = (0..40_000)
            .map(|index| {
                let report = rng.random_range(1001..1401);
                let email = format!("member{}@example.com", rng.random_range(0..60));
                let space = format!("space{}", rng.random_range(0..70));
                let space_type = ["custom", "community", "private"][rng.random_range(0..3)];
                let schedule = format!("s{}", rng.random_range(0..170));
                let change = ["schedule_paused", "schedule_resumed"][rng.random_range(0..2)];
                let exploration = format!("x{}", rng.random_range(0..250));
                let run = format!("run{index}");
                let mut event = match rng.random_range(0..100) {
                    0 => json!({"type": "member_upserted", "email": email, "name": "A member"}),
                    1 => json!({"type": "member_removed", "email": email}),
                    2 => json!({"type": "space_upserted", "space_token": space, "name": "A space",
                        "space_type": space_type}),
                    3 => json!({"type": "space_deleted", "space_token": space}),
                    4..=5 => json!({"type": "report_created", "report_id": report,
                        "report_token": format!("r{report}"), "space_token": space,
                        "email": email, "name": format!("Report {report}")}),
                    6..=7 => json!({"type": "report_edited", "report_id": report, "email": email,
                        "name": format!("Report {report} v2")}),
                    8 => json!({"type": "report_moved", "report_id": report, "space_token": space}),
                    9 => json!({"type": "report_deleted", "report_id": report}),
                    10 => json!({"type": "schedule_created", "schedule_token": schedule,
                        "report_id": report, "email": email}),
                    11 => json!({"type": change, "schedule_token": schedule}),
                    12 => json!({"type": "schedule_deleted", "schedule_token": schedule}),
                    13 => json!({"type": "exploration_created", "exploration_token": exploration,
                        "report_id": report, "email": email}),
                    14 => json!({"type": "exploration_deleted", "exploration_token": exploration}),
                    15..=19 => json!({"type": "report_run", "report_id": report, "run_token": run,
                        "trigger": "manual", "email": email, "state": "failed"}),
                    20..=44 => json!({"type": "report_run", "report_id": report, "run_token": run,
                        "trigger": "scheduled", "schedule_token": schedule}),
                    _ => json!({"type": "report_viewed", "report_id": report, "email": email}),
                };
                let seconds_ago = rng.random_range(0..180 * 86_400);
                event["id"] = format!("e{index:06}").into();
                event["occurred_at"] = end.saturating_add_seconds(-seconds_ago).to_string().into();
                Event::parse(&event.to_string(), Position::Line(index + 1), end).unwrap()
            })
            .collect();
        events
            .chunks(4_000)
            .map(|events| EventChunk::new(events.to_vec()))
            .collect()
    }

    /// Whether changes go back after every chunk (on the thread and off it)
    /// or only at the end, every block comes back in order and holds exactly
    /// the new events, and the changes handed back hold every new view once.
    #[test]
    fn blocks_come_back_in_order_and_changes_hold_every_new_event() {
        for merge_at in [1, crate::storage::pending::MERGE_AT_BYTES] {
            fold_and_check(merge_at);
        }
    }

    fn fold_and_check(merge_at: usize) {
        let chunks = chunks_of_activity();
        assert!(chunks.len() > 3, "{} chunks", chunks.len());
        let mut folder = Folder::merging_at(merge_at);
        let mut expected_blocks = Vec::new();
        let mut new_views = 0u64;
        let mut folded = Vec::new();
        for (number, chunk) in chunks.into_iter().enumerate() {
            // Every third event of the second chunk counts as stored before.
            let new: Vec<bool> = (0..chunk.len())
                .map(|index| number != 1 || index % 3 != 0)
                .collect();
            let bodies: Vec<&str> = chunk
                .bodies()
                .zip(&new)
                .filter(|(_, new)| **new)
                .map(|(body, _)| body)
                .collect();
            expected_blocks.push(bodies.join("\n"));
            new_views += chunk
                .events
                .iter()
                .zip(&new)
                .filter(|(event, new)| {
                    **new && matches!(event.kind, EventKind::ReportViewed { .. })
                })
                .count() as u64;
            folded.extend(folder.fold(chunk, new).unwrap());
        }
        folded.extend(folder.finish().unwrap());

        let mut blocks = Vec::new();
        let mut handed_back = 0;
        let mut views = 0;
        for folded in folded {
            match folded {
                Folded::Block(Some(frame)) => blocks.push(
                    log::block_text(rusqlite::types::ValueRef::Blob(&frame))
                        .unwrap()
                        .into_owned(),
                ),
                Folded::Block(None) => panic!("every chunk had new events"),
                Folded::Changes(changes) => {
                    handed_back += 1;
                    views += changes
                        .reports
                        .values()
                        .map(|report| report.views)
                        .sum::<u64>();
                }
            }
        }
        assert_eq!(blocks, expected_blocks);
        if merge_at == 1 {
            assert!(
                handed_back > expected_blocks.len(),
                "{handed_back} sets of changes"
            );
        }
        assert_eq!(views, new_views, "merging at {merge_at} bytes");
    }
}
