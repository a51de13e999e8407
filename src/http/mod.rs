//! The HTTP layer: one `router()` per feature, merged in [`app`].

pub mod auth;
pub mod error;
pub mod events;
pub mod pagination;
pub mod report_stats;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use self::error::ApiError;
use crate::domain::clock::SharedClock;
use crate::storage::Store;

/// Server settings that shape answers.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// The recent window of `recent_manual_run_creators_emails`, in days.
    pub recent_days: u32,
    pub max_body_bytes: usize,
    pub max_batch_events: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            recent_days: 90,
            max_body_bytes: 32 * 1024 * 1024,
            max_batch_events: 100_000,
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: SharedClock,
    pub settings: Settings,
}

/// The whole application, ready to serve (or to `oneshot` in tests).
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(report_stats::router())
        .merge(events::router(state.settings.max_body_bytes))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` completes, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
