//! `GET /batch/{workspace}/report_usage` and `GET /batch/{workspace}/usage_daily`:
//! usage over time (SPEC section 8).
//!
//! Both are answered for the date D of the server's clock (the injectable
//! one: `--frozen-clock` pins it), so an answer changes when a batch is
//! stored and when the day rolls over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::ReadAccess;
use super::error::{ApiError, ErrorBody};
use super::export::{ExportQuery, ExportRequest, Exportable, Preconditions, Representation};
use super::extract::Query;
use super::page_cache::{Selection, cached_listing_at};
use super::pagination::{
    IncludeSpaces, Links, ListingParams, ListingQuery, Pagination, space_filter,
};
use crate::domain::stats::SpaceFilter;
use crate::domain::timestamp::UtcDay;
use crate::domain::usage::{
    DEFAULT_DAILY_DAYS, DailyScope, MAX_DAILY_DAYS, MAX_UNVIEWED_DAYS, ReportUsage, UsageCursor,
    UsageDay, UsageField, UsageFilters, UsageSort, UsageTotals,
};
use crate::domain::{Timestamp, Token};
use crate::storage::report_usage::UsageQuery;
use crate::storage::usage_daily::DailyQuery;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_report_usage))
        .routes(routes!(usage_daily))
}

/// The longest `q`.
const MAX_QUERY_TEXT_CHARS: usize = 256;

/// A page of report usage.
#[derive(Serialize, ToSchema)]
pub struct ReportUsagePage {
    pub pagination: Pagination,
    pub report_usage: Vec<ReportUsage>,
    #[serde(rename = "_links")]
    pub links: Links,
}

/// The parameters of `report_usage` beyond paging, as the OpenAPI document
/// shows them ([`UsageParams::parse`] reads them).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct UsageQueryParams {
    /// A field to sort by (`report_id`, `name`, `created_at`,
    /// `last_viewed_at`, `days_since_last_view`, or any count), with a
    /// leading `-` for descending. Ties by `report_id`; `null`s last.
    #[param(schema_with = sort_schema)]
    sort: Option<String>,
    /// Only reports with no view dated in the last N days (never viewed
    /// included).
    #[param(minimum = 1, maximum = 3650)]
    unviewed_days: Option<i64>,
    /// Only reports now in this space.
    #[param(schema_with = token_schema)]
    space_token: Option<String>,
    /// Only reports whose name contains this text, in any case; empty is no
    /// filter.
    #[param(max_length = 256, pattern = r"^[^\u0000]*$")]
    q: Option<String>,
}

/// `sort`'s values: every field, each way.
fn sort_schema() -> Object {
    let values: Vec<String> = UsageField::ALL
        .into_iter()
        .flat_map(|field| {
            [false, true].map(|descending| UsageSort { field, descending }.to_string())
        })
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .build()
}

fn token_schema() -> Object {
    super::events::bounded(Token::MAX_CHARS).build()
}

/// `report_usage`'s sort and filters, as asked (the dashboard's reports
/// table takes the same).
pub(crate) struct UsageParams {
    pub(crate) sort: UsageSort,
    pub(crate) filters: UsageFilters,
    /// The parameters as given, for the links.
    pub(crate) kept: Vec<(&'static str, String)>,
}

impl UsageParams {
    pub(crate) fn parse(query: &HashMap<String, String>) -> Result<Self, ApiError> {
        let mut kept = Vec::new();
        let sort = match query.get("sort") {
            None => UsageSort::default(),
            Some(text) => {
                kept.push(("sort", text.clone()));
                UsageSort::parse(text).ok_or_else(|| {
                    let fields: Vec<&str> =
                        UsageField::ALL.iter().map(|field| field.as_str()).collect();
                    ApiError::BadRequest(format!(
                        "`sort` must be one of {}, with a leading `-` to sort descending; got `{text}`",
                        fields.join(", ")
                    ))
                })?
            }
        };
        let unviewed_days = match query.get("unviewed_days") {
            None => None,
            Some(text) => {
                kept.push(("unviewed_days", text.clone()));
                let days = text
                    .parse::<i64>()
                    .ok()
                    .filter(|days| (1..=MAX_UNVIEWED_DAYS).contains(days))
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "`unviewed_days` must be an integer from 1 to {MAX_UNVIEWED_DAYS}, got `{text}`"
                        ))
                    })?;
                Some(days)
            }
        };
        let space_token = match query.get("space_token") {
            None => None,
            Some(text) => {
                kept.push(("space_token", text.clone()));
                let token = Token::parse(text)
                    .map_err(|error| ApiError::BadRequest(format!("`space_token` {error}")))?;
                Some(token.as_str().to_owned())
            }
        };
        let name_contains = match query.get("q") {
            // An empty search is no search: what a cleared search box sends.
            None => None,
            Some(text) if text.is_empty() => None,
            Some(text) => {
                kept.push(("q", text.clone()));
                if text.chars().count() > MAX_QUERY_TEXT_CHARS || text.contains('\0') {
                    return Err(ApiError::BadRequest(format!(
                        "`q` must be at most {MAX_QUERY_TEXT_CHARS} characters, without NUL"
                    )));
                }
                Some(text.clone())
            }
        };
        Ok(UsageParams {
            sort,
            filters: UsageFilters {
                unviewed_days,
                space_token,
                name_contains,
                report_id: None,
            },
            kept,
        })
    }
}

/// Usage of the listed reports over time: views and distinct viewers in the
/// last 7, 30 and 90 days, the last view, runs in the last 30 days. Sorted
/// by any field, filtered by staleness, space or name.
#[utoipa::path(
    get,
    path = "/batch/{workspace}/report_usage",
    tag = "usage",
    params(
        ("workspace" = String, Path, description = "The workspace's username"),
        ListingQuery,
        UsageQueryParams,
        ExportQuery,
        Preconditions,
    ),
    responses(
        (status = 200, description = "The page as JSON (the default), or the whole listing, filtered and sorted, as CSV or NDJSON (see `format`)",
            headers(
                ("ETag" = String, description = "Changes whenever the answer may, also when the date rolls over"),
                ("Content-Disposition" = String, description = "Exports only: `attachment; filename=\"{workspace}-report_usage.csv\"` (`.ndjson`)"),
            ),
            content((ReportUsagePage = "application/json"), (String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 304, description = "Not modified: `If-None-Match` names this answer's `ETag`",
            headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 400, description = "A bad parameter, named in the message", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Workspace not found", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn list_report_usage(
    State(state): State<AppState>,
    access: ReadAccess,
    Query(query): Query<HashMap<String, String>>,
    representation: Representation,
) -> Result<Response, ApiError> {
    let params = ListingParams::parse(&query)?;
    let usage = UsageParams::parse(&query)?;
    if let Representation::Export(export) = representation {
        return export_usage(&state, &access, params.filter, usage, export).await;
    }
    // Every page is computed for one date.
    let today = state.clock.now().utc_day();
    let (sort, filters) = (usage.sort, usage.filters);
    let selection = format!("{sort} {filters:?} {today}");
    let (store, workspace) = (&state.store, access.workspace.id);
    let fetch = move |params: ListingParams| async move {
        let query = UsageQuery {
            page: params.page,
            filter: params.filter,
            today,
            sort,
            filters,
            after: None,
        };
        // Until the date rolls over, when the windows move.
        let until = Timestamp::from_micros(today.plus_days(1).start().as_micros() - 1);
        Ok((store.report_usage(workspace, query).await?, Some(until)))
    };
    let path = format!("/batch/{}/report_usage", access.workspace.name);
    let selected = (
        "report_usage",
        path,
        Selection {
            key: selection,
            kept: usage.kept,
        },
    );
    cached_listing_at(
        &state,
        &access,
        &query,
        selected,
        fetch,
        |pagination, report_usage, links| ReportUsagePage {
            pagination,
            report_usage,
            links,
        },
    )
    .await
}

/// The whole `report_usage` listing as `export` asks, for today's date:
/// the API's export and the dashboard's CSV download.
pub(crate) async fn export_usage(
    state: &AppState,
    access: &ReadAccess,
    filter: SpaceFilter,
    usage: UsageParams,
    export: ExportRequest,
) -> Result<Response, ApiError> {
    // Every page of an export is computed for one date.
    let today = state.clock.now().utc_day();
    let (sort, filters) = (usage.sort, usage.filters);
    let (store, workspace) = (state.store.clone(), access.workspace.id);
    // Each page starts after the last row of the one before: a seek, where
    // a page by number would count past every row before it, so that
    // exporting a million reports cost the square of its pages. The export
    // reads its pages one after another, so the last row is always the
    // previous page's.
    let after: Arc<Mutex<Option<UsageCursor>>> = Arc::default();
    let exportable = Exportable {
        resource: "report_usage",
        parameters: format!("{filter:?} {sort} {filters:?} {today}"),
        // The rows depend on the date only: the tag holds all day.
        as_of: Some(today.start()),
        fetch_page: move |page| {
            let (store, filters, after) = (store.clone(), filters.clone(), after.clone());
            async move {
                let query = UsageQuery {
                    page,
                    filter,
                    today,
                    sort,
                    filters,
                    after: after.lock().expect("the export's cursor").clone(),
                };
                let rows = store.report_usage_rows(workspace, query).await?;
                if let Some(last) = rows.last() {
                    *after.lock().expect("the export's cursor") = Some(sort.cursor_after(last));
                }
                Ok(rows)
            }
        },
    };
    export.answer(state, access, exportable).await
}

/// The parameters of `usage_daily`, as the OpenAPI document shows them.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct DailyQueryParams {
    /// The first date, `YYYY-MM-DD`; default 29 days before `to`.
    #[param(format = Date)]
    from: Option<String>,
    /// The last date, `YYYY-MM-DD`, not before `from` and at most 366 days
    /// from it, both included; default today (UTC), or, after a `from`,
    /// today as far as 366 days from `from` reach (and `from` itself for a
    /// `from` after today).
    #[param(format = Date)]
    to: Option<String>,
    /// One live report (in any space); default every listed report.
    #[param(minimum = 1, maximum = 9_223_372_036_854_775_807_i64)]
    report_id: Option<i64>,
    /// `all` to count reports in members' personal spaces too (without
    /// `report_id`). Any other value is a 400.
    #[param(inline)]
    include_spaces: Option<IncludeSpaces>,
}

/// A series of days.
#[derive(Serialize, ToSchema)]
pub struct UsageDaily {
    #[schema(value_type = String, format = Date)]
    pub from: UtcDay,
    #[schema(value_type = String, format = Date)]
    pub to: UtcDay,
    pub days: Vec<UsageDay>,
    /// The whole range: the days' counts summed, and its distinct viewers
    /// (beyond SPEC section 8, which no sum of the days gives).
    pub totals: UsageTotals,
}

fn date_param(query: &HashMap<String, String>, name: &str) -> Result<Option<UtcDay>, ApiError> {
    query
        .get(name)
        .map(|text| {
            UtcDay::parse(text).ok_or_else(|| {
                ApiError::BadRequest(format!("`{name}` must be a date, YYYY-MM-DD; got `{text}`"))
            })
        })
        .transpose()
}

/// Views, distinct viewers and runs per UTC date, zeros included: of one
/// report, or of every listed report.
#[utoipa::path(
    get,
    path = "/batch/{workspace}/usage_daily",
    tag = "usage",
    params(
        ("workspace" = String, Path, description = "The workspace's username"),
        DailyQueryParams,
        Preconditions,
    ),
    responses(
        (status = 200, body = UsageDaily,
            headers(("ETag" = String, description = "Changes whenever the answer may"))),
        (status = 304, description = "Not modified: `If-None-Match` names this answer's `ETag`",
            headers(("ETag" = String, description = "The answer's entity tag"))),
        (status = 400, description = "A bad parameter, named in the message", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Workspace or report not found", body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("workspace_api_key" = []), ("signature_token" = []))
)]
async fn usage_daily(
    State(state): State<AppState>,
    access: ReadAccess,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let today = state.clock.now().utc_day();
    let (from, to) = match (date_param(&query, "from")?, date_param(&query, "to")?) {
        (from, Some(to)) => (from.unwrap_or(to.plus_days(1 - DEFAULT_DAILY_DAYS)), to),
        // From `from`, up to today as far as the longest range reaches.
        (Some(from), None) => {
            let to = today.min(from.plus_days(MAX_DAILY_DAYS - 1)).max(from);
            (from, to)
        }
        (None, None) => (today.plus_days(1 - DEFAULT_DAILY_DAYS), today),
    };
    let days = to.days_since_epoch() - from.days_since_epoch() + 1;
    if days < 1 {
        return Err(ApiError::BadRequest(format!(
            "`from` ({from}) must not be after `to` ({to})"
        )));
    }
    if days > MAX_DAILY_DAYS {
        return Err(ApiError::BadRequest(format!(
            "`from` to `to` spans {days} days; at most {MAX_DAILY_DAYS}"
        )));
    }
    let filter = space_filter(&query)?;
    let scope = match query.get("report_id") {
        None => DailyScope::Listed(filter),
        Some(text) => DailyScope::Report(
            text.parse::<i64>()
                .ok()
                .filter(|id| *id >= 1)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "`report_id` must be a positive integer, got `{text}`"
                    ))
                })?,
        ),
    };
    let series = state
        .store
        .usage_daily(access.workspace.id, DailyQuery { from, to, scope })
        .await?
        .ok_or(ApiError::NotFound)?;
    let totals = series.totals();
    Ok(Json(UsageDaily {
        from,
        to,
        days: series.days,
        totals,
    })
    .into_response())
}
