//! What the pages show of reports, shared by them: a report as a table row
//! ([`ReportLine`], from its `report_usage` row), the names of the spaces
//! rows are in, and the daily chart of views and viewers.

use std::collections::HashMap;

use super::chart::{self, Series};
use super::format;
use super::page::{PageError, ui_base};
use crate::domain::Timestamp;
use crate::domain::stats::SpaceFilter;
use crate::domain::timestamp::UtcDay;
use crate::domain::usage::{DailyScope, ReportUsage, UsageDay};
use crate::http::pagination::path_segment;
use crate::storage::dashboard::CHART_DAYS;
use crate::storage::usage_daily::DailyQuery;
use crate::storage::{PageRequest, Store, WorkspaceId};

/// A report as a table row shows it.
pub struct ReportLine {
    pub id: i64,
    pub href: String,
    pub name: String,
    pub space: String,
    pub total_views: String,
    pub views_7d: String,
    pub views_30d: String,
    pub views_90d: String,
    pub viewers_30d: String,
    pub last_viewed: String,
    pub last_viewed_at: String,
    pub runs_30d: String,
    pub failed_runs_30d: String,
    pub schedules: String,
    /// No view in the last 90 days.
    pub stale: bool,
}

/// Space names by token, for the rows' space column and the filter.
pub type SpaceNames = HashMap<String, String>;

/// The names of the spaces `rows`' reports are in, by token: what a short
/// table needs, without reading every space.
pub async fn names_of_spaces(
    store: &dyn Store,
    workspace: WorkspaceId,
    rows: &[&ReportUsage],
) -> Result<SpaceNames, PageError> {
    let mut tokens: Vec<String> = rows
        .iter()
        .filter_map(|row| row.space_token.clone())
        .collect();
    tokens.sort_unstable();
    tokens.dedup();
    Ok(store.space_names(workspace, tokens).await?)
}

/// The name of every space the scope lists, by token: the spaces a table's
/// filter offers, and those its rows are in (a listed report's space is
/// listed in its scope). Personal spaces are offered only with them, as
/// their reports are: a workspace has one per member.
pub async fn space_names(
    store: &dyn Store,
    workspace: WorkspaceId,
    filter: SpaceFilter,
) -> Result<SpaceNames, PageError> {
    let every = PageRequest {
        page: 1,
        per_page: u64::MAX / 2,
    };
    let spaces = store.spaces(workspace, every, filter).await?;
    Ok(spaces
        .items
        .into_iter()
        .map(|space| (space.token, space.name))
        .collect())
}

impl ReportLine {
    pub fn new(workspace: &str, row: &ReportUsage, spaces: &SpaceNames, now: Timestamp) -> Self {
        let space = row
            .space_token
            .as_ref()
            .map(|token| spaces.get(token).cloned().unwrap_or_else(|| token.clone()))
            .unwrap_or_default();
        ReportLine {
            id: row.report_id,
            href: format!(
                "{}reports/{}",
                ui_base(workspace),
                path_segment(&row.report_token)
            ),
            name: row
                .name
                .clone()
                .unwrap_or_else(|| format!("Untitled report {}", row.report_token)),
            space,
            total_views: format::count(row.total_views_count),
            views_7d: format::count(row.views_7d),
            views_30d: format::count(row.views_30d),
            views_90d: format::count(row.views_90d),
            viewers_30d: format::count(row.viewers_30d),
            last_viewed: format::ago_or_never(row.last_viewed_at, now),
            last_viewed_at: row.last_viewed_at.map(format::instant).unwrap_or_default(),
            runs_30d: format::count(row.runs_30d),
            failed_runs_30d: format::count(row.failed_runs_30d),
            schedules: format::count(row.active_schedules_count),
            stale: row
                .days_since_last_view
                .is_none_or(|days| days >= crate::storage::dashboard::STALE_DAYS),
        }
    }
}

/// A daily chart of views and viewers (and runs, if asked) over `days`.
pub fn daily_chart(title: &str, days: &[UsageDay], with_runs: bool) -> String {
    let dates: Vec<String> = days.iter().map(|day| day.date.to_string()).collect();
    let dates: Vec<&str> = dates.iter().map(String::as_str).collect();
    let mut series = vec![
        Series {
            name: "Views",
            class: "series-views",
            values: days.iter().map(|day| day.views).collect(),
        },
        Series {
            name: "Viewers",
            class: "series-viewers",
            values: days.iter().map(|day| day.viewers).collect(),
        },
    ];
    if with_runs {
        series.push(Series {
            name: "Runs",
            class: "series-runs",
            values: days
                .iter()
                .map(|day| day.manual_runs + day.scheduled_runs)
                .collect(),
        });
    }
    chart::daily_chart(title, "Per day", &dates, &series)
}

/// The last [`CHART_DAYS`] days of `scope`.
pub async fn chart_days(
    store: &dyn Store,
    workspace: WorkspaceId,
    today: UtcDay,
    scope: DailyScope,
) -> Result<Vec<UsageDay>, PageError> {
    let query = DailyQuery {
        from: today.plus_days(1 - CHART_DAYS),
        to: today,
        scope,
    };
    let series = store.usage_daily(workspace, query).await?;
    Ok(series.map(|series| series.days).unwrap_or_default())
}
