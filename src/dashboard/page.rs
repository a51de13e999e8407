//! What every dashboard page shares: its scope ([`PageScope`]: the
//! workspace, `include_spaces`, the clock's instant), the frame around it
//! (navigation, the date its numbers are for, the personal-spaces toggle),
//! links that keep a page's parameters, sortable headings and paging,
//! rendering, error pages, and the headers every answer carries.

use std::collections::HashMap;

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::format;
use super::session::SignedIn;
use crate::domain::Timestamp;
use crate::domain::stats::SpaceFilter;
use crate::domain::timestamp::UtcDay;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::pagination::{path_segment, query_value, space_filter};
use crate::storage::{PageRequest, WorkspaceId};

/// The sections of the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Reports,
    Members,
    Spaces,
}

/// A navigation link.
pub struct NavLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// The frame around a page's content (`templates/base.html`).
pub struct Frame {
    pub title: String,
    pub workspace: String,
    /// The overview, in this page's scope.
    pub home_href: String,
    pub nav: Vec<NavLink>,
    /// The instant the numbers are for, as people read it.
    pub as_of: String,
    /// Whether reports in personal spaces count (`include_spaces=all`).
    pub all_spaces: bool,
    /// This page with the personal-spaces toggle flipped.
    pub toggle_href: String,
}

impl Frame {
    /// The frame of a page of `section`; `page` links to the page itself,
    /// as the personal-spaces toggle flips it.
    pub fn new(
        title: impl Into<String>,
        workspace: &str,
        section: Section,
        page: &PageLink,
        all_spaces: bool,
        now: Timestamp,
    ) -> Self {
        let base = ui_base(workspace);
        let nav = [
            ("Overview", "", Section::Overview),
            ("Reports", "reports", Section::Reports),
            ("Members", "members", Section::Members),
            ("Spaces", "spaces", Section::Spaces),
        ]
        .into_iter()
        .map(|(label, path, of)| NavLink {
            label,
            href: with_scope(&format!("{base}{path}"), all_spaces),
            current: of == section,
        })
        .collect();
        Frame {
            title: title.into(),
            workspace: workspace.to_owned(),
            home_href: with_scope(&base, all_spaces),
            nav,
            as_of: format::instant(now),
            all_spaces,
            toggle_href: page.with_scope(!all_spaces),
        }
    }
}

/// `/ui/{workspace}/`.
pub fn ui_base(workspace: &str) -> String {
    format!("/ui/{}/", path_segment(workspace))
}

/// `href` with `include_spaces=all` when `all_spaces`.
pub fn with_scope(href: &str, all_spaces: bool) -> String {
    if all_spaces {
        let separator = if href.contains('?') { '&' } else { '?' };
        format!("{href}{separator}include_spaces=all")
    } else {
        href.to_owned()
    }
}

/// A page's path and the parameters it was asked with (besides
/// `include_spaces`), to link to itself changed.
#[derive(Clone)]
pub struct PageLink {
    pub path: String,
    pub params: Vec<(&'static str, String)>,
}

impl PageLink {
    pub fn new(path: String) -> Self {
        PageLink {
            path,
            params: Vec::new(),
        }
    }

    /// The link with `name` set to `value` (or removed, for `None`), the
    /// others kept in order.
    pub fn with(&self, name: &'static str, value: Option<String>) -> PageLink {
        let mut params: Vec<(&'static str, String)> = self
            .params
            .iter()
            .filter(|(kept, _)| *kept != name)
            .cloned()
            .collect();
        if let Some(value) = value {
            params.push((name, value));
        }
        PageLink {
            path: self.path.clone(),
            params,
        }
    }

    /// The href, in the scope given.
    pub fn with_scope(&self, all_spaces: bool) -> String {
        let mut href = self.path.clone();
        for (index, (name, value)) in self.params.iter().enumerate() {
            href.push(if index == 0 { '?' } else { '&' });
            href.push_str(&format!("{name}={}", query_value(value)));
        }
        with_scope(&href, all_spaces)
    }
}

/// What every page starts from: the signed-in workspace, the scope its
/// query asks for (`include_spaces`, read as the API reads it) and the
/// clock's instant, which every number on the page is for.
pub struct PageScope {
    pub workspace: WorkspaceId,
    pub name: String,
    pub filter: SpaceFilter,
    pub all_spaces: bool,
    pub now: Timestamp,
}

impl PageScope {
    pub fn new(
        state: &AppState,
        signed_in: &SignedIn,
        query: &HashMap<String, String>,
    ) -> Result<Self, PageError> {
        let filter = space_filter(query)?;
        let workspace = &signed_in.access.workspace;
        Ok(PageScope {
            workspace: workspace.id,
            name: workspace.name.to_string(),
            filter,
            all_spaces: filter == SpaceFilter::All,
            now: state.clock.now(),
        })
    }

    pub fn today(&self) -> UtcDay {
        self.now.utc_day()
    }

    /// `/ui/{workspace}/` followed by `path`.
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", ui_base(&self.name))
    }

    /// The frame of a page of `section` at `page`.
    pub fn frame(&self, title: impl Into<String>, section: Section, page: &PageLink) -> Frame {
        Frame::new(title, &self.name, section, page, self.all_spaces, self.now)
    }
}

/// A column heading that sorts its table: a link to the table sorted by
/// its column (the other way when the table is sorted by it already), and
/// an arrow on the column the table is sorted by.
pub struct Heading {
    pub label: &'static str,
    pub href: String,
    pub numeric: bool,
    pub arrow: &'static str,
}

impl Heading {
    /// `sort` names the column as `sort=` does; `current` is `Some(descending)`
    /// when the table is sorted by it; a first click sorts descending if
    /// `first_descending` (counts and dates: most first).
    pub fn new(
        label: &'static str,
        numeric: bool,
        (sort, current, first_descending): (&str, Option<bool>, bool),
        link: &PageLink,
        all_spaces: bool,
    ) -> Self {
        let descending = current.map_or(first_descending, |descending| !descending);
        let sign = if descending { "-" } else { "" };
        Heading {
            label,
            href: link
                .with("page", None)
                .with("sort", Some(format!("{sign}{sort}")))
                .with_scope(all_spaces),
            numeric,
            arrow: match current {
                None => "",
                Some(false) => "▲",
                Some(true) => "▼",
            },
        }
    }
}

/// A page that could not be shown, as an HTML page with the API's status
/// (and headers, such as `Retry-After`) for the same error.
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError(error)
    }
}

impl From<crate::storage::StoreError> for PageError {
    fn from(error: crate::storage::StoreError) -> Self {
        PageError(error.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    heading: &'static str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let heading = match self.0.status() {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "That link has a mistake",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            status if status.is_server_error() => "Something went wrong",
            _ => "This page cannot be shown",
        };
        let message = match &self.0 {
            ApiError::NotFound => "There is no such page in this workspace.".to_owned(),
            other => other.to_string(),
        };
        // The API's answer gives the status and headers (and logs a 5xx);
        // only its body is replaced.
        let (mut parts, _) = self.0.into_response().into_parts();
        let page = ErrorPage { heading, message };
        let body = page
            .render()
            .unwrap_or_else(|_| "<!doctype html><title>Error</title>".to_owned());
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        Response::from_parts(parts, axum::body::Body::from(body))
    }
}

/// A template rendered into an HTML answer.
pub fn render(template: &impl Template) -> Result<Response, PageError> {
    let html = template
        .render()
        .map_err(|error| ApiError::Internal(error.into()))?;
    Ok(Html(html).into_response())
}

/// The policy of every dashboard answer: everything from this server
/// alone, nothing inline, never in a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/// Adds the security headers to every answer of the dashboard's routes
/// (redirects and error pages too); pages are private to their session, so
/// no cache keeps them.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
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
