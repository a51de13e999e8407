//! What handlers take from a request: the query, the path and the body,
//! each refused in the error format (axum's own extractors answer in plain
//! text), and request bodies decoded per their `Content-Encoding`.
//!
//! Clients that batch many events compress them. [`decompression`] decodes
//! `gzip` and `zstd` as the body streams in and leaves any other coding in
//! place for [`Body`] to refuse with a 415. The body limit
//! ([`axum::extract::DefaultBodyLimit`]) counts the decoded bytes, since
//! [`Body`] reads the stream the decoder yields: a decompression bomb stops
//! at the limit, with a 413, having been read no further.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_ENCODING;
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use serde::de::DeserializeOwned;
use tower_http::decompression::RequestDecompressionLayer;

use super::AppState;
use super::error::ApiError;

/// The content codings a request body may arrive in, as the 415 names them.
pub const SUPPORTED_ENCODINGS: &str = "gzip, zstd";

/// Decodes `gzip` and `zstd` request bodies; other codings pass through,
/// still labelled, and [`Body`] refuses them.
pub fn decompression() -> RequestDecompressionLayer {
    RequestDecompressionLayer::new()
        .gzip(true)
        .zstd(true)
        .no_br()
        .no_deflate()
        .pass_through_unaccepted(true)
}

/// The query string, deserialized as axum's `Query` does, but tolerant
/// (see [`query_of`]).
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        query_of(&parts.uri).map(Query)
    }
}

/// The query string of `uri`, deserialized. A `?` inside it separates
/// parameters as `&` does (SPEC section 5): some clients, Amundsen's Mode
/// extractors among them, append `?page=2` to a URL that already has a
/// query (`?include_spaces=all?page=2`). An encoded `%3F` stays a `?` in its
/// value.
pub fn query_of<T: DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    let query = uri.query().unwrap_or_default();
    let tolerant;
    let uri = if query.contains('?') {
        // `&` is as valid in a query as `?`, so the URI stays valid.
        tolerant = format!("/?{}", query.replace('?', "&"))
            .parse::<Uri>()
            .map_err(|error| {
                ApiError::BadRequest(format!("The query string could not be read: {error}"))
            })?;
        &tolerant
    } else {
        uri
    };
    axum::extract::Query::try_from_uri(uri)
        .map(|axum::extract::Query(query)| query)
        .map_err(|rejection| {
            ApiError::BadRequest(format!(
                "The query string could not be read: {}",
                rejection.body_text()
            ))
        })
}

/// The path's parameters, deserialized as axum's `Path` does.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(path)| Path(path))
            .map_err(|rejection| {
                if rejection.status().is_server_error() {
                    ApiError::Internal(anyhow::anyhow!("{}", rejection.body_text()))
                } else {
                    ApiError::BadRequest(format!(
                        "The path could not be read: {}",
                        rejection.body_text()
                    ))
                }
            })
    }
}

/// The whole request body, decoded, within the body limit.
pub struct Body(pub Bytes);

impl FromRequest<AppState> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        // [`decompression`] removed the header of a body it decodes.
        let encoding = request.headers().get(CONTENT_ENCODING);
        if let Some(encoding) = encoding.filter(|encoding| *encoding != "identity") {
            let shown: String = String::from_utf8_lossy(encoding.as_bytes())
                .chars()
                .take(64)
                .collect();
            return Err(ApiError::UnsupportedMediaType(format!(
                "`Content-Encoding: {shown}` is not supported; send the body as it is or encoded \
                 with one of: {SUPPORTED_ENCODINGS}"
            )));
        }
        Bytes::from_request(request, state)
            .await
            .map(Body)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(format!(
                        "The body is larger than the limit of {} bytes (once decoded, if compressed)",
                        state.settings.max_body_bytes
                    ))
                } else {
                    ApiError::BadRequest(format!(
                        "The body could not be read: {}",
                        rejection.body_text()
                    ))
                }
            })
    }
}
