//! What the fuzz targets in `fuzz/` check, callable from outside the crate.
//!
//! Not part of the API: it exists so that the targets (built by
//! `cargo fuzz`, with libFuzzer) and `tests/fuzz_corpus.rs` (which replays
//! their committed corpora under `cargo test`) run the same checks, and so
//! that the parsers' internals stay private to the crate.
//!
//! Each check takes any bytes, runs one parser on them and panics when a
//! property fails: a panic is what libFuzzer, and a test, report.
//! [`TARGETS`] names them; a target's name is its folder under
//! `fuzz/corpus/`.

use std::collections::HashMap;

use crate::http::extract::query_of;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, Request, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::event::flat_json;
use crate::domain::event::raw_event::RawEvent;
use crate::domain::timestamp::{self, Timestamp};
use crate::domain::{Event, Position};
use crate::http::auth::{Presented, presented_credentials};
use crate::http::error::ApiError;
use crate::http::pagination::{ListingParams, MAX_PER_PAGE};
use crate::ingest::{BatchError, batch::MAX_REPORTED_ERRORS, parse_batch};

/// A check: panics if `data` breaks a property of its parser.
pub type Check = fn(data: &[u8]);

/// The fuzz targets, by name, with the check each runs.
pub const TARGETS: [(&str, Check); 5] = [
    ("event", check_event),
    ("batch", check_batch),
    ("timestamp", check_timestamp),
    ("authorization", check_authorization),
    ("listing_query", check_listing_query),
];

/// The batch limit the batch target parses with: small enough that the
/// fuzzer reaches both the limit and the [`MAX_REPORTED_ERRORS`] cut.
pub const BATCH_MAX_EVENTS: usize = 200;

/// The server's clock for every event parsed here (so that `occurred_at`
/// defaults and the future-skew rule are the same on every run).
fn received_at() -> Timestamp {
    Timestamp::from_micros(1_793_491_200_000_000) // 2026-11-01T00:00:00Z
}

/// The event parser, differentially: for the text as a whole and for each
/// of its lines, the fast flat reader and serde_json must read the same
/// fields wherever the flat reader answers, and the parser (flat reader
/// first) must give exactly what the serde path alone gives, accepted event
/// or error. An accepted event must read back from its canonical JSON and
/// from the text the event log keeps for it.
pub fn check_event(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_event_text(text);
    if text.contains('\n') {
        text.split('\n').for_each(check_event_text);
    }
}

fn check_event_text(json: &str) {
    let position = Position::Line(1);
    let mut flat = RawEvent::default();
    if flat_json::read(json, &mut flat).is_some() {
        let mut serde = RawEvent::default();
        let read = serde.read_with_serde(json, position);
        assert!(
            read.is_ok(),
            "the flat reader took {json:?}, serde refused it: {read:?}"
        );
        assert_eq!(
            format!("{flat:?}"),
            format!("{serde:?}"),
            "the flat reader and serde read {json:?} differently"
        );
    }

    let parsed = Event::parse(json, position, received_at());
    let mut serde = RawEvent::default();
    let by_serde = serde
        .read_with_serde(json, position)
        .and_then(|()| serde.take_event(position, received_at()));
    assert_eq!(parsed, by_serde, "the two paths disagree on {json:?}");

    let Ok(event) = parsed else { return };
    let canonical = event.to_json();
    assert_eq!(
        Event::parse(&canonical, position, received_at()).as_ref(),
        Ok(&event),
        "{json:?} does not read back from its canonical form {canonical:?}"
    );
    let logged = Event::parse_for_log(json, position, received_at());
    let Ok((again, body)) = logged else {
        panic!("parse_for_log refused {json:?}, which parse took: {logged:?}");
    };
    assert_eq!(again, event, "parse_for_log read {json:?} differently");
    assert_eq!(
        Event::parse(&body, position, received_at()).as_ref(),
        Ok(&event),
        "the logged text {body:?} of {json:?} reads back differently"
    );
}

/// The batch splitter: never panics, and its answer is what parsing each
/// item on its own gives: every event in order if all are valid, otherwise
/// the first [`MAX_REPORTED_ERRORS`] rejections, each at its item's array
/// index (from 0) or NDJSON line (from 1, blank lines counted), with the
/// count of all of them. The items are found here independently: the
/// array by serde_json, the lines by [`str::lines`].
pub fn check_batch(data: &[u8]) {
    let result = parse_batch(data, received_at(), BATCH_MAX_EVENTS);
    let Ok(text) = std::str::from_utf8(data) else {
        assert!(matches!(result, Err(BatchError::NotUtf8)), "{result:?}");
        return;
    };
    let items: Vec<(Position, &str)> = if text.trim_start().starts_with('[') {
        match serde_json::from_str::<Vec<&serde_json::value::RawValue>>(text) {
            Ok(items) => items
                .into_iter()
                .enumerate()
                .map(|(index, item)| (Position::Index(index), item.get()))
                .collect(),
            Err(_) => {
                assert!(
                    matches!(result, Err(BatchError::MalformedArray(_))),
                    "{text:?} is no JSON array, yet: {result:?}"
                );
                return;
            }
        }
    } else {
        text.lines()
            .enumerate()
            .map(|(index, line)| (Position::Line(index + 1), line.trim()))
            .filter(|(_, line)| !line.is_empty())
            .collect()
    };
    if items.len() > BATCH_MAX_EVENTS {
        assert!(
            matches!(result, Err(BatchError::TooManyEvents { count, limit })
                if count == items.len() && limit == BATCH_MAX_EVENTS),
            "{} items, yet: {result:?}",
            items.len()
        );
        return;
    }
    let (mut events, mut errors) = (Vec::new(), Vec::new());
    for (position, item) in items {
        match Event::parse(item, position, received_at()) {
            Ok(event) => events.push(event),
            Err(error) => errors.push(error),
        }
    }
    for error in &errors {
        let prefix = format!("{}: ", error.position);
        assert!(error.to_string().starts_with(&prefix), "{error}");
    }
    match result {
        Ok(got) => {
            assert!(errors.is_empty(), "accepted, though {errors:?}");
            assert_eq!(got, events);
        }
        Err(BatchError::Rejected {
            errors: got,
            rejected,
        }) => {
            assert_eq!(rejected, errors.len());
            errors.truncate(MAX_REPORTED_ERRORS);
            assert_eq!(got, errors);
        }
        Err(other) => panic!("{text:?}: unexpected {other:?}"),
    }
}

/// The timestamp parser: never panics; its fast path for the common UTC
/// form answers as the `time` crate's full RFC 3339 parser does; an
/// accepted instant prints, and reads back from its exact form.
pub fn check_timestamp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Timestamp::parse(text);
    if let Some(fast) = timestamp::parse_utc(text) {
        assert_eq!(Ok(fast), Timestamp::parse_rfc3339(text), "{text:?}");
        assert_eq!(parsed, Ok(fast), "{text:?}");
    }
    if let Ok(instant) = parsed {
        assert!(instant >= Timestamp::EPOCH, "{text:?} read as {instant:?}");
        let _ = instant.to_string();
        let mut exact = String::new();
        instant.write_exact(&mut exact);
        assert_eq!(Timestamp::parse(&exact), Ok(instant), "{text:?} as {exact}");
    }
}

/// The `Authorization` header parser: never panics on any bytes a header
/// can hold; refuses with a 401; what it accepts is a credential whose
/// token (and a signature token's access key) holds no `:`, and that reads
/// the same once encoded again.
pub fn check_authorization(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let presented = match credentials(value) {
        Ok(presented) => presented,
        Err(error) => {
            assert!(matches!(error, ApiError::Unauthorized(_)), "{error:?}");
            assert_eq!(error.into_response().status(), StatusCode::UNAUTHORIZED);
            return;
        }
    };
    let (scheme, parts) = scheme_and_parts(&presented);
    let (last, separated) = parts.split_last().expect("a credential has parts");
    assert!(
        separated.iter().all(|part| !part.contains(':')),
        "{data:?}: {parts:?}"
    );
    assert!(
        scheme == "Basic" || !last.ends_with(['\n', '\r']),
        "{data:?}"
    );
    let again = format!("{scheme} {}", STANDARD.encode(parts.join(":")));
    let reread = credentials(HeaderValue::from_str(&again).expect("base64 is a header value"));
    assert_eq!(
        reread.as_ref().ok().map(scheme_and_parts),
        Some((scheme, parts)),
        "{data:?} does not read back from {again:?}"
    );
}

/// A credential's scheme and its `:`-separated parts.
fn scheme_and_parts(presented: &Presented) -> (&'static str, Vec<&str>) {
    match presented {
        Presented::Basic { token, secret } => ("Basic", vec![token, secret]),
        Presented::Bearer {
            token,
            access_key,
            access_secret,
        } => ("Bearer", vec![token, access_key, access_secret]),
    }
}

fn credentials(value: HeaderValue) -> Result<Presented, ApiError> {
    let mut request = Request::new(());
    request.headers_mut().insert(AUTHORIZATION, value);
    let (parts, ()) = request.into_parts();
    presented_credentials(&parts)
}

/// The listings' query string, as a handler gets it ([`query_of`] into a
/// map, then [`ListingParams::parse`]): never panics; either a page request
/// in range, matching the parameters given, or a 400 that names the
/// parameter at fault.
pub fn check_listing_query(data: &[u8]) {
    let mut target = b"/batch/acme/reports?".to_vec();
    target.extend_from_slice(data);
    // What is no request target never reaches a handler.
    let Ok(uri) = Uri::try_from(target) else {
        return;
    };
    let query: HashMap<String, String> = match query_of(&uri) {
        Ok(query) => query,
        Err(rejection) => {
            assert_eq!(rejection.into_response().status(), StatusCode::BAD_REQUEST);
            return;
        }
    };
    let given = |name: &str| query.get(name).map(String::as_str);
    match ListingParams::parse(&query) {
        Ok(params) => {
            let page = params.page;
            assert!(page.page >= 1, "{query:?}: {page:?}");
            assert!(page.page <= i64::MAX as u64, "{query:?}: {page:?}");
            assert!((1..=MAX_PER_PAGE).contains(&page.per_page), "{query:?}");
            assert_eq!(given("page").map_or(Ok(1), str::parse), Ok(page.page));
            let per_page = given("per_page").map_or(Ok(1000), str::parse);
            assert_eq!(per_page, Ok(page.per_page), "{query:?}");
            assert!(matches!(given("include_spaces"), None | Some("all")));
        }
        Err(error) => {
            let ApiError::BadRequest(message) = &error else {
                panic!("{query:?}: not a 400: {error:?}");
            };
            let named = ["page", "per_page", "include_spaces"]
                .into_iter()
                .find(|name| message.starts_with(&format!("`{name}` ")));
            assert!(
                named.is_some_and(|name| query.contains_key(name)),
                "{query:?}: {message}"
            );
            assert_eq!(error.into_response().status(), StatusCode::BAD_REQUEST);
        }
    }
}

/// Runs the check of the target `name` on `data`; `false` if there is no
/// such target.
pub fn check(name: &str, data: &[u8]) -> bool {
    match TARGETS.iter().find(|(target, _)| *target == name) {
        Some((_, check)) => {
            check(data);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_of_the_checks_is_the_first_of_november_2026() {
        assert_eq!(Timestamp::parse("2026-11-01T00:00:00Z"), Ok(received_at()));
    }

    #[test]
    fn every_check_takes_realistic_input_and_garbage() {
        let inputs: [&[u8]; 5] = [
            br#"{"id":"e1","type":"report_viewed","report_id":5244,"email":"Bob@Acme.com"}"#,
            b"[{\"id\":\"e\\u0031\",\"type\":\"report_deleted\",\"report_id\":1}, 7]",
            b"2026-11-01T12:00:00.123+02:00",
            b"Basic dG9rZW46c2VjcmV0",
            b"page=2&per_page=10&include_spaces=all",
        ];
        for (name, _) in TARGETS {
            for data in inputs.iter().copied().chain([&b"\xff\0\r\n"[..], b""]) {
                assert!(check(name, data));
            }
        }
        assert!(!check("no such target", b""));
    }
}
