//! `reportstats serve`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::http::HeaderValue;
use clap::Args;
use tokio::net::TcpListener;

use crate::domain::Timestamp;
use crate::domain::clock::{FixedClock, SharedClock, SystemClock};
use crate::http::{self, AppState, Settings};
use crate::storage::instrumented::InstrumentedStore;
use crate::storage::{self, Store};

/// The flags of `serve` and `demo`. The defaults of those that become
/// [`Settings`] are taken from [`Settings::default`], so each is written once.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "REPORTSTATS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address to serve Prometheus metrics on, at /metrics (e.g.
    /// 127.0.0.1:9090); none by default. Keep it away from the API's clients.
    #[arg(long, env = "REPORTSTATS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Manual runs this many days old or newer count as recent.
    #[arg(
        long,
        env = "REPORTSTATS_RECENT_DAYS",
        default_value_t = Settings::default().recent_days,
        value_parser = clap::value_parser!(u32).range(1..=36_500)
    )]
    pub recent_days: u32,

    /// Largest accepted request body, in bytes.
    #[arg(
        long,
        env = "REPORTSTATS_MAX_BODY_BYTES",
        default_value_t = Settings::default().max_body_bytes
    )]
    pub max_body_bytes: usize,

    /// Most events accepted in one batch.
    #[arg(
        long,
        env = "REPORTSTATS_MAX_BATCH_EVENTS",
        default_value_t = Settings::default().max_batch_events
    )]
    pub max_batch_events: usize,

    /// Requests per minute allowed to each credential (also the burst); 0 turns the limit off.
    #[arg(
        long,
        env = "REPORTSTATS_RATE_LIMIT_PER_MINUTE",
        default_value_t = Settings::default().rate_limit_per_minute
    )]
    pub rate_limit_per_minute: u32,

    /// Events per minute each API key may send (also the burst), however
    /// they are batched; past it, 429 with Retry-After. 0 turns the limit
    /// off.
    #[arg(
        long,
        env = "REPORTSTATS_EVENT_RATE_LIMIT_PER_MINUTE",
        default_value_t = Settings::default().event_rate_limit_per_minute
    )]
    pub event_rate_limit_per_minute: u32,

    /// Failed authentications per minute allowed from one client address
    /// and against one token (also the burst); past it, 429. 0 turns the
    /// throttle off.
    #[arg(
        long,
        env = "REPORTSTATS_AUTH_FAILURES_PER_MINUTE",
        default_value_t = Settings::default().auth_failures_per_minute
    )]
    pub auth_failures_per_minute: u32,

    /// Seconds before an unanswered request gets a 503.
    #[arg(
        long,
        env = "REPORTSTATS_REQUEST_TIMEOUT_SECONDS",
        default_value_t = Settings::default().request_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub request_timeout_seconds: u64,

    /// A browser origin allowed to call the API with credentials (CORS),
    /// e.g. https://dashboards.example.com; repeat for several.
    #[arg(
        long = "cors-origin",
        env = "REPORTSTATS_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Memory for rendered pages, reused until their workspace changes; 0
    /// turns the cache off.
    #[arg(
        long,
        env = "REPORTSTATS_PAGE_CACHE_BYTES",
        default_value_t = Settings::default().page_cache_bytes
    )]
    pub page_cache_bytes: usize,

    /// Seconds a connection may take to send a request's headers (and may
    /// stay idle between requests) before it is closed.
    #[arg(
        long,
        env = "REPORTSTATS_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = Settings::default().header_read_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub header_read_timeout_seconds: u64,

    /// Connections open at once; past it, a new one replaces the one idle
    /// longest, or waits to be accepted while all are busy.
    #[arg(
        long,
        env = "REPORTSTATS_MAX_CONNECTIONS",
        default_value_t = Settings::default().max_connections,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000)
    )]
    pub max_connections: usize,

    /// Stop the server's clock at this RFC 3339 instant: statistics are then
    /// computed as of it. For tests and reproducible examples.
    #[arg(long, env = "REPORTSTATS_FROZEN_CLOCK", value_parser = parse_instant)]
    pub frozen_clock: Option<Timestamp>,
}

fn parse_instant(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse(text).map_err(|error| format!("`{text}` {error}"))
}

impl ServerArgs {
    fn settings(&self) -> anyhow::Result<Settings> {
        let cors_origins = self
            .cors_origins
            .iter()
            .map(|origin| {
                HeaderValue::from_str(origin.trim_end_matches('/'))
                    .with_context(|| format!("`{origin}` is not a valid origin"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Settings {
            recent_days: self.recent_days,
            max_body_bytes: self.max_body_bytes,
            max_batch_events: self.max_batch_events,
            rate_limit_per_minute: self.rate_limit_per_minute,
            event_rate_limit_per_minute: self.event_rate_limit_per_minute,
            auth_failures_per_minute: self.auth_failures_per_minute,
            request_timeout: Duration::from_secs(self.request_timeout_seconds),
            cors_origins,
            page_cache_bytes: self.page_cache_bytes,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            max_connections: self.max_connections,
            export_page_rows: http::export::EXPORT_PAGE_ROWS,
        })
    }

    fn clock(&self) -> SharedClock {
        match self.frozen_clock {
            Some(instant) => Arc::new(FixedClock(instant)),
            None => Arc::new(SystemClock),
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub server: ServerArgs,
}

pub async fn run(database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
    let store = storage::open(database_url).await?;
    let listener = bind(&args.server).await?;
    serve_until_stopped(store, listener, &args.server).await
}

pub(super) async fn bind(args: &ServerArgs) -> anyhow::Result<TcpListener> {
    TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))
}

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish;
/// and metrics, when asked for, until then.
pub(super) async fn serve_until_stopped(
    store: Arc<dyn Store>,
    listener: TcpListener,
    args: &ServerArgs,
) -> anyhow::Result<()> {
    let settings = args.settings()?;
    let store = InstrumentedStore::wrap(store);
    let metrics = match args.metrics_listen {
        Some(address) => {
            let metrics_listener = TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen for metrics on {address}"))?;
            let handle = http::metrics::install()?;
            tracing::info!(address = %metrics_listener.local_addr()?, "serving metrics");
            Some(tokio::spawn(http::metrics::serve_metrics(
                metrics_listener,
                handle,
                store.clone(),
            )))
        }
        None => None,
    };
    let state = AppState::new(store, args.clock(), settings);
    tracing::info!(address = %listener.local_addr()?, "listening");
    let served = http::serve(listener, state, shutdown_signal()).await;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        server: ServerArgs,
    }

    #[test]
    fn a_server_started_without_flags_has_the_default_settings() {
        let flags = Flags::try_parse_from(["reportstats"]).expect("no flag is required");
        let settings = flags.server.settings().expect("the defaults are valid");
        assert_eq!(
            format!("{settings:?}"),
            format!("{:?}", Settings::default())
        );
    }
}
