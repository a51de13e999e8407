//! The series of `usage_daily` and the sums over days the dashboard reads
//! (SPEC section 8), shared by the backends: a workspace's from the sums kept
//! per date for each scope (`scope_days`, `viewer_days`) and per space
//! (`space_days`), one report's from its own rows of `report_days` and
//! `report_viewer_days`, run on a [`Session`].

use std::sync::LazyLock;

use super::session::{Param, Row, Session, Statement};
use super::{StoreResult, WorkspaceId};
use crate::domain::stats::SpaceFilter;
use crate::domain::timestamp::UtcDay;
use crate::domain::usage::{DailyScope, UsageDay, UsageSeries};

/// What a `usage_daily` series is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DailyQuery {
    pub from: UtcDay,
    pub to: UtcDay,
    pub scope: DailyScope,
}

/// Which reports a sum over days reads, and how: the listed ones (`$4`:
/// personal spaces too) through the sums of their spaces, or one report's
/// range of the day table's key (`$4`: its id; that it is live is checked
/// before).
#[derive(Clone, Copy)]
enum Included {
    Listed,
    Report,
}

/// What a sum over days reads of each date: views and runs (aliased `d`),
/// who viewed (aliased `v`), or the listed reports' views and runs by the
/// space they are in (aliased `d`).
#[derive(Clone, Copy)]
enum DayRows {
    Activity,
    Viewers,
    ActivityBySpace,
}

/// The rows dated `$2..=$3` of the included reports: what every sum over
/// days reads. The listed reports' are the sums the triggers of the
/// migrations that made them keep, a few rows per date whatever the number
/// of reports: per scope (`scope_days`, `viewer_days`: a space is personal
/// by the type [`LISTED_REPORTS`](super::listing_version::LISTED_REPORTS)
/// reads) or per space (`space_days`, joined with each space's type as
/// `LISTED_REPORTS` joins it).
fn included_days(rows: DayRows, included: Included) -> String {
    let dates = "day >= $2 AND day <= $3";
    match (included, rows) {
        (Included::Listed, DayRows::Activity) => format!(
            "FROM scope_days d WHERE d.workspace_id = $1 AND d.{dates} AND ($4 OR NOT d.personal)"
        ),
        // A viewer counts in a scope while a space of it still holds a
        // live report the viewer viewed that date.
        (Included::Listed, DayRows::Viewers) => format!(
            "FROM viewer_days v WHERE v.workspace_id = $1 AND v.{dates}
  AND (v.listed_spaces > 0 OR ($4 AND v.personal_spaces > 0))"
        ),
        (Included::Listed, DayRows::ActivityBySpace) => format!(
            "FROM space_days d
LEFT JOIN spaces s ON s.workspace_id = d.workspace_id AND s.space_token = d.space_token
WHERE d.workspace_id = $1 AND d.{dates}
  AND ($4 OR s.space_type IS NULL OR s.space_type <> 'private')"
        ),
        (Included::Report, DayRows::Viewers) => format!(
            "FROM report_viewer_days v WHERE v.workspace_id = $1 AND v.report_id = $4 AND v.{dates}"
        ),
        (Included::Report, DayRows::Activity | DayRows::ActivityBySpace) => format!(
            "FROM report_days d WHERE d.workspace_id = $1 AND d.report_id = $4 AND d.{dates}"
        ),
    }
}

/// A sum over days, one statement per [`Included`].
pub(super) struct OverDays {
    listed: Statement,
    report: Statement,
}

impl OverDays {
    fn new(sql: impl Fn(Included) -> String) -> Self {
        OverDays {
            listed: Statement::new(sql(Included::Listed)),
            report: Statement::new(sql(Included::Report)),
        }
    }

    /// The statement for `scope`, with its parameters: the dates
    /// `from..=to` (days since the epoch) and the scope's own.
    pub(super) fn with(
        &self,
        workspace: WorkspaceId,
        (from, to): (i64, i64),
        scope: DailyScope,
    ) -> (&Statement, [Param<'static>; 4]) {
        let (statement, own) = match scope {
            DailyScope::Listed(filter) => (&self.listed, (filter == SpaceFilter::All).into()),
            DailyScope::Report(id) => (&self.report, id.into()),
        };
        (statement, [workspace.into(), from.into(), to.into(), own])
    }
}

/// Per date: views and runs of the included reports.
static DAILY_ACTIVITY: LazyLock<OverDays> = LazyLock::new(|| {
    OverDays::new(|included| {
        format!(
            "SELECT d.day, CAST(sum(d.views) AS BIGINT), CAST(sum(d.manual_runs) AS BIGINT),
    CAST(sum(d.scheduled_runs) AS BIGINT), CAST(sum(d.failed_runs) AS BIGINT)
{}
GROUP BY d.day",
            included_days(DayRows::Activity, included)
        )
    })
});

/// Per date: views of the included reports alone (what a chart of views
/// and viewers needs).
static DAILY_VIEWS: LazyLock<OverDays> = LazyLock::new(|| {
    OverDays::new(|included| {
        format!(
            "SELECT d.day, CAST(sum(d.views) AS BIGINT) {} AND d.views > 0 GROUP BY d.day",
            included_days(DayRows::Activity, included)
        )
    })
});

/// Per date: distinct viewers of the included reports (for the listed ones,
/// the viewers `scope_days` counts once per date).
static DAILY_VIEWERS: LazyLock<OverDays> = LazyLock::new(|| {
    OverDays::new(|included| match included {
        Included::Listed => format!(
            "SELECT d.day, CAST(sum(d.viewers) AS BIGINT) {} GROUP BY d.day",
            included_days(DayRows::Activity, included)
        ),
        Included::Report => format!(
            "SELECT v.day, count(DISTINCT v.viewer_id) {} GROUP BY v.day",
            included_days(DayRows::Viewers, included)
        ),
    })
});

/// The included reports' views over the dates. Dates of runs alone add
/// nothing, and are passed over.
pub(super) static VIEWS_BETWEEN: LazyLock<OverDays> = LazyLock::new(|| {
    OverDays::new(|included| {
        format!(
            "SELECT CAST(coalesce(sum(d.views), 0) AS BIGINT) {} AND d.views > 0",
            included_days(DayRows::Activity, included)
        )
    })
});

/// The included reports' distinct viewers over the dates.
static VIEWERS_BETWEEN: LazyLock<OverDays> = LazyLock::new(|| {
    OverDays::new(|included| {
        format!(
            "SELECT count(DISTINCT v.viewer_id) {}",
            included_days(DayRows::Viewers, included)
        )
    })
});

/// The listed reports' distinct viewers of the dates from `$3` on, later
/// ones included (`$2`: personal spaces too): the viewers whose latest
/// counted date is in the window.
pub(super) static VIEWERS_SINCE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT count(*) FROM viewer_latest
WHERE workspace_id = $1 AND CASE WHEN $2 THEN any_day ELSE listed_day END >= $3",
    )
});

/// The listed reports' views over the dates, per space they are in now.
pub(super) static VIEWS_BETWEEN_BY_SPACE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT nullif(d.space_token, ''), CAST(sum(d.views) AS BIGINT) {} AND d.views > 0
GROUP BY d.space_token",
        included_days(DayRows::ActivityBySpace, Included::Listed)
    ))
});

/// Whether `$2` is a live report (created, not deleted, in any space).
static LIVE_REPORT: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT count(*) FROM reports WHERE workspace_id = $1 AND report_id = $2
    AND definition_at IS NOT NULL AND NOT deleted",
    )
});

/// A row per date of `from..=to` (days since the epoch), zeros.
fn empty_days(from: i64, to: i64) -> Vec<UsageDay> {
    (from..=to)
        .map(|day| UsageDay::empty(UtcDay::from_days_since_epoch(day)))
        .collect()
}

/// The date of `days` (from `from` on) that a row's first column names.
fn day_of_row<'a>(
    days: &'a mut [UsageDay],
    from: i64,
    row: &dyn Row,
) -> StoreResult<Option<&'a mut UsageDay>> {
    let index = usize::try_from(row.get::<i64>(0)? - from).ok();
    Ok(index.and_then(|index| days.get_mut(index)))
}

fn count_at(row: &dyn Row, column: usize) -> StoreResult<u64> {
    Ok(u64::try_from(row.get::<i64>(column)?).unwrap_or(0))
}

/// Each date's distinct viewers, into `days` (which start at `from`).
async fn add_viewers(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    scope: DailyScope,
    days: &mut [UsageDay],
    from: i64,
) -> StoreResult<()> {
    let to = from + days.len() as i64 - 1;
    let (viewers, params) = DAILY_VIEWERS.with(workspace, (from, to), scope);
    session
        .each(viewers.with(&params), |row| {
            if let Some(day) = day_of_row(days, from, row)? {
                day.viewers = count_at(row, 1)?;
            }
            Ok(())
        })
        .await
}

/// Each date's views and distinct viewers alone (runs left at zero): what
/// a chart of them needs, read without the dates of runs alone.
pub async fn views_by_day(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    (from, to): (UtcDay, UtcDay),
    scope: DailyScope,
) -> StoreResult<Vec<UsageDay>> {
    let (from, to) = (from.days_since_epoch(), to.days_since_epoch());
    let mut days = empty_days(from, to);
    let (views, params) = DAILY_VIEWS.with(workspace, (from, to), scope);
    session
        .each(views.with(&params), |row| {
            if let Some(day) = day_of_row(&mut days, from, row)? {
                day.views = count_at(row, 1)?;
            }
            Ok(())
        })
        .await?;
    add_viewers(session, workspace, scope, &mut days, from).await?;
    Ok(days)
}

/// The series of `usage_daily`, one row per date, zeros included, with
/// the distinct viewers over the range; `None` when asked for one report
/// that is not live.
pub async fn daily(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    query: DailyQuery,
) -> StoreResult<Option<UsageSeries>> {
    if let DailyScope::Report(id) = query.scope {
        let live: i64 = session
            .one(LIVE_REPORT.with(&[workspace.into(), id.into()]))
            .await?;
        if live == 0 {
            return Ok(None);
        }
    }
    let (from, to) = (query.from.days_since_epoch(), query.to.days_since_epoch());
    let mut days = empty_days(from, to);
    let (activity, params) = DAILY_ACTIVITY.with(workspace, (from, to), query.scope);
    session
        .each(activity.with(&params), |row| {
            if let Some(day) = day_of_row(&mut days, from, row)? {
                day.views = count_at(row, 1)?;
                day.manual_runs = count_at(row, 2)?;
                day.scheduled_runs = count_at(row, 3)?;
                day.failed_runs = count_at(row, 4)?;
            }
            Ok(())
        })
        .await?;
    add_viewers(session, workspace, query.scope, &mut days, from).await?;
    let (everyone, params) = VIEWERS_BETWEEN.with(workspace, (from, to), query.scope);
    let everyone: i64 = session.one(everyone.with(&params)).await?;
    Ok(Some(UsageSeries {
        days,
        viewers: u64::try_from(everyone).unwrap_or(0),
    }))
}
