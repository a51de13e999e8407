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
    ),
    responses(
        (status = 200, description = "ReportStat collection response", body = ReportStatsPage),
        (status = 400, description = "A bad `page`, `per_page` or `include_spaces`", body = ErrorBody),
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
) -> Result<Response, ApiError> {
    let (store, clock, workspace) = (&state.store, &state.clock, access.workspace.id);
    let recent_days = state.settings.recent_days;
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
