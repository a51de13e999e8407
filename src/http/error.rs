//! The application's one error type. Every error answer is
//! `{"id": "<code>", "message": "<sentence>"}` (SPEC section 5); a 500 says
//! nothing more than that it happened, and the cause goes to the log.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::domain::{EventError, Position};
use crate::ingest::BatchError;
use crate::storage::StoreError;

/// The `WWW-Authenticate` challenge sent with every 401.
pub const AUTHENTICATE_CHALLENGE: &str = "Basic realm=\"reportstats\"";

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
    #[error("Not found")]
    NotFound,
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("an internal error occurred")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::RejectedEvents { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn id(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) | ApiError::RejectedEvents { .. } => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

fn describe(error: &EventError) -> Value {
    let mut value = match error.position {
        Position::Index(index) => json!({ "index": index }),
        Position::Line(line) => json!({ "line": line }),
    };
    if let Some(field) = &error.field {
        value["field"] = field.as_str().into();
    }
    value["message"] = error.to_string().into();
    value
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(error) = &self {
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let mut body = json!({ "id": self.id(), "message": self.to_string() });
        if let ApiError::RejectedEvents { errors, .. } = &self {
            body["errors"] = errors.iter().map(describe).collect();
        }
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(self, ApiError::Unauthorized(_)) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(AUTHENTICATE_CHALLENGE),
            );
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
