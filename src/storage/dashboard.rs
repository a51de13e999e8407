//! What the dashboard reads beyond the API's pages (SPEC section 9): a
//! workspace's headline numbers, its spaces' usage, one report's whole
//! profile, and members in the orders people ask for. Shared SQL run on a
//! [`Session`], over the same tables and with the same definitions as the
//! listings (the counts are [`report_usage::count`], the sums over days
//! [`usage_daily`]'s), so that every number equals the JSON API's.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::listings::{self, MEMBERS_COUNT, SPACES_PAGE, present_members_sql};
use super::report_usage::{self, UsageQuery, order_by};
use super::session::{Row, Session, Statement};
use super::usage_daily::{self, VIEWERS_SINCE, VIEWS_BETWEEN, VIEWS_BETWEEN_BY_SPACE};
use super::{Page, PageRequest, StoreResult, WorkspaceId, report_stats};
use crate::domain::Timestamp;
use crate::domain::listings::{ChartRow, MemberRow, QueryRow, ReportRow, SpaceRow};
use crate::domain::stats::{ReportStat, SpaceFilter};
use crate::domain::timestamp::UtcDay;
use crate::domain::usage::{
    DailyScope, ReportUsage, UsageDay, UsageFilters, UsageSort, window_start,
};

/// The window of the headline views, viewers and active members.
pub const RECENT_DAYS: i64 = 30;
/// A report with no view in this many days is stale.
pub const STALE_DAYS: i64 = 90;
/// The days a daily chart shows.
pub const CHART_DAYS: i64 = 90;
/// Rows of each of the overview's short tables.
pub const SHORT_TABLE_ROWS: u64 = 10;

/// A workspace's headline numbers, for the reports the scope lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageSummary {
    /// Listed reports: `report_usage`'s `total_count`.
    pub reports: u64,
    /// Views dated in the last [`RECENT_DAYS`] days.
    pub views_30d: u64,
    /// Distinct emails among those views.
    pub viewers_30d: u64,
    /// Listed reports with no view in the last [`STALE_DAYS`] days:
    /// `report_usage?unviewed_days=90`'s `total_count`.
    pub stale_reports_90d: u64,
    /// The views and distinct viewers of each of the last [`CHART_DAYS`]
    /// days, as `usage_daily` counts them (its runs left at zero).
    pub days: Vec<UsageDay>,
    /// The first [`SHORT_TABLE_ROWS`] rows of `report_usage?sort=-views_30d`.
    pub most_viewed: Vec<ReportUsage>,
    /// The first [`SHORT_TABLE_ROWS`] rows of
    /// `report_usage?unviewed_days=90&sort=-total_views_count`: the stale
    /// reports that were used most.
    pub stale: Vec<ReportUsage>,
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The dates of the last `days` days, later ones included (SPEC section
/// 8: events dated after D count as in the window).
fn window(today: UtcDay, days: i64) -> (i64, i64) {
    (window_start(today, days).days_since_epoch(), i64::MAX)
}

/// The first rows of a `report_usage` listing, without its count.
async fn short_table(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    (today, filter): (UtcDay, SpaceFilter),
    sort: &str,
    filters: UsageFilters,
) -> StoreResult<Vec<ReportUsage>> {
    let query = UsageQuery {
        page: PageRequest {
            page: 1,
            per_page: SHORT_TABLE_ROWS,
        },
        filter,
        today,
        sort: UsageSort::parse(sort).expect("a valid sort"),
        filters,
        after: None,
    };
    report_usage::rows(session, workspace, &query).await
}

/// The headline numbers and the overview's short tables, in one snapshot.
pub async fn summary(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    today: UtcDay,
    filter: SpaceFilter,
) -> StoreResult<UsageSummary> {
    let (reports, stale_reports_90d) =
        report_usage::listed_and_unviewed(session, workspace, (filter, today), STALE_DAYS).await?;
    let (dates, scope) = (window(today, RECENT_DAYS), DailyScope::Listed(filter));
    let (views, params) = VIEWS_BETWEEN.with(workspace, dates, scope);
    let views: i64 = session.one(views.with(&params)).await?;
    let everyone = filter == SpaceFilter::All;
    let params = [workspace.into(), everyone.into(), dates.0.into()];
    let viewers: i64 = session.one(VIEWERS_SINCE.with(&params)).await?;
    let chart = (today.plus_days(1 - CHART_DAYS), today);
    let days = usage_daily::views_by_day(session, workspace, chart, scope).await?;
    let at = (today, filter);
    let most_viewed = short_table(session, workspace, at, "-views_30d", Default::default()).await?;
    let unviewed = UsageFilters {
        unviewed_days: Some(STALE_DAYS),
        ..UsageFilters::default()
    };
    let stale = short_table(session, workspace, at, "-total_views_count", unviewed).await?;
    Ok(UsageSummary {
        reports,
        views_30d: count(views),
        viewers_30d: count(viewers),
        stale_reports_90d,
        days,
        most_viewed,
        stale,
    })
}

/// A space's share of the listed reports and their views. `space` is
/// `None` for the reports in no space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceUsage {
    pub space: Option<SpaceRow>,
    pub reports: u64,
    pub total_views: u64,
    pub views_30d: u64,
    pub stale_reports_90d: u64,
}

impl SpaceUsage {
    fn empty(space: Option<SpaceRow>) -> Self {
        SpaceUsage {
            space,
            reports: 0,
            total_views: 0,
            views_30d: 0,
            stale_reports_90d: 0,
        }
    }
}

/// Per space the listed reports are in now (`$1` workspace, `$2` personal
/// spaces too, `$3` the first date of the stale window): how many, their
/// views, how many are stale, from the counts kept per space and date of
/// latest view (as `report_usage`'s counts read them).
static REPORTS_BY_SPACE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT nullif(c.space_token, ''), CAST(sum(c.reports) AS BIGINT),
    CAST(sum(c.views) AS BIGINT),
    CAST(sum(CASE WHEN c.last_view_day < $3 THEN c.reports ELSE 0 END) AS BIGINT)
FROM space_reports c
LEFT JOIN spaces s ON s.workspace_id = c.workspace_id AND s.space_token = c.space_token
WHERE c.workspace_id = $1 AND ($2 OR s.space_type IS NULL OR s.space_type <> 'private')
GROUP BY c.space_token
HAVING sum(c.reports) > 0",
    )
});

/// Every listed space (those without listed reports too) with its usage,
/// the most viewed in the last [`RECENT_DAYS`] days first.
pub async fn spaces(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    today: UtcDay,
    filter: SpaceFilter,
) -> StoreResult<Vec<SpaceUsage>> {
    let all = filter == SpaceFilter::All;
    let listing = [workspace.into(), all.into(), i64::MAX.into(), 0.into()];
    let read = |row: &dyn Row| Ok(SpaceRow::from(listings::SpaceColumns::from_row(row)?));
    // By token: the sums below name each space by it.
    let mut usage: HashMap<Option<String>, SpaceUsage> = session
        .all(SPACES_PAGE.with(&listing), read)
        .await?
        .into_iter()
        .map(|space| (Some(space.token.clone()), SpaceUsage::empty(Some(space))))
        .collect();
    let stale_since = window_start(today, STALE_DAYS).days_since_epoch();
    let params = [workspace.into(), all.into(), stale_since.into()];
    let mut by_space = Vec::new();
    session
        .each(REPORTS_BY_SPACE.with(&params), |row| {
            by_space.push((
                row.get::<Option<String>>(0)?,
                [row.get(1)?, row.get(2)?, row.get(3)?].map(count),
            ));
            Ok(())
        })
        .await?;
    for (token, [reports, views, stale]) in by_space {
        let row = row_for(&mut usage, token);
        (row.reports, row.total_views, row.stale_reports_90d) = (reports, views, stale);
    }
    let (from, to) = window(today, RECENT_DAYS);
    let params = [workspace.into(), from.into(), to.into(), all.into()];
    let mut recent = Vec::new();
    session
        .each(VIEWS_BETWEEN_BY_SPACE.with(&params), |row| {
            recent.push((row.get::<Option<String>>(0)?, count(row.get(1)?)));
            Ok(())
        })
        .await?;
    for (token, views) in recent {
        row_for(&mut usage, token).views_30d = views;
    }
    let mut usage: Vec<SpaceUsage> = usage.into_values().collect();
    usage.sort_by(|a, b| {
        (b.views_30d, b.reports, b.total_views)
            .cmp(&(a.views_30d, a.reports, a.total_views))
            .then_with(|| name_of(a).cmp(name_of(b)))
    });
    Ok(usage)
}

/// The row of the space with this token; a report in no space adds "no
/// space" (a report's space the listing leaves out cannot be listed with
/// it, and is shown as none).
fn row_for(
    usage: &mut HashMap<Option<String>, SpaceUsage>,
    token: Option<String>,
) -> &mut SpaceUsage {
    usage
        .entry(token)
        .or_insert_with(|| SpaceUsage::empty(None))
}

fn name_of(usage: &SpaceUsage) -> &str {
    usage.space.as_ref().map_or("", |space| &space.name)
}

/// Everything the report page shows of one live report, whatever its
/// space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportDetail {
    pub report: ReportRow,
    pub usage: ReportUsage,
    pub stats: ReportStat,
    pub queries: Vec<QueryRow>,
    pub charts: Vec<ChartRow>,
}

/// The live report with this token, in one snapshot: `None` if there is
/// none.
pub async fn report(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    token: &str,
    today: UtcDay,
    recent_since: Timestamp,
) -> StoreResult<Option<ReportDetail>> {
    let Some(report) = listings::report(session, workspace, token).await? else {
        return Ok(None);
    };
    let query = UsageQuery {
        page: PageRequest {
            page: 1,
            per_page: 1,
        },
        filter: SpaceFilter::All,
        today,
        sort: Default::default(),
        filters: UsageFilters {
            report_id: Some(report.id),
            ..UsageFilters::default()
        },
        after: None,
    };
    let usage = report_usage::page(session, workspace, &query).await?;
    let stats = report_stats::one(session, workspace, report.id, recent_since).await?;
    let (Some(usage), Some(stats)) = (usage.items.into_iter().next(), stats) else {
        return Ok(None);
    };
    let (queries, charts) = listings::report_catalog(session, workspace, report.id).await?;
    Ok(Some(ReportDetail {
        report,
        usage,
        stats,
        queries,
        charts,
    }))
}

/// What the members table sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum MemberOrder {
    #[default]
    LastActive,
    DaysEngaged,
    LastViewed,
    Email,
}

impl MemberOrder {
    pub const ALL: [MemberOrder; 4] = [
        MemberOrder::LastActive,
        MemberOrder::DaysEngaged,
        MemberOrder::LastViewed,
        MemberOrder::Email,
    ];

    /// As the dashboard's `sort` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberOrder::LastActive => "last_active_at",
            MemberOrder::DaysEngaged => "total_days_engaged",
            MemberOrder::LastViewed => "last_report_viewed_at",
            MemberOrder::Email => "email",
        }
    }

    /// The `ORDER BY` key, and whether it can be `NULL`.
    fn key(self, postgres: bool) -> (&'static str, bool) {
        match self {
            MemberOrder::LastActive => ("m.last_active_at", true),
            MemberOrder::DaysEngaged => ("total_days_engaged", false),
            MemberOrder::LastViewed => ("m.last_report_viewed_at", true),
            // Byte order on both backends, as `report_usage` sorts names.
            MemberOrder::Email if postgres => ("m.email COLLATE \"C\"", false),
            MemberOrder::Email => ("m.email", false),
        }
    }
}

/// A members page: its order and the date "active in the last 30 days"
/// ends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MembersQuery {
    pub page: PageRequest,
    pub order: MemberOrder,
    pub descending: bool,
    pub today: UtcDay,
}

/// A page of members, and how many of all were active lately.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberActivity {
    pub page: Page<MemberRow>,
    /// Present members with any activity in the last [`RECENT_DAYS`] days.
    pub active_30d: u64,
}

fn members_sql(order: MemberOrder, descending: bool, postgres: bool) -> String {
    let (key, nullable) = order.key(postgres);
    let order = order_by(key, nullable, descending, "m.member_id");
    format!("ORDER BY {order} LIMIT $2 OFFSET $3")
}

/// One statement per order, both ways: `$2` limit, `$3` offset.
static MEMBERS_IN_ORDER: LazyLock<Vec<((MemberOrder, bool), Statement)>> = LazyLock::new(|| {
    MemberOrder::ALL
        .into_iter()
        .flat_map(|order| {
            [false, true].map(|descending| {
                let statement = Statement::per_dialect(
                    present_members_sql(&members_sql(order, descending, true)),
                    &present_members_sql(&members_sql(order, descending, false)),
                );
                ((order, descending), statement)
            })
        })
        .collect()
});

static MEMBERS_ACTIVE_SINCE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT count(*) FROM members WHERE workspace_id = $1 AND present AND last_active_at >= $2",
    )
});

/// A page of present members in `query`'s order, ties by id.
pub async fn members(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    query: MembersQuery,
) -> StoreResult<MemberActivity> {
    let total: i64 = session.one(MEMBERS_COUNT.with(&[workspace.into()])).await?;
    let since = window_start(query.today, RECENT_DAYS).start().as_micros();
    let active: i64 = session
        .one(MEMBERS_ACTIVE_SINCE.with(&[workspace.into(), since.into()]))
        .await?;
    let statement = &MEMBERS_IN_ORDER
        .iter()
        .find(|(key, _)| *key == (query.order, query.descending))
        .expect("a statement for every order")
        .1;
    let limit = i64::try_from(query.page.per_page).unwrap_or(i64::MAX);
    let offset = i64::try_from(query.page.offset()).unwrap_or(i64::MAX);
    let params = [workspace.into(), limit.into(), offset.into()];
    let items = session
        .all(statement.with(&params), listings::read_member)
        .await?;
    Ok(MemberActivity {
        page: Page::new(count(total), items),
        active_30d: count(active),
    })
}
