//! The accept loop: each connection served by hyper's HTTP/1.1, with two
//! limits `axum::serve` does not offer, so that slow or idle clients cannot
//! exhaust the process's file descriptors and shut everyone else out.
//!
//! - **Header-read timeout** ([`Settings::header_read_timeout`]): a
//!   connection that has not sent a whole request head that long after it
//!   opened, or after its previous answer, is closed without an answer. That
//!   covers a client sending a header byte every few seconds, one that
//!   connects and sends nothing, and idle keep-alive connections. (A slow
//!   body and a slow handler are bounded by the request timeout instead.)
//! - **Connection cap** ([`Settings::max_connections`]): each accepted
//!   connection holds a permit until it closes. With none left the loop
//!   stops accepting, so new connections are *queued, not refused*: they wait
//!   in the kernel's listen queue, take no file descriptor of the process
//!   while there, and are accepted in order as connections close (a slow
//!   one within the header-read timeout). Only when that queue is full too
//!   does the kernel drop new connection attempts, which clients retry.
//!
//! On shutdown the loop stops accepting and closes the listener, idle
//! connections are closed, and each busy one finishes its current request.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service;

use super::Settings;

/// How long to pause accepting after an error such as "too many open
/// files", which would otherwise repeat at once in a busy loop.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish. Handlers can extract the client's address as
/// `ConnectInfo<SocketAddr>`.
pub async fn run(
    listener: TcpListener,
    app: Router,
    settings: &Settings,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let permits = Arc::new(Semaphore::new(settings.max_connections));
    let connections = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote_address) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = match make_service.call(remote_address).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let connection = connections
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%remote_address, %error, "connection closed on an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    connections.shutdown().await;
    Ok(())
}

async fn pause_after(error: io::Error) {
    // The client gave up between connecting and being accepted: nothing is
    // wrong with the listener.
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection");
    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
}
