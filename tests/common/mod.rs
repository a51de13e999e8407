//! Test helpers: fresh databases, a server on a real socket, fixtures,
//! and varied streams of events ([`activity`]).
#![allow(dead_code)]

pub mod activity;
pub mod binary;
pub mod python;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use reportstats::domain::api_key::NewApiKey;
use reportstats::domain::clock::{FixedClock, SharedClock};
use reportstats::domain::{Timestamp, WorkspaceName};
use reportstats::http::{self, AppState, Settings};
use reportstats::storage::{self, ApiKeyRecord, Store, Workspace};
use serde_json::Value;
use tokio::sync::oneshot;

/// The fixtures' clock: `small.expected*.json` hold as of this instant.
pub const FIXTURE_NOW: &str = "2026-11-01T00:00:00Z";

pub fn fixture_now() -> Timestamp {
    Timestamp::parse(FIXTURE_NOW).unwrap()
}

/// The shared fixtures directory, beside this repository.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")
}

pub fn fixture_text(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// The non-blank lines of `small.ndjson`.
pub fn fixture_lines() -> Vec<String> {
    fixture_text("small.ndjson")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The non-blank lines of the shared `usage.ndjson`.
#[allow(dead_code)]
pub fn usage_lines() -> Vec<String> {
    fixture_text("usage.ndjson")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The answers `usage.ndjson` must give (its README says which).
#[allow(dead_code)]
pub fn usage_expected() -> Value {
    serde_json::from_str(&fixture_text("usage.expected.json")).unwrap()
}

pub fn fixture_expected(include_all: bool) -> Value {
    let name = if include_all {
        "small.expected_all.json"
    } else {
        "small.expected.json"
    };
    serde_json::from_str(&fixture_text(name)).unwrap()
}

/// The PostgreSQL server the PostgreSQL half of the suite runs against.
pub const POSTGRES_URL_VARIABLE: &str = "REPORTSTATS_TEST_POSTGRES_URL";

/// How long the test server may take to accept a connection.
const POSTGRES_CONNECT_SECONDS: u64 = 10;

/// Whether the PostgreSQL half of the suite runs, decided here for every
/// test: the server's URL when [`POSTGRES_URL_VARIABLE`] is set; `None`,
/// after saying so loudly, when it is not. Under CI (the variable `CI` set,
/// as CI services set it) a skip would let half the suite pass untested, so
/// the test fails instead.
pub fn postgres_server_url(test: &str) -> Option<String> {
    let example = format!("{POSTGRES_URL_VARIABLE}=postgres://USER@HOST:5432/DATABASE");
    match std::env::var(POSTGRES_URL_VARIABLE) {
        Ok(url) => Some(url),
        Err(std::env::VarError::NotUnicode(_)) => {
            panic!("{test} on PostgreSQL: {POSTGRES_URL_VARIABLE} is not valid UTF-8")
        }
        Err(std::env::VarError::NotPresent) if running_in_ci() => panic!(
            "{test} on PostgreSQL cannot be skipped under CI: {POSTGRES_URL_VARIABLE} is not \
             set. Set {example} (a server where the tests may create and drop schemas)."
        ),
        Err(std::env::VarError::NotPresent) => {
            use std::io::Write;
            // Written past the test harness's capture, so the skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test} on PostgreSQL, because {POSTGRES_URL_VARIABLE} is not set; \
                 set {example} to run it"
            );
            None
        }
    }
}

/// `CI` set to anything but empty, `0` or `false`.
fn running_in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|value| !matches!(value.to_str(), Some("" | "0" | "false")))
}

/// A database of its own for one test: a SQLite file in a temporary
/// directory, or a fresh schema on the test PostgreSQL server. Removed when
/// dropped.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(#[allow(dead_code)] tempfile::TempDir),
    Schema { server_url: String, schema: String },
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}",
            directory.path().join("reportstats.db").display()
        );
        TestDatabase {
            url,
            cleanup: Cleanup::Directory(directory),
        }
    }

    /// A fresh schema on the server named by `REPORTSTATS_TEST_POSTGRES_URL`,
    /// or `None` when the test is skipped (see [`postgres_server_url`]).
    /// Fails if the variable is set but the server cannot be reached.
    pub async fn postgres(test: &str) -> Option<Self> {
        let server_url = postgres_server_url(test)?;
        let schema = format!("test_{}", hex::encode(rand::random::<[u8; 8]>()));
        let fail = |reason: String| -> ! {
            panic!(
                "{test} on PostgreSQL: {POSTGRES_URL_VARIABLE}={server_url} is set, but {reason}"
            )
        };
        let connecting = <sqlx::PgConnection as sqlx::Connection>::connect(&server_url);
        let mut connection = tokio::time::timeout(
            std::time::Duration::from_secs(POSTGRES_CONNECT_SECONDS),
            connecting,
        )
        .await
        .unwrap_or_else(|_| {
            fail(format!(
                "the server did not answer within {POSTGRES_CONNECT_SECONDS} s"
            ))
        })
        .unwrap_or_else(|error| fail(format!("the server cannot be reached: {error}")));
        sqlx::Executor::execute(&mut connection, format!("CREATE SCHEMA {schema}").as_str())
            .await
            .unwrap();
        let separator = if server_url.contains('?') { '&' } else { '?' };
        let url = format!("{server_url}{separator}options=-c%20search_path%3D{schema}");
        Some(TestDatabase {
            url,
            cleanup: Cleanup::Schema { server_url, schema },
        })
    }

    pub async fn open(&self) -> Arc<dyn Store> {
        storage::open(&self.url).await.unwrap()
    }

    /// [`TestDatabase::open`], tuned by `options`.
    pub async fn open_with(&self, options: storage::StoreOptions) -> Arc<dyn Store> {
        storage::open_with(&self.url, options).await.unwrap()
    }

    /// Everything stored, as bytes: the SQLite files, or a data dump of the
    /// PostgreSQL schema. For checking what is (not) kept at rest.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match &self.cleanup {
            Cleanup::Directory(directory) => {
                let mut bytes = Vec::new();
                for entry in std::fs::read_dir(directory.path()).unwrap() {
                    bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
                }
                bytes
            }
            Cleanup::Schema { server_url, schema } => {
                let output = std::process::Command::new("pg_dump")
                    .args(["--data-only", "--schema", schema, server_url])
                    .output()
                    .expect("pg_dump runs");
                assert!(
                    output.status.success(),
                    "{}",
                    String::from_utf8_lossy(&output.stderr)
                );
                output.stdout
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Schema { server_url, schema } = &self.cleanup {
            let (server_url, schema) = (server_url.clone(), schema.clone());
            // Drop may run inside a runtime; a thread of its own can block.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                runtime
                    .block_on(async {
                        let mut connection =
                            <sqlx::PgConnection as sqlx::Connection>::connect(&server_url).await?;
                        sqlx::Executor::execute(
                            &mut connection,
                            format!("DROP SCHEMA {schema} CASCADE").as_str(),
                        )
                        .await?;
                        Ok::<_, sqlx::Error>(())
                    })
                    .map_err(std::io::Error::other)
            })
            .join();
        }
    }
}

/// Runs each listed `async fn name(database: TestDatabase)` as two tests,
/// `sqlite::name` and `postgres::name`: one behavioural suite, both backends.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::TestDatabase::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(database) = $crate::common::TestDatabase::postgres(stringify!($name)).await {
                        super::$name(database).await;
                    }
                }
            )*
        }
    };
}

/// Posts `lines` in a seeded order, in batches of seeded sizes, a few of
/// them sent twice, as a retrying client would.
#[allow(dead_code)]
pub async fn post_shuffled(app: &TestApp, credentials: &Credentials, lines: &[String], seed: u64) {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut lines = lines.to_vec();
    lines.shuffle(&mut rng);
    let mut rest = &lines[..];
    while !rest.is_empty() {
        let size = rng.random_range(1..=rest.len().min(40));
        let (batch, after) = rest.split_at(size);
        app.post_ndjson_ok(credentials, batch).await;
        if rng.random_bool(0.2) {
            app.post_ndjson_ok(credentials, batch).await;
        }
        rest = after;
    }
}

/// A workspace and its API key.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub workspace: Workspace,
    pub token: String,
    pub secret: String,
}

impl Credentials {
    pub fn basic_header(&self) -> String {
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.token, self.secret));
        format!("Basic {encoded}")
    }
}

pub async fn create_workspace(store: &dyn Store, name: &str) -> Credentials {
    let key = NewApiKey::generate();
    let workspace = store
        .create_workspace(
            &WorkspaceName::parse(name).unwrap(),
            &ApiKeyRecord::new(&key, fixture_now()),
            fixture_now(),
        )
        .await
        .unwrap();
    Credentials {
        workspace,
        token: key.token.clone(),
        secret: key.secret.clone(),
    }
}

/// A signature token's three parts, as minted.
#[derive(Clone, Debug)]
pub struct SignatureCredentials {
    pub token: String,
    pub access_key: String,
    pub access_secret: String,
}

impl SignatureCredentials {
    /// Exactly as the seed's examples build it.
    pub fn bearer_header(&self) -> String {
        let decoded = format!("{}:{}:{}", self.token, self.access_key, self.access_secret);
        format!(
            "Bearer {}",
            base64::engine::general_purpose::STANDARD.encode(decoded)
        )
    }
}

/// A clock a test moves.
#[allow(dead_code)]
pub struct TestClock(std::sync::Mutex<Timestamp>);

impl reportstats::domain::clock::Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

#[allow(dead_code)]
impl TestClock {
    pub fn at(text: &str) -> Self {
        TestClock(std::sync::Mutex::new(Timestamp::parse(text).unwrap()))
    }

    pub fn set(&self, text: &str) {
        *self.0.lock().unwrap() = Timestamp::parse(text).unwrap();
    }

    pub fn advance_seconds(&self, seconds: i64) {
        let mut now = self.0.lock().unwrap();
        *now = now.saturating_add_seconds(seconds);
    }
}

/// The application on a real socket (port 0), over a real database, with
/// the clock at [`FIXTURE_NOW`].
pub struct TestApp {
    pub address: SocketAddr,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    pub database: TestDatabase,
    stop: Option<oneshot::Sender<()>>,
}

impl TestApp {
    pub async fn spawn(database: TestDatabase) -> Self {
        Self::spawn_with(database, Settings::default()).await
    }

    pub async fn spawn_with(database: TestDatabase, settings: Settings) -> Self {
        Self::spawn_with_clock(database, settings, Arc::new(FixedClock(fixture_now()))).await
    }

    pub async fn spawn_with_clock(
        database: TestDatabase,
        settings: Settings,
        clock: SharedClock,
    ) -> Self {
        let store = database.open().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = AppState::new(store.clone(), clock, settings);
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(http::serve(listener, state, async {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            store,
            client: reqwest::Client::new(),
            database,
            stop: Some(stop),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn create_workspace(&self, name: &str) -> Credentials {
        create_workspace(self.store.as_ref(), name).await
    }

    pub async fn post_events(
        &self,
        credentials: &Credentials,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{}/events", credentials.workspace.name)))
            .header("Authorization", credentials.basic_header())
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts NDJSON lines and expects a 200; returns the body.
    pub async fn post_ndjson_ok(&self, credentials: &Credentials, lines: &[String]) -> Value {
        let response = self
            .post_events(credentials, "application/x-ndjson", lines.join("\n"))
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Mints a signature token through the API, as a client would.
    pub async fn mint(&self, credentials: &Credentials) -> SignatureCredentials {
        let response = self
            .client
            .post(self.url(&format!("/batch/{}/signature_tokens", credentials.workspace.name)))
            .header("Authorization", credentials.basic_header())
            .json(&serde_json::json!({"signature_token": {
                "name": "integration test", "expires_at": "2030-01-01T00:00:00Z",
                "auth_scope": {"authentication_for": "batch-api", "authorization_type": "read-only"}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        SignatureCredentials {
            token: body["token"].as_str().unwrap().to_owned(),
            access_key: body["access_key"].as_str().unwrap().to_owned(),
            access_secret: body["access_secret"].as_str().unwrap().to_owned(),
        }
    }

    /// A GET with whatever `Authorization` header (or none).
    pub async fn get_with(
        &self,
        authorization: Option<&str>,
        path_and_query: &str,
    ) -> reqwest::Response {
        let mut request = self.client.get(self.url(path_and_query));
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, credentials: &Credentials, path_and_query: &str) -> reqwest::Response {
        self.client
            .get(self.url(path_and_query))
            .header("Authorization", credentials.basic_header())
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, credentials: &Credentials, path_and_query: &str) -> Value {
        let response = self.get(credentials, path_and_query).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{path_and_query}: {body}");
        body
    }

    /// Every `report_stats` row, walking `_links.next_page` from page 1.
    pub async fn all_report_stats(&self, credentials: &Credentials, query: &str) -> Vec<Value> {
        let mut next = Some(format!(
            "/batch/{}/report_stats{query}",
            credentials.workspace.name
        ));
        let mut rows = Vec::new();
        while let Some(path) = next.take() {
            let page = self.get_json(credentials, &path).await;
            rows.extend(page["report_stats"].as_array().unwrap().iter().cloned());
            next = page["_links"]["next_page"]["href"]
                .as_str()
                .map(str::to_owned);
        }
        rows
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
