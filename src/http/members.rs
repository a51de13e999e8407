//! Members: `GET /batch/{workspace}/members` in Mode's member shape, and the
//! two REST paths Mode's clients follow to them, `GET
//! /api/{workspace}/memberships` and `GET /api/{username}`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::{OwnWorkspaceAccess, ReadAccess};
use super::error::{ApiError, ErrorBody};
use super::export::{ExportQuery, Exportable, Preconditions, Representation};
use super::extract::{Path, Query};
use super::page_cache::{Selection, cached_listing, cached_listing_at};
use super::pagination::{Link, Links, ListingParams, ListingQuery, Pagination, path_segment};
use crate::domain::Timestamp;
use crate::domain::listings::MemberRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members))
        .routes(routes!(list_memberships))
        .routes(routes!(show_user))
}

/// A member as Mode's Discovery API shows one (SPEC section 5, "Mode's
/// member object").
#[derive(Serialize, ToSchema)]
pub struct Member {
    /// Derived from the email: stable.
    pub id: i64,
    /// The membership's token (12 hex digits, derived from the email).
    pub token: String,
    /// Always `active`: removed members are not listed.
    pub state: String,
    /// Lowercased.
    pub member_email: String,
    pub member_username: Option<String>,
    /// The person's token (12 hex digits, derived from the email).
    pub member_token: String,
    pub name: Option<String>,
    /// The earliest `member_upserted`.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub activated_at: Option<Timestamp>,
    /// Always `null`: no event carries it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub banned_at: Option<Timestamp>,
    /// Always `null`: no event carries it.
    #[schema(value_type = Option<String>, format = Date)]
    pub last_day_api_engaged: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_report_created_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_report_viewed_at: Option<Timestamp>,
    /// The latest manual run this member started.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_report_run_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_exploration_created_at: Option<Timestamp>,
    /// The same as `last_exploration_created_at`: explorations are not edited.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_exploration_updated_at: Option<Timestamp>,
    /// The UTC date (`YYYY-MM-DD`) of the latest activity.
    #[schema(format = Date)]
    pub last_day_engaged: Option<String>,
    /// The same as `last_day_engaged`.
    #[schema(format = Date)]
    pub last_day_in_app_engaged: Option<String>,
    /// The number of distinct UTC dates with activity.
    pub total_days_engaged: u64,
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Self {
        let last_day = row.last_day_engaged().map(|day| day.to_string());
        Member {
            id: row.id,
            token: row.token(),
            member_token: row.member_token(),
            state: "active".to_owned(),
            member_email: row.email,
            member_username: row.username,
            name: row.name,
            activated_at: row.activated_at,
            banned_at: None,
            last_day_api_engaged: None,
            last_report_created_at: row.last_report_created_at,
            last_report_viewed_at: row.last_report_viewed_at,
            last_report_run_at: row.last_report_run_at,
            last_exploration_created_at: row.last_exploration_created_at,
            last_exploration_updated_at: row.last_exploration_created_at,
            last_day_in_app_engaged: last_day.clone(),
            last_day_engaged: last_day,
            total_days_engaged: row.total_days_engaged,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MembersPage {
    pub pagination: Pagination,
    pub members: Vec<Member>,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// List the workspace's members (upserted and not removed) by id, in
/// Mode's member shape.
#[utoipa::path(
    get,
    path = "/batch/{workspace}/members",
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
            content((MembersPage = "application/json"), (String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 304, description = "Not modified: `If-None-Match` names this answer's `ETag`",
            headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 400, description = "A bad `page`, `per_page`, `include_spaces` or `format`", body = ErrorBody),
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
    representation: Representation,
) -> Result<Response, ApiError> {
    if let Representation::Export(export) = representation {
        // Checked as on the JSON page; no parameter selects members.
        ListingParams::parse(&query)?;
        let (store, workspace) = (state.store.clone(), access.workspace.id);
        let exportable = Exportable {
            resource: "members",
            parameters: String::new(),
            as_of: None,
            fetch_page: move |page| {
                let store = store.clone();
                async move {
                    let rows = store.members(workspace, page).await?.items;
                    Ok(rows.into_iter().map(Member::from).collect::<Vec<_>>())
                }
            },
        };
        return export.answer(&state, &access, exportable).await;
    }
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
        |pagination, rows, links| MembersPage {
            pagination,
            members: rows.into_iter().map(Member::from).collect(),
            links,
        },
    )
    .await
}

/// The path Mode's clients follow to a member: `/api/{username}`, or the
/// member token for a member without a username.
fn user_href(row: &MemberRow) -> String {
    let handle = row.username.clone().unwrap_or_else(|| row.member_token());
    format!("/api/{}", path_segment(&handle))
}

#[derive(Serialize, ToSchema)]
pub struct MembershipLinks {
    /// `/api/{username}` (the member token when there is no username).
    pub user: Link,
}

/// A membership as Mode's REST API shows one.
#[derive(Serialize, ToSchema)]
pub struct Membership {
    pub token: String,
    pub state: String,
    pub member_username: Option<String>,
    pub member_token: String,
    #[serde(rename = "_links")]
    pub links: MembershipLinks,
}

#[derive(Serialize, ToSchema)]
pub struct EmbeddedMemberships {
    pub memberships: Vec<Membership>,
}

/// HAL-shaped, as Mode answers it: the memberships under `_embedded`.
#[derive(Serialize, ToSchema)]
pub struct MembershipsPage {
    pub pagination: Pagination,
    #[serde(rename = "_embedded")]
    pub embedded: EmbeddedMemberships,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// List the workspace's memberships (Mode's REST API), by member id, with
/// the pagination of the batch listings.
#[utoipa::path(
    get,
    path = "/api/{workspace}/memberships",
    tag = "rest",
    params(
        ("workspace" = String, Path, description = "The workspace's username"),
        ListingQuery,
    ),
    responses(
        (status = 200, body = MembershipsPage),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn list_memberships(
    State(state): State<AppState>,
    access: ReadAccess,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (store, workspace) = (&state.store, access.workspace.id);
    let fetch = move |params: ListingParams| async move {
        Ok((store.members(workspace, params.page).await?, None))
    };
    let path = format!("/api/{}/memberships", access.workspace.name);
    cached_listing_at(
        &state,
        &access,
        &query,
        ("memberships", path, Selection::default()),
        fetch,
        |pagination, rows, links| MembershipsPage {
            pagination,
            embedded: EmbeddedMemberships {
                memberships: rows
                    .into_iter()
                    .map(|row| Membership {
                        links: MembershipLinks {
                            user: Link {
                                href: user_href(&row),
                            },
                        },
                        token: row.token(),
                        member_token: row.member_token(),
                        state: "active".to_owned(),
                        member_username: row.username,
                    })
                    .collect(),
            },
            links,
        },
    )
    .await
}

/// A person, as Mode's REST API shows one.
#[derive(Serialize, ToSchema)]
pub struct User {
    pub username: Option<String>,
    /// Lowercased.
    pub email: String,
    pub name: Option<String>,
    /// The person's token (`member_token` in the listings).
    pub token: String,
}

/// The member of the credential's workspace with this username (or, for a
/// member without one, this member token). Anyone else is 404.
#[utoipa::path(
    get,
    path = "/api/{username}",
    tag = "rest",
    params(("username" = String, Path, description = "A member's username, or member token")),
    responses(
        (status = 200, body = User),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such member in the credential's workspace", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn show_user(
    State(state): State<AppState>,
    access: OwnWorkspaceAccess,
    Path(username): Path<String>,
) -> Result<Json<User>, ApiError> {
    let member = state
        .store
        .member(access.workspace.id, &username)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(User {
        token: member.member_token(),
        username: member.username,
        email: member.email,
        name: member.name,
    }))
}
