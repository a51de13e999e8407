//! What only a server database offers: several `reportstats serve`
//! processes over one PostgreSQL, and moving a SQLite deployment onto it.

#[macro_use]
mod common;

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::activity::Activity;
use common::binary::reportstats;
use common::{Credentials, SignatureCredentials, TestApp, TestDatabase, fixture_lines};
use reportstats::domain::state::Changes;
use reportstats::domain::stats::{SpaceFilter, compute_report_stats};
use reportstats::domain::{Event, Position, Timestamp, WorkspaceName};
use reportstats::storage::postgres::SCHEMA_VERSION;
use serde_json::Value;

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    async fn start(database_url: &str) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = reportstats(database_url)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn create_workspace_with_cli(database_url: &str, name: &str) -> (String, String) {
    let output = reportstats(database_url)
        .args(["workspace", "create", name, "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key: Value = serde_json::from_slice(&output.stdout).unwrap();
    (
        key["token"].as_str().unwrap().to_owned(),
        key["secret"].as_str().unwrap().to_owned(),
    )
}

/// Varied activity ending an hour ago, shuffled, with retries in it.
fn shuffled_activity() -> Vec<String> {
    let mut lines = Activity {
        seed: 7,
        members: 20,
        team_spaces: 4,
        reports: 80,
        views: 4_000,
        manual_runs: 350,
        scheduled_runs: 2_200,
        end: Timestamp::now().saturating_add_seconds(-3600),
        days: 180,
        duplicate_fraction: 0.05,
    }
    .lines();
    let mut seed = 11u64;
    for i in (1..lines.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lines.swap(i, (seed >> 33) as usize % (i + 1));
    }
    lines
}

async fn walk(
    client: &reqwest::Client,
    server: &Server,
    key: &(String, String),
    query: &str,
) -> Vec<Value> {
    let mut next = Some(format!("/batch/acme/report_stats{query}"));
    let mut rows = Vec::new();
    while let Some(path) = next.take() {
        let page: Value = client
            .get(server.url(&path))
            .basic_auth(&key.0, Some(&key.1))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        rows.extend(page["report_stats"].as_array().unwrap().iter().cloned());
        next = page["_links"]["next_page"]["href"]
            .as_str()
            .map(str::to_owned);
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_count_concurrent_overlapping_batches_once() {
    let Some(database) = TestDatabase::postgres("two_servers_on_one_database").await else {
        return;
    };
    let key = create_workspace_with_cli(&database.url, "acme");
    let (first, second) = tokio::join!(Server::start(&database.url), Server::start(&database.url));
    let lines = shuffled_activity();

    // Batches of 150 that overlap their predecessor by 50 events; each is
    // sent to both servers at the same moment, four batches at a time.
    let batches: Vec<String> = (0..lines.len())
        .step_by(100)
        .map(|start| lines[start..(start + 150).min(lines.len())].join("\n"))
        .collect();
    let client = reqwest::Client::new();
    let mut accepted = 0u64;
    for group in batches.chunks(4) {
        let mut sends = Vec::new();
        for batch in group {
            for server in [&first, &second] {
                let request = client
                    .post(server.url("/api/acme/events"))
                    .basic_auth(&key.0, Some(&key.1))
                    .header("Content-Type", "application/x-ndjson")
                    .body(batch.clone());
                sends.push(tokio::spawn(async move {
                    let response = request.send().await.unwrap();
                    assert_eq!(response.status(), 200);
                    response.json::<Value>().await.unwrap()["accepted"]
                        .as_u64()
                        .unwrap()
                }));
            }
        }
        for send in sends {
            accepted += send.await.unwrap();
        }
    }

    let now = Timestamp::now();
    let distinct: Vec<Event> = {
        let mut seen = HashSet::new();
        lines
            .iter()
            .map(|line| Event::parse(line, Position::Line(1), now).unwrap())
            .filter(|event| seen.insert(event.id.clone()))
            .collect()
    };
    assert_eq!(
        accepted,
        distinct.len() as u64,
        "every distinct event is stored exactly once"
    );

    let reference = Changes::from_events(&distinct);
    let recent_since = now.saturating_sub_days(90);
    for (query, filter) in [
        ("", SpaceFilter::ExcludePersonal),
        ("?include_spaces=all", SpaceFilter::All),
    ] {
        let expected =
            serde_json::to_value(compute_report_stats(&reference, recent_since, filter)).unwrap();
        let from_first = walk(&client, &first, &key, query).await;
        let from_second = walk(&client, &second, &key, query).await;
        assert_eq!(from_first, from_second);
        assert_eq!(Value::Array(from_first), expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_at_once_on_a_new_database_migrate_it_once() {
    let Some(database) = TestDatabase::postgres("servers_starting_at_once").await else {
        return;
    };
    let opening: Vec<_> = (0..4)
        .map(|_| {
            let url = database.url.clone();
            tokio::spawn(async move { reportstats::storage::open(&url).await })
        })
        .collect();
    for store in opening {
        assert_eq!(
            store
                .await
                .unwrap()
                .unwrap()
                .schema_version()
                .await
                .unwrap(),
            SCHEMA_VERSION
        );
    }
    let output = reportstats(&database.url).arg("migrate").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("The database schema is up to date (version {SCHEMA_VERSION}).\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_deployment_copied_to_postgres_answers_identically() {
    let Some(target) = TestDatabase::postgres("a_sqlite_deployment_copied_to_postgres").await
    else {
        return;
    };
    let target_url = target.url.clone();
    let source = TestApp::spawn(TestDatabase::sqlite()).await;
    let acme = source.create_workspace("acme").await;
    let globex = source.create_workspace("globex").await;
    source.post_ndjson_ok(&acme, &fixture_lines()).await;
    source
        .post_ndjson_ok(&globex, &fixture_lines()[..120])
        .await;
    // Bearer clients keep working after the move, and a revoked token
    // stays revoked.
    let signature = source.mint(&acme).await;
    let revoked = source.mint(&acme).await;
    let revoke = source
        .client
        .delete(source.url(&format!("/batch/acme/signature_tokens/{}", revoked.token)))
        .basic_auth(&acme.token, Some(&acme.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);

    for _ in 0..2 {
        // A second run finds everything there already and changes nothing.
        let output = reportstats(&source.database.url)
            .args(["copy", "--from", &source.database.url, "--to", &target_url])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let copy = TestApp::spawn(target).await;
    let by_bearer = |signature: &SignatureCredentials| {
        let header = signature.bearer_header();
        let copy = &copy;
        async move {
            copy.get_with(Some(&header), "/batch/acme/report_stats?per_page=2")
                .await
                .status()
        }
    };
    assert_eq!(by_bearer(&signature).await, 200);
    assert_eq!(by_bearer(&revoked).await, 401);
    for credentials in [&acme, &globex] {
        let copied = Credentials {
            workspace: copy
                .store
                .workspace(&WorkspaceName::parse(credentials.workspace.name.as_str()).unwrap())
                .await
                .unwrap()
                .unwrap(),
            ..credentials.clone()
        };
        assert_eq!(
            copy.store.event_log(copied.workspace.id).await.unwrap(),
            source
                .store
                .event_log(credentials.workspace.id)
                .await
                .unwrap()
        );
        for query in [
            "",
            "?include_spaces=all",
            "?per_page=3&page=2",
            "?per_page=5&page=3&include_spaces=all",
            "?page=9",
        ] {
            let path = format!("/batch/{}/report_stats{query}", credentials.workspace.name);
            let original = source.get(credentials, &path).await;
            let copied = copy.get(&copied, &path).await;
            assert_eq!(original.status(), copied.status());
            assert_eq!(
                original.bytes().await.unwrap(),
                copied.bytes().await.unwrap(),
                "{path}"
            );
        }
    }
}

/// Schema 4 derives members' ids in SQL for the rows it finds: the same ids
/// the server derives in Rust for new rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_schema_3_get_the_ids_the_server_derives() {
    let Some(database) = TestDatabase::postgres("members_of_schema_3").await else {
        return;
    };
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&database.url)
        .await
        .unwrap();
    let schema_3 = [
        include_str!("../src/storage/postgres/migrations/0001_initial.sql"),
        include_str!("../src/storage/postgres/migrations/0002_signature_tokens.sql"),
        include_str!("../src/storage/postgres/migrations/0003_listing_version.sql"),
    ];
    for migration in schema_3 {
        sqlx::Executor::execute(&mut connection, migration)
            .await
            .unwrap();
    }
    let emails = ["ann@acme.io", "bob@x.y", "ünïcode@例え.jp", "z"];
    let mut setup = String::from(
        "CREATE TABLE reportstats_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
         INSERT INTO reportstats_migrations (version) VALUES (1), (2), (3);
         INSERT INTO workspaces (name, created_at) VALUES ('acme', 0);",
    );
    for email in emails {
        setup.push_str(&format!(
            "INSERT INTO members (workspace_id, email, present_at, present_event, present)
             VALUES (1, '{email}', 0, 'e', true);"
        ));
    }
    sqlx::Executor::execute(&mut connection, setup.as_str())
        .await
        .unwrap();

    let store = database.open().await;
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    let page = reportstats::storage::PageRequest {
        page: 1,
        per_page: 10,
    };
    let members = store.members(1, page).await.unwrap().items;
    assert_eq!(members.len(), emails.len());
    for member in members {
        assert_eq!(
            member.id,
            reportstats::domain::listings::derived_id(&member.email),
            "{}",
            member.email
        );
    }
}
