//! Group commit: batches that arrive while a commit is in flight are
//! written together in the next transaction.
//!
//! A durable commit waits for the disk (an fsync of SQLite's WAL, a flush
//! of PostgreSQL's), and one batch per commit caps a server at the disk's
//! commit rate however small the batches are. So a batch is queued
//! ([`GroupQueue::push`]) and whoever writes next, the *leader*, takes every
//! batch waiting by then ([`GroupQueue::next_group`]) and stores them in one
//! transaction; each batch is answered only after that transaction commits
//! ([`Group::answer`]). No thread waits on a timer: a group is what piled up
//! during the previous commit, so a lone batch on an idle server is written
//! at once.
//!
//! Each batch stays all or nothing with its own `accepted` and
//! `duplicates`: the group's batches are written in arrival order, so of
//! two that carry one event id the earlier stores it and the later counts
//! a duplicate. If the group's transaction fails, each of its batches is
//! written again on its own ([`Group::settle`]), so an error fails only the
//! batches it concerns and the rest are stored.
//!
//! One leader at a time per queue: the batch that finds no leader at work
//! becomes it ([`GroupQueue::push`] says so), and the leader writes group
//! after group until it finds the queue empty ([`GroupQueue::next_group`]),
//! so batches arriving meanwhile wake no thread of their own.
//!
//! On a backend with one writer, large batches are written a slice at a
//! time, so that they do not hold it up for the others (`slicing.rs`).

mod slicing;

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use metrics::histogram;
use tokio::sync::oneshot;

use slicing::Slicing;
pub use slicing::{Cut, Journal, JournalId, Part, SLICE_EVENTS, SLICED_BATCHES};

use super::{EventChunk, IngestSummary, StoreError, StoreResult, WorkspaceId};

/// Events a leader takes at most into one group, beyond its first batch:
/// a bound on how long one group holds the writer, which a server's own
/// connections never come near (at 64 connections posting one-event
/// batches, groups held 26 batches: BENCHMARKS.md, "live ingestion"), and
/// which keeps a burst of queued batches from becoming one transaction of
/// seconds (SQLite writes a view in about 0.1–0.2 ms).
pub const GROUP_EVENTS: usize = 4_096;

/// Batches per committed group (`reportstats_commit_group_batches`).
pub const GROUP_BATCHES: &str = "reportstats_commit_group_batches";

/// A batch waiting for its group's commit.
pub struct Waiting {
    pub workspace: WorkspaceId,
    /// The batch, or of a sliced batch the slice to write next.
    pub chunk: EventChunk,
    slicing: Option<Box<Slicing>>,
    answer: oneshot::Sender<StoreResult<IngestSummary>>,
}

/// The batches waiting for a leader, in arrival order, and whether a
/// leader is at work.
#[derive(Default)]
pub struct GroupQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    waiting: Vec<Waiting>,
    leading: bool,
    /// The last group wrote a slice.
    sliced_last: bool,
}

/// A batch's place in the queue: the receiver of its outcome, once its
/// group is committed (or has failed), and whether its sender must lead.
pub struct Queued {
    pub outcome: oneshot::Receiver<StoreResult<IngestSummary>>,
    /// No leader was at work: the caller starts one, which writes
    /// [`GroupQueue::next_group`] until there is none.
    pub lead: bool,
}

impl GroupQueue {
    /// Queues a batch.
    pub fn push(&self, workspace: WorkspaceId, chunk: EventChunk) -> Queued {
        self.queue(workspace, chunk, None)
    }

    fn queue(
        &self,
        workspace: WorkspaceId,
        chunk: EventChunk,
        slicing: Option<Box<Slicing>>,
    ) -> Queued {
        let (answer, outcome) = oneshot::channel();
        let mut state = self.lock();
        state.waiting.push(Waiting {
            workspace,
            chunk,
            slicing,
            answer,
        });
        let lead = !std::mem::replace(&mut state.leading, true);
        Queued { outcome, lead }
    }

    /// For the leader: sliced batches with slices still to write go back to
    /// the end of the queue, behind what arrived while their slice was.
    fn requeue(&self, unfinished: Vec<Waiting>) {
        if !unfinished.is_empty() {
            self.lock().waiting.extend(unfinished);
        }
    }

    /// For the leader: the batches of the next group, or `None`, when none
    /// is waiting, and the leader's work is over (the next batch pushed
    /// starts another).
    ///
    /// A group takes the waiting batches in arrival order while they hold
    /// [`GROUP_EVENTS`] events in all (its first, whatever its size), and
    /// at most one slice of a sliced batch, passing over the others. Right
    /// after a group that wrote a slice, small batches waiting go on their
    /// own: a batch that arrives while a slice is written then waits for
    /// that slice and no other.
    pub fn next_group(&self) -> Option<Group> {
        let mut state = self.lock();
        if state.waiting.is_empty() {
            state.leading = false;
            return None;
        }
        let mut may_slice =
            !(state.sliced_last && state.waiting.iter().any(|batch| batch.slicing.is_none()));
        let (mut batches, mut passed) = (Vec::new(), Vec::new());
        let (mut events, mut taking_whole) = (0, true);
        for batch in state.waiting.drain(..) {
            let fits = batches.is_empty() || events + batch.chunk.len() <= GROUP_EVENTS;
            let take = match batch.slicing {
                Some(_) => std::mem::replace(&mut may_slice, false) && fits,
                // Whole batches keep their order: once one waits for the
                // next group, so do those after it.
                None => {
                    taking_whole &= fits;
                    taking_whole
                }
            };
            if take {
                events += batch.chunk.len();
                batches.push(batch);
            } else {
                passed.push(batch);
            }
        }
        state.waiting = passed;
        state.sliced_last = batches.iter().any(|batch| batch.slicing.is_some());
        Some(Group { batches })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // Nothing panics while holding it; a poisoned queue is still whole.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Runs a leader's loop: `write` for each group until the queue is empty,
/// each group answered (or written again batch by batch, see
/// [`Group::settle`]).
pub fn lead_blocking(queue: &GroupQueue, mut write: impl FnMut(&Group) -> GroupOutcome) {
    let _leading = Leading(queue);
    while let Some(group) = queue.next_group() {
        let outcome = write(&group);
        let (again, mut unfinished) = group.settle(outcome);
        for single in again {
            let outcome = write(&single);
            unfinished.extend(single.answer(outcome));
        }
        queue.requeue(unfinished);
    }
}

/// [`lead_blocking`] for a writer whose work is async.
pub async fn lead<W>(queue: &GroupQueue, write: W)
where
    W: for<'g> Fn(&'g Group) -> Pin<Box<dyn Future<Output = GroupOutcome> + Send + 'g>>,
{
    let _leading = Leading(queue);
    while let Some(group) = queue.next_group() {
        let outcome = write(&group).await;
        let (again, mut unfinished) = group.settle(outcome);
        for single in again {
            let outcome = write(&single).await;
            unfinished.extend(single.answer(outcome));
        }
        queue.requeue(unfinished);
    }
}

/// A leader at work. Should it panic, the batches still waiting would wait
/// for a leader that never comes: they are told the writer stopped, and the
/// next batch leads again.
struct Leading<'q>(&'q GroupQueue);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let waiting = {
                let mut state = self.0.lock();
                state.leading = false;
                std::mem::take(&mut state.waiting)
            };
            // Dropped, their answers tell them (see `outcome`).
            drop(waiting);
        }
    }
}

/// What writing a group gives: each batch's summary, in order, or the error
/// that failed the group.
pub type GroupOutcome = StoreResult<Vec<IngestSummary>>;

/// Waits for the outcome of a batch pushed to a queue.
pub async fn outcome(
    receiver: oneshot::Receiver<StoreResult<IngestSummary>>,
) -> StoreResult<IngestSummary> {
    receiver.await.unwrap_or_else(|_| {
        // The leader stopped (it panicked) before answering: its
        // transaction, never committed, was rolled back.
        Err(StoreError::Other(anyhow::anyhow!(
            "the writer stopped before the batch's commit; nothing of it was stored"
        )))
    })
}

/// Batches a leader writes in one transaction.
pub struct Group {
    pub batches: Vec<Waiting>,
}

impl Group {
    fn len(&self) -> usize {
        self.batches.len()
    }

    /// Each batch's (or slice's) workspace, events and journal, in arrival
    /// order.
    pub fn parts(&self) -> Vec<Part<'_>> {
        self.batches
            .iter()
            .map(|batch| Part {
                workspace: batch.workspace,
                chunk: &batch.chunk,
                journal: batch.journal(),
            })
            .collect()
    }

    /// Each batch's events, in arrival order.
    pub fn events(&self) -> Vec<&EventChunk> {
        self.batches.iter().map(|batch| &batch.chunk).collect()
    }

    /// Answers the group with the outcome of its transaction, unless it
    /// failed with an error that may concern only some of its batches: then
    /// gives back its batches, each a group of its own, to write again one
    /// by one. A busy database or a lost input concerns them all. Also
    /// gives back the sliced batches with slices left (see
    /// [`Group::answer`]).
    pub fn settle(self, outcome: StoreResult<Vec<IngestSummary>>) -> (Vec<Group>, Vec<Waiting>) {
        match outcome {
            Err(StoreError::Other(error)) if self.len() > 1 => {
                tracing::warn!(
                    batches = self.len(),
                    error = format!("{error:#}"),
                    "a group of batches failed; writing each on its own"
                );
                (self.split().collect(), Vec::new())
            }
            outcome => (Vec::new(), self.answer(outcome)),
        }
    }

    /// Answers every batch: with its summary after the group's commit, or
    /// all with `error`. A sliced batch hears only after its last slice;
    /// until then it is given back, on to its next slice, for the leader to
    /// queue again. One that fails keeps its journal: the next opening of
    /// the database finishes it.
    #[must_use = "sliced batches with slices left are to be queued again"]
    pub fn answer(self, outcome: StoreResult<Vec<IngestSummary>>) -> Vec<Waiting> {
        let mut unfinished = Vec::new();
        match outcome {
            Ok(summaries) => {
                debug_assert_eq!(summaries.len(), self.batches.len());
                histogram!(GROUP_BATCHES).record(self.batches.len() as f64);
                for (batch, summary) in self.batches.into_iter().zip(summaries) {
                    match batch.written(summary) {
                        Ok((batch, summary)) => {
                            // A batch whose request went away is stored all the same.
                            let _ = batch.answer.send(Ok(summary));
                        }
                        Err(next_slice) => unfinished.push(next_slice),
                    }
                }
            }
            Err(error) => {
                for batch in self.batches {
                    let _ = batch.answer.send(Err(copy_of(&error)));
                }
            }
        }
        unfinished
    }

    /// Each batch as a group of its own.
    fn split(self) -> impl Iterator<Item = Group> {
        self.batches.into_iter().map(|batch| Group {
            batches: vec![batch],
        })
    }
}

/// The same error, for each batch of a group that failed whole.
fn copy_of(error: &StoreError) -> StoreError {
    match error {
        StoreError::NotFound(what) => StoreError::NotFound(what.clone()),
        StoreError::Conflict(message) => StoreError::Conflict(message.clone()),
        StoreError::Aborted => StoreError::Aborted,
        StoreError::Busy => StoreError::Busy,
        StoreError::Other(error) => StoreError::Other(anyhow::anyhow!("{error:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Event, Position, Timestamp};

    pub(super) fn chunk(events: usize) -> EventChunk {
        let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        EventChunk::new(
            (0..events)
                .map(|index| {
                    let json =
                        format!(r#"{{"id":"e{index}","type":"report_viewed","report_id":1}}"#);
                    Event::parse(&json, Position::Line(1), now).unwrap()
                })
                .collect(),
        )
    }

    #[test]
    fn a_leader_takes_the_oldest_batches_up_to_the_group_size() {
        let queue = GroupQueue::default();
        assert!(queue.push(1, chunk(GROUP_EVENTS - 1)).lead);
        assert!(!queue.push(2, chunk(1)).lead, "one leader at a time");
        let _third = queue.push(1, chunk(1));
        let group = queue.next_group().unwrap();
        assert_eq!(
            group
                .batches
                .iter()
                .map(|b| b.workspace)
                .collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(queue.next_group().unwrap().len(), 1);
        assert!(queue.next_group().is_none());
        assert!(queue.push(1, chunk(1)).lead, "the leader resigned");
    }

    #[test]
    fn a_batch_larger_than_a_group_is_a_group_of_its_own() {
        let queue = GroupQueue::default();
        let _large = queue.push(1, chunk(GROUP_EVENTS + 1));
        let _small = queue.push(1, chunk(1));
        assert_eq!(queue.next_group().unwrap().len(), 1);
        assert_eq!(queue.next_group().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn each_batch_hears_its_own_summary_or_the_groups_error() {
        let queue = GroupQueue::default();
        let first = queue.push(1, chunk(1)).outcome;
        let second = queue.push(1, chunk(2)).outcome;
        let summaries = vec![
            IngestSummary {
                accepted: 1,
                duplicates: 0,
            },
            IngestSummary {
                accepted: 1,
                duplicates: 1,
            },
        ];
        assert!(
            queue
                .next_group()
                .unwrap()
                .answer(Ok(summaries.clone()))
                .is_empty()
        );
        assert_eq!(outcome(first).await.unwrap(), summaries[0]);
        assert_eq!(outcome(second).await.unwrap(), summaries[1]);

        let third = queue.push(1, chunk(1)).outcome;
        assert!(
            queue
                .next_group()
                .unwrap()
                .answer(Err(StoreError::Busy))
                .is_empty()
        );
        assert!(matches!(outcome(third).await, Err(StoreError::Busy)));

        let dropped = queue.push(1, chunk(1)).outcome;
        drop(queue.next_group());
        assert!(matches!(outcome(dropped).await, Err(StoreError::Other(_))));
    }

    #[test]
    fn a_leader_that_panics_fails_the_waiting_batches_and_the_next_batch_leads() {
        let queue = GroupQueue::default();
        let first = queue.push(1, chunk(1));
        assert!(first.lead);
        let mut second = None;
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lead_blocking(&queue, |_| {
                // Another batch arrives while the writer is at work.
                second = Some(queue.push(1, chunk(1)));
                panic!("the writer broke");
            })
        }));
        assert!(panicked.is_err());
        assert!(first.outcome.blocking_recv().is_err());
        let second = second.unwrap();
        assert!(!second.lead);
        assert!(second.outcome.blocking_recv().is_err());
        assert!(queue.push(1, chunk(1)).lead, "the next batch leads");
    }

    #[test]
    fn a_failed_group_is_written_again_batch_by_batch() {
        let queue = GroupQueue::default();
        let outcomes: Vec<_> = (0..3).map(|_| queue.push(1, chunk(1)).outcome).collect();
        let mut writes = Vec::new();
        lead_blocking(&queue, |group| {
            writes.push(group.len());
            if group.len() > 1 {
                return Err(StoreError::Other(anyhow::anyhow!("refused")));
            }
            Ok(vec![IngestSummary::default()])
        });
        assert_eq!(writes, [3, 1, 1, 1]);
        for outcome in outcomes {
            assert!(outcome.blocking_recv().unwrap().is_ok());
        }
    }
}
