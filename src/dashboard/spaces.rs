//! Spaces (`/ui/{workspace}/spaces`): the listed reports and their views
//! per space, and how many of them are stale; each space links to the
//! reports table filtered to it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::format;
use super::page::{Frame, PageError, PageLink, PageScope, Section, render, with_scope};
use super::session::SignedIn;
use crate::http::AppState;
use crate::http::extract::Query;
use crate::http::pagination::query_value;

/// A space as the table shows it.
pub struct SpaceLine {
    /// `None` for the reports in no space.
    pub token: Option<String>,
    pub name: String,
    pub kind: String,
    pub personal: bool,
    pub href: Option<String>,
    pub reports: String,
    pub views_30d: String,
    pub total_views: String,
    pub stale: String,
}

#[derive(Template)]
#[template(path = "spaces.html")]
struct SpacesPage {
    frame: Frame,
    rows: Vec<SpaceLine>,
}

/// `GET /ui/{workspace}/spaces`.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let scope = PageScope::new(&state, &signed_in, &query)?;
    let all = scope.all_spaces;
    let usage = state
        .store
        .space_usage(scope.workspace, scope.today(), scope.filter)
        .await?;
    let reports = scope.href("reports");
    let rows = usage
        .iter()
        .map(|row| {
            let (name, kind, href) = match &row.space {
                Some(space) => (
                    space.name.clone(),
                    space.space_type.clone(),
                    Some(with_scope(
                        &format!("{reports}?space_token={}", query_value(&space.token)),
                        all,
                    )),
                ),
                None => ("No space".to_owned(), String::new(), None),
            };
            SpaceLine {
                token: row.space.as_ref().map(|space| space.token.clone()),
                personal: kind == "private",
                name,
                kind,
                href,
                reports: format::count(row.reports),
                views_30d: format::count(row.views_30d),
                total_views: format::count(row.total_views),
                stale: format::count(row.stale_reports_90d),
            }
        })
        .collect();
    let template = SpacesPage {
        frame: scope.frame(
            "Spaces",
            Section::Spaces,
            &PageLink::new(scope.href("spaces")),
        ),
        rows,
    };
    render(&template)
}
