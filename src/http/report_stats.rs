//! `GET /batch/{workspace}/report_stats`.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::auth::WorkspaceAccess;
use super::error::ApiError;
use super::pagination::{Links, ListingParams, Pagination, paginate};
use crate::domain::stats::ReportStat;
use crate::storage::ReportStatsQuery;

pub fn router() -> Router<AppState> {
    Router::new().route("/batch/{workspace}/report_stats", get(list_report_stats))
}

#[derive(Serialize)]
pub struct ReportStatsPage {
    pub pagination: Pagination,
    pub report_stats: Vec<ReportStat>,
    #[serde(rename = "_links")]
    pub links: Links,
}

async fn list_report_stats(
    State(state): State<AppState>,
    access: WorkspaceAccess,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<ReportStatsPage>, ApiError> {
    let params = ListingParams::parse(&query)?;
    let recent_since = state
        .clock
        .now()
        .saturating_sub_days(state.settings.recent_days);
    let page = state
        .store
        .report_stats(
            access.workspace.id,
            ReportStatsQuery {
                page: params.page,
                filter: params.filter,
                recent_since,
            },
        )
        .await?;
    let path = format!("/batch/{}/report_stats", access.workspace.name);
    let (pagination, links) = paginate(&path, params, page.items.len(), page.total_count);
    Ok(Json(ReportStatsPage {
        pagination,
        report_stats: page.items,
        links,
    }))
}
