//! `POST /api/{workspace}/events`: a batch in, all or nothing.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::AdminAccess;
use super::error::{ApiError, ErrorBody};
use super::extract::Body;
use crate::ingest::parse_batch;
use crate::storage::{self, EventChunk, IngestSummary};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_events))
}

/// Store a batch of events: a JSON array, or NDJSON (one event per line).
/// All or nothing; events already stored (same `id`) are acknowledged as
/// duplicates and change nothing.
#[utoipa::path(
    post,
    path = "/api/{workspace}/events",
    tag = "events",
    params(("workspace" = String, Path, description = "The workspace's username")),
    request_body(
        description = "Events (SPEC section 3) as a JSON array or as NDJSON",
        content(
            (Vec<serde_json::Value> = "application/json"),
            (String = "application/x-ndjson"),
        ),
    ),
    responses(
        (status = 200, description = "Stored", body = IngestSummary),
        (status = 400, description = "Rejected events (nothing stored)", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 413, description = "Body or batch over the limit", body = ErrorBody),
        (status = 415, description = "A `Content-Encoding` other than gzip or zstd", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody),
    ),
    security(("workspace_api_key" = []))
)]
async fn create_events(
    State(state): State<AppState>,
    access: AdminAccess,
    Body(body): Body,
) -> Result<Json<IngestSummary>, ApiError> {
    let received_at = state.clock.now();
    let max_events = state.settings.max_batch_events;
    // Parsing and serialising a large batch take milliseconds: keep them
    // off the threads that serve other requests.
    let chunk = tokio::task::spawn_blocking(move || {
        parse_batch(&body, received_at, max_events).map(EventChunk::new)
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))??;
    let summary = storage::ingest_chunk(state.store.as_ref(), access.workspace.id, chunk).await?;
    tracing::info!(
        workspace = %access.workspace.name,
        accepted = summary.accepted,
        duplicates = summary.duplicates,
        "stored a batch"
    );
    Ok(Json(summary))
}
