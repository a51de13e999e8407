//! When a writer merges the changes it has folded.
//!
//! A writer folds a long stream's events into one [`Changes`] in memory and
//! merges it into the tables only when it holds about so many bytes (and at
//! the commit). Merging touches every page holding a row it changes; in a
//! large workspace those rows are spread all over the tables, so the longer
//! changes are folded in memory (a report viewed a thousand times is one
//! row update), the fewer pages an import writes. The bound keeps an
//! import's peak memory within what BENCHMARKS.md records.

use crate::domain::state::Changes;

/// The default memory of pending changes at which a writer merges them.
/// BENCHMARKS.md has how merges of different sizes compared.
pub const MERGE_AT_BYTES: usize = 150 * 1024 * 1024;

/// About the memory one pending row holds (an entity, or one item of a
/// report's sets), as imports that merged at different sizes showed at
/// their peak.
const ROW_BYTES: usize = 270;
/// About the memory a report's definition holds besides its row: its
/// token, creator, name, description and space.
const DEFINITION_BYTES: usize = 600;
/// The memory of one day in a member's set of active days: an `i64` in a
/// vector, with its spare capacity. Counted as a whole row, a busy import's
/// days (thousands of members over months) would make it merge early.
const ACTIVE_DAY_BYTES: usize = 16;
/// The memory of a report's day of activity: a date and four counters in
/// a vector, with its spare capacity.
const USAGE_ROW_BYTES: usize = 64;
/// The memory of a report's `(date, viewer)` pair: two integers in a
/// vector, with its spare capacity.
const VIEWER_DAY_BYTES: usize = 24;

/// About how many bytes of memory `changes` hold.
pub fn footprint(changes: &Changes) -> usize {
    let size = changes.size();
    size.rows * ROW_BYTES
        + size.definitions * DEFINITION_BYTES
        + size.active_days * ACTIVE_DAY_BYTES
        + size.usage_rows * USAGE_ROW_BYTES
        + size.viewer_days * VIEWER_DAY_BYTES
        + size.text_bytes
}
