//! Connections over a real socket (issue 18, finding 2): a client that sends
//! its headers a byte at a time, or nothing at all, is closed after the
//! header-read timeout; at the connection cap a new client takes the slot of
//! the connection waiting longest for a request, or, when every connection
//! is busy, is queued until one finishes, never refused; shutdown still
//! finishes the requests in flight, and cuts off an answer still streaming
//! once it has waited the request timeout for it.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{TestApp, TestDatabase, fixture_now};
use reportstats::domain::clock::FixedClock;
use reportstats::http::{self, AppState, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(1);

fn settings(max_connections: usize) -> Settings {
    Settings {
        header_read_timeout: HEADER_READ_TIMEOUT,
        max_connections,
        ..Settings::default()
    }
}

/// A client that starts a request and then sends one more header byte every
/// 200 ms, for ever: it never finishes its headers.
async fn slow_header_client(app: &TestApp) -> TcpStream {
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    stream
}

/// Keeps trickling bytes into `stream` until the server closes it, and says
/// how long after `started` that was (or `None` if still open at `give_up`).
async fn trickle_until_closed(
    mut stream: TcpStream,
    started: Instant,
    give_up: Duration,
) -> Option<Duration> {
    let mut buffer = [0u8; 1024];
    while started.elapsed() < give_up {
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await {
            // EOF or a reset: closed (after a 408, or without a word).
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            // The 408 itself; the close follows.
            Ok(Ok(_)) => {}
            Err(_) => {
                if stream.write_all(b"a").await.is_err() {
                    return Some(started.elapsed());
                }
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_closed_after_the_header_read_timeout() {
    let app = TestApp::spawn_with(TestDatabase::sqlite(), settings(512)).await;
    let started = Instant::now();
    let slow = slow_header_client(&app).await;
    let closed_after = trickle_until_closed(slow, started, Duration::from_secs(5))
        .await
        .expect("a connection sending a header byte every 200 ms is still open after 5 s");
    assert!(
        closed_after >= HEADER_READ_TIMEOUT - Duration::from_millis(100),
        "closed too early: {closed_after:?}"
    );

    // A connection that sends nothing at all is closed as well.
    let started = Instant::now();
    let mut silent = TcpStream::connect(app.address).await.unwrap();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buffer))
        .await
        .expect("a silent connection is still open after 5 s");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= HEADER_READ_TIMEOUT - Duration::from_millis(100));

    // Normal requests are not affected.
    let response = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);
}

/// Settings where only the cap, not the timeout, can close a connection
/// within a test.
fn capped(max_connections: usize) -> Settings {
    Settings {
        header_read_timeout: Duration::from_secs(30),
        max_connections,
        ..Settings::default()
    }
}

/// Whether the server has closed `stream`, within `within`.
async fn is_closed(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 64];
    matches!(
        tokio::time::timeout(within, stream.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_a_new_client_takes_the_slot_of_the_one_waiting_longest() {
    const CAP: usize = 4;
    let app = TestApp::spawn_with(TestDatabase::sqlite(), capped(CAP)).await;
    let mut slow_clients = Vec::new();
    for _ in 0..CAP {
        slow_clients.push(slow_header_client(&app).await);
        // Accepted in this order.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Answered once the oldest slow client has waited a second, long before
    // the 30 s header-read timeout.
    let response = tokio::time::timeout(Duration::from_secs(10), reqwest::get(app.url("/healthz")))
        .await
        .expect("a client at the cap is answered within 10 s")
        .expect("a client at the cap is not refused");
    assert_eq!(response.status(), 200);
    // The oldest slow client made room; the others are still open.
    assert!(
        is_closed(&mut slow_clients[0], Duration::from_secs(1)).await,
        "the connection waiting longest was not closed to make room"
    );
    for slow in &mut slow_clients[1..] {
        assert!(!is_closed(slow, Duration::from_millis(100)).await);
    }
}

/// Starts a POST whose body never ends until `finish` is called: a
/// connection in the middle of a request.
struct UnfinishedPost {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl UnfinishedPost {
    async fn start(app: &TestApp, credentials: &common::Credentials) -> Self {
        let body = common::fixture_lines().join("\n").into_bytes();
        let (first_half, second_half) = body.split_at(body.len() / 2);
        let mut stream = TcpStream::connect(app.address).await.unwrap();
        let head = format!(
            "POST /api/{}/events HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
             Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
            credentials.workspace.name,
            credentials.basic_header(),
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(first_half).await.unwrap();
        UnfinishedPost {
            stream,
            rest: second_half.to_vec(),
        }
    }

    /// Sends the rest of the body and returns the status line's code.
    async fn finish(mut self) -> String {
        self.stream.write_all(&self.rest).await.unwrap();
        let mut answer = vec![0u8; 12];
        self.stream.read_exact(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer[9..12]).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_connection_is_busy_a_new_client_is_queued_not_refused() {
    let app = TestApp::spawn_with(TestDatabase::sqlite(), capped(2)).await;
    let acme = app.create_workspace("acme").await;
    let first = UnfinishedPost::start(&app, &acme).await;
    let second = UnfinishedPost::start(&app, &acme).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let queued = tokio::spawn(reqwest::get(app.url("/healthz")));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !queued.is_finished(),
        "answered while both slots were in the middle of a request"
    );
    assert_eq!(first.finish().await, "200");
    let response = tokio::time::timeout(Duration::from_secs(5), queued)
        .await
        .expect("the queued client is answered once a slot frees up")
        .unwrap()
        .expect("the queued client is not refused");
    assert_eq!(response.status(), 200);
    assert_eq!(second.finish().await, "200");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_slow_clients_delay_a_normal_request_by_seconds_at_most() {
    const CAP: usize = 8;
    let app = TestApp::spawn_with(TestDatabase::sqlite(), capped(CAP)).await;
    let mut slow_clients = Vec::new();
    for _ in 0..4 * CAP {
        slow_clients.push(slow_header_client(&app).await);
    }
    // Each slow client gives up its slot once it has waited a second: the
    // 24 queued behind the first 8 are through in about 3 s, and each normal
    // request after them takes a slot at once.
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = tokio::time::timeout(
            Duration::from_secs(10),
            client
                .get(app.url("/healthz"))
                .header("Connection", "close")
                .send(),
        )
        .await
        .expect("answered within 10 s")
        .unwrap();
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_request_in_flight_and_then_stops_listening() {
    let database = TestDatabase::sqlite();
    let store = database.open().await;
    let acme = common::create_workspace(store.as_ref(), "acme").await;
    let state = AppState::new(
        store,
        Arc::new(FixedClock(fixture_now())),
        Settings::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let body = common::fixture_lines().join("\n");
    let (first_half, second_half) = body.as_bytes().split_at(body.len() / 2);
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /api/acme/events HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
        acme.basic_header(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(first_half).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A client still sending its headers holds nothing up.
    let mut slow = TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    stop.send(()).unwrap();
    assert!(
        is_closed(&mut slow, Duration::from_secs(1)).await,
        "a client that had not started a request was kept open on shutdown"
    );
    assert!(!server.is_finished(), "stopped with a request in flight");
    stream.write_all(second_half).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("the connection closes after its answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""accepted":"#), "{answer}");

    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops once its last request is answered")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(address).await.is_err());
}

/// An answer that never ends (an export to a client that stopped reading
/// it) does not hold a shutdown back: once the shutdown has waited the
/// request timeout for it, its connection is closed and the server stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cuts_off_an_answer_still_streaming_after_the_request_timeout() {
    let endless = axum::Router::new().route(
        "/endless",
        axum::routing::get(|| async {
            let chunk = vec![b'x'; 64 * 1024];
            let chunks =
                futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            axum::body::Body::from_stream(chunks)
        }),
    );
    let settings = Settings {
        request_timeout: Duration::from_secs(1),
        ..Settings::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        http::server::run(listener, endless, &settings, async {
            let _ = stopped.await;
        })
        .await
    });
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut read = 0;
    while read < buffer.len() {
        read += stream.read(&mut buffer[read..]).await.unwrap();
    }
    assert!(buffer.starts_with(b"HTTP/1.1 200"));

    // The client stops reading; the answer streams on into its buffers.
    let started = Instant::now();
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !server.is_finished(),
        "stopped before the grace period ended"
    );
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the shutdown waited more than 10 s for an endless answer")
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}
