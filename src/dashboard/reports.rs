//! The reports table: `report_usage` for people (sort by any column,
//! filter, page, download what is shown as CSV).
//!
//! It takes `report_usage`'s own query parameters (`sort`,
//! `unviewed_days`, `space_token`, `q`, `page`, `per_page`,
//! `include_spaces`), read by the API's own parser, so that a view can be
//! bookmarked, shared, and checked against the API with the same URL.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::page::{Frame, Heading, PageError, PageLink, PageScope, Pager, Section, render};
use super::session::SignedIn;
use super::usage::{ReportLine, space_names};
use crate::domain::usage::{UsageField, UsageSort};
use crate::http::AppState;
use crate::http::export::ExportRequest;
use crate::http::extract::Query;
use crate::http::pagination::ListingParams;
use crate::http::report_usage::{UsageParams, export_usage};
use crate::storage::report_usage::UsageQuery;

/// Rows of the table when the URL does not say.
pub const DEFAULT_ROWS: u64 = 50;

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
    let spaces = space_names(state.store.as_ref(), scope.workspace, scope.filter).await?;
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
                after: None,
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
