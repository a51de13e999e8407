//! The overview (`/ui/{workspace}/`): the headline numbers, the last 90
//! days of views and viewers, the reports most viewed in the last 30 days
//! and the stale ones that were used most.
//!
//! Its numbers are the API's for the same clock and scope: `reports` is
//! `report_usage`'s `total_count`, `stale_reports_90d` that of
//! `report_usage?unviewed_days=90`, and `views_30d` and `viewers_30d` the
//! views, and distinct viewers, dated in the last 30 days of the listed
//! reports (see [`crate::storage::dashboard::summary`]).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::format;
use super::page::{Frame, PageError, PageLink, PageScope, Section, render, with_scope};
use super::session::SignedIn;
use super::usage::{ReportLine, daily_chart, names_of_spaces};
use crate::domain::usage::ReportUsage;
use crate::http::AppState;
use crate::http::extract::Query;
use crate::storage::dashboard::STALE_DAYS;

/// A headline number.
pub struct Headline {
    pub test_id: &'static str,
    pub label: &'static str,
    pub value: String,
    pub note: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    frame: Frame,
    headlines: Vec<Headline>,
    chart: String,
    top: Vec<ReportLine>,
    stale: Vec<ReportLine>,
    top_href: String,
    stale_href: String,
    stale_total: String,
}

/// `GET /ui/{workspace}/`.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let scope = PageScope::new(&state, &signed_in, &query)?;
    let (workspace, filter, all) = (scope.workspace, scope.filter, scope.all_spaces);
    let store = state.store.as_ref();
    let (now, today) = (scope.now, scope.today());
    let summary = store.usage_summary(workspace, today, filter).await?;
    let shown: Vec<&ReportUsage> = summary.most_viewed.iter().chain(&summary.stale).collect();
    let spaces = names_of_spaces(store, workspace, &shown).await?;
    let lines = |rows: &[ReportUsage]| -> Vec<ReportLine> {
        rows.iter()
            .map(|row| ReportLine::new(&scope.name, row, &spaces, now))
            .collect()
    };
    let reports = scope.href("reports");
    let top_href = with_scope(&format!("{reports}?sort=-views_30d"), all);
    let stale_href = with_scope(
        &format!("{reports}?unviewed_days={STALE_DAYS}&sort=-total_views_count"),
        all,
    );
    let share = |part: u64, whole: u64| {
        (part.saturating_mul(100) + whole / 2)
            .checked_div(whole)
            .map(|percent| format!("{percent}% of reports"))
            .unwrap_or_default()
    };
    let headlines = vec![
        Headline {
            test_id: "reports",
            label: "Reports",
            value: format::count(summary.reports),
            note: if all {
                "Personal spaces included".to_owned()
            } else {
                "Personal spaces left out".to_owned()
            },
            href: with_scope(&reports, all),
        },
        Headline {
            test_id: "views_30d",
            label: "Views, last 30 days",
            value: format::count(summary.views_30d),
            note: format!(
                "{} in the last 7 days",
                format::count(summary.days.iter().rev().take(7).map(|day| day.views).sum())
            ),
            href: top_href.clone(),
        },
        Headline {
            test_id: "viewers_30d",
            label: "Viewers, last 30 days",
            value: format::count(summary.viewers_30d),
            note: "Distinct people who viewed a report".to_owned(),
            href: with_scope(&scope.href("members"), all),
        },
        Headline {
            test_id: "stale_reports_90d",
            label: "Stale reports",
            value: format::count(summary.stale_reports_90d),
            note: format!(
                "No view in {STALE_DAYS} days · {}",
                share(summary.stale_reports_90d, summary.reports)
            ),
            href: stale_href.clone(),
        },
    ];
    let template = OverviewPage {
        frame: scope.frame(
            "Overview",
            Section::Overview,
            &PageLink::new(scope.href("")),
        ),
        headlines,
        chart: daily_chart(
            "Daily views and viewers over the last 90 days",
            &summary.days,
            false,
        ),
        top: lines(&summary.most_viewed),
        stale: lines(&summary.stale),
        top_href,
        stale_href,
        stale_total: format::count(summary.stale_reports_90d),
    };
    render(&template)
}
