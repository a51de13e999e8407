//! `reportstats serve`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;

use crate::domain::clock::SystemClock;
use crate::http::{self, AppState, Settings};
use crate::storage::{self, Store};

#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "REPORTSTATS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Manual runs this many days old or newer count as recent.
    #[arg(long, env = "REPORTSTATS_RECENT_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub recent_days: u32,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "REPORTSTATS_MAX_BODY_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Most events accepted in one batch.
    #[arg(long, env = "REPORTSTATS_MAX_BATCH_EVENTS", default_value_t = 100_000)]
    pub max_batch_events: usize,
}

impl ServerArgs {
    fn settings(&self) -> Settings {
        Settings {
            recent_days: self.recent_days,
            max_body_bytes: self.max_body_bytes,
            max_batch_events: self.max_batch_events,
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

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish.
pub(super) async fn serve_until_stopped(
    store: Arc<dyn Store>,
    listener: TcpListener,
    args: &ServerArgs,
) -> anyhow::Result<()> {
    let state = AppState {
        store,
        clock: Arc::new(SystemClock),
        settings: args.settings(),
    };
    tracing::info!(address = %listener.local_addr()?, "listening");
    http::serve(listener, state, shutdown_signal()).await?;
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
