//! One log line per request, at `info`, with a request id that the client
//! gets back in `x-request-id`.
//!
//! Each request runs in a `request` span holding its id, method, route
//! template and workspace, so whatever else is logged while it is served
//! (a stored batch, an internal error) carries the same id; the line written
//! when the answer is ready adds its status and duration. What is logged is
//! chosen, never copied from the request: no header, no query string and no
//! raw path, so no credential can reach the log (`Authorization`, a session
//! cookie, a secret mistakenly put in a query string).
//!
//! These are the parts; tower-http's `SetRequestIdLayer` (which keeps the
//! client's id or asks [`NewRequestId`]), `TraceLayer` and
//! `PropagateRequestIdLayer` put them together in `http::observe`.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Response};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Span;

use super::metrics::UNMATCHED_ROUTE;
use crate::domain::WorkspaceName;

/// The header that carries the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id taken from a client.
const MAX_REQUEST_ID_BYTES: usize = 128;

/// Makes the id of a request that came without one: 128 random bits as 32
/// lowercase hex digits (the form of a W3C trace id). tower-http's UUIDs
/// cost a `getrandom` system call each; this takes the thread's generator.
#[derive(Clone, Copy, Debug, Default)]
pub struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let id = hex::encode(rand::random::<[u8; 16]>());
        HeaderValue::from_maybe_shared(Bytes::from(id))
            .ok()
            .map(RequestId::new)
    }
}

/// A client's request id is kept when it is something an operator can
/// search for and a log line can hold unquoted; otherwise the request gets a
/// new one, as if it had sent none.
pub fn forget_malformed_request_id(mut request: Request) -> Request {
    let mut ids = request.headers().get_all(&REQUEST_ID).iter();
    let keep = match (ids.next(), ids.next()) {
        (Some(id), None) => is_well_formed_request_id(id.as_bytes()),
        (None, _) => true,
        // Two ids: neither is the request's.
        (Some(_), Some(_)) => false,
    };
    if !keep {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// 1 to 128 ASCII letters, digits and `-_.:`: a UUID, a ULID, a trace id.
fn is_well_formed_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_BYTES).contains(&id.len())
        && id
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte))
}

/// The span each request runs in (`make_span_with` of tower-http's
/// `TraceLayer`).
pub fn request_span(request: &Request<Body>) -> Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    // Displayed rather than debugged: none of them holds a space or a quote,
    // so text lines need no quoting.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        route = %route.unwrap_or(UNMATCHED_ROUTE),
        workspace = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    if let Some(workspace) = route.and_then(|route| workspace_in_path(route, request.uri().path()))
    {
        span.record("workspace", tracing::field::display(workspace));
    }
    span
}

/// The `{workspace}` segment of `path`, matched by `route`, when it is a
/// valid workspace name (anything else is not worth logging).
fn workspace_in_path(route: &str, path: &str) -> Option<WorkspaceName> {
    let index = route
        .split('/')
        .position(|segment| segment == "{workspace}")?;
    WorkspaceName::parse(path.split('/').nth(index)?).ok()
}

/// The access line (`on_response` of tower-http's `TraceLayer`).
pub fn log_answer(response: &Response<Body>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        duration_ms = latency.as_micros() as f64 / 1000.0,
        "answered"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_kept_only_when_short_and_plain() {
        for id in [
            "3f9c2a7d-1b04-4e5f-9a8b-7c6d5e4f3a2b",
            "01J9Z3Q8XK",
            "trace.id:1_2-3",
        ] {
            assert!(is_well_formed_request_id(id.as_bytes()), "{id}");
        }
        let long = "a".repeat(MAX_REQUEST_ID_BYTES + 1);
        for id in ["", "two words", "a\"quote", "line\tbreak", "é", &long] {
            assert!(!is_well_formed_request_id(id.as_bytes()), "{id}");
        }
    }

    #[test]
    fn the_workspace_is_the_segment_the_route_names() {
        let name = workspace_in_path(
            "/batch/{workspace}/report_stats",
            "/batch/acme/report_stats",
        );
        assert_eq!(name.as_ref().map(WorkspaceName::as_str), Some("acme"));
        assert!(workspace_in_path("/healthz", "/healthz").is_none());
        assert!(
            workspace_in_path("/api/{workspace}/events", "/api/Not%20A%20Name/events").is_none()
        );
    }
}
