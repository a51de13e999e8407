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
//! # Large batches, a slice at a time
//!
//! SQLite has one writer, and a batch of 100,000 events held it for half a
//! second to a second: beside a workspace posting such batches on four
//! connections, another's one-event batches waited up to 1.9 s (p99,
//! BENCHMARKS.md, "Large batches a slice at a time"). So a backend may
//! queue a large batch in slices ([`GroupQueue::push_sliced`]): a group
//! takes at most one slice beside the small batches it holds, the rest of
//! the batch goes back to the end of the queue, and right after a group
//! that wrote a slice the small batches waiting go alone. So a small batch
//! waits for one slice at most. The batch is answered once its last slice commits,
//! with the sum of its slices' summaries.
//!
//! Its slices are separate transactions, so the batch is kept whole by a
//! journal ([`Journal`]): its first slice's transaction also stores all of
//! the batch's bodies, each later slice's records how far it got, and the
//! last one's removes the journal. A process stopped between two slices
//! finishes the batch when the database is next opened; what readers see
//! meanwhile is the batch's slices so far. An event id that a sliced batch
//! and a later small batch both carry is stored by whichever reaches it
//! first.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use metrics::{counter, histogram};
use tokio::sync::oneshot;

use super::{EventChunk, IngestSummary, StoreError, StoreResult, WorkspaceId};
use crate::domain::Event;

/// Events a leader takes at most into one group, beyond its first batch:
/// a bound on how long one group holds the writer, which a server's own
/// connections never come near (at 64 connections posting one-event
/// batches, groups held 26 batches: BENCHMARKS.md, "live ingestion"), and
/// which keeps a burst of queued batches from becoming one transaction of
/// seconds (SQLite writes a view in about 0.1–0.2 ms).
pub const GROUP_EVENTS: usize = 4_096;

/// Events of a slice, for a backend that writes large batches a slice at
/// a time ([`GroupQueue::push_sliced`]). Beside 100,000-event batches on
/// SQLite, one-event batches waited (p99) 26 ms with slices of 500, 25 ms
/// with 1,000 and 31–35 ms with 2,000, while the large batches were
/// stored at 48,000, 90,000 and 129,000–134,000 events/s
/// (BENCHMARKS.md, "Large batches a slice at a time").
pub const SLICE_EVENTS: usize = 2_000;

/// A batch cut for [`GroupQueue::push_sliced`]: the slices, and how many of
/// its events repeat an id it held earlier.
pub struct Cut {
    pub slices: Vec<EventChunk>,
    pub repeats: u64,
}

impl Cut {
    /// Cuts a batch into slices of `per_slice` events (a server's are
    /// [`SLICE_EVENTS`]), in the order of the
    /// reports its events name (stable: a report's events keep theirs).
    ///
    /// In arrival order, each slice would change most reports' rows and
    /// the sums their triggers keep: cut from 100,000 views of 1,000
    /// reports, 200 slices wrote 157,260 rows of `report_days` and of
    /// `reports` rather than 1,000 each, and took five times as long as
    /// the batch in one transaction (BENCHMARKS.md, "Large batches a slice
    /// at a time"). In the reports' order a report's rows change in a
    /// slice or two. Statistics do not depend on the order of events;
    /// which of two events with one id is stored does, so repeats are left
    /// out first (each a duplicate of the first, whatever the order) and
    /// counted.
    pub fn new(chunk: EventChunk, per_slice: usize) -> Cut {
        let per_slice = per_slice.max(1);
        let EventChunk { events, text } = chunk;
        let bodies: Vec<&str> = text.split('\n').take(events.len()).collect();
        let mut seen = std::collections::HashSet::with_capacity(events.len());
        let mut order: Vec<(i64, usize)> = events
            .iter()
            .enumerate()
            .filter(|(_, event)| seen.insert(event.id.as_str()))
            .map(|(index, event)| (event.kind.report_id().map_or(0, |id| id.get()), index))
            .collect();
        let repeats = (events.len() - order.len()) as u64;
        order.sort_by_key(|(report, _)| *report);
        let mut events: Vec<Option<Event>> = events.into_iter().map(Some).collect();
        let mut slices: Vec<EventChunk> = Vec::new();
        for (_, index) in order {
            if slices.last().is_none_or(|slice| slice.len() >= per_slice) {
                slices.push(EventChunk::with_capacity(per_slice, 0));
            }
            if let (Some(slice), Some(event)) = (slices.last_mut(), events[index].take()) {
                slice.push(event, bodies[index]);
            }
        }
        Cut { slices, repeats }
    }

    /// The bodies of every slice in turn, one per line: what the journal
    /// keeps, and counts [`Journal::Begin`]'s `written` in.
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self.slices.iter().map(EventChunk::text).collect();
        texts.join("\n")
    }
}

/// Batches per committed group (`reportstats_commit_group_batches`).
pub const GROUP_BATCHES: &str = "reportstats_commit_group_batches";

/// Batches queued to be written a slice at a time.
pub const SLICED_BATCHES: &str = "reportstats_sliced_batches_total";

/// A batch waiting for its group's commit.
pub struct Waiting {
    pub workspace: WorkspaceId,
    /// The batch, or of a sliced batch the slice to write next.
    pub chunk: EventChunk,
    slicing: Option<Box<Slicing>>,
    answer: oneshot::Sender<StoreResult<IngestSummary>>,
}

/// What is left of a batch written a slice at a time.
struct Slicing {
    journal: JournalId,
    /// All of the batch's bodies as the backend keeps them, until its first
    /// slice is written with them.
    bodies: Option<Vec<u8>>,
    /// The slices after [`Waiting::chunk`].
    rest: VecDeque<EventChunk>,
    /// Events of the slices written before [`Waiting::chunk`].
    written: usize,
    /// Their summaries, added up.
    so_far: IngestSummary,
}

/// The key of a sliced batch's journal: random, so that two processes
/// writing to one database never pick the same.
pub type JournalId = i64;

/// What a part of a group does to its batch's journal, in the part's
/// transaction (see the module's docs).
#[derive(Debug, PartialEq, Eq)]
pub enum Journal<'g> {
    /// A batch written whole: it has none.
    None,
    /// A sliced batch's first slice: the journal is made, holding all of
    /// the batch's bodies, `written` of them stored once this commits.
    Begin {
        id: JournalId,
        bodies: &'g [u8],
        written: usize,
    },
    /// A slice after it, not the last.
    Advance { id: JournalId, written: usize },
    /// The last slice: the journal goes.
    End { id: JournalId },
}

/// A part of a group for the writer: a batch, or a slice of one.
pub struct Part<'g> {
    pub workspace: WorkspaceId,
    pub chunk: &'g EventChunk,
    pub journal: Journal<'g>,
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

    /// Queues a batch cut into slices, to be written a slice per group:
    /// `bodies` are [`Cut::text`] as the backend's journal keeps them.
    pub fn push_sliced(&self, workspace: WorkspaceId, cut: Cut, bodies: Vec<u8>) -> Queued {
        let mut rest = VecDeque::from(cut.slices);
        let chunk = rest.pop_front().unwrap_or_default();
        if !rest.is_empty() {
            counter!(SLICED_BATCHES).increment(1);
        }
        let slicing = Slicing {
            journal: rand::random(),
            bodies: Some(bodies),
            rest,
            written: 0,
            so_far: IngestSummary {
                accepted: 0,
                duplicates: cut.repeats,
            },
        };
        self.queue(workspace, chunk, Some(Box::new(slicing)))
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

impl Waiting {
    fn journal(&self) -> Journal<'_> {
        let Some(slicing) = &self.slicing else {
            return Journal::None;
        };
        let (id, written) = (slicing.journal, slicing.written + self.chunk.len());
        match (&slicing.bodies, slicing.rest.is_empty()) {
            // A batch cut into one slice is written whole.
            (Some(_), true) => Journal::None,
            (Some(bodies), false) => Journal::Begin {
                id,
                bodies,
                written,
            },
            (None, true) => Journal::End { id },
            (None, false) => Journal::Advance { id, written },
        }
    }

    /// The batch with its chunk written and summed up in `summary`: done,
    /// with the summary of all of it (`Ok`), or on to its next slice.
    fn written(mut self, summary: IngestSummary) -> Result<(Waiting, IngestSummary), Waiting> {
        let Some(slicing) = &mut self.slicing else {
            return Ok((self, summary));
        };
        slicing.so_far.accepted += summary.accepted;
        slicing.so_far.duplicates += summary.duplicates;
        match slicing.rest.pop_front() {
            None => {
                let so_far = slicing.so_far;
                Ok((self, so_far))
            }
            Some(next) => {
                slicing.bodies = None;
                slicing.written += self.chunk.len();
                self.chunk = next;
                Err(self)
            }
        }
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

    fn chunk(events: usize) -> EventChunk {
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

    /// What a write saw of one part: its workspace, its events and what it
    /// did to its journal (`None`, `Begin`, `Advance`, `End`, with how many
    /// events stored once it commits).
    fn seen(part: &Part<'_>) -> (WorkspaceId, usize, &'static str, usize) {
        let (journal, written) = match part.journal {
            Journal::None => ("none", 0),
            Journal::Begin {
                written, bodies, ..
            } => {
                assert_eq!(bodies, b"all of it");
                ("begin", written)
            }
            Journal::Advance { written, .. } => ("advance", written),
            Journal::End { .. } => ("end", 0),
        };
        (part.workspace, part.chunk.len(), journal, written)
    }

    fn all_new(group: &Group) -> GroupOutcome {
        Ok(group
            .batches
            .iter()
            .map(|batch| IngestSummary {
                accepted: batch.chunk.len() as u64,
                duplicates: 0,
            })
            .collect())
    }

    #[test]
    fn a_sliced_batch_takes_a_slice_per_group_after_what_arrived_meanwhile() {
        let queue = GroupQueue::default();
        let sliced = queue.push_sliced(1, Cut::new(chunk(5), 2), b"all of it".to_vec());
        assert!(sliced.lead);
        let _small = queue.push(2, chunk(1));
        let mut groups = Vec::new();
        let mut later = None;
        lead_blocking(&queue, |group| {
            groups.push(group.parts().iter().map(seen).collect::<Vec<_>>());
            // Another batch arrives while the first slice is written, and
            // another sliced one, of which a group takes no second slice.
            if groups.len() == 1 {
                later = Some(queue.push(3, chunk(1)));
                let _ = queue.push_sliced(4, Cut::new(chunk(4), 2), b"all of it".to_vec());
            }
            all_new(group)
        });
        assert_eq!(
            groups,
            [
                vec![(1, 2, "begin", 2), (2, 1, "none", 0)],
                // After a slice, the batch that arrived meanwhile alone.
                vec![(3, 1, "none", 0)],
                // One slice a group, taking turns.
                vec![(4, 2, "begin", 2)],
                vec![(1, 2, "advance", 4)],
                vec![(4, 2, "end", 0)],
                vec![(1, 1, "end", 0)],
            ]
        );
        let whole = sliced.outcome.blocking_recv().unwrap().unwrap();
        assert_eq!(
            whole,
            IngestSummary {
                accepted: 5,
                duplicates: 0
            },
            "the batch hears the sum of its slices, once"
        );
        assert!(later.unwrap().outcome.blocking_recv().unwrap().is_ok());
    }

    #[test]
    fn a_sliced_batch_whose_slice_fails_hears_the_error_and_stops() {
        let queue = GroupQueue::default();
        let sliced = queue.push_sliced(1, Cut::new(chunk(6), 2), b"all of it".to_vec());
        let mut writes = 0;
        lead_blocking(&queue, |group| {
            writes += 1;
            if writes == 2 {
                return Err(StoreError::Busy);
            }
            all_new(group)
        });
        assert_eq!(writes, 2, "no slice is written after the one that failed");
        assert!(matches!(
            sliced.outcome.blocking_recv().unwrap(),
            Err(StoreError::Busy)
        ));
    }

    #[test]
    fn a_batch_of_one_slice_is_queued_whole() {
        let queue = GroupQueue::default();
        let _whole = queue.push_sliced(1, Cut::new(chunk(2), 5), b"all of it".to_vec());
        let group = queue.next_group().unwrap();
        assert_eq!(group.parts()[0].journal, Journal::None);
    }

    #[test]
    fn a_cut_orders_events_by_report_and_leaves_out_repeated_ids() {
        let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let lines = [
            r#"{"id":"a","type":"report_viewed","report_id":2}"#,
            r#"{"id":"b","type":"member_removed","email":"ana@example.com"}"#,
            r#"{"id":"c","type":"report_viewed","report_id":1}"#,
            // A repeat: the first "a" is the one stored.
            r#"{"id":"a","type":"report_viewed","report_id":1}"#,
            r#"{"id":"d","type":"report_viewed","report_id":2}"#,
            r#"{"id":"e","type":"report_viewed","report_id":1}"#,
        ];
        let events = lines
            .iter()
            .map(|line| Event::parse(line, Position::Line(1), now).unwrap())
            .collect();
        let cut = Cut::new(EventChunk::new(events), 2);
        assert_eq!(cut.repeats, 1);
        let slices: Vec<Vec<(&str, Option<i64>)>> = cut
            .slices
            .iter()
            .map(|slice| {
                slice
                    .events
                    .iter()
                    .map(|event| (event.id.as_str(), event.kind.report_id().map(|id| id.get())))
                    .collect()
            })
            .collect();
        assert_eq!(
            slices,
            [
                vec![("b", None), ("c", Some(1))],
                vec![("e", Some(1)), ("a", Some(2))],
                vec![("d", Some(2))],
            ]
        );
        // The journal's text is the slices' bodies in turn.
        let bodies: Vec<&str> = cut.slices.iter().flat_map(EventChunk::bodies).collect();
        assert_eq!(cut.text(), bodies.join("\n"));
        for (slice, events) in cut.slices.iter().zip(&slices) {
            for (body, (id, _)) in slice.bodies().zip(events) {
                assert!(body.contains(&format!(r#""id":"{id}""#)), "{body}");
            }
        }
    }
}
