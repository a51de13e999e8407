//! Conditional GETs (SPEC section 8, "Export and caching"): every 200 of a
//! `GET /batch/...` carries a strong `ETag`, and a request whose
//! `If-None-Match` names it gets `304 Not Modified` with no body.
//!
//! A tag must change whenever the body may, so each kind of answer is
//! tagged by what decides it:
//! - a JSON page by the SHA-256 of its rendered bytes
//!   ([`page_cache`](super::page_cache) keeps the tag with the page, so a
//!   cached page is not hashed again): exact by construction;
//! - an export, streamed before its last row is read, by the SHA-256 of
//!   everything that decides its rows ([`export`](super::export) says what
//!   and why that is exact);
//! - any other 200 of a `/batch` GET (the signature tokens' listing) by the
//!   SHA-256 of its body, buffered here ([`tag_and_compare`]).
//!
//! [`tag_and_compare`] then answers 304 when `If-None-Match` matches, by the
//! weak comparison RFC 9110 (section 13.1.2) prescribes for it.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// Hex digits of SHA-256 an entity tag keeps: 128 bits, so that two bodies
/// sharing a tag by chance is out of the question.
const TAG_HEX_DIGITS: usize = 32;

/// The headers a 304 repeats from the 200 it stands for (RFC 9110 section
/// 15.4.5); the body and the headers that describe it are left out.
const REPEATED_BY_NOT_MODIFIED: [header::HeaderName; 5] = [
    header::ETAG,
    header::VARY,
    header::CACHE_CONTROL,
    header::CONTENT_LOCATION,
    header::EXPIRES,
];

/// A strong entity tag computed from a sequence of fields: each one is
/// length-prefixed, so that no two different sequences hash alike.
pub struct TagHasher(Sha256);

impl TagHasher {
    /// `kind` separates the tags of different kinds of answer.
    pub fn new(kind: &str) -> Self {
        TagHasher(Sha256::new()).field(kind)
    }

    pub fn field(mut self, bytes: impl AsRef<[u8]>) -> Self {
        let bytes = bytes.as_ref();
        self.0.update((bytes.len() as u64).to_be_bytes());
        self.0.update(bytes);
        self
    }

    pub fn finish(self) -> HeaderValue {
        let digest = hex::encode(self.0.finalize());
        let quoted = format!("\"{}\"", &digest[..TAG_HEX_DIGITS]);
        HeaderValue::from_str(&quoted).expect("quoted hex digits are a valid header value")
    }
}

/// The strong entity tag of a body: the start of its SHA-256, quoted.
pub fn body_tag(body: &[u8]) -> HeaderValue {
    let digest = hex::encode(Sha256::digest(body));
    let quoted = format!("\"{}\"", &digest[..TAG_HEX_DIGITS]);
    HeaderValue::from_str(&quoted).expect("quoted hex digits are a valid header value")
}

/// Whether the request's `If-None-Match` (all of its header lines) matches
/// `tag`: `*` matches any current answer, and a listed tag matches when its
/// opaque part is `tag`'s, `W/` or not (weak comparison). What cannot be
/// read as an entity tag ends the list: it matches nothing.
pub fn if_none_match_names(request_headers: &HeaderMap, tag: &HeaderValue) -> bool {
    let opaque = tag.as_bytes();
    let opaque = opaque
        .strip_prefix(b"W/")
        .unwrap_or(opaque)
        .strip_prefix(b"\"")
        .and_then(|rest| rest.strip_suffix(b"\""))
        .unwrap_or(opaque);
    request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .any(|line| list_names(line.as_bytes(), opaque))
}

/// Whether the `If-None-Match` list `line` is `*` or names `opaque`.
fn list_names(line: &[u8], opaque: &[u8]) -> bool {
    let mut rest = line;
    loop {
        while let [b' ' | b'\t' | b',', tail @ ..] = rest {
            rest = tail;
        }
        if rest.is_empty() {
            return false;
        }
        if let [b'*', tail @ ..] = rest {
            if tail.iter().all(|byte| matches!(byte, b' ' | b'\t' | b',')) {
                return true;
            }
            return false;
        }
        let tagged = rest.strip_prefix(b"W/").unwrap_or(rest);
        let Some(quoted) = tagged.strip_prefix(b"\"") else {
            return false;
        };
        let Some(end) = quoted.iter().position(|&byte| byte == b'"') else {
            return false;
        };
        if &quoted[..end] == opaque {
            return true;
        }
        rest = &quoted[end + 1..];
    }
}

/// `304 Not Modified` standing for a 200 with these headers.
pub fn not_modified(answer_headers: &HeaderMap) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    for name in REPEATED_BY_NOT_MODIFIED {
        for value in answer_headers.get_all(&name) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}

/// Wraps the routes: tags each 200 of a `GET /batch/...` that its handler
/// has not tagged, from its body, and turns a 200 whose tag the request's
/// `If-None-Match` names into a 304.
///
/// Only a GET's body is hashed here: a HEAD's has already been emptied by
/// the router, and its tag would not be the GET's. Listings tag their
/// answers themselves, HEAD included.
pub async fn tag_and_compare(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let applies = (method == Method::GET || method == Method::HEAD)
        && request.uri().path().starts_with("/batch/");
    if !applies {
        return next.run(request).await;
    }
    let request_headers = request.headers().clone();
    let mut response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    if !response.headers().contains_key(header::ETAG) {
        if method != Method::GET {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(error) => return ApiError::Internal(anyhow::anyhow!(error)).into_response(),
        };
        parts.headers.insert(header::ETAG, body_tag(&bytes));
        response = Response::from_parts(parts, Body::from(bytes));
    }
    match response.headers().get(header::ETAG) {
        Some(tag) if if_none_match_names(&request_headers, tag) => not_modified(response.headers()),
        _ => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(header::IF_NONE_MATCH, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    #[test]
    fn if_none_match_matches_the_tag_in_a_list_weak_or_strong_or_a_star() {
        let tag = HeaderValue::from_static("\"abc\"");
        for lines in [
            &["\"abc\""][..],
            &["W/\"abc\""],
            &["\"x\", \"abc\""],
            &["\"x\",W/\"abc\" , \"y\""],
            &["\"x\"", "\"abc\""],
            &["*"],
            &[" * "],
        ] {
            assert!(if_none_match_names(&request_with(lines), &tag), "{lines:?}");
        }
    }

    #[test]
    fn if_none_match_matches_nothing_else() {
        let tag = HeaderValue::from_static("\"abc\"");
        for lines in [
            &[][..],
            &["\"abcd\""],
            &["\"ab\""],
            &["abc"],
            &["\"x\", abc"],
            &["\"abc"],
            &["\"a,bc\""],
            &["*, \"x\""],
            &[""],
        ] {
            assert!(
                !if_none_match_names(&request_with(lines), &tag),
                "{lines:?}"
            );
        }
    }

    #[test]
    fn a_tag_with_a_comma_inside_its_quotes_is_one_tag() {
        let tag = HeaderValue::from_static("\"a,b\"");
        assert!(if_none_match_names(
            &request_with(&["\"x\", \"a,b\""]),
            &tag
        ));
    }

    #[test]
    fn tags_differ_with_any_field_and_never_by_where_fields_split() {
        let tag = |fields: &[&str]| {
            fields
                .iter()
                .fold(TagHasher::new("test"), |hasher, field| hasher.field(field))
                .finish()
        };
        assert_ne!(tag(&["ab", "c"]), tag(&["a", "bc"]));
        assert_ne!(tag(&["a"]), tag(&["b"]));
        assert_eq!(tag(&["a", "b"]), tag(&["a", "b"]));
        assert_eq!(tag(&["a"]).len(), TAG_HEX_DIGITS + 2);
        assert_eq!(body_tag(b"x"), body_tag(b"x"));
        assert_ne!(body_tag(b"x"), body_tag(b"y"));
    }
}
