//! `GET /batch/{workspace}/spaces`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::ReadAccess;
use super::error::{ApiError, ErrorBody};
use super::export::{ExportQuery, Exportable, Preconditions, Representation};
use super::extract::{Path, Query};
use super::page_cache::cached_listing;
use super::pagination::{Links, ListingParams, ListingQuery, Pagination, api_url};
use crate::domain::listings::SpaceRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_spaces))
        .routes(routes!(show_space))
}

#[derive(Serialize, ToSchema)]
pub struct Space {
    /// Derived from the token: the same in every database holding the same
    /// events.
    pub id: i64,
    pub token: String,
    pub name: String,
    pub description: Option<String>,
    /// `custom`, `community` or `private` (a member's personal space).
    pub space_type: String,
    /// `/api/{workspace}/spaces/{token}`, the token percent-encoded.
    pub space_url: String,
}

impl Space {
    fn new(row: SpaceRow, workspace: &str) -> Self {
        Space {
            space_url: api_url(workspace, "spaces", &row.token),
            id: row.id,
            token: row.token,
            name: row.name,
            description: row.description,
            space_type: row.space_type,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SpacesPage {
    pub pagination: Pagination,
    pub spaces: Vec<Space>,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// List the workspace's spaces by id: upserted and not deleted, and every
/// space a listed report is in (deleted, or never upserted: then named by
/// its token), so that joins to `/reports`, `/queries` and `/charts` never
/// break; members' personal spaces only with `include_spaces=all`.
#[utoipa::path(
    get,
    path = "/batch/{workspace}/spaces",
    tag = "batch",
    params(
        ("workspace" = String, Path, description = "The workspace's username"),
        ListingQuery,
        ExportQuery,
        Preconditions,
    ),
    responses(
        (status = 200, description = "The page as JSON (the default), or the whole listing as CSV or NDJSON (see `format`)",
            headers(
                ("ETag" = String, description = "Changes whenever the answer may"),
                ("Content-Disposition" = String, description = "Exports only: `attachment; filename=\"{workspace}-{resource}.csv\"` (`.ndjson`)"),
            ),
            content((SpacesPage = "application/json"), (String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 304, description = "Not modified: `If-None-Match` names this answer's `ETag`",
            headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 400, description = "A bad `page`, `per_page`, `include_spaces` or `format`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn list_spaces(
    State(state): State<AppState>,
    access: ReadAccess,
    Query(query): Query<HashMap<String, String>>,
    representation: Representation,
) -> Result<Response, ApiError> {
    if let Representation::Export(export) = representation {
        let filter = ListingParams::parse(&query)?.filter;
        let (store, workspace) = (state.store.clone(), access.workspace.id);
        let name = access.workspace.name.clone();
        let exportable = Exportable {
            resource: "spaces",
            parameters: format!("{filter:?}"),
            as_of: None,
            fetch_page: move |page| {
                let (store, name) = (store.clone(), name.clone());
                async move {
                    let rows = store.spaces(workspace, page, filter).await?.items;
                    let spaces = rows.into_iter().map(|row| Space::new(row, name.as_str()));
                    Ok(spaces.collect::<Vec<_>>())
                }
            },
        };
        return export.answer(&state, &access, exportable).await;
    }
    let (store, workspace) = (&state.store, access.workspace.id);
    let fetch = move |params: ListingParams| async move {
        Ok((
            store.spaces(workspace, params.page, params.filter).await?,
            None,
        ))
    };
    let name = access.workspace.name.as_str();
    cached_listing(
        &state,
        &access,
        &query,
        "spaces",
        fetch,
        |pagination, rows, links| {
            let spaces = rows.into_iter().map(|row| Space::new(row, name)).collect();
            SpacesPage {
                pagination,
                spaces,
                links,
            }
        },
    )
    .await
}

/// One space by token, as `/batch/{workspace}/spaces?include_spaces=all`
/// lists it: what its `space_url` points at.
#[utoipa::path(
    get,
    path = "/api/{workspace}/spaces/{token}",
    tag = "rest",
    params(
        ("workspace" = String, Path, description = "The workspace's username"),
        ("token" = String, Path, description = "The space's token"),
    ),
    responses(
        (status = 200, body = Space),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such workspace or listed space", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn show_space(
    State(state): State<AppState>,
    access: ReadAccess,
    Path((_, token)): Path<(String, String)>,
) -> Result<Json<Space>, ApiError> {
    let row = state
        .store
        .space(access.workspace.id, &token)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Space::new(row, access.workspace.name.as_str())))
}
