//! The accept loop: each connection served by hyper's HTTP/1.1, with two
//! limits `axum::serve` does not offer, so that slow or idle clients cannot
//! use up the process's file descriptors and shut everyone else out.
//!
//! - **Header-read timeout** ([`Settings::header_read_timeout`]): a
//!   connection that has not sent a whole request head that long after it
//!   opened, or after its previous answer, is closed without an answer. That
//!   covers a client sending a header byte every few seconds, one that
//!   connects and sends nothing, and idle keep-alive connections. (A slow
//!   body and a slow handler are bounded by the request timeout instead.)
//! - **Connection cap** ([`Settings::max_connections`]): each open
//!   connection holds one of that many slots. When a new connection arrives
//!   and every slot is taken, the connection that has been *waiting* longest
//!   (for its first request head, in the middle of sending one, or idle
//!   between requests) is closed to make room, at once if it never started
//!   a request, else as soon as its last answer is written; but not before
//!   it has waited a second, so a flood of new connections cannot close each
//!   one before it is read. A client that trickles headers thus holds a
//!   slot only until someone needs it, and a normal request is served at
//!   once, or within the second. Only when every connection is in the
//!   middle of a request does a new one wait, in the kernel's listen queue
//!   (taking no file descriptor of the process), for the first slot to free
//!   up: it is queued, never refused.
//!
//! On shutdown the loop stops accepting and closes the listener; a
//! connection that has not started a request is closed, and each other one
//! finishes its current request first, within the request timeout again:
//! one still streaming an answer after that (a long export) is cut off.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::HttpService;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, TryAcquireError, watch};
use tower::{Service, ServiceExt};

use super::Settings;

/// How long to pause accepting after an error such as "too many open
/// files", which would otherwise repeat at once in a busy loop.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// A connection waits at least this long before it can be made to give up
/// its slot: time for a client whose request is already on its way to be
/// read, even on a loaded server, so that a flood of new connections cannot
/// close each one before it is heard.
const LEAST_WAIT_BEFORE_MAKING_ROOM: Duration = Duration::from_secs(1);

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
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let waiting = Arc::new(Waiting::default());
    // Every connection holds a receiver: a value sent asks them all to
    // stop, and the channel closes once the last one has.
    let (stop, stop_receiver) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            () = room(&slots, &waiting) => {}
            () = &mut shutdown => break,
        }
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
        let slot = tokio::select! {
            slot = free_slot(&slots, &waiting) => slot,
            () = &mut shutdown => break,
        };
        let app = match make_service.call(remote_address).await {
            Ok(app) => app,
            Err(never) => match never {},
        };
        let state = Arc::new(ConnectionState::new(waiting.clone()));
        let service = hyper::service::service_fn({
            let state = state.clone();
            move |request: Request<Incoming>| {
                let serving = Serving::start(state.clone());
                let answer = app.clone().oneshot(request);
                async move {
                    let answer = answer.await;
                    drop(serving);
                    answer
                }
            }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let stopping = stop_receiver.clone();
        tokio::spawn(async move {
            serve_until_closed(connection, &state, stopping, remote_address).await;
            drop(slot);
        });
    }
    drop(listener);
    drop(stop_receiver);
    stop.send_replace(());
    // A request's handler is bounded by the request timeout, but not an
    // export's body, which streams for as long as the listing takes: the
    // connections still open after as long again are closed, so that a
    // client downloading slowly cannot hold a shutdown back. Their clients
    // see a failed transfer, never a shorter file that looks complete (see
    // `super::export`), and can download again from the next server.
    let grace = settings.request_timeout;
    if tokio::time::timeout(grace, stop.closed()).await.is_err() {
        tracing::warn!(
            connections = stop.receiver_count(),
            grace_seconds = grace.as_secs(),
            "closing the connections still answering after the shutdown's grace period"
        );
    }
    Ok(())
}

/// Drives `connection` until it ends. Told to make room or to stop, it
/// closes at once if it never started a request (nothing can be cut short),
/// else after its current answer.
async fn serve_until_closed<S>(
    connection: http1::Connection<TokioIo<TcpStream>, S>,
    state: &ConnectionState,
    mut stopping: watch::Receiver<()>,
    remote_address: SocketAddr,
) where
    S: HttpService<Incoming, ResBody = Body>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connection = pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%remote_address, %error, "connection closed on an error");
                }
                return;
            }
            () = state.make_room.notified(), if !closing => {}
            _ = stopping.changed(), if !closing => {}
        }
        if !state.has_started_a_request() {
            return;
        }
        connection.as_mut().graceful_shutdown();
        closing = true;
    }
}

/// Returns once there is a free slot or a connection waiting for a request
/// that could give up its own. Until then new connections stay in the
/// listen queue.
async fn room(slots: &Semaphore, waiting: &Waiting) {
    while slots.available_permits() == 0 && !waiting.any() {
        tokio::select! {
            slot = slots.acquire() => {
                drop(slot);
                return;
            }
            () = waiting.started.notified() => {}
        }
    }
}

/// A slot for a connection just accepted: a free one, or the one the
/// connection waiting longest gives up; failing both (they all started a
/// request meanwhile), the first to free up.
async fn free_slot(slots: &Arc<Semaphore>, waiting: &Waiting) -> OwnedSemaphorePermit {
    loop {
        match slots.clone().try_acquire_owned() {
            Ok(slot) => return slot,
            Err(TryAcquireError::NoPermits) => {}
            Err(TryAcquireError::Closed) => unreachable!("the semaphore is never closed"),
        }
        match waiting.close_longest_waiting() {
            // Its slot comes back as soon as it has closed.
            MakingRoom::Closing => return next_slot(slots).await,
            MakingRoom::NotBefore(instant) => tokio::select! {
                slot = next_slot(slots) => return slot,
                () = tokio::time::sleep_until(instant.into()) => {}
            },
            // Every connection is in the middle of a request: take the first
            // slot to free up, or make room once a connection starts waiting.
            MakingRoom::NoneWaiting => tokio::select! {
                slot = next_slot(slots) => return slot,
                () = waiting.started.notified() => {}
            },
        }
    }
}

async fn next_slot(slots: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    match slots.clone().acquire_owned().await {
        Ok(slot) => slot,
        Err(_) => unreachable!("the semaphore is never closed"),
    }
}

/// The connections waiting for a request, longest first: the ones to close
/// when a new connection needs a slot.
#[derive(Default)]
struct Waiting {
    queue: Mutex<WaitingQueue>,
    /// Told when a connection starts waiting.
    started: Notify,
}

#[derive(Default)]
struct WaitingQueue {
    next_place: u64,
    /// When each started waiting, and how to tell it to make room.
    by_place: BTreeMap<u64, (Instant, Arc<Notify>)>,
}

enum MakingRoom {
    /// The connection waiting longest is closing.
    Closing,
    /// The connection waiting longest may be closed from then on.
    NotBefore(Instant),
    NoneWaiting,
}

impl Waiting {
    fn lock(&self) -> std::sync::MutexGuard<'_, WaitingQueue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn join(&self, make_room: Arc<Notify>) -> u64 {
        let place = {
            let mut queue = self.lock();
            let place = queue.next_place;
            queue.next_place += 1;
            queue.by_place.insert(place, (Instant::now(), make_room));
            place
        };
        self.started.notify_one();
        place
    }

    fn any(&self) -> bool {
        !self.lock().by_place.is_empty()
    }

    fn leave(&self, place: u64) {
        self.lock().by_place.remove(&place);
    }

    /// Asks the connection waiting longest to close, if it has waited
    /// [`LEAST_WAIT_BEFORE_MAKING_ROOM`].
    fn close_longest_waiting(&self) -> MakingRoom {
        let mut queue = self.lock();
        let Some(longest) = queue.by_place.first_entry() else {
            return MakingRoom::NoneWaiting;
        };
        let (since, _) = longest.get();
        let allowed_from = *since + LEAST_WAIT_BEFORE_MAKING_ROOM;
        if Instant::now() < allowed_from {
            return MakingRoom::NotBefore(allowed_from);
        }
        let (_, make_room) = longest.remove();
        make_room.notify_one();
        MakingRoom::Closing
    }
}

/// One connection's place among the waiting ones.
struct ConnectionState {
    waiting: Arc<Waiting>,
    /// Told when this connection should close to make room.
    make_room: Arc<Notify>,
    /// Its place while it waits for a request.
    place: Mutex<Option<u64>>,
    started_a_request: AtomicBool,
}

impl ConnectionState {
    fn new(waiting: Arc<Waiting>) -> Self {
        let make_room = Arc::new(Notify::new());
        let place = waiting.join(make_room.clone());
        ConnectionState {
            waiting,
            make_room,
            place: Mutex::new(Some(place)),
            started_a_request: AtomicBool::new(false),
        }
    }

    fn has_started_a_request(&self) -> bool {
        self.started_a_request.load(Ordering::Acquire)
    }

    fn place(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.place.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stop_waiting(&self) {
        if let Some(place) = self.place().take() {
            self.waiting.leave(place);
        }
    }

    fn start_waiting(&self) {
        let mut place = self.place();
        if place.is_none() {
            *place = Some(self.waiting.join(self.make_room.clone()));
        }
    }
}

impl Drop for ConnectionState {
    fn drop(&mut self) {
        self.stop_waiting();
    }
}

/// A request being served on a connection, which meanwhile is not waiting.
struct Serving(Arc<ConnectionState>);

impl Serving {
    fn start(state: Arc<ConnectionState>) -> Self {
        state.started_a_request.store(true, Ordering::Release);
        state.stop_waiting();
        Serving(state)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.start_waiting();
    }
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
