//! `POST /api/{workspace}/events`: a batch in, all or nothing.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};

use super::AppState;
use super::auth::WorkspaceAccess;
use super::error::ApiError;
use crate::ingest::parse_batch;
use crate::storage::{self, IngestSummary};

pub fn router(max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/api/{workspace}/events", post(create_events))
        .layer(DefaultBodyLimit::max(max_body_bytes))
}

async fn create_events(
    State(state): State<AppState>,
    access: WorkspaceAccess,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestSummary>, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "The body is larger than the limit of {} bytes",
                state.settings.max_body_bytes
            ))
        } else {
            ApiError::BadRequest(format!(
                "The body could not be read: {}",
                rejection.body_text()
            ))
        }
    })?;
    let received_at = state.clock.now();
    let max_events = state.settings.max_batch_events;
    // Parsing a large batch takes milliseconds: keep it off the threads that
    // serve other requests.
    let events = tokio::task::spawn_blocking(move || parse_batch(&body, received_at, max_events))
        .await
        .map_err(|error| ApiError::Internal(error.into()))??;
    let summary = storage::ingest(state.store.as_ref(), access.workspace.id, events).await?;
    tracing::info!(
        workspace = %access.workspace.name,
        accepted = summary.accepted,
        duplicates = summary.duplicates,
        "stored a batch"
    );
    Ok(Json(summary))
}
