//! `GET /batch/{workspace}/members`.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::ReadAccess;
use super::error::{ApiError, ErrorBody};
use super::extract::Query;
use super::page_cache::cached_listing;
use super::pagination::{Links, ListingParams, ListingQuery, Pagination};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_members))
}

#[derive(Serialize, ToSchema)]
pub struct Member {
    /// Lowercased.
    pub email: String,
    pub username: Option<String>,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MembersPage {
    pub pagination: Pagination,
    pub members: Vec<Member>,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// List the workspace's members (upserted and not removed) by email.
#[utoipa::path(
    get,
    path = "/batch/{workspace}/members",
    tag = "batch",
    params(
        ("workspace" = String, Path, description = "The workspace's username"),
        ListingQuery,
    ),
    responses(
        (status = 200, body = MembersPage),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn list_members(
    State(state): State<AppState>,
    access: ReadAccess,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (store, workspace) = (&state.store, access.workspace.id);
    let fetch = move |params: ListingParams| async move {
        Ok((store.members(workspace, params.page).await?, None))
    };
    cached_listing(
        &state,
        &access,
        &query,
        "members",
        fetch,
        |pagination, rows, links| {
            let members = rows
                .into_iter()
                .map(|row| Member {
                    email: row.email,
                    username: row.username,
                    name: row.name,
                })
                .collect();
            MembersPage {
                pagination,
                members,
                links,
            }
        },
    )
    .await
}
