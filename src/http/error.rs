//! The application's one error type. Every error answer is
//! `{"id": "<code>", "message": "<sentence>"}` (SPEC section 5); a 500 says
//! nothing more than that it happened, and the cause goes to the log.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{EventError, Position};
use crate::ingest::BatchError;
use crate::storage::StoreError;

/// How long a client should wait when another writer holds the database.
const BUSY_RETRY_AFTER_SECONDS: u64 = 5;

/// The `WWW-Authenticate` challenge sent with every 401: both credentials
/// this API takes.
pub const AUTHENTICATE_CHALLENGE: &str =
    "Basic realm=\"reportstats\", Bearer realm=\"reportstats\"";

/// The challenge a browser's call from an allowed origin gets instead (see
/// [`crate::http`]'s CORS layers): offered `Basic`, a browser holds the
/// request to ask its user for a password, and the page never sees its 401.
pub const BROWSER_CHALLENGE: &str = "Bearer realm=\"reportstats\"";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    RejectedEvents {
        message: String,
        errors: Vec<EventError>,
    },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("Not found")]
    NotFound,
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("Too many requests for this credential; retry in {retry_after_seconds} s")]
    TooManyRequests { retry_after_seconds: u64 },
    #[error("The request took longer than {0} s and was abandoned; retrying is safe")]
    Timeout(u64),
    #[error("The database does not answer")]
    Unavailable,
    #[error("The database is busy with another writer; retry in a few seconds")]
    Busy,
    #[error("an internal error occurred")]
    Internal(#[from] anyhow::Error),
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `bad_request`, `unauthorized`, `not_found`,
    /// `payload_too_large`, `unsupported_media_type`, `too_many_requests`,
    /// `internal_error`, ...
    pub id: &'static str,
    /// A sentence for people.
    pub message: String,
    /// For a rejected batch: the first 100 rejected events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RejectedEvent>>,
}

/// One rejected event of a batch: where it is, which field, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedEvent {
    /// Zero-based index in a JSON array body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// One-based line of an NDJSON body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl From<&EventError> for RejectedEvent {
    fn from(error: &EventError) -> Self {
        let (index, line) = match error.position {
            Position::Index(index) => (Some(index), None),
            Position::Line(line) => (None, Some(line)),
        };
        RejectedEvent {
            index,
            line,
            field: error.field.clone(),
            message: error.to_string(),
        }
    }
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::RejectedEvents { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) | ApiError::Unavailable | ApiError::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn id(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) | ApiError::RejectedEvents { .. } => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Timeout(_) => "timeout",
            ApiError::Unavailable | ApiError::Busy => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(error) = &self {
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let errors = match &self {
            ApiError::RejectedEvents { errors, .. } => {
                Some(errors.iter().map(RejectedEvent::from).collect())
            }
            _ => None,
        };
        let body = ErrorBody {
            id: self.id(),
            message: self.to_string(),
            errors,
        };
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(AUTHENTICATE_CHALLENGE),
                );
            }
            ApiError::TooManyRequests {
                retry_after_seconds,
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            }
            ApiError::Busy => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(BUSY_RETRY_AFTER_SECONDS),
                );
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => ApiError::NotFound,
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Aborted => {
                ApiError::Internal(anyhow::anyhow!("a batch ended before its commit"))
            }
            StoreError::Busy => ApiError::Busy,
            StoreError::Other(error) => ApiError::Internal(error),
        }
    }
}

impl From<BatchError> for ApiError {
    fn from(error: BatchError) -> Self {
        match error {
            BatchError::TooManyEvents { .. } => ApiError::PayloadTooLarge(error.to_string()),
            BatchError::Rejected { errors, rejected } => ApiError::RejectedEvents {
                message: format!(
                    "{rejected} event{} rejected; nothing was stored",
                    if rejected == 1 { " was" } else { "s were" }
                ),
                errors,
            },
            BatchError::NotUtf8 | BatchError::MalformedArray(_) => {
                ApiError::BadRequest(error.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_busy_with_another_writer_is_a_503_to_retry_not_a_500() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        let response = ApiError::from(StoreError::from(busy)).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    }
}
