//! SQLite's rebuild of the usage sums ([`crate::storage::usage_sums`]):
//! the rows PostgreSQL's grouped statements there make, summed here in
//! memory from one read of each usage table, and written in key order.
//!
//! SQLite groups by sorting, and its grouped statements joined every
//! `report_days` and `report_viewer_days` row to its report one lookup at a
//! time: on the 2M-event bench stream they took 12 s, a third of the import
//! (BENCHMARKS.md). Here a report's space is a map lookup, the grouping a
//! sort of small tuples, and what is left is writing the rows.
//!
//! While a workspace is marked, every row written here would still run the
//! usage triggers' check of the mark, a lookup each (about a microsecond a
//! row and trigger): [`TriggersOff`] turns them off meanwhile.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, params_from_iter};

use crate::domain::timestamp::MICROS_PER_DAY;
use crate::storage::WorkspaceId;
use crate::storage::rows::SqlValue;
use crate::storage::session::Statement;
use crate::storage::usage_sums::{self, NEVER_VIEWED};

/// Turns the connection's triggers off until dropped, then back to what
/// they were, however the work holding it ends, panics included: so an
/// import that turns them off and the rebuild inside it that does again
/// leave them on for every later write. Meant for a transaction that has
/// marked its workspace and rebuilds its sums before it commits, writing no
/// other workspace's rows.
pub(super) struct TriggersOff<'c> {
    connection: &'c Connection,
    were_on: bool,
}

impl<'c> TriggersOff<'c> {
    pub(super) fn new(connection: &'c Connection) -> rusqlite::Result<Self> {
        // Changing the flag makes SQLite prepare the cached statements
        // again, without the triggers' programs.
        let were_on = connection.db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER)?;
        connection.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
        Ok(TriggersOff {
            connection,
            were_on,
        })
    }
}

impl Drop for TriggersOff<'_> {
    fn drop(&mut self) {
        let restored = self
            .connection
            .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, self.were_on);
        if let Err(error) = restored {
            tracing::error!(%error, "could not turn the writer's triggers back on");
        }
    }
}

/// Rebuilds every sum of `workspace` from its usage tables, reports and
/// spaces, and clears its mark, in the caller's write transaction.
pub(super) fn rebuild(connection: &Connection, workspace: WorkspaceId) -> rusqlite::Result<()> {
    rebuild_in_stretches(connection, workspace, STRETCH_ROWS)
}

fn rebuild_in_stretches(
    connection: &Connection,
    workspace: WorkspaceId,
    stretch_rows: i64,
) -> rusqlite::Result<()> {
    let _triggers = TriggersOff::new(connection)?;
    let run = |statement: &Statement| {
        connection
            .prepare_cached(statement.sqlite())?
            .execute([workspace])
            .map(drop)
    };
    usage_sums::CLEAR.iter().try_for_each(run)?;
    let live = Live::read(connection, workspace)?;
    let space_days = space_days(connection, workspace, &live)?;
    let mut rows = Rows::new(connection, workspace);
    for ((day, space), sums) in &space_days {
        let token = live.tokens[*space as usize].as_str();
        rows.push(
            "space_days (workspace_id, day, space_token, views, manual_runs, scheduled_runs,
                failed_runs)",
            [int(*day), text(token)].into_iter().chain(sums.map(int)),
        )?;
    }
    // The viewers a stretch of dates at a time, in date order.
    let mut latest: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut day_viewers: BTreeMap<(i64, bool), i64> = BTreeMap::new();
    for dates in stretches(&space_days, stretch_rows) {
        let viewers = space_viewers(connection, workspace, &live, dates)?;
        for (viewer, reports) in &viewers {
            let token = live.tokens[viewer.space as usize].as_str();
            rows.push(
                "space_viewer_days (workspace_id, day, space_token, viewer_id, reports)",
                [
                    int(viewer.day.into()),
                    text(token),
                    int(viewer.viewer),
                    int(*reports),
                ],
            )?;
        }
        for ((day, viewer), (listed, personal)) in viewer_days(&viewers, &live) {
            rows.push(
                "viewer_days (workspace_id, day, viewer_id, listed_spaces, personal_spaces)",
                [int(day), int(viewer), int(listed), int(personal)],
            )?;
            // Each viewer's latest date in a listed space and in any.
            let days = latest.entry(viewer).or_insert((NEVER_VIEWED, NEVER_VIEWED));
            if listed > 0 {
                days.0 = days.0.max(day);
            }
            days.1 = days.1.max(day);
            // A viewer counts once a date: as personal if every space
            // they viewed in is.
            *day_viewers.entry((day, listed <= 0)).or_default() += 1;
        }
    }
    for (viewer, (listed_day, any_day)) in latest {
        rows.push(
            "viewer_latest (workspace_id, viewer_id, listed_day, any_day)",
            [int(viewer), int(listed_day), int(any_day)],
        )?;
    }
    for ((day, personal), (sums, viewers)) in scope_days(&space_days, day_viewers, &live) {
        rows.push(
            "scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
                failed_runs, viewers)",
            [int(day), SqlValue::Bool(Some(personal))]
                .into_iter()
                .chain(sums.map(int))
                .chain([int(viewers)]),
        )?;
    }
    for ((space, day), (reports, views)) in &live.space_reports {
        let token = live.tokens[*space as usize].as_str();
        rows.push(
            "space_reports (workspace_id, space_token, last_view_day, reports, views)",
            [text(token), int(*day), int(*reports), int(*views)],
        )?;
    }
    report_viewers(connection, workspace, &mut rows)?;
    rows.finish()?;
    usage_sums::FINISH.iter().try_for_each(run)
}

/// `(report, date, viewer)` rows summed at most in one stretch of dates:
/// what bounds the memory of a rebuild (16 bytes a row) in a workspace of
/// any size, at the cost of one more read of the table per stretch.
const STRETCH_ROWS: i64 = 4_000_000;

/// Stretches of dates that cover every date, in order, each holding at
/// most `stretch_rows` `(report, date, viewer)` rows of live reports, by
/// a bound read from the days: a date's views, as each such row is one or
/// more of them. A date with more has a stretch of its own.
fn stretches(
    space_days: &BTreeMap<(i64, u32), [i64; 4]>,
    stretch_rows: i64,
) -> Vec<RangeInclusive<i64>> {
    let mut views: BTreeMap<i64, i64> = BTreeMap::new();
    for ((day, _), sums) in space_days {
        *views.entry(*day).or_default() += sums[0];
    }
    // The last date of each stretch but the last.
    let mut ends = Vec::new();
    let mut held = 0;
    for (day, views) in views {
        if held > 0 && held + views > stretch_rows {
            ends.push(day - 1);
            held = 0;
        }
        held += views;
    }
    let starts = std::iter::once(i64::MIN).chain(ends.iter().map(|end| end + 1));
    starts
        .zip(ends.iter().copied().chain([i64::MAX]))
        .map(|(start, end)| start..=end)
        .collect()
}

fn int(value: i64) -> SqlValue<'static> {
    SqlValue::Int(Some(value))
}

fn text(value: &str) -> SqlValue<'_> {
    SqlValue::Text(Some(value))
}

/// The workspace's live reports by space, and its spaces as the sums key
/// them: by the token of a report's space (`''` for none), numbered in text
/// order so that rows sorted by number are sorted by key.
struct Live {
    tokens: Vec<String>,
    /// Whether each space is personal (`'private'`: one with no type, or no
    /// row, is not, as the listings take it).
    personal: Vec<bool>,
    space_of: HashMap<i64, u32>,
    /// `space_reports`: `(space, date of the latest view)` →
    /// `(reports, views)`.
    space_reports: BTreeMap<(u32, i64), (i64, i64)>,
}

impl Live {
    fn read(connection: &Connection, workspace: WorkspaceId) -> rusqlite::Result<Self> {
        // Spaces numbered as first seen, renumbered below.
        let mut seen: HashMap<String, u32> = HashMap::new();
        let mut reports = Vec::new();
        let mut statement = connection.prepare_cached(
            "SELECT report_id, coalesce(space_token, ''), last_viewed_at, view_count
            FROM reports WHERE workspace_id = ?1 AND definition_at IS NOT NULL AND NOT deleted",
        )?;
        let mut rows = statement.query([workspace])?;
        while let Some(row) = rows.next()? {
            let token = row.get_ref(1)?.as_str()?;
            let space = match seen.get(token) {
                Some(space) => *space,
                None => {
                    let next = seen.len() as u32;
                    *seen.entry(token.to_owned()).or_insert(next)
                }
            };
            let day = row
                .get::<_, Option<i64>>(2)?
                .map_or(NEVER_VIEWED, |micros| micros.div_euclid(MICROS_PER_DAY));
            reports.push((row.get::<_, i64>(0)?, space, day, row.get::<_, i64>(3)?));
        }
        let mut tokens: Vec<(String, u32)> = seen.into_iter().collect();
        tokens.sort_unstable();
        let mut number = vec![0; tokens.len()];
        for (rank, (_, first_seen)) in tokens.iter().enumerate() {
            number[*first_seen as usize] = rank as u32;
        }
        let tokens: Vec<String> = tokens.into_iter().map(|(token, _)| token).collect();

        let mut space_of = HashMap::with_capacity(reports.len());
        let mut space_reports = BTreeMap::new();
        for (report, first_seen, day, views) in reports {
            let space = number[first_seen as usize];
            space_of.insert(report, space);
            let entry: &mut (i64, i64) = space_reports.entry((space, day)).or_default();
            entry.0 += 1;
            entry.1 += views;
        }

        let mut personal = vec![false; tokens.len()];
        let mut statement = connection.prepare_cached(
            "SELECT space_token FROM spaces WHERE workspace_id = ?1 AND space_type = 'private'",
        )?;
        let mut rows = statement.query([workspace])?;
        while let Some(row) = rows.next()? {
            let token = row.get_ref(0)?.as_str()?;
            if let Ok(space) = tokens.binary_search_by(|known| known.as_str().cmp(token)) {
                personal[space] = true;
            }
        }
        Ok(Live {
            tokens,
            personal,
            space_of,
            space_reports,
        })
    }
}

/// `space_days`: the live reports' views and runs by `(date, space)`.
fn space_days(
    connection: &Connection,
    workspace: WorkspaceId,
    live: &Live,
) -> rusqlite::Result<BTreeMap<(i64, u32), [i64; 4]>> {
    let mut sums: HashMap<(i64, u32), [i64; 4]> = HashMap::new();
    let mut statement = connection.prepare_cached(
        "SELECT report_id, day, views, manual_runs, scheduled_runs, failed_runs
        FROM report_days WHERE workspace_id = ?1",
    )?;
    let mut rows = statement.query([workspace])?;
    while let Some(row) = rows.next()? {
        let Some(space) = live.space_of.get(&row.get::<_, i64>(0)?) else {
            continue;
        };
        let sum = sums.entry((row.get(1)?, *space)).or_default();
        for (column, sum) in sum.iter_mut().enumerate() {
            *sum += row.get::<_, i64>(2 + column)?;
        }
    }
    Ok(sums.into_iter().collect())
}

/// A `(date, space, viewer)` of `space_viewer_days`. Dates are `i32` to
/// keep it small: the tables' dates are days since 1970 of timestamps that
/// fit in microseconds, well inside it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SpaceViewer {
    day: i32,
    space: u32,
    viewer: i64,
}

/// `space_viewer_days` for the dates of `dates`, in key order: of the live
/// reports in each space, how many each viewer viewed each date.
fn space_viewers(
    connection: &Connection,
    workspace: WorkspaceId,
    live: &Live,
    dates: RangeInclusive<i64>,
) -> rusqlite::Result<Vec<(SpaceViewer, i64)>> {
    let mut views = Vec::new();
    let mut statement = connection.prepare_cached(
        "SELECT report_id, day, viewer_id FROM report_viewer_days
        WHERE workspace_id = ?1 AND day BETWEEN ?2 AND ?3",
    )?;
    let mut rows = statement.query([workspace, *dates.start(), *dates.end()])?;
    while let Some(row) = rows.next()? {
        let Some(space) = live.space_of.get(&row.get::<_, i64>(0)?) else {
            continue;
        };
        let day: i64 = row.get(1)?;
        views.push(SpaceViewer {
            day: i32::try_from(day)
                .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(1, day))?,
            space: *space,
            viewer: row.get(2)?,
        });
    }
    views.sort_unstable();
    let mut counted: Vec<(SpaceViewer, i64)> = Vec::new();
    for view in views {
        match counted.last_mut() {
            Some((last, reports)) if *last == view => *reports += 1,
            _ => counted.push((view, 1)),
        }
    }
    Ok(counted)
}

/// `viewer_days`: for each `(date, viewer)`, in how many listed and how
/// many personal spaces the viewer viewed a live report.
fn viewer_days(viewers: &[(SpaceViewer, i64)], live: &Live) -> BTreeMap<(i64, i64), (i64, i64)> {
    let mut days: BTreeMap<(i64, i64), (i64, i64)> = BTreeMap::new();
    for (viewer, _) in viewers {
        let spaces = days.entry((viewer.day.into(), viewer.viewer)).or_default();
        if live.personal[viewer.space as usize] {
            spaces.1 += 1;
        } else {
            spaces.0 += 1;
        }
    }
    days
}

/// `scope_days`: per date, the views and runs of personal spaces and of the
/// others, with the viewers of each side.
fn scope_days(
    space_days: &BTreeMap<(i64, u32), [i64; 4]>,
    day_viewers: BTreeMap<(i64, bool), i64>,
    live: &Live,
) -> BTreeMap<(i64, bool), ([i64; 4], i64)> {
    let mut scopes: BTreeMap<(i64, bool), ([i64; 4], i64)> = BTreeMap::new();
    for ((day, space), sums) in space_days {
        let scope = scopes
            .entry((*day, live.personal[*space as usize]))
            .or_default();
        for (total, sum) in scope.0.iter_mut().zip(sums) {
            *total += sum;
        }
    }
    for (scope, viewers) in day_viewers {
        scopes.entry(scope).or_default().1 = viewers;
    }
    scopes
}

/// `report_viewers`: each (report, viewer) pair's latest date, of every
/// report. The rows come in key order, a report at a time, and go out so.
fn report_viewers(
    connection: &Connection,
    workspace: WorkspaceId,
    out: &mut Rows<'_, '_>,
) -> rusqlite::Result<()> {
    let mut statement = connection.prepare_cached(
        "SELECT report_id, day, viewer_id FROM report_viewer_days WHERE workspace_id = ?1
        ORDER BY report_id, day, viewer_id",
    )?;
    let mut rows = statement.query([workspace])?;
    let mut report = None;
    let mut latest: BTreeMap<i64, i64> = BTreeMap::new();
    let mut flush = |report: i64, latest: &mut BTreeMap<i64, i64>| -> rusqlite::Result<()> {
        for (viewer, day) in std::mem::take(latest) {
            out.push(
                "report_viewers (workspace_id, report_id, viewer_id, last_day)",
                [int(report), int(viewer), int(day)],
            )?;
        }
        Ok(())
    };
    while let Some(row) = rows.next()? {
        let (this, day, viewer): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        if let Some(done) = report.filter(|report| *report != this) {
            flush(done, &mut latest)?;
        }
        report = Some(this);
        let last = latest.entry(viewer).or_insert(day);
        *last = (*last).max(day);
    }
    if let Some(report) = report {
        flush(report, &mut latest)?;
    }
    Ok(())
}

/// Rows at most in one statement.
const STATEMENT_ROWS: usize = 128;

/// Rows written many to a statement, a table at a time: a table's rows are
/// pushed together, and a push to another table first writes what is left
/// of the one before.
struct Rows<'c, 'v> {
    connection: &'c Connection,
    workspace: WorkspaceId,
    /// `table (columns)` of the rows held.
    into: &'static str,
    width: usize,
    values: Vec<SqlValue<'v>>,
}

impl<'c, 'v> Rows<'c, 'v> {
    fn new(connection: &'c Connection, workspace: WorkspaceId) -> Self {
        Rows {
            connection,
            workspace,
            into: "",
            width: 0,
            values: Vec::new(),
        }
    }

    /// Adds a row of `into`, its values after `workspace_id`.
    fn push(
        &mut self,
        into: &'static str,
        row: impl IntoIterator<Item = SqlValue<'v>>,
    ) -> rusqlite::Result<()> {
        if into != self.into {
            self.finish()?;
            self.into = into;
        }
        let before = self.values.len();
        self.values.push(int(self.workspace));
        self.values.extend(row);
        self.width = self.values.len() - before;
        if self.values.len() >= self.width * STATEMENT_ROWS {
            self.finish()?;
        }
        Ok(())
    }

    /// Writes the rows held. `OR FAIL`: a statement that fails fails the
    /// whole transaction, so SQLite need not be able to undo it alone (and
    /// keep for that a copy of every page it changes).
    fn finish(&mut self) -> rusqlite::Result<()> {
        if self.values.is_empty() {
            return Ok(());
        }
        let row = format!("({})", vec!["?"; self.width].join(", "));
        let rows = vec![row; self.values.len() / self.width].join(", ");
        self.connection
            .prepare_cached(&format!("INSERT OR FAIL INTO {} VALUES {rows}", self.into))?
            .execute(params_from_iter(self.values.drain(..)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
