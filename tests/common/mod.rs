//! Test helpers: fresh databases, a server on a real socket, fixtures.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use reportstats::domain::api_key::NewApiKey;
use reportstats::domain::clock::FixedClock;
use reportstats::domain::{Timestamp, WorkspaceName};
use reportstats::http::{self, AppState, Settings};
use reportstats::storage::{self, Store, Workspace};
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

pub fn fixture_expected(include_all: bool) -> Value {
    let name = if include_all {
        "small.expected_all.json"
    } else {
        "small.expected.json"
    };
    serde_json::from_str(&fixture_text(name)).unwrap()
}

/// A database of its own for one test, removed when dropped.
pub struct TestDatabase {
    pub url: String,
    _directory: tempfile::TempDir,
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
            _directory: directory,
        }
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from(storage::sqlite::path_from_url(&self.url).unwrap())
    }

    pub async fn open(&self) -> Arc<dyn Store> {
        storage::open(&self.url).await.unwrap()
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
            &key.token,
            &key.secret_hash(),
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
    pub async fn spawn() -> Self {
        Self::spawn_with(TestDatabase::sqlite(), Settings::default()).await
    }

    pub async fn spawn_with(database: TestDatabase, settings: Settings) -> Self {
        let store = database.open().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let state = AppState {
            store: store.clone(),
            clock: Arc::new(FixedClock(fixture_now())),
            settings,
        };
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
