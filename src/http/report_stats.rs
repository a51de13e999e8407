//! `GET /batch/{workspace}/report_stats`.

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
use crate::domain::stats::ReportStat;
use crate::storage::ReportStatsQuery;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_report_stats))
}

/// A page of report statistics.
#[derive(Serialize, ToSchema)]
pub struct ReportStatsPage {
    pub pagination: Pagination,
    pub report_stats: Vec<ReportStat>,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// List report stats for a workspace, 1000 per page by default, ordered by
/// report id. Reports in members' personal spaces are left out unless
/// `include_spaces=all`.
#[utoipa::path(
    get,
    path = "/batch/{workspace}/report_stats",
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
            content((ReportStatsPage = "application/json"), (String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 304, description = "Not modified: `If-None-Match` names this answer's `ETag`",
            headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 400, description = "A bad `page`, `per_page`, `include_spaces` or `format`", body = ErrorBody),
        (status = 401, description = "Unauthorized", body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 429, description = "Rate limited; see Retry-After", body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn list_report_stats(
    State(state): State<AppState>,
    access: ReadAccess,
    Query(query): Query<HashMap<String, String>>,
    representation: Representation,
) -> Result<Response, ApiError> {
    let recent_days = state.settings.recent_days;
    if let Representation::Export(export) = representation {
        let filter = ListingParams::parse(&query)?.filter;
        let (store, workspace) = (state.store.clone(), access.workspace.id);
        // Every page is computed for this one instant: its recent window.
        let now = state.clock.now();
        let recent_since = now.saturating_sub_days(recent_days);
        let exportable = Exportable {
            resource: "report_stats",
            parameters: format!("{filter:?} recent_days={recent_days}"),
            as_of: Some(now),
            fetch_page: move |page| {
                let store = store.clone();
                async move {
                    let query = ReportStatsQuery {
                        page,
                        filter,
                        recent_since,
                    };
                    Ok(store.report_stats(workspace, query).await?.items)
                }
            },
        };
        return export.answer(&state, &access, exportable).await;
    }
    let (store, clock, workspace) = (&state.store, &state.clock, access.workspace.id);
    let fetch = move |params: ListingParams| async move {
        let now = clock.now();
        let recent_since = now.saturating_sub_days(recent_days);
        let query = ReportStatsQuery {
            page: params.page,
            filter: params.filter,
            recent_since,
        };
        let page = store.report_stats(workspace, query).await?;
        // The page holds until its oldest recent run leaves the window.
        let window = now.as_micros() - recent_since.as_micros();
        let valid_until = page
            .oldest_recent_run
            .map(|oldest| Timestamp::from_micros(oldest.as_micros().saturating_add(window)));
        Ok((page, valid_until))
    };
    cached_listing(
        &state,
        &access,
        &query,
        "report_stats",
        fetch,
        |pagination, report_stats, links| ReportStatsPage {
            pagination,
            report_stats,
            links,
        },
    )
    .await
}
