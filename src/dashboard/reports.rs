//! The reports table (`report_usage` for people: sort by any column,
//! filter, page, download what is shown as CSV) and one report's page.
//!
//! The table takes `report_usage`'s own query parameters (`sort`,
//! `unviewed_days`, `space_token`, `q`, `page`, `per_page`,
//! `include_spaces`), read by the API's own parser, so that a view can be
//! bookmarked, shared, and checked against the API with the same URL.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::chart::{self, Series};
use super::format;
use super::page::{Frame, Heading, PageError, PageLink, PageScope, Section, render, ui_base};
use super::session::SignedIn;
use crate::domain::Timestamp;
use crate::domain::stats::SpaceFilter;
use crate::domain::timestamp::UtcDay;
use crate::domain::usage::{DailyScope, ReportUsage, UsageDay, UsageField, UsageSort};
use crate::http::AppState;
use crate::http::export::ExportRequest;
use crate::http::extract::Query;
use crate::http::pagination::{ListingParams, path_segment};
use crate::http::report_usage::{UsageParams, export_usage};
use crate::storage::report_usage::{DailyQuery, UsageQuery};
use crate::storage::{PageRequest, Store, WorkspaceId};

/// Rows of the table when the URL does not say.
pub const DEFAULT_ROWS: u64 = 50;
/// The days a daily chart shows.
pub const CHART_DAYS: i64 = 90;

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

/// Every listed space's name, by token (personal ones included: a row
/// names whatever space its report is in).
pub async fn space_names(
    store: &dyn Store,
    workspace: WorkspaceId,
) -> Result<SpaceNames, PageError> {
    let every = PageRequest {
        page: 1,
        per_page: u64::MAX / 2,
    };
    let spaces = store.spaces(workspace, every, SpaceFilter::All).await?;
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

/// A column of the table: its heading, the field it sorts by, whether it
/// holds a number.
struct Column {
    label: &'static str,
    field: UsageField,
    numeric: bool,
}

const COLUMNS: [Column; 10] = [
    Column {
        label: "Report",
        field: UsageField::Name,
        numeric: false,
    },
    Column {
        label: "Views 7d",
        field: UsageField::Views7d,
        numeric: true,
    },
    Column {
        label: "Views 30d",
        field: UsageField::Views30d,
        numeric: true,
    },
    Column {
        label: "Views 90d",
        field: UsageField::Views90d,
        numeric: true,
    },
    Column {
        label: "Viewers 30d",
        field: UsageField::Viewers30d,
        numeric: true,
    },
    Column {
        label: "Total views",
        field: UsageField::TotalViewsCount,
        numeric: true,
    },
    Column {
        label: "Last viewed",
        field: UsageField::LastViewedAt,
        numeric: false,
    },
    Column {
        label: "Runs 30d",
        field: UsageField::Runs30d,
        numeric: true,
    },
    Column {
        label: "Failed 30d",
        field: UsageField::FailedRuns30d,
        numeric: true,
    },
    Column {
        label: "Schedules",
        field: UsageField::ActiveSchedulesCount,
        numeric: true,
    },
];

/// The headings, each linking to the table sorted by it: counts and dates
/// most first, names A to Z.
fn headings(link: &PageLink, sort: UsageSort, all_spaces: bool) -> Vec<Heading> {
    COLUMNS
        .iter()
        .map(|column| {
            let current = (sort.field == column.field).then_some(sort.descending);
            let first_descending = column.field != UsageField::Name;
            let sorting = (column.field.as_str(), current, first_descending);
            Heading::new(column.label, column.numeric, sorting, link, all_spaces)
        })
        .collect()
}

/// A space in the filter's choices.
pub struct SpaceChoice {
    pub token: String,
    pub name: String,
    pub selected: bool,
}

/// Paging links and the range shown.
pub struct Pager {
    pub shown: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub page: u64,
    pub pages: u64,
}

impl Pager {
    pub fn new(link: &PageLink, page: PageRequest, rows: usize, total: u64, all: bool) -> Self {
        let pages = total.div_ceil(page.per_page).max(1);
        let first = page.offset() + 1;
        let shown = if rows == 0 {
            format!("0 of {}", format::count(total))
        } else {
            format!(
                "{}–{} of {}",
                format::count(first),
                format::count(first + rows as u64 - 1),
                format::count(total)
            )
        };
        let to = |number: u64| link.with("page", Some(number.to_string())).with_scope(all);
        Pager {
            shown,
            prev: (page.page > 1).then(|| to(page.page - 1)),
            next: (page.page < pages).then(|| to(page.page + 1)),
            page: page.page,
            pages,
        }
    }
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    frame: Frame,
    headings: Vec<Heading>,
    rows: Vec<ReportLine>,
    pager: Pager,
    q: String,
    unviewed_days: String,
    spaces: Vec<SpaceChoice>,
    csv_href: String,
    reset_href: String,
    filtered: bool,
}

/// The table's query as the API would read it: the filter form sends its
/// empty fields too, which mean no filter.
fn without_empty_fields(mut query: HashMap<String, String>) -> HashMap<String, String> {
    query.retain(|_, value| !value.is_empty());
    query
}

/// The table's parameters: the API's, with [`DEFAULT_ROWS`] rows unless
/// `per_page` says otherwise.
fn table_params(
    query: &HashMap<String, String>,
) -> Result<(ListingParams, UsageParams), PageError> {
    let mut query = query.clone();
    query
        .entry("per_page".to_owned())
        .or_insert_with(|| DEFAULT_ROWS.to_string());
    Ok((ListingParams::parse(&query)?, UsageParams::parse(&query)?))
}

/// `GET /ui/{workspace}/reports`.
pub async fn table(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let query = without_empty_fields(query);
    let (listing, usage) = table_params(&query)?;
    let scope = PageScope::new(&state, &signed_in, &query)?;
    let (all, now) = (scope.all_spaces, scope.now);
    let mut link = PageLink::new(scope.href("reports"));
    for (key, value) in &usage.kept {
        link = link.with(key, Some(value.clone()));
    }
    if query.contains_key("per_page") {
        link = link.with("per_page", Some(listing.page.per_page.to_string()));
    }
    let page_link = link.with("page", Some(listing.page.page.to_string()));
    let spaces = space_names(state.store.as_ref(), scope.workspace).await?;
    let page = state
        .store
        .report_usage(
            scope.workspace,
            UsageQuery {
                page: listing.page,
                filter: scope.filter,
                today: scope.today(),
                sort: usage.sort,
                filters: usage.filters.clone(),
            },
        )
        .await?;
    let rows: Vec<ReportLine> = page
        .items
        .iter()
        .map(|row| ReportLine::new(&scope.name, row, &spaces, now))
        .collect();
    let mut choices: Vec<SpaceChoice> = spaces
        .iter()
        .map(|(token, space)| SpaceChoice {
            token: token.clone(),
            name: space.clone(),
            selected: usage.filters.space_token.as_ref() == Some(token),
        })
        .collect();
    choices.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.token.cmp(&b.token)));
    let csv = PageLink {
        path: scope.href("reports.csv"),
        params: link.with("per_page", None).params,
    };
    let filters = &usage.filters;
    let template = ReportsPage {
        frame: scope.frame("Reports", Section::Reports, &page_link),
        headings: headings(&link, usage.sort, all),
        pager: Pager::new(&link, listing.page, rows.len(), page.total_count, all),
        rows,
        q: filters.name_contains.clone().unwrap_or_default(),
        unviewed_days: filters
            .unviewed_days
            .map(|days| days.to_string())
            .unwrap_or_default(),
        spaces: choices,
        csv_href: csv.with_scope(all),
        reset_href: PageLink::new(scope.href("reports")).with_scope(all),
        filtered: filters.name_contains.is_some()
            || filters.unviewed_days.is_some()
            || filters.space_token.is_some(),
    };
    render(&template)
}

/// `GET /ui/{workspace}/reports.csv`: what the table shows, every page of
/// it, as `report_usage`'s CSV export.
pub async fn csv(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let query = without_empty_fields(query);
    let usage = UsageParams::parse(&query)?;
    let scope = PageScope::new(&state, &signed_in, &query)?;
    let export = ExportRequest::csv();
    Ok(export_usage(&state, &signed_in.access, scope.filter, usage, export).await?)
}

/// An email list of the report page.
pub struct People {
    pub title: &'static str,
    pub emails: Vec<String>,
    pub empty: &'static str,
}

/// A query of the report page.
pub struct QueryLine {
    pub name: String,
    pub data_source: String,
    pub creator: String,
    pub updated: String,
    pub charts: Vec<String>,
}

/// A labelled number of the report page.
pub struct Fact {
    pub label: &'static str,
    pub value: String,
    pub note: String,
    /// The value is words ("3 days ago"), not a number.
    pub words: bool,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    frame: Frame,
    name: String,
    subtitle: String,
    facts: Vec<Fact>,
    chart: String,
    people: Vec<People>,
    queries: Vec<QueryLine>,
    api_href: String,
}

/// `GET /ui/{workspace}/reports/{token}`: one live report, in any space.
pub async fn report(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((_, token)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let scope = PageScope::new(&state, &signed_in, &query)?;
    let (now, today) = (scope.now, scope.today());
    let recent_since = now.saturating_sub_days(state.settings.recent_days);
    let store = state.store.as_ref();
    let detail = store
        .report_detail(scope.workspace, &token, today, recent_since)
        .await?
        .ok_or(crate::http::error::ApiError::NotFound)?;
    let spaces = space_names(store, scope.workspace).await?;
    let report_only = DailyScope::Report(detail.report.id);
    let days = chart_days(store, scope.workspace, today, report_only).await?;
    let usage = &detail.usage;
    let line = ReportLine::new(&scope.name, usage, &spaces, now);
    let created = detail
        .report
        .created_at
        .map(format::instant)
        .unwrap_or_default();
    let creator = detail.report.creator_email.clone().unwrap_or_default();
    let mut subtitle = String::new();
    if !line.space.is_empty() {
        subtitle.push_str(&format!("In {}", line.space));
    }
    if !creator.is_empty() {
        subtitle.push_str(&format!(" · created by {creator}"));
    }
    if !created.is_empty() {
        subtitle.push_str(&format!(" on {created}"));
    }
    let fact = |label, value: String, note: String| Fact {
        label,
        words: value.contains(' '),
        value,
        note,
    };
    let facts = vec![
        fact(
            "Views, 30 days",
            line.views_30d.clone(),
            format!("{} in 7 days · {} in 90", line.views_7d, line.views_90d),
        ),
        fact(
            "Viewers, 30 days",
            line.viewers_30d.clone(),
            format!("{} ever", format::count(usage.total_viewers_count)),
        ),
        fact(
            "Total views",
            line.total_views.clone(),
            format!(
                "{} explorations",
                format::count(detail.stats.explorations_count)
            ),
        ),
        fact(
            "Last viewed",
            line.last_viewed.clone(),
            line.last_viewed_at.clone(),
        ),
        fact(
            "Runs, 30 days",
            line.runs_30d.clone(),
            format!("{} failed", line.failed_runs_30d),
        ),
        fact("Active schedules", line.schedules.clone(), String::new()),
    ];
    let stats = &detail.stats;
    let people = vec![
        People {
            title: "Editors",
            emails: stats.editors_emails.clone(),
            empty: "No editors",
        },
        People {
            title: "Recent manual runs by",
            emails: stats.recent_manual_run_creators_emails.clone(),
            empty: "No manual runs lately",
        },
        People {
            title: "Schedules created by",
            emails: stats.scheduled_run_creators_emails.clone(),
            empty: "No scheduled runs",
        },
    ];
    let queries = detail
        .queries
        .iter()
        .map(|query| QueryLine {
            name: query.name.clone(),
            data_source: query.data_source_token.clone(),
            creator: query.creator_email.clone(),
            updated: format::ago_or_never(query.updated_at, now),
            charts: detail
                .charts
                .iter()
                .filter(|chart| chart.query_id == query.id)
                .map(|chart| {
                    let title = chart
                        .chart_title
                        .clone()
                        .unwrap_or_else(|| "Untitled".into());
                    format!("{title} ({})", chart.chart_type)
                })
                .collect(),
        })
        .collect();
    let page_link = PageLink::new(line.href.clone());
    let template = ReportPage {
        frame: scope.frame(line.name.clone(), Section::Reports, &page_link),
        name: line.name.clone(),
        subtitle,
        facts,
        chart: daily_chart(
            &format!("Daily views, viewers and runs of {}", line.name),
            &days,
            true,
        ),
        people,
        queries,
        api_href: format!(
            "/api/{}/reports/{}",
            path_segment(&scope.name),
            path_segment(&token)
        ),
    };
    render(&template)
}
