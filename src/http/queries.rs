//! `GET /batch/{workspace}/queries`.

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
use super::export::{ExportQuery, Exportable, Preconditions, Representation};
use super::extract::Query;
use super::page_cache::cached_listing;
use super::pagination::{Links, ListingParams, ListingQuery, Pagination};
use crate::domain::Timestamp;
use crate::domain::listings::{QueryRow, space_id};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_queries))
}

/// A query of a report.
#[derive(Serialize, ToSchema)]
pub struct ReportQuery {
    /// Derived from the token: the same in every database holding the same
    /// events.
    pub id: i64,
    pub token: String,
    pub name: String,
    /// The SQL text.
    pub raw_query: String,
    pub creator_email: String,
    pub data_source_token: String,
    pub report_id: i64,
    pub report_token: String,
    pub space_id: Option<i64>,
    pub space_token: Option<String>,
    /// The earliest `query_created`.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<Timestamp>,
    /// The latest of its creation and edits.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
}

impl From<QueryRow> for ReportQuery {
    fn from(row: QueryRow) -> Self {
        ReportQuery {
            space_id: row.space_token.as_deref().map(space_id),
            id: row.id,
            token: row.token,
            name: row.name,
            raw_query: row.raw_query,
            creator_email: row.creator_email,
            data_source_token: row.data_source_token,
            report_id: row.report_id,
            report_token: row.report_token,
            space_token: row.space_token,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct QueriesPage {
    pub pagination: Pagination,
    pub queries: Vec<ReportQuery>,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// List the queries of listed reports by id: created and not deleted, in
/// personal spaces only with `include_spaces=all`.
#[utoipa::path(
    get,
    path = "/batch/{workspace}/queries",
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
            content((QueriesPage = "application/json"), (String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 304, description = "Not modified: `If-None-Match` names this answer's `ETag`",
            headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 400, description = "A bad `page`, `per_page`, `include_spaces` or `format`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn list_queries(
    State(state): State<AppState>,
    access: ReadAccess,
    Query(query): Query<HashMap<String, String>>,
    representation: Representation,
) -> Result<Response, ApiError> {
    if let Representation::Export(export) = representation {
        let filter = ListingParams::parse(&query)?.filter;
        let (store, workspace) = (state.store.clone(), access.workspace.id);
        let exportable = Exportable {
            resource: "queries",
            parameters: format!("{filter:?}"),
            as_of: None,
            fetch_page: move |page| {
                let store = store.clone();
                async move {
                    let rows = store.queries(workspace, page, filter).await?.items;
                    Ok(rows.into_iter().map(ReportQuery::from).collect::<Vec<_>>())
                }
            },
        };
        return export.answer(&state, &access, exportable).await;
    }
    let (store, workspace) = (&state.store, access.workspace.id);
    let fetch = move |params: ListingParams| async move {
        Ok((
            store.queries(workspace, params.page, params.filter).await?,
            None,
        ))
    };
    cached_listing(
        &state,
        &access,
        &query,
        "queries",
        fetch,
        |pagination, rows, links| QueriesPage {
            pagination,
            queries: rows.into_iter().map(ReportQuery::from).collect(),
            links,
        },
    )
    .await
}
