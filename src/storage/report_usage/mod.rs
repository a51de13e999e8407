//! `report_usage` pages (SPEC section 8), shared by the backends: their
//! SQL over the usage tables that ingestion keeps (built in `page_sql`),
//! bound and run on a [`Session`]
//! (the series of `usage_daily` are [`super::usage_daily`]'s):
//!
//! - `report_days`: each report's views and runs per UTC date;
//!   `report_viewer_days`: who viewed it on which date, by the viewer's
//!   derived id; `report_viewers`: each viewer's latest view of it;
//! - `space_reports`: the live reports per space and date of latest view,
//!   what the counts read;
//! - `report_windows`: each report's counts over the 7, 30 and 90 days
//!   ending on one date (see [`crate::storage::usage_windows`]).
//!
//! A page for the date the windows end on reads their counts, and one
//! sorted by a window's views or viewers walks that count's index, reading
//! one page of rows. For any other date a window's count is a range of its
//! report's dates, its viewers a range of its report's viewers by latest
//! view: what a row costs follows its report's days and viewers, never the
//! event log, and an order other than `report_id` computes the key of every
//! listed report that passes the filters. Both give the same answers.

use std::sync::LazyLock;

use super::listing_version::LISTED_REPORTS;
use super::session::{Param, Row, Session, Statement};
use super::usage_windows::WINDOWS_DAY;
use super::{Page, PageRequest, StoreResult, WorkspaceId};
use crate::domain::Timestamp;
use crate::domain::stats::SpaceFilter;
use crate::domain::timestamp::UtcDay;
use crate::domain::usage::{
    CursorKey, ReportUsage, UsageCursor, UsageFilters, UsageSort, WINDOWS, fold_case, window_start,
};

mod page_sql;

use page_sql::{Counts, Dialect, IdBounds, PAGES, filter_sql};
pub(super) use page_sql::{day_of, order_by};

/// What a `report_usage` page is asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UsageQuery {
    pub page: PageRequest,
    pub filter: SpaceFilter,
    /// D: the date "the last N days" end on.
    pub today: UtcDay,
    pub sort: UsageSort,
    pub filters: UsageFilters,
    /// Where the page starts instead of `page.page`: after this row (an
    /// export's pages; `page.per_page` still says how many rows).
    pub after: Option<UsageCursor>,
}

/// The space counts (`space_reports`) of the listed reports (`$2`:
/// personal spaces too), a row per space and date of latest view.
const LISTED_SPACE_COUNTS: &str = "FROM space_reports c
LEFT JOIN spaces s ON s.workspace_id = c.workspace_id AND s.space_token = c.space_token
WHERE c.workspace_id = $1 AND ($2 OR s.space_type IS NULL OR s.space_type <> 'private')";

/// How many listed reports are in the space counts that pass `$3` and `$4`
/// of [`filter_sql`]: what [`COUNT`] counts when no filter needs a report's
/// own row, in a row per space and date of latest view rather than one per
/// report.
static COUNT_BY_SPACE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT CAST(coalesce(sum(c.reports), 0) AS BIGINT) {LISTED_SPACE_COUNTS}
  AND ($3 IS NULL OR c.last_view_day < $3) AND ($4 IS NULL OR c.space_token = $4)"
    ))
});

/// The listed reports, and those of them with no view since `$3`: two
/// [`COUNT_BY_SPACE`]s in one read.
static LISTED_AND_UNVIEWED: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT CAST(coalesce(sum(c.reports), 0) AS BIGINT),
    CAST(coalesce(sum(CASE WHEN c.last_view_day < $3 THEN c.reports ELSE 0 END), 0) AS BIGINT)
{LISTED_SPACE_COUNTS}"
    ))
});

/// How many reports the scope lists, and how many of them have no view in
/// the last `unviewed_days` days: `total_count` without filters, and with
/// only `unviewed_days`.
pub async fn listed_and_unviewed(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    (filter, today): (SpaceFilter, UtcDay),
    unviewed_days: i64,
) -> StoreResult<(u64, u64)> {
    let since = window_start(today, unviewed_days).days_since_epoch();
    let params = [
        workspace.into(),
        (filter == SpaceFilter::All).into(),
        since.into(),
    ];
    let counts = session
        .first(LISTED_AND_UNVIEWED.with(&params), |row| {
            Ok((row.get::<i64>(0)?, row.get::<i64>(1)?))
        })
        .await?
        .unwrap_or_default();
    let count = |value: i64| u64::try_from(value).unwrap_or(0);
    Ok((count(counts.0), count(counts.1)))
}

/// The listed reports that pass the filters.
static COUNT: LazyLock<Statement> = LazyLock::new(|| {
    let count = |dialect| {
        format!(
            "SELECT count(*) {}",
            filter_sql(dialect, LISTED_REPORTS, IdBounds::default())
        )
    };
    Statement::per_dialect(count(Dialect::Postgres), &count(Dialect::Sqlite))
});

fn read_row(row: &dyn Row) -> StoreResult<ReportUsage> {
    let count = |column: usize| -> StoreResult<u64> {
        Ok(u64::try_from(row.get::<i64>(column)?).unwrap_or(0))
    };
    let at = |column: usize| -> StoreResult<Option<Timestamp>> {
        Ok(row.get::<Option<i64>>(column)?.map(Timestamp::from_micros))
    };
    Ok(ReportUsage {
        report_token: row.get::<Option<String>>(0)?.unwrap_or_default(),
        name: row.get(1)?,
        space_token: row.get(2)?,
        creator_email: row.get(3)?,
        total_views_count: count(4)?,
        views_7d: count(5)?,
        views_30d: count(6)?,
        views_90d: count(7)?,
        total_viewers_count: count(8)?,
        viewers_7d: count(9)?,
        viewers_30d: count(10)?,
        viewers_90d: count(11)?,
        last_viewed_at: at(12)?,
        days_since_last_view: row.get(13)?,
        runs_30d: count(14)?,
        failed_runs_30d: count(15)?,
        active_schedules_count: count(16)?,
        report_id: row.get(17)?,
        created_at: at(18)?,
    })
}

/// How many of [`page`]'s parameters [`COUNT`] takes.
const FILTER_PARAMS: usize = 6;

/// The listed reports (personal spaces too if `filter` says so) that pass
/// `filters` on `today`.
pub async fn count(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    filter: SpaceFilter,
    today: UtcDay,
    filters: &UsageFilters,
) -> StoreResult<u64> {
    let (unviewed_since, name) = filter_values(today, filters);
    let params: [Param; FILTER_PARAMS] = [
        workspace.into(),
        (filter == SpaceFilter::All).into(),
        unviewed_since.into(),
        filters.space_token.as_deref().into(),
        name.as_deref().into(),
        filters.report_id.into(),
    ];
    let by_space = filters.name_contains.is_none() && filters.report_id.is_none();
    let total_count: i64 = if by_space {
        session.one(COUNT_BY_SPACE.with(&params[..4])).await?
    } else {
        session.one(COUNT.with(&params)).await?
    };
    Ok(u64::try_from(total_count).unwrap_or(0))
}

/// The first date of `unviewed_days`' window, and the name text folded.
fn filter_values(today: UtcDay, filters: &UsageFilters) -> (Option<i64>, Option<String>) {
    let unviewed_since = filters
        .unviewed_days
        .map(|days| window_start(today, days).days_since_epoch());
    (
        unviewed_since,
        filters.name_contains.as_deref().map(fold_case),
    )
}

/// A page of `report_usage`, read in one snapshot.
pub async fn page(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    query: &UsageQuery,
) -> StoreResult<Page<ReportUsage>> {
    let total_count = count(
        session,
        workspace,
        query.filter,
        query.today,
        &query.filters,
    )
    .await?;
    let items = rows(session, workspace, query).await?;
    Ok(Page::new(total_count, items))
}

/// The rows of a page of `report_usage` alone, without counting the
/// listing (for a caller that knows, or does not need, its count).
pub async fn rows(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    query: &UsageQuery,
) -> StoreResult<Vec<ReportUsage>> {
    let [since_7, since_30, since_90] =
        WINDOWS.map(|days| window_start(query.today, days).days_since_epoch());
    let filters = &query.filters;
    let (unviewed_since, name) = filter_values(query.today, filters);
    let offset = match query.after {
        Some(_) => 0,
        None => i64::try_from(query.page.offset()).unwrap_or(i64::MAX),
    };
    let per_page = i64::try_from(query.page.per_page).unwrap_or(i64::MAX);
    let (after_key, after_id) = match &query.after {
        Some(UsageCursor { key, report_id }) => (
            match key {
                CursorKey::Int(value) => Param::Int(*value),
                CursorKey::Text(value) => Param::Text(value.as_deref()),
            },
            Param::Int(Some(*report_id)),
        ),
        None => (Param::Int(None), Param::Int(None)),
    };
    let params: [Param; 14] = [
        workspace.into(),
        (query.filter == SpaceFilter::All).into(),
        unviewed_since.into(),
        filters.space_token.as_deref().into(),
        name.as_deref().into(),
        filters.report_id.into(),
        since_7.into(),
        since_30.into(),
        since_90.into(),
        query.today.days_since_epoch().into(),
        per_page.into(),
        offset.into(),
        after_key,
        after_id,
    ];
    let windows_day: Option<i64> = session
        .first(WINDOWS_DAY.with(&[workspace.into()]), |row| row.get(0))
        .await?;
    let counts = if windows_day == Some(query.today.days_since_epoch()) {
        Counts::Kept
    } else {
        Counts::Computed
    };
    let keyset = query.after.is_some();
    let statement = &PAGES
        .iter()
        .find(|(key, _)| *key == (query.sort, counts, keyset))
        .expect("a statement for every sort")
        .1;
    let params = if keyset { &params[..] } else { &params[..12] };
    session.all(statement.with(params), read_row).await
}
