//! The series of `usage_daily` and the sums over days the dashboard reads
//! (SPEC section 8), shared by the backends: a workspace's from the sums its
//! spaces keep (`space_days`, `space_viewer_days`), one report's from its
//! own rows of `report_days` and `report_viewer_days`, run on a
//! [`Session`].

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
/// or who viewed (aliased `v`).
#[derive(Clone, Copy)]
enum DayRows {
    Activity,
    Viewers,
}

/// The rows dated `$2..=$3` of the included reports: what every sum over
/// days reads. The listed reports' are their spaces' sums (`space_days`,
/// `space_viewer_days`: one row per space and date, kept by the triggers of
/// the migration that made them), joined with each space's type as
/// [`LISTED_REPORTS`](super::listing_version::LISTED_REPORTS) joins it, so that a workspace's days cost what its
/// spaces' do, never what its reports' do.
fn included_days(rows: DayRows, included: Included) -> String {
    let (alias, of_report, of_space, counted) = match rows {
        DayRows::Activity => ("d", "report_days", "space_days", ""),
        // A viewer at zero no longer views any live report of the space.
        DayRows::Viewers => (
            "v",
            "report_viewer_days",
            "space_viewer_days",
            " AND v.reports > 0",
        ),
    };
    match included {
        Included::Listed => format!(
            "FROM {of_space} {alias}
LEFT JOIN spaces s ON s.workspace_id = {alias}.workspace_id AND s.space_token = {alias}.space_token
WHERE {alias}.workspace_id = $1 AND {alias}.day >= $2 AND {alias}.day <= $3{counted}
  AND ($4 OR s.space_type IS NULL OR s.space_type <> 'private')"
        ),
        Included::Report => format!(
            "FROM {of_report} {alias}
WHERE {alias}.workspace_id = $1 AND {alias}.report_id = $4
  AND {alias}.day >= $2 AND {alias}.day <= $3"
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

/// Per date: distinct viewers of the included reports.
static DAILY_VIEWERS: LazyLock<OverDays> = LazyLock::new(|| {
    OverDays::new(|included| {
        format!(
            "SELECT v.day, count(DISTINCT v.viewer_id) {} GROUP BY v.day",
            included_days(DayRows::Viewers, included)
        )
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
pub(super) static VIEWERS_BETWEEN: LazyLock<OverDays> = LazyLock::new(|| {
    OverDays::new(|included| {
        format!(
            "SELECT count(DISTINCT v.viewer_id) {}",
            included_days(DayRows::Viewers, included)
        )
    })
});

/// The listed reports' views over the dates, per space they are in now.
pub(super) static VIEWS_BETWEEN_BY_SPACE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT nullif(d.space_token, ''), CAST(sum(d.views) AS BIGINT) {} AND d.views > 0
GROUP BY d.space_token",
        included_days(DayRows::Activity, Included::Listed)
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
