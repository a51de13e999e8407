//! `GET /batch/{workspace}/charts`.

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
use super::pagination::{Links, ListingParams, ListingQuery, Pagination, api_url};
use crate::domain::listings::{ChartRow, space_id};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_charts))
}

/// A chart of a query.
#[derive(Serialize, ToSchema)]
pub struct Chart {
    /// Derived from the token: the same in every database holding the same
    /// events.
    pub id: i64,
    pub token: String,
    /// `bar`, `line`, `table`, `big_number`, ...
    pub chart_type: String,
    /// `null` when never given.
    pub chart_title: Option<String>,
    pub query_id: i64,
    pub query_token: String,
    pub report_id: i64,
    pub report_token: String,
    pub space_id: Option<i64>,
    pub space_token: Option<String>,
    pub report_creator_email: Option<String>,
    /// Where a person can look at the chart's report: the report's
    /// `report_url` (root-relative).
    pub exploration_url: String,
}

impl Chart {
    fn new(row: ChartRow, workspace: &str) -> Self {
        Chart {
            exploration_url: api_url(workspace, "reports", &row.report_token),
            space_id: row.space_token.as_deref().map(space_id),
            id: row.id,
            token: row.token,
            chart_type: row.chart_type,
            chart_title: row.chart_title,
            query_id: row.query_id,
            query_token: row.query_token,
            report_id: row.report_id,
            report_token: row.report_token,
            space_token: row.space_token,
            report_creator_email: row.report_creator_email,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ChartsPage {
    pub pagination: Pagination,
    pub charts: Vec<Chart>,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// List the charts of listed queries by id: created and not deleted, in
/// personal spaces only with `include_spaces=all`.
#[utoipa::path(
    get,
    path = "/batch/{workspace}/charts",
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
            content((ChartsPage = "application/json"), (String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 304, description = "Not modified: `If-None-Match` names this answer's `ETag`",
            headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 400, description = "A bad `page`, `per_page`, `include_spaces` or `format`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn list_charts(
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
            resource: "charts",
            parameters: format!("{filter:?}"),
            as_of: None,
            fetch_page: move |page| {
                let (store, name) = (store.clone(), name.clone());
                async move {
                    let rows = store.charts(workspace, page, filter).await?.items;
                    let charts = rows.into_iter().map(|row| Chart::new(row, name.as_str()));
                    Ok(charts.collect::<Vec<_>>())
                }
            },
        };
        return export.answer(&state, &access, exportable).await;
    }
    let (store, workspace) = (&state.store, access.workspace.id);
    let fetch = move |params: ListingParams| async move {
        Ok((
            store.charts(workspace, params.page, params.filter).await?,
            None,
        ))
    };
    let name = access.workspace.name.as_str();
    cached_listing(
        &state,
        &access,
        &query,
        "charts",
        fetch,
        |pagination, rows, links| ChartsPage {
            pagination,
            charts: rows.into_iter().map(|row| Chart::new(row, name)).collect(),
            links,
        },
    )
    .await
}
