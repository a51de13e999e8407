//! Large batches, a slice at a time.
//!
//! SQLite has one writer, and a batch of 100,000 events held it for half a
//! second to a second: beside a workspace posting such batches on four
//! connections, another's one-event batches waited up to 1.9 s (p99,
//! BENCHMARKS.md, "Large batches a slice at a time"). So a backend may
//! queue a large batch in slices ([`GroupQueue::push_sliced`]): a group
//! takes at most one slice beside the small batches it holds, the rest of
//! the batch goes back to the end of the queue, and right after a group
//! that wrote a slice the small batches waiting go alone. So a small batch
//! waits for one slice at most. The batch is answered once its last slice
//! commits, with the sum of its slices' summaries.
//!
//! Its slices are separate transactions, so the batch is kept whole by a
//! journal ([`Journal`]): its first slice's transaction also stores all of
//! the batch's bodies, each later slice's records how far it got, and the
//! last one's removes the journal. A process stopped between two slices
//! finishes the batch when the database is next opened; what readers see
//! meanwhile is the batch's slices so far. An event id that a sliced batch
//! and a later small batch both carry is stored by whichever reaches it
//! first.

use std::collections::{HashSet, VecDeque};

use metrics::counter;

use super::{GroupQueue, Queued, Waiting};
use crate::domain::Event;
use crate::storage::{EventChunk, IngestSummary, WorkspaceId};

/// Events of a slice, for a backend that writes large batches a slice at
/// a time ([`GroupQueue::push_sliced`]). Beside 100,000-event batches on
/// SQLite, one-event batches waited (p99) 26 ms with slices of 500, 25 ms
/// with 1,000 and 31–35 ms with 2,000, while the large batches were
/// stored at 48,000, 90,000 and 129,000–134,000 events/s
/// (BENCHMARKS.md, "Large batches a slice at a time"). On a machine half
/// as fast, slices of 2,000 let them wait 42–61 ms, past the 50 ms a
/// victim may, and slices of 1,000 30–38 ms; a lone 100,000-event batch
/// then took 1.9 s rather than 1.6 s (BENCHMARKS.md, "Statement journals
/// on the live path").
pub const SLICE_EVENTS: usize = 1_000;

/// Batches queued to be written a slice at a time.
pub const SLICED_BATCHES: &str = "reportstats_sliced_batches_total";

/// A batch cut for [`GroupQueue::push_sliced`]: the slices, and how many of
/// its events repeat an id it held earlier.
pub struct Cut {
    pub slices: Vec<EventChunk>,
    pub repeats: u64,
}

impl Cut {
    /// Cuts a batch into slices of `per_slice` events (a server's are
    /// [`SLICE_EVENTS`]), in the order of the reports its events name
    /// (stable: a report's events keep theirs).
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
        let mut seen = HashSet::with_capacity(events.len());
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

/// What is left of a batch written a slice at a time.
pub(super) struct Slicing {
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

impl GroupQueue {
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
}

impl Waiting {
    pub(super) fn journal(&self) -> Journal<'_> {
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
    pub(super) fn written(
        mut self,
        summary: IngestSummary,
    ) -> Result<(Waiting, IngestSummary), Waiting> {
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

#[cfg(test)]
mod tests {
    use super::super::tests::chunk;
    use super::super::{Group, GroupOutcome, lead_blocking};
    use super::*;
    use crate::domain::{Position, Timestamp};
    use crate::storage::StoreError;

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
