//! The dashboard (SPEC section 9): pages for people, served by the same
//! binary at `/`, rendered on the server from templates compiled into it
//! (`templates/`, by askama), with charts drawn as SVG on the server and
//! the stylesheet embedded: nothing loads from another origin, and every
//! page works without JavaScript.
//!
//! - [`sign_in`]: the form, sign-in and sign-out; [`session`]: the
//!   sessions they open and the [`session::SignedIn`] extractor every page
//!   takes, which checks the credential again each time.
//! - The pages, one module each: [`overview`], [`reports`] (the table),
//!   [`report`] (one report), [`members`], [`spaces`]. Each reads the store
//!   with the same queries (and the same clock) as the JSON API, so every
//!   number equals the API's.
//! - [`page`]: what every page shares (its scope, the frame around it,
//!   links, sortable headings, paging, error pages, the security headers);
//!   [`usage`]: reports as rows and their daily chart; [`chart`]: the SVG
//!   charts; [`format`]: numbers and instants as people read them.

pub mod chart;
pub mod format;
pub mod members;
pub mod overview;
pub mod page;
pub mod report;
pub mod reports;
pub mod session;
pub mod sign_in;
pub mod spaces;
pub mod usage;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::http::AppState;

/// The stylesheet, in the binary.
const STYLESHEET: &str = include_str!("../../assets/dashboard.css");
/// The icon browsers ask for, in the binary (a link to it keeps them from
/// asking for `/favicon.ico`).
const ICON: &str = include_str!("../../assets/icon.svg");

/// Assets never change within a release: a day in the browser's cache.
const ASSET_CACHE: &str = "public, max-age=86400";

fn asset(content_type: &'static str, body: &'static str) -> axum::response::Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(ASSET_CACHE)),
        ],
        body,
    )
        .into_response()
}

/// The dashboard's routes, each answer with the security headers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(sign_in::home))
        .route("/sign-in", get(sign_in::form).post(sign_in::sign_in))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/ui/{workspace}/", get(overview::page))
        .route("/ui/{workspace}/reports", get(reports::table))
        .route("/ui/{workspace}/reports.csv", get(reports::csv))
        .route("/ui/{workspace}/reports/{token}", get(report::page))
        .route("/ui/{workspace}/members", get(members::page))
        .route("/ui/{workspace}/spaces", get(spaces::page))
        .route(
            "/assets/dashboard.css",
            get(|| async { asset("text/css; charset=utf-8", STYLESHEET) }),
        )
        .route(
            "/assets/icon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
        .layer(middleware::from_fn(page::security_headers))
}
