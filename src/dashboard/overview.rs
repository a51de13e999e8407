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
use super::usage::{ReportLine, daily_chart, space_names};
use crate::domain::usage::{UsageField, UsageFilters, UsageSort};
use crate::http::AppState;
use crate::http::extract::Query;
use crate::storage::PageRequest;
use crate::storage::dashboard::STALE_DAYS;
use crate::storage::report_usage::UsageQuery;

/// Rows of each of the overview's two short tables.
const SHORT_TABLE_ROWS: u64 = 10;

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
    let spaces = space_names(store, workspace).await?;
    let short = |sort: UsageSort, filters: UsageFilters| UsageQuery {
        page: PageRequest {
            page: 1,
            per_page: SHORT_TABLE_ROWS,
        },
        filter,
        today,
        sort,
        filters,
    };
    let most_viewed = UsageSort {
        field: UsageField::Views30d,
        descending: true,
    };
    let top = store
        .report_usage(workspace, short(most_viewed, UsageFilters::default()))
        .await?;
    let stale_filter = UsageFilters {
        unviewed_days: Some(STALE_DAYS),
        ..UsageFilters::default()
    };
    let once_most_viewed = UsageSort {
        field: UsageField::TotalViewsCount,
        descending: true,
    };
    let stale = store
        .report_usage(workspace, short(once_most_viewed, stale_filter))
        .await?;
    let lines = |rows: &[crate::domain::usage::ReportUsage]| -> Vec<ReportLine> {
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
        top: lines(&top.items),
        stale: lines(&stale.items),
        top_href,
        stale_href,
        stale_total: format::count(stale.total_count),
    };
    render(&template)
}
