//! Connections over a real socket (issue 18, finding 2): a client that sends
//! its headers a byte at a time, or nothing at all, is closed after the
//! header-read timeout; at the connection cap a new client waits for a free
//! slot and is then answered, not refused; shutdown still finishes the
//! requests in flight.

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_a_new_client_waits_for_a_free_slot_and_is_answered() {
    const CAP: usize = 4;
    let app = TestApp::spawn_with(TestDatabase::sqlite(), settings(CAP)).await;
    let started = Instant::now();
    let mut slow_clients = Vec::new();
    for _ in 0..CAP {
        let slow = slow_header_client(&app).await;
        slow_clients.push(tokio::spawn(trickle_until_closed(
            slow,
            started,
            Duration::from_secs(10),
        )));
    }
    // Let the server accept all of them, filling every slot.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Queued, not refused: the answer comes once a slow client has been
    // closed, that is after the header-read timeout.
    let response = tokio::time::timeout(Duration::from_secs(10), reqwest::get(app.url("/healthz")))
        .await
        .expect("a client at the cap is answered within 10 s")
        .expect("a client at the cap is not refused");
    let answered_after = started.elapsed();
    assert_eq!(response.status(), 200);
    assert!(
        answered_after >= HEADER_READ_TIMEOUT - Duration::from_millis(100),
        "answered after {answered_after:?}: the cap of {CAP} connections was not applied"
    );
    for slow in slow_clients {
        assert!(slow.await.unwrap().is_some(), "a slow client stayed open");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_slow_clients_do_not_stop_normal_requests_for_long() {
    let app = TestApp::spawn_with(TestDatabase::sqlite(), settings(8)).await;
    let started = Instant::now();
    let mut slow_clients = Vec::new();
    for _ in 0..32 {
        let slow = slow_header_client(&app).await;
        slow_clients.push(tokio::spawn(trickle_until_closed(
            slow,
            started,
            Duration::from_secs(20),
        )));
    }
    // 32 slow clients, 8 at a time, each held for the timeout: the last of
    // them is done after about 4 timeouts. Normal clients queue among them
    // and are each answered.
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = tokio::time::timeout(
            Duration::from_secs(20),
            client.get(app.url("/healthz")).send(),
        )
        .await
        .expect("answered within 20 s")
        .unwrap();
        assert_eq!(response.status(), 200);
    }
    for slow in slow_clients {
        assert!(slow.await.unwrap().is_some(), "a slow client stayed open");
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

    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
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
