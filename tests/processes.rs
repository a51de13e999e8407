//! The `reportstats` binary as an operator runs it: a real process, a real
//! socket, a real SQLite file, and a SIGKILL.

#[macro_use]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::binary::{Server, free_port, reportstats, start_demo};
use common::{TestDatabase, fixture_expected, fixture_lines};
use reportstats::domain::state::Changes;
use reportstats::domain::stats::{SpaceFilter, compute_report_stats};
use reportstats::domain::{Event, Position, Timestamp, WorkspaceName};
use reportstats::storage::group_commit::SLICE_EVENTS;
use reportstats::storage::{self, PageRequest, ReportStatsQuery};
use serde_json::Value;

async fn wait_until_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "the server did not start listening on {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sigkill_right_after_an_acknowledgement_loses_nothing(database: TestDatabase) {
    let created = reportstats(&database.url)
        .args(["workspace", "create", "acme", "--json"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let key: Value = serde_json::from_slice(&created.stdout).unwrap();

    let port = free_port();
    let mut server = Server(
        reportstats(&database.url)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until_listening(port).await;

    let client = reqwest::Client::new();
    for batch in fixture_lines().chunks(23) {
        let response = client
            .post(format!("http://127.0.0.1:{port}/api/acme/events"))
            .basic_auth(key["token"].as_str().unwrap(), key["secret"].as_str())
            .header("Content-Type", "application/x-ndjson")
            .body(batch.join("\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // The last batch was acknowledged a moment ago: no time to flush anything.
    server.0.kill().unwrap();
    server.0.wait().unwrap();

    let store = database.open().await;
    let workspace = store
        .workspace(&WorkspaceName::parse("acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.event_log(workspace.id).await.unwrap().len(), 216);
    let page = store
        .report_stats(
            workspace.id,
            ReportStatsQuery {
                page: PageRequest {
                    page: 1,
                    per_page: 1000,
                },
                filter: SpaceFilter::All,
                recent_since: common::fixture_now().saturating_sub_days(90),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(page.items).unwrap(),
        fixture_expected(true)
    );
}

/// Rounds of the SIGKILL loop in the suite: `SIGKILL_ROUNDS`, or 20. The
/// full run is 100 (`cargo test --test processes -- --ignored`).
fn sigkill_rounds() -> usize {
    std::env::var("SIGKILL_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(20)
}

/// Concurrent clients posting batches in each round: enough that the server
/// commits them in groups (`storage::group_commit`).
const CLIENTS: usize = 16;

/// A batch of its own ids, of 1 to 40 events: a report created, then views
/// and manual runs of it and of reports created before, so that batches
/// merge into the same rows as they would in production. The first
/// client's batches are larger than a slice, so that SQLite writes them a
/// slice per transaction and the kills fall between slices too.
fn sigkill_batch(round: usize, client: usize, batch: usize) -> Vec<String> {
    let prefix = format!("r{round}-c{client}-b{batch}");
    let report = (round * 100_000 + client * 5_000 + batch + 1) as u64;
    let events = if client == 0 {
        SLICE_EVENTS * 5 / 2
    } else {
        1 + (batch * 7 + client * 3) % 40
    };
    let mut lines = vec![format!(
        r#"{{"id":"{prefix}-0","type":"report_created","report_id":{report},"report_token":"t{report}","space_token":"space{client}","email":"user{client}@acme.com","name":"Report {report}"}}"#
    )];
    for index in 1..events {
        let target = report - (index as u64 % 7).min(report - 1);
        lines.push(if index % 3 == 0 {
            format!(
                r#"{{"id":"{prefix}-{index}","type":"report_run","report_id":{target},"run_token":"{prefix}-{index}","trigger":"manual","email":"user{index}@acme.com"}}"#
            )
        } else {
            format!(
                r#"{{"id":"{prefix}-{index}","type":"report_viewed","report_id":{target},"email":"user{}@acme.com"}}"#,
                index % 13
            )
        });
    }
    lines
}

/// What a round of the loop saw.
#[derive(Default)]
struct KillTally {
    rounds: usize,
    acknowledged: u64,
    lost: u64,
    journals_left: u64,
}

/// Sliced batches in a SQLite database's journal, left by a process stopped
/// between two of their slices (none on PostgreSQL, which writes every
/// batch whole).
fn journals_left(url: &str) -> u64 {
    let Some(path) = url.strip_prefix("sqlite://") else {
        return 0;
    };
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .query_row("SELECT count(*) FROM sliced_batches", [], |row| row.get(0))
        .unwrap()
}

/// Runs `rounds` rounds of: start a server on the same database, have
/// [`CLIENTS`] clients post batches as fast as it answers, SIGKILL it at a
/// random moment while they do, then check that every batch it answered
/// 200 to is stored whole. Replaying an acknowledged batch into the
/// database must find every one of its events there already.
async fn sigkill_rounds_lose_nothing(database: TestDatabase, rounds: usize) -> KillTally {
    use std::sync::{Arc, Mutex};

    let created = reportstats(&database.url)
        .args(["workspace", "create", "acme", "--json"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let key: Value = serde_json::from_slice(&created.stdout).unwrap();
    let (token, secret) = (
        key["token"].as_str().unwrap().to_owned(),
        key["secret"].as_str().unwrap().to_owned(),
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut tally = KillTally::default();
    let mut every_acknowledged = Vec::new();
    let mut unanswered_batches = Vec::new();
    for round in 0..rounds {
        let port = free_port();
        let mut server = Server(
            reportstats(&database.url)
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .args(["--rate-limit-per-minute", "0"])
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_until_listening(port).await;
        let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
        // Batches sent and never answered: stored whole or not at all.
        let unanswered = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
        let mut clients = Vec::new();
        for number in 0..CLIENTS {
            let (client, token, secret) = (client.clone(), token.clone(), secret.clone());
            let (acknowledged, unanswered) = (acknowledged.clone(), unanswered.clone());
            clients.push(tokio::spawn(async move {
                for batch in 0.. {
                    let lines = sigkill_batch(round, number, batch);
                    let sent = client
                        .post(format!("http://127.0.0.1:{port}/api/acme/events"))
                        .basic_auth(&token, Some(&secret))
                        .header("Content-Type", "application/x-ndjson")
                        .body(lines.join("\n"))
                        .send()
                        .await;
                    match sent {
                        // The status is sent after the commit: a 200 is an
                        // acknowledgement, whether or not the body arrives.
                        Ok(response) if response.status() == 200 => {
                            acknowledged.lock().unwrap().extend(lines);
                        }
                        Ok(response) => panic!("a batch got {}", response.status()),
                        // The server is gone.
                        Err(_) => {
                            unanswered.lock().unwrap().push(lines);
                            break;
                        }
                    }
                }
            }));
        }
        // Kill it at a random moment after it acknowledged something.
        while acknowledged.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 500)).await;
        server.0.kill().unwrap();
        server.0.wait().unwrap();
        for client in clients {
            client.await.unwrap();
        }

        // Batches the kill left between two slices, which the opening below
        // finishes (SQLite writes large batches a slice at a time).
        tally.journals_left += journals_left(&database.url);
        let acknowledged: Vec<Event> = std::mem::take(&mut *acknowledged.lock().unwrap())
            .iter()
            .map(|line| Event::parse(line, Position::Line(1), Timestamp::now()).unwrap())
            .collect();
        let store = database.open().await;
        let workspace = store
            .workspace(&WorkspaceName::parse("acme").unwrap())
            .await
            .unwrap()
            .unwrap();
        let replayed = storage::ingest(store.as_ref(), workspace.id, acknowledged.clone())
            .await
            .unwrap();
        assert_eq!(
            journals_left(&database.url),
            0,
            "opening finishes every sliced batch"
        );
        tally.rounds += 1;
        tally.acknowledged += acknowledged.len() as u64;
        tally.lost += replayed.accepted;
        assert_eq!(
            replayed.accepted,
            0,
            "round {round}: {} of {} acknowledged events were not stored",
            replayed.accepted,
            acknowledged.len()
        );
        every_acknowledged.extend(acknowledged.into_iter().map(|event| event.id));
        unanswered_batches.append(&mut unanswered.lock().unwrap());
    }

    // And read back once from the log itself, not through the idempotency
    // check.
    let store = database.open().await;
    let workspace = store
        .workspace(&WorkspaceName::parse("acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    let log = store.event_log(workspace.id).await.unwrap();
    let logged: std::collections::HashSet<_> = log.iter().map(|event| event.id.clone()).collect();
    let missing = every_acknowledged
        .iter()
        .filter(|id| !logged.contains(*id))
        .count();
    assert_eq!(missing, 0, "acknowledged events missing from the log");
    for batch in &unanswered_batches {
        let ids: Vec<_> = batch
            .iter()
            .map(|line| {
                Event::parse(line, Position::Line(1), Timestamp::now())
                    .unwrap()
                    .id
            })
            .collect();
        let stored = ids.iter().filter(|id| logged.contains(*id)).count();
        assert!(
            stored == 0 || stored == ids.len(),
            "a batch cut off by the SIGKILL is partly stored: {stored} of {} events",
            ids.len()
        );
    }
    // Counted once: the statistics kept through every kill are those of
    // the log computed from scratch.
    let recent_since = Timestamp::parse("2020-01-01T00:00:00Z").unwrap();
    let expected =
        compute_report_stats(&Changes::from_events(&log), recent_since, SpaceFilter::All);
    let kept = store
        .report_stats(
            workspace.id,
            ReportStatsQuery {
                page: PageRequest {
                    page: 1,
                    per_page: 100_000,
                },
                filter: SpaceFilter::All,
                recent_since,
            },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(kept, expected, "the kept statistics differ from the log's");
    let backend = database.url.split(':').next().unwrap_or_default();
    eprintln!(
        "SIGKILL on {backend}: {} rounds, {} events acknowledged, {} lost, {} in the log, \
         {} batches cut off, {} of them between two slices and finished on opening, \
         none partly stored, in {:.1} s",
        tally.rounds,
        tally.acknowledged,
        tally.lost,
        logged.len(),
        unanswered_batches.len(),
        tally.journals_left,
        started.elapsed().as_secs_f64()
    );
    tally
}

async fn sigkill_while_batches_are_in_flight_loses_no_acknowledged_event(database: TestDatabase) {
    let tally = sigkill_rounds_lose_nothing(database, sigkill_rounds()).await;
    assert_eq!(tally.lost, 0);
}

/// The full loop, 100 rounds on each backend (or `SIGKILL_ROUNDS`, if more):
/// `cargo test --test processes -- --ignored --nocapture`.
mod a_hundred_sigkills {
    use super::{TestDatabase, sigkill_rounds, sigkill_rounds_lose_nothing};

    fn rounds() -> usize {
        sigkill_rounds().max(100)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "minutes long; the suite runs a few rounds"]
    async fn sqlite() {
        let tally = sigkill_rounds_lose_nothing(TestDatabase::sqlite(), rounds()).await;
        assert_eq!((tally.rounds, tally.lost), (rounds(), 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "minutes long; the suite runs a few rounds"]
    async fn postgres() {
        let database = TestDatabase::postgres("a_hundred_sigkills::postgres")
            .await
            .expect("the full SIGKILL run needs REPORTSTATS_TEST_POSTGRES_URL");
        let tally = sigkill_rounds_lose_nothing(database, rounds()).await;
        assert_eq!((tally.rounds, tally.lost), (rounds(), 0));
    }
}

async fn the_demo_answers_its_own_curl_command_with_real_statistics(database: TestDatabase) {
    let port = free_port();
    let (_demo, printed) = start_demo(&database.url, port);
    let curls: Vec<String> = printed
        .iter()
        .filter(|line| line.trim_start().starts_with("curl "))
        .map(|line| line.trim().to_owned())
        .collect();
    wait_until_listening(port).await;

    // Every command the demo prints answers; --show-error: if curl fails,
    // say why.
    let run = |curl: &str| -> Value {
        let output = Command::new("sh")
            .args(["-c", &format!("{curl} --show-error --fail")])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{curl}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let answers: Vec<(String, Value)> =
        curls.iter().map(|curl| (curl.clone(), run(curl))).collect();
    let answer = |path: &str| {
        &answers
            .iter()
            .find(|(curl, _)| curl.contains(path))
            .unwrap_or_else(|| panic!("the demo printed no curl for {path}"))
            .1
    };
    // Usage over time has something to show: trending and stale reports,
    // a month of days.
    let trending = answer("report_usage?sort=-views_7d");
    assert!(
        trending["report_usage"][0]["views_7d"].as_u64().unwrap() > 0,
        "{trending}"
    );
    let stale = answer("unviewed_days=90");
    assert!(
        stale["pagination"]["total_count"].as_u64().unwrap() > 0,
        "{stale}"
    );
    let daily = answer("usage_daily");
    assert_eq!(daily["days"].as_array().unwrap().len(), 30, "{daily}");

    let page = &answers[0].1;
    assert!(
        page["pagination"]["total_count"].as_u64().unwrap() > 100,
        "{page}"
    );
    let rows = page["report_stats"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .any(|row| row["total_views_count"].as_u64().unwrap() > 0),
        "{page}"
    );
    assert!(
        rows.iter()
            .all(|row| !row["editors_emails"].as_array().unwrap().is_empty())
    );
}

async fn no_secret_is_stored_or_logged(database: TestDatabase) {
    let created = reportstats(&database.url)
        .args(["workspace", "create", "acme", "--json"])
        .output()
        .unwrap();
    assert!(created.status.success());
    let key: Value = serde_json::from_slice(&created.stdout).unwrap();
    let (token, secret) = (
        key["token"].as_str().unwrap(),
        key["secret"].as_str().unwrap(),
    );
    let second = reportstats(&database.url)
        .args(["workspace", "key", "create", "acme", "--json"])
        .output()
        .unwrap();
    assert!(second.status.success());
    let second: Value = serde_json::from_slice(&second.stdout).unwrap();

    let log = tempfile::NamedTempFile::new().unwrap();
    let port = free_port();
    let mut server = Server(
        reportstats(&database.url)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "trace")
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap(),
    );
    wait_until_listening(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let minted: Value = client
        .post(format!("{base}/batch/acme/signature_tokens"))
        .basic_auth(token, Some(secret))
        .json(&serde_json::json!({"signature_token": {"name": "secrets test", "expires_at": "2099-01-01T00:00:00Z",
            "auth_scope": {"authentication_for": "batch-api", "authorization_type": "read-only"}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signature = common::SignatureCredentials {
        token: minted["token"].as_str().unwrap().into(),
        access_key: minted["access_key"].as_str().unwrap().into(),
        access_secret: minted["access_secret"].as_str().unwrap().into(),
    };
    let bearer = signature.bearer_header();
    for authorization in [
        bearer.clone(),
        format!("Basic {}", base64_of(&format!("{token}:{secret}"))),
        format!("Basic {}", base64_of(&format!("{token}:wrong-{secret}"))),
    ] {
        client
            .get(format!("{base}/batch/acme/report_stats"))
            .header("Authorization", authorization)
            .send()
            .await
            .unwrap();
    }
    let response = client
        .post(format!("{base}/api/acme/events"))
        .basic_auth(token, Some(secret))
        .body(fixture_lines().join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.0.kill().unwrap();
    server.0.wait().unwrap();

    let logged = std::fs::read_to_string(log.path()).unwrap();
    let stored = String::from_utf8_lossy(&database.stored_bytes()).into_owned();
    // The scan can see: tokens are stored and requests are logged.
    assert!(stored.contains(token) && stored.contains(&signature.token));
    assert!(logged.contains("report_stats"), "{logged}");
    let secrets = [
        secret.to_owned(),
        second["secret"].as_str().unwrap().to_owned(),
        signature.access_key.clone(),
        signature.access_secret.clone(),
        base64_of(&format!("{token}:{secret}")),
        bearer.trim_start_matches("Bearer ").to_owned(),
    ];
    for secret in &secrets {
        assert!(
            !stored.contains(secret.as_str()),
            "a secret is stored in clear"
        );
        assert!(!logged.contains(secret.as_str()), "a secret is logged");
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

on_every_backend!(
    no_secret_is_stored_or_logged,
    sigkill_right_after_an_acknowledgement_loses_nothing,
    sigkill_while_batches_are_in_flight_loses_no_acknowledged_event,
    the_demo_answers_its_own_curl_command_with_real_statistics,
);
