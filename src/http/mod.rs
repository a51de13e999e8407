//! The HTTP layer: one router per feature, merged in [`app`], which also
//! derives the OpenAPI document from the same route declarations (so the two
//! cannot drift apart) and serves it at `/openapi.json`.

pub mod access_log;
pub mod auth;
pub mod auth_failures;
pub mod charts;
pub mod conditional;
pub mod error;
pub mod events;
pub mod export;
pub mod extract;
pub mod health;
pub mod members;
pub mod metrics;
pub mod page_cache;
pub mod pagination;
pub mod queries;
pub mod rate_limit;
pub mod report_stats;
pub mod report_usage;
pub mod reports;
pub mod server;
pub mod signature_tokens;
pub mod spaces;
pub mod usage_windows;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use self::auth_failures::AuthFailures;
use self::error::ApiError;
use self::page_cache::PageCache;
use self::rate_limit::RateLimiter;
use crate::domain::clock::SharedClock;
use crate::storage::Store;

/// Server settings that shape answers.
///
/// `reportstats serve` and `reportstats demo` build them from their flags
/// (`cli/serve.rs`), whose defaults are those of [`Settings::default`]: the
/// one place a default is written.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The recent window of `recent_manual_run_creators_emails`, in days.
    pub recent_days: u32,
    pub max_body_bytes: usize,
    pub max_batch_events: usize,
    /// Requests per minute per credential (also the burst); 0 is no limit.
    pub rate_limit_per_minute: u32,
    /// Events per minute per API key (also the burst), whatever the
    /// batches' sizes; 0 is no limit.
    pub event_rate_limit_per_minute: u32,
    /// Failed authentications per minute per client address and per token
    /// (also the burst; see [`auth_failures`]); 0 is no limit.
    pub auth_failures_per_minute: u32,
    /// A request still unanswered after this long gets a 503.
    pub request_timeout: Duration,
    /// Origins whose browser pages may call the API with credentials.
    pub cors_origins: Vec<HeaderValue>,
    /// Memory for rendered pages (see [`page_cache`]); 0 turns caching off.
    pub page_cache_bytes: usize,
    /// A connection that has not sent a whole request head this long after
    /// it opened, or after its previous answer, is closed (see [`server`]).
    pub header_read_timeout: Duration,
    /// Connections open at once; past it, a new one replaces the one idle
    /// longest, or waits to be accepted while all are busy (see [`server`]).
    pub max_connections: usize,
    /// Rows an export reads from the store at a time (see [`export`]); not
    /// a flag: tests make it small, to cross pages with few rows.
    pub export_page_rows: u64,
}

impl Default for Settings {
    /// The defaults of the command line's flags (`--recent-days` and the
    /// rest), and what the tests run with.
    fn default() -> Self {
        Settings {
            recent_days: 90,
            max_body_bytes: 32 * 1024 * 1024,
            max_batch_events: 100_000,
            rate_limit_per_minute: 6_000,
            event_rate_limit_per_minute: 600_000,
            auth_failures_per_minute: 30,
            request_timeout: Duration::from_secs(30),
            cors_origins: Vec::new(),
            page_cache_bytes: 64 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            // Half the usual 1,024 file descriptors, leaving the rest for
            // the database, the listeners and the logs.
            max_connections: 512,
            export_page_rows: export::EXPORT_PAGE_ROWS,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub rate_limiter: Arc<RateLimiter>,
    /// The events each API key may send (see [`Settings::event_rate_limit_per_minute`]).
    pub event_rate_limiter: Arc<RateLimiter>,
    pub auth_failures: Arc<AuthFailures>,
    pub page_cache: Arc<PageCache>,
    pub windows: Arc<usage_windows::WindowsMover>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, clock: SharedClock, settings: Settings) -> Self {
        AppState {
            store,
            clock,
            rate_limiter: Arc::new(RateLimiter::new(settings.rate_limit_per_minute)),
            event_rate_limiter: Arc::new(RateLimiter::new(settings.event_rate_limit_per_minute)),
            auth_failures: Arc::new(AuthFailures::new(settings.auth_failures_per_minute)),
            page_cache: Arc::new(PageCache::new(settings.page_cache_bytes)),
            windows: Arc::default(),
            settings: Arc::new(settings),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "reportstats",
        description = "Usage statistics for BI reports, served through Mode's Discovery (batch) API."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "batch", description = "Mode's Discovery API"),
        (name = "usage", description = "Usage over time, beyond Mode: windows, daily series, staleness"),
        (name = "rest", description = "The paths of Mode's REST API that its clients follow from the listings"),
        (name = "events", description = "Activity in"),
        (name = "health", description = "For load balancers"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "workspace_api_key",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The workspace API key: token as user name, secret as password",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "signature_token",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "base64(\"{token}:{access_key}:{access_secret}\") of a signature token",
                    ))
                    .build(),
            ),
        );
    }
}

/// The routes and the OpenAPI document they declare.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(report_stats::router())
        .merge(reports::router())
        .merge(spaces::router())
        .merge(members::router())
        .merge(queries::router())
        .merge(report_usage::router())
        .merge(charts::router())
        .merge(signature_tokens::router())
        .merge(events::router())
        .merge(health::router())
        .split_for_parts()
}

/// The whole application, ready to serve (or to `oneshot` in tests).
pub fn app(state: AppState) -> Router {
    let (router, openapi) = routes();
    let openapi = Arc::new(openapi);
    let mut app = router
        .merge(crate::dashboard::router())
        .route(
            "/openapi.json",
            get(move || async move { Json(openapi.as_ref().clone()) }),
        )
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn(conditional::tag_and_compare))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(extract::decompression())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            enforce_timeout,
        ));
    if !state.settings.cors_origins.is_empty() {
        app = app
            .layer(middleware::from_fn_with_state(
                state.clone(),
                no_basic_challenge_for_browsers,
            ))
            .layer(cors(&state.settings.cors_origins));
    }
    observe(app).with_state(state)
}

/// Request ids, the access log ([`access_log`]) and request metrics
/// ([`metrics`]) around every route, so the route's template is known.
/// Outermost, so that every answer is counted and logged (CORS preflights,
/// timeouts, rejections); and in one `Router::layer`, since each one wraps
/// the routes in another boxed service that every request clones.
fn observe(app: Router<AppState>) -> Router<AppState> {
    let trace = TraceLayer::new_for_http()
        .make_span_with(access_log::request_span)
        .on_request(())
        .on_response(access_log::log_answer)
        .on_body_chunk(())
        .on_eos(())
        // A 5xx is logged by the error that made it (`error.rs`) and its
        // status by the access line: no third line.
        .on_failure(());
    app.layer(
        ServiceBuilder::new()
            .map_request(access_log::forget_malformed_request_id)
            .layer(SetRequestIdLayer::new(
                access_log::REQUEST_ID,
                access_log::NewRequestId,
            ))
            .layer(trace)
            .layer(PropagateRequestIdLayer::new(access_log::REQUEST_ID))
            .layer(metrics::RequestMetricsLayer),
    )
}

/// Lets the listed origins call the API from a browser with credentials
/// (`withCredentials = true` and an `Authorization` header, as in Mode's
/// JavaScript example). The preflight is answered before authentication.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([
            header::RETRY_AFTER,
            HeaderName::from_static("www-authenticate"),
            access_log::REQUEST_ID,
        ])
        .max_age(Duration::from_secs(600))
}

/// A call from an allowed origin comes from a browser page, which must get
/// its 401 at once (SPEC section 5): its challenge offers `Bearer` only, as
/// a `Basic` one would make the browser ask its user for a password first.
async fn no_basic_challenge_for_browsers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let from_allowed_origin = request
        .headers()
        .get(header::ORIGIN)
        .is_some_and(|origin| state.settings.cors_origins.contains(origin));
    let mut response = next.run(request).await;
    if from_allowed_origin && response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(error::BROWSER_CHALLENGE),
        );
    }
    response
}

async fn enforce_timeout(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.settings.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        // The request's work is dropped (a PostgreSQL transaction rolls back;
        // a SQLite write already under way finishes). Either way a retry is
        // safe, since batches are idempotent.
        Err(_) => ApiError::Timeout(limit.as_secs()).into_response(),
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the
/// requests in flight; connections are limited as [`server`] describes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = state.settings.clone();
    let windows = Arc::clone(&state.windows).run(state.store.clone(), state.clock.clone());
    tokio::select! {
        served = server::run(listener, app(state), &settings, shutdown) => served,
        () = windows => Ok(()),
    }
}
