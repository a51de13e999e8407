//! Where the pages of a long `report_stats` listing start, so that a deep
//! page is a range scan from its first report id instead of an `OFFSET`
//! walk over every listed report before it.
//!
//! Which reports are listed, and so where each page starts, changes only
//! with the events that create, delete or move a report, or that change a
//! space (its type decides whether its reports are personal). Views, runs,
//! edits, schedules and explorations, nearly all of a workspace's traffic,
//! change the rows on a page but not its bounds. So the positions of one
//! listing are computed once, by one walk, and stay good until the
//! workspace's `listing_version` moves; each backend bumps it in the same
//! transaction as a batch holding such an event, and reads it in the same
//! snapshot as the page it serves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::WorkspaceId;

/// Every how many listed reports a position is kept. A page then starts at
/// most this many rows past a known id: reading a few hundred narrow index
/// entries, not a million.
pub const STRIDE: u64 = 256;

/// Pages starting this deep or deeper are served from positions (computing
/// them first if needed); shallower ones walk from the start, which costs
/// less than a walk of the whole listing.
pub const DEEP_OFFSET: u64 = 4 * STRIDE;

/// Listings whose positions are kept; past this many, the oldest-computed
/// are dropped. Each takes 8 bytes per [`STRIDE`] reports.
const MAX_LISTINGS: usize = 256;

/// The positions of one listing at one `listing_version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Positions {
    pub listing_version: i64,
    /// How many reports the listing shows.
    pub total_count: u64,
    /// `marks[i]` is the id of the listed report at 0-based position
    /// `(i + 1) * STRIDE - 1`.
    marks: Vec<i64>,
}

impl Positions {
    /// Positions at `listing_version`, to be given every listed report id
    /// in order through [`Positions::push`].
    pub fn new(listing_version: i64) -> Self {
        Positions {
            listing_version,
            total_count: 0,
            marks: Vec::new(),
        }
    }

    /// Adds the next listed report id.
    pub fn push(&mut self, id: i64) {
        self.total_count += 1;
        if self.total_count % STRIDE == 0 {
            self.marks.push(id);
        }
    }

    /// Positions from every listed report id, in order.
    pub fn from_ids(listing_version: i64, ids: impl IntoIterator<Item = i64>) -> Self {
        let mut positions = Positions::new(listing_version);
        ids.into_iter().for_each(|id| positions.push(id));
        positions
    }

    /// Where the row at `offset` is found: after the report id returned
    /// (0 for the start; ids are positive), skipping the rows returned.
    pub fn start(&self, offset: u64) -> (i64, u64) {
        let stride_index = usize::try_from(offset / STRIDE)
            .unwrap_or(usize::MAX)
            .min(self.marks.len());
        if stride_index == 0 {
            return (0, offset);
        }
        let after = self.marks[stride_index - 1];
        (after, offset - stride_index as u64 * STRIDE)
    }
}

/// The key of a listing: its workspace and whether personal spaces count.
type ListingKey = (WorkspaceId, bool);

/// The positions of recently read listings, shared by a store's readers.
#[derive(Default)]
pub struct PositionCache {
    entries: Mutex<HashMap<ListingKey, (u64, Arc<Positions>)>>,
    computed: std::sync::atomic::AtomicU64,
}

impl PositionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ListingKey, (u64, Arc<Positions>)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The positions of a listing, if they were computed at `listing_version`.
    pub fn get(
        &self,
        workspace: WorkspaceId,
        all_spaces: bool,
        listing_version: i64,
    ) -> Option<Arc<Positions>> {
        self.lock()
            .get(&(workspace, all_spaces))
            .filter(|(_, positions)| positions.listing_version == listing_version)
            .map(|(_, positions)| Arc::clone(positions))
    }

    /// Keeps `positions` for the listing; returns them shared.
    pub fn put(
        &self,
        workspace: WorkspaceId,
        all_spaces: bool,
        positions: Positions,
    ) -> Arc<Positions> {
        let positions = Arc::new(positions);
        let order = self
            .computed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut entries = self.lock();
        if entries.len() >= MAX_LISTINGS && !entries.contains_key(&(workspace, all_spaces)) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (order, _))| *order)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert((workspace, all_spaces), (order, Arc::clone(&positions)));
        positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_starts_after_the_mark_before_it() {
        // Listed ids 10, 20, 30, ...: the row at position p has id 10 * (p + 1).
        let ids = (1..=10 * STRIDE as i64 + 7).map(|n| n * 10);
        let positions = Positions::from_ids(3, ids);
        assert_eq!(positions.total_count, 10 * STRIDE + 7);
        for offset in [
            0,
            1,
            STRIDE - 1,
            STRIDE,
            STRIDE + 1,
            5 * STRIDE + 100,
            10 * STRIDE + 6,
        ] {
            let (after, skip) = positions.start(offset);
            // The row at `offset` is the (skip + 1)-th id greater than `after`.
            let id_at_offset = (offset as i64 + 1) * 10;
            assert_eq!(
                after + (skip as i64 + 1) * 10,
                id_at_offset,
                "offset {offset}"
            );
            assert!(skip < STRIDE, "offset {offset}");
        }
        // Past the end: a range that finds nothing, never a panic.
        let (after, _) = positions.start(u64::MAX);
        assert_eq!(after, 10 * STRIDE as i64 * 10);
    }

    #[test]
    fn positions_of_another_listing_version_are_not_served() {
        let cache = PositionCache::default();
        cache.put(1, false, Positions::from_ids(5, 1..=1000));
        assert!(cache.get(1, false, 5).is_some());
        assert!(cache.get(1, false, 6).is_none());
        assert!(cache.get(1, true, 5).is_none());
        assert!(cache.get(2, false, 5).is_none());
    }
}
