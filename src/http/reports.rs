//! `GET /batch/{workspace}/reports`.

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
use crate::domain::Timestamp;
use crate::domain::listings::ReportRow;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reports))
        .routes(routes!(show_report))
}

/// A report. Instants never seen (a report never run, never viewed) are
/// `null`.
#[derive(Serialize, ToSchema)]
pub struct Report {
    pub id: i64,
    pub token: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// The earliest `report_created`.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<Timestamp>,
    /// The latest `report_edited`.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub edited_at: Option<Timestamp>,
    /// The latest change of any kind: creation, edit or move.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_run_at: Option<Timestamp>,
    pub last_run_token: Option<String>,
    /// `succeeded`, `failed` or `cancelled`.
    pub last_run_state: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_successfully_run_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_viewed_at: Option<Timestamp>,
    pub creator_email: Option<String>,
    pub space_id: Option<i64>,
    pub space_token: Option<String>,
    /// `/api/{workspace}/reports/{token}`, the token percent-encoded.
    pub report_url: String,
}

impl Report {
    fn new(row: ReportRow, workspace: &str) -> Self {
        Report {
            report_url: api_url(workspace, "reports", &row.token),
            space_id: row.space_id(),
            id: row.id,
            token: row.token,
            name: row.name,
            description: row.description,
            created_at: row.created_at,
            edited_at: row.edited_at,
            updated_at: row.updated_at,
            last_run_at: row.last_run_at,
            last_run_token: row.last_run_token,
            last_run_state: row.last_run_state,
            last_successfully_run_at: row.last_successfully_run_at,
            last_viewed_at: row.last_viewed_at,
            creator_email: row.creator_email,
            space_token: row.space_token,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReportsPage {
    pub pagination: Pagination,
    pub reports: Vec<Report>,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// List the workspace's reports by id; reports in personal spaces only with
/// `include_spaces=all` (the same reports `report_stats` lists).
#[utoipa::path(
    get,
    path = "/batch/{workspace}/reports",
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
            content((ReportsPage = "application/json"), (String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 304, description = "Not modified: `If-None-Match` names this answer's `ETag`",
            headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 400, description = "A bad `page`, `per_page`, `include_spaces` or `format`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn list_reports(
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
            resource: "reports",
            parameters: format!("{filter:?}"),
            as_of: None,
            fetch_page: move |page| {
                let (store, name) = (store.clone(), name.clone());
                async move {
                    let rows = store.reports(workspace, page, filter).await?.items;
                    let reports = rows.into_iter().map(|row| Report::new(row, name.as_str()));
                    Ok(reports.collect::<Vec<_>>())
                }
            },
        };
        return export.answer(&state, &access, exportable).await;
    }
    let (store, workspace) = (&state.store, access.workspace.id);
    let fetch = move |params: ListingParams| async move {
        Ok((
            store.reports(workspace, params.page, params.filter).await?,
            None,
        ))
    };
    let name = access.workspace.name.as_str();
    cached_listing(
        &state,
        &access,
        &query,
        "reports",
        fetch,
        |pagination, rows, links| ReportsPage {
            pagination,
            reports: rows.into_iter().map(|row| Report::new(row, name)).collect(),
            links,
        },
    )
    .await
}

/// One live report (created, not deleted, in any space) by token: what its
/// `report_url` points at, the same object as in the listing.
#[utoipa::path(
    get,
    path = "/api/{workspace}/reports/{token}",
    tag = "rest",
    params(
        ("workspace" = String, Path, description = "The workspace's username"),
        ("token" = String, Path, description = "The report's token"),
    ),
    responses(
        (status = 200, body = Report),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such workspace or live report", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn show_report(
    State(state): State<AppState>,
    access: ReadAccess,
    Path((_, token)): Path<(String, String)>,
) -> Result<Json<Report>, ApiError> {
    let row = state
        .store
        .report(access.workspace.id, &token)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Report::new(row, access.workspace.name.as_str())))
}
