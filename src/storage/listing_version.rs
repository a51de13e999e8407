//! The listing-version protocol: when the pages of a report listing move,
//! and how readers find out, so that a deep page is a range scan from its
//! first report id instead of an `OFFSET` walk over every listed report
//! before it. Everything of it is here: what changes a listing, how the
//! versions are bumped and read, and the positions kept between reads. It
//! runs its SQL through [`super::session`] and imports nothing from the
//! backends.
//!
//! **What changes a listing.** Which reports are listed ([`LISTED_REPORTS`]),
//! and so where each page starts, changes only with the events that create,
//! delete or move a report, or that change a space (its type decides
//! whether its reports are personal): [`listing_change`]. Views, runs,
//! edits, schedules and explorations, nearly all of a workspace's traffic,
//! change the rows on a page but not its bounds; neither do new reports
//! whose ids come after every report the workspace had, which only lengthen
//! the listing.
//!
//! **How versions are bumped.** Each workspace row holds two numbers
//! ([`BUMP_VERSION`]). `version` moves with every batch that stores an
//! event, in the same transaction: a page rendered at an older version is
//! stale (the HTTP page cache reads it with the credentials, see
//! [`super::records`]). `listing_version` moves, to the same new value,
//! only with a batch that may have reordered a listing. SQLite's single
//! writer can tell reports created at the listing's end from others
//! ([`reorders_for_single_writer`]); PostgreSQL's concurrent writers cannot,
//! so there any created or moved report counts
//! ([`reorders_for_concurrent_writers`]).
//!
//! **How they are read.** A page reads `listing_version` in the same
//! snapshot as its rows ([`locate`]). The positions of one listing, the id
//! of every [`STRIDE`]-th listed report ([`Positions`]), are computed once,
//! by one walk, kept in a [`PositionCache`] and used until
//! `listing_version` moves. Every read walks the listing from the last
//! position on, which counts it and takes in reports added at its end.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use super::session::{Param, Session, Statement};
use super::{StoreResult, WorkspaceId};
use crate::domain::ReportId;
use crate::domain::state::{Changes, SpaceChanges};

/// What a set of changes can do to the order of listed reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListingChange {
    /// No report enters, leaves or moves.
    None,
    /// Reports with this id or larger are created or moved; none is deleted
    /// and no space changes. If the workspace had no report at this id or
    /// above, the listing only grows at its end.
    CreatedOrMovedFrom(ReportId),
    /// Anything may have moved.
    Reordered,
}

/// How `changes` can move the reports of a listing: a report created,
/// deleted or moved, or a space changed (its type decides whether its
/// reports are personal; a mere mention changes nothing). Views, runs, edits, schedules, explorations and
/// members cannot.
pub fn listing_change(changes: &Changes) -> ListingChange {
    if !changes.spaces.values().all(SpaceChanges::is_mention) {
        return ListingChange::Reordered;
    }
    let mut first = None;
    for (id, report) in &changes.reports {
        if report.deleted {
            return ListingChange::Reordered;
        }
        if report.definition.is_some() || report.space.is_some() {
            first = first.or(Some(*id));
        }
    }
    match first {
        Some(first) => ListingChange::CreatedOrMovedFrom(first),
        None => ListingChange::None,
    }
}

/// What merging a batch's changes can move: the order of the listed
/// reports, and the catalog (the queries and charts listings).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub reports: bool,
    pub catalog: bool,
}

impl std::ops::BitOrAssign for Moved {
    fn bitor_assign(&mut self, other: Moved) {
        self.reports |= other.reports;
        self.catalog |= other.catalog;
    }
}

/// Whether `changes` can change which queries or charts are listed, or
/// where: any query or chart changed, or anything that moves a report in
/// or out of its listing (a query follows its report). Views, runs, edits,
/// schedules, explorations and members cannot; the queries and charts
/// listings keep their positions across them.
pub fn moves_catalog(changes: &Changes) -> bool {
    !changes.queries.is_empty()
        || !changes.charts.is_empty()
        || listing_change(changes) != ListingChange::None
}

/// Whether merging `changes` moves reports already listed, so that the
/// remembered starts of pages no longer hold, for a writer that is the only
/// one of its workspace: reports created with ids above every report row
/// the workspace has (`largest_report_id`, read with [`LARGEST_REPORT_ID`]
/// before the merge, and only when it matters) only lengthen the listing,
/// which readers see by walking its end. New reports, the common case, so
/// keep deep pages cheap. Decided before the merge, under the single
/// writer, so no other batch interleaves.
pub fn reorders_for_single_writer<E>(
    changes: &Changes,
    largest_report_id: impl FnOnce() -> Result<Option<i64>, E>,
) -> Result<bool, E> {
    match listing_change(changes) {
        ListingChange::None => Ok(false),
        ListingChange::Reordered => Ok(true),
        ListingChange::CreatedOrMovedFrom(first) => {
            Ok(largest_report_id()?.is_some_and(|largest| largest >= first.get()))
        }
    }
}

/// The largest report id a workspace has rows for, listed or not.
pub static LARGEST_REPORT_ID: LazyLock<Statement> =
    LazyLock::new(|| Statement::new("SELECT max(report_id) FROM reports WHERE workspace_id = $1"));

/// Whether merging `changes` can move reports already listed, for writers
/// that may run concurrently: they cannot tell reports created at the end
/// of the listing from others, since concurrent batches may each see a
/// largest id that the other is about to undercut. So any change to which
/// reports are listed counts.
pub fn reorders_for_concurrent_writers(changes: &Changes) -> bool {
    listing_change(changes) != ListingChange::None
}

/// Marks a workspace changed by a batch: `$2` says whether the batch can
/// have moved reports already listed, `$3` whether it can have moved the
/// queries or charts listed. The versions are read in the snapshot of every
/// page served, so a page computed before the batch is never reused. Run
/// last in the batch's transaction (see [`version_bump`]).
pub static BUMP_VERSION: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "UPDATE workspaces SET version = version + 1,
    listing_version = CASE WHEN $2 THEN version + 1 ELSE listing_version END,
    catalog_version = CASE WHEN $3 THEN version + 1 ELSE catalog_version END
    WHERE workspace_id = $1",
    )
});

/// The parameters of [`BUMP_VERSION`] for a batch that stored `accepted`
/// new events and may have `moved` listings; `None` when it stored none,
/// as nothing any page shows has changed. Last in the transaction: the row
/// lock the bump takes serialises PostgreSQL's concurrent batches of one
/// workspace only at their commit.
pub fn version_bump(
    workspace: WorkspaceId,
    accepted: u64,
    moved: Moved,
) -> Option<[Param<'static>; 3]> {
    (accepted > 0).then_some([workspace.into(), moved.reports.into(), moved.catalog.into()])
}

/// The reports a listing shows: created, not deleted, and (unless `$2` asks
/// for all) not in a personal space. `$1` is the workspace.
pub const LISTED_REPORTS: &str = "FROM reports r /*live*/
    LEFT JOIN spaces s ON s.workspace_id = r.workspace_id AND s.space_token = r.space_token
    WHERE r.workspace_id = $1 AND r.definition_at IS NOT NULL AND NOT r.deleted
      AND ($2 OR s.space_type IS NULL OR s.space_type <> 'private')";

/// Read in the page's snapshot: the positions it may use.
pub static LISTING_VERSION: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new("SELECT listing_version FROM workspaces WHERE workspace_id = $1")
});

/// Likewise for the queries and charts listings.
pub static CATALOG_VERSION: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new("SELECT catalog_version FROM workspaces WHERE workspace_id = $1")
});

/// Which listing positions are kept for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListingKind {
    Reports,
    Queries,
    Charts,
}

/// A listing paged by remembered positions: by its ids, ascending.
pub struct Listing {
    pub kind: ListingKind,
    /// `$1` the workspace: the version its positions hold at.
    pub version: &'static LazyLock<Statement>,
    /// `$1` the workspace, `$2` whether personal spaces count, `$3` an id:
    /// the listed ids from it on, in order.
    pub ids: &'static LazyLock<Statement>,
    /// `$1` the workspace, `$2` as above: how many are listed.
    pub count: &'static LazyLock<Statement>,
    /// Whether counting is cheap, so that a shallow page with no positions
    /// known counts rather than computing them. A count of reports reads a
    /// narrow index; one of queries or charts joins each to its report, and
    /// costs what a walk does, which also gives the positions.
    pub cheap_count: bool,
}

/// The listed reports.
pub static REPORTS: Listing = Listing {
    kind: ListingKind::Reports,
    version: &LISTING_VERSION,
    ids: &LISTED_IDS,
    count: &COUNT,
    cheap_count: true,
};

/// The number of listed reports: all live reports, less (unless `$2`) those
/// in personal spaces, counted from the few personal spaces rather than by
/// joining every report to its space (`CROSS JOIN` makes SQLite's planner
/// keep that order; PostgreSQL's finds it anyway).
pub static COUNT: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT
    (SELECT count(*) FROM reports /*live*/
        WHERE workspace_id = $1 AND definition_at IS NOT NULL AND NOT deleted)
    - (SELECT count(*) FROM spaces s CROSS JOIN reports r /*live_by_space*/
        WHERE s.workspace_id = $1 AND NOT $2 AND s.space_type = 'private'
          AND r.workspace_id = s.workspace_id AND r.space_token = s.space_token
          AND r.definition_at IS NOT NULL AND NOT r.deleted)",
    )
});

/// The listed report ids from `$3` on, in order: what positions are
/// computed from.
pub static LISTED_IDS: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT r.report_id {LISTED_REPORTS} AND r.report_id >= $3 ORDER BY r.report_id"
    ))
});

/// Where a page of listed reports starts, and how many reports are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageStart {
    workspace: WorkspaceId,
    all: bool,
    pub total_count: u64,
    /// The report id the page starts after (0 for the start; ids are positive).
    pub after: i64,
    /// The listed reports to skip after it.
    pub skip: i64,
}

impl PageStart {
    /// The parameters of a [`listed_page_sql`] query for a page of
    /// `per_page` reports from here.
    pub fn params(&self, per_page: u64) -> [Param<'static>; 5] {
        let limit = i64::try_from(per_page).unwrap_or(i64::MAX);
        [
            self.workspace.into(),
            self.all.into(),
            limit.into(),
            self.skip.into(),
            self.after.into(),
        ]
    }
}

/// Where the page at `offset` of the listed reports starts (personal spaces
/// included if `all`), read in the page's snapshot: from the listing's
/// positions when they are known or the page is deep, else by counting.
pub async fn locate(
    session: &mut dyn Session,
    positions: &PositionCache,
    listing: &Listing,
    (workspace, all): (WorkspaceId, bool),
    offset: u64,
) -> StoreResult<PageStart> {
    let version: i64 = session
        .one(listing.version.with(&[workspace.into()]))
        .await?;
    let key = (workspace, listing.kind, all);
    let planned = positions.plan(key, version, offset, listing.cheap_count);
    let mut walked = Vec::new();
    if let Some(planned) = &planned {
        let params = [workspace.into(), all.into(), planned.last_mark().into()];
        walked = session
            .all(listing.ids.with(&params), |row| row.get(0))
            .await?;
    }
    let known = planned.and_then(|planned| positions.settle(key, planned, &walked));
    let total_count = match &known {
        Some((total, _)) => *total,
        None => {
            let counted: i64 = session
                .one(listing.count.with(&[workspace.into(), all.into()]))
                .await?;
            u64::try_from(counted).unwrap_or(0)
        }
    };
    let (after, skip) = known.map_or((0, offset), |(_, known)| known.start(offset));
    Ok(PageStart {
        workspace,
        all,
        total_count,
        after,
        skip: i64::try_from(skip).unwrap_or(i64::MAX),
    })
}

/// A page of the listed reports: `select_list` (of `reports r`) for the
/// page [`PageStart::params`] locates.
pub fn listed_page_sql(select_list: &str) -> String {
    format!(
        "SELECT {select_list} {LISTED_REPORTS}
      AND r.report_id > $5
    ORDER BY r.report_id LIMIT $3 OFFSET $4"
    )
}

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

/// The positions of one listing at one `listing_version`: the id of every
/// [`STRIDE`]-th listed report. Reports created after every report the
/// workspace had only lengthen the listing and may leave `listing_version`
/// as it is (see [`reorders_for_single_writer`]), so each read walks the
/// listing from the last mark to its end: a few hundred ids, which also
/// give the total count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Positions {
    pub listing_version: i64,
    /// `marks[i]` is the id of the listed report at 0-based position
    /// `(i + 1) * STRIDE - 1`.
    marks: Vec<i64>,
}

impl Positions {
    /// No positions yet at `listing_version`: the walk from
    /// [`Positions::last_mark`] covers the whole listing.
    pub fn new(listing_version: i64) -> Self {
        Positions {
            listing_version,
            marks: Vec::new(),
        }
    }

    /// The id of the last marked report (0 when none is): the listing from
    /// it on is walked on every read.
    pub fn last_mark(&self) -> i64 {
        self.marks.last().copied().unwrap_or(0)
    }

    /// Given the listed ids from [`Positions::last_mark`] on (that id
    /// included), in order: the tail after it, if the walk saw the last
    /// mark. A read whose snapshot predates reports added at the end of the
    /// listing may find positions computed by a newer read; then its walk
    /// does not start at the last mark, and these positions are not its to
    /// use.
    pub fn tail<'w>(&self, walked: &'w [i64]) -> Option<&'w [i64]> {
        if self.marks.is_empty() {
            return Some(walked);
        }
        (walked.first() == Some(&self.last_mark())).then(|| &walked[1..])
    }

    /// Given the listed ids after [`Positions::last_mark`], in order: how
    /// many reports the listing shows, and these positions with marks for
    /// the tail if it reaches past the next one.
    pub fn with_tail(&self, tail: &[i64]) -> (u64, Option<Positions>) {
        let marked = self.marks.len() as u64 * STRIDE;
        let total = marked + tail.len() as u64;
        let new_marks: Vec<i64> = tail
            .iter()
            .enumerate()
            .filter(|(index, _)| (marked + *index as u64 + 1) % STRIDE == 0)
            .map(|(_, id)| *id)
            .collect();
        if new_marks.is_empty() {
            return (total, None);
        }
        let mut extended = self.clone();
        extended.marks.extend(new_marks);
        (total, Some(extended))
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

/// The key of a listing: its workspace, which listing, and whether
/// personal spaces count.
type ListingKey = (WorkspaceId, ListingKind, bool);

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
    fn get(&self, key: ListingKey, listing_version: i64) -> Option<Arc<Positions>> {
        self.lock()
            .get(&key)
            .filter(|(_, positions)| positions.listing_version == listing_version)
            .map(|(_, positions)| Arc::clone(positions))
    }

    /// The positions a page read at `listing_version` starts from: those
    /// kept for it, or none yet when the page is deep enough to be worth
    /// computing them (any page, where counting is not `cheap_count`). The
    /// read then walks the listing from their [`Positions::last_mark`] and
    /// hands the ids to [`PositionCache::settle`].
    pub fn plan(
        &self,
        key: ListingKey,
        listing_version: i64,
        offset: u64,
        cheap_count: bool,
    ) -> Option<Arc<Positions>> {
        self.get(key, listing_version).or_else(|| {
            (offset >= DEEP_OFFSET || !cheap_count)
                .then(|| Arc::new(Positions::new(listing_version)))
        })
    }

    /// Given what the read walked from the planned positions' last mark on:
    /// the listing's total count and the positions to start the page from,
    /// keeping any new marks. `None` when the positions are not this read's
    /// to use (see [`Positions::tail`]); it then counts and walks by itself.
    pub fn settle(
        &self,
        key: ListingKey,
        planned: Arc<Positions>,
        walked: &[i64],
    ) -> Option<(u64, Arc<Positions>)> {
        let (total, extended) = planned.with_tail(planned.tail(walked)?);
        let positions = match extended {
            Some(extended) => self.put(key, extended),
            None => planned,
        };
        Some((total, positions))
    }

    /// Keeps `positions` for the listing; returns them shared.
    fn put(&self, key: ListingKey, positions: Positions) -> Arc<Positions> {
        let positions = Arc::new(positions);
        let order = self
            .computed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut entries = self.lock();
        if entries.len() >= MAX_LISTINGS && !entries.contains_key(&key) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (order, _))| *order)
                .map(|(key, _)| *key);
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (order, Arc::clone(&positions)));
        positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Positions {
        /// Positions from every listed report id, in order.
        fn from_ids(listing_version: i64, ids: &[i64]) -> Self {
            let positions = Positions::new(listing_version);
            positions.with_tail(ids).1.unwrap_or(positions)
        }
    }

    #[test]
    fn a_page_starts_after_the_mark_before_it() {
        // Listed ids 10, 20, 30, ...: the row at position p has id 10 * (p + 1).
        let ids: Vec<i64> = (1..=10 * STRIDE as i64 + 7).map(|n| n * 10).collect();
        let positions = Positions::from_ids(3, &ids);
        assert_eq!(positions.with_tail(&[]).0, 10 * STRIDE);
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
    fn a_listing_that_grew_at_its_end_is_marked_from_its_last_mark() {
        let ids: Vec<i64> = (1..=3 * STRIDE as i64 + 5).collect();
        let whole = Positions::from_ids(1, &ids);
        let first_part = Positions::from_ids(1, &ids[..STRIDE as usize + 3]);
        let walked: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| *id >= first_part.last_mark())
            .collect();
        let (total, extended) = first_part.with_tail(first_part.tail(&walked).unwrap());
        assert_eq!(total, ids.len() as u64);
        assert_eq!(extended.unwrap(), whole);

        // A read that cannot see the last mark (its snapshot is older than
        // the read that marked it) does not use these positions.
        let older: Vec<i64> = ids[..2 * STRIDE as usize].to_vec();
        let seen_by_older: Vec<i64> = older
            .iter()
            .copied()
            .filter(|id| *id >= whole.last_mark())
            .collect();
        assert_eq!(whole.tail(&seen_by_older), None);
    }

    #[test]
    fn positions_of_another_listing_version_are_not_served() {
        let cache = PositionCache::default();
        let reports = |workspace, all| (workspace, ListingKind::Reports, all);
        cache.put(
            reports(1, false),
            Positions::from_ids(5, &(1..=1000).collect::<Vec<_>>()),
        );
        assert!(cache.get(reports(1, false), 5).is_some());
        assert!(cache.get(reports(1, false), 6).is_none());
        assert!(cache.get(reports(1, true), 5).is_none());
        assert!(cache.get(reports(2, false), 5).is_none());
        assert!(cache.get((1, ListingKind::Queries, false), 5).is_none());
    }
}
