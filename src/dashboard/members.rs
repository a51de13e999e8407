//! Members (`/ui/{workspace}/members`): Mode's member fields for people,
//! who is engaged and who is not, sortable by activity.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::format;
use super::page::Pager;
use super::page::{Frame, Heading, PageError, PageLink, PageScope, Section, render};
use super::reports::DEFAULT_ROWS;
use super::session::SignedIn;
use crate::domain::Timestamp;
use crate::domain::listings::MemberRow;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::pagination::ListingParams;
use crate::storage::dashboard::{MemberOrder, MembersQuery, RECENT_DAYS};

/// A member as the table shows them.
pub struct MemberLine {
    pub name: String,
    pub email: String,
    pub username: String,
    pub last_active: String,
    pub last_active_at: String,
    pub days_engaged: String,
    pub last_viewed: String,
    pub last_run: String,
    pub last_created: String,
    /// Active in the last [`RECENT_DAYS`] days.
    pub engaged: bool,
}

impl MemberLine {
    fn new(member: &MemberRow, now: Timestamp, since: Timestamp) -> Self {
        MemberLine {
            name: member.name.clone().unwrap_or_default(),
            email: member.email.clone(),
            username: member.username.clone().unwrap_or_default(),
            last_active: format::ago_or_never(member.last_active_at, now),
            last_active_at: member
                .last_active_at
                .map(format::instant)
                .unwrap_or_default(),
            days_engaged: format::count(member.total_days_engaged),
            last_viewed: format::ago_or_never(member.last_report_viewed_at, now),
            last_run: format::ago_or_never(member.last_report_run_at, now),
            last_created: format::ago_or_never(member.last_report_created_at, now),
            engaged: member.last_active_at.is_some_and(|at| at >= since),
        }
    }
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    frame: Frame,
    headings: Vec<Heading>,
    rows: Vec<MemberLine>,
    pager: Pager,
    total: String,
    active: String,
    inactive: String,
}

/// `sort`: a [`MemberOrder`], `-` first for descending; by default the
/// most recently active first.
fn sort_of(query: &HashMap<String, String>) -> Result<(MemberOrder, bool), ApiError> {
    let Some(text) = query.get("sort") else {
        return Ok((MemberOrder::LastActive, true));
    };
    let (descending, name) = match text.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, text.as_str()),
    };
    MemberOrder::ALL
        .into_iter()
        .find(|order| order.as_str() == name)
        .map(|order| (order, descending))
        .ok_or_else(|| {
            let names: Vec<&str> = MemberOrder::ALL
                .iter()
                .map(|order| order.as_str())
                .collect();
            ApiError::BadRequest(format!(
                "`sort` must be one of {}, with a leading `-` to sort descending; got `{text}`",
                names.join(", ")
            ))
        })
}

/// `GET /ui/{workspace}/members`.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let scope = PageScope::new(&state, &signed_in, &query)?;
    let (order, descending) = sort_of(&query)?;
    let mut paging = query.clone();
    paging
        .entry("per_page".to_owned())
        .or_insert_with(|| DEFAULT_ROWS.to_string());
    let listing = ListingParams::parse(&paging)?;
    let (now, today) = (scope.now, scope.today());
    let members = MembersQuery {
        page: listing.page,
        order,
        descending,
        today,
    };
    let activity = state
        .store
        .member_activity(scope.workspace, members)
        .await?;
    let since = crate::domain::usage::window_start(today, RECENT_DAYS).start();
    let mut link = PageLink::new(scope.href("members"));
    if let Some(sort) = query.get("sort") {
        link = link.with("sort", Some(sort.clone()));
    }
    if query.contains_key("per_page") {
        link = link.with("per_page", Some(listing.page.per_page.to_string()));
    }
    let headings = [
        ("Member", MemberOrder::Email, false),
        ("Last active", MemberOrder::LastActive, false),
        ("Days engaged", MemberOrder::DaysEngaged, true),
        ("Last viewed a report", MemberOrder::LastViewed, false),
    ]
    .into_iter()
    .map(|(label, of, numeric)| {
        let current = (of == order).then_some(descending);
        let sorting = (of.as_str(), current, of != MemberOrder::Email);
        Heading::new(label, numeric, sorting, &link, scope.all_spaces)
    })
    .collect();
    let rows: Vec<MemberLine> = activity
        .page
        .items
        .iter()
        .map(|member| MemberLine::new(member, now, since))
        .collect();
    let total = activity.page.total_count;
    let page_link = link.with("page", Some(listing.page.page.to_string()));
    let template = MembersPage {
        frame: scope.frame("Members", Section::Members, &page_link),
        headings,
        pager: Pager::new(&link, listing.page, rows.len(), total, scope.all_spaces),
        rows,
        total: format::count(total),
        active: format::count(activity.active_30d),
        inactive: format::count(total.saturating_sub(activity.active_30d)),
    };
    render(&template)
}
