//! One report's page (`/ui/{workspace}/reports/{token}`): its numbers, a
//! daily chart of views, viewers and runs, its people, its queries and
//! their charts. Any live report, in any space, as
//! `/api/{workspace}/reports/{token}` finds it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::format;
use super::page::{Frame, PageError, PageLink, PageScope, Section, render};
use super::session::SignedIn;
use super::usage::{ReportLine, chart_days, daily_chart, names_of_spaces};
use crate::domain::usage::DailyScope;
use crate::http::AppState;
use crate::http::extract::Query;
use crate::http::pagination::path_segment;

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
pub async fn page(
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
    let spaces = names_of_spaces(store, scope.workspace, &[&detail.usage]).await?;
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
