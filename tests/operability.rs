//! What an operator sees: Prometheus metrics on their own listener, one log
//! line per request with the id the client got back, never a credential,
//! and JSON logs when asked. The binary runs as a real process, since the
//! metrics recorder and the log subscriber are the process's own.

#[macro_use]
mod common;

use std::path::Path;
use std::process::{Child, Command};

use std::time::{Duration, Instant};

use common::binary::free_port;
use common::{SignatureCredentials, TestApp, TestDatabase, fixture_lines};
use serde_json::Value;

/// The binary, logging at `info`: the access log is what these tests read.
fn reportstats(database_url: &str) -> Command {
    let mut command = common::binary::reportstats(database_url);
    command.env("RUST_LOG", "info");
    command
}

async fn wait_until_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nothing listens on {port} yet");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A `reportstats serve` process with its own workspace `acme`, its API key,
/// and its standard error in a file. Killed when dropped.
struct Server {
    child: Child,
    base: String,
    metrics_base: String,
    token: String,
    secret: String,
    log: tempfile::NamedTempFile,
    client: reqwest::Client,
}

impl Server {
    async fn start(database: &TestDatabase, flags: &[&str]) -> Self {
        let created = reportstats(&database.url)
            .args(["workspace", "create", "acme", "--json"])
            .output()
            .unwrap();
        assert!(created.status.success(), "{created:?}");
        let key: Value = serde_json::from_slice(&created.stdout).unwrap();
        let (port, metrics_port) = (free_port(), free_port());
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = reportstats(&database.url)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
            .args(flags)
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            metrics_base: format!("http://127.0.0.1:{metrics_port}"),
            token: key["token"].as_str().unwrap().to_owned(),
            secret: key["secret"].as_str().unwrap().to_owned(),
            log,
            client: reqwest::Client::new(),
        };
        wait_until_listening(metrics_port).await;
        wait_until_listening(port).await;
        server
    }

    fn basic(&self) -> String {
        format!(
            "Basic {}",
            base64_of(&format!("{}:{}", self.token, self.secret))
        )
    }

    async fn post_fixture(&self) -> Value {
        let response = self
            .client
            .post(format!("{}/api/acme/events", self.base))
            .header("Authorization", self.basic())
            .body(fixture_lines().join("\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn mint(&self) -> SignatureCredentials {
        let minted: Value = self
            .client
            .post(format!("{}/batch/acme/signature_tokens", self.base))
            .header("Authorization", self.basic())
            .json(&serde_json::json!({"signature_token": {"name": "operability", "expires_at": "2099-01-01T00:00:00Z",
                "auth_scope": {"authentication_for": "batch-api", "authorization_type": "read-only"}}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        SignatureCredentials {
            token: minted["token"].as_str().unwrap().into(),
            access_key: minted["access_key"].as_str().unwrap().into(),
            access_secret: minted["access_secret"].as_str().unwrap().into(),
        }
    }

    /// A GET of the API with this `Authorization`; the answer's status and
    /// `x-request-id`.
    async fn get(&self, authorization: &str, path_and_query: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path_and_query}", self.base))
            .header("Authorization", authorization)
            .send()
            .await
            .unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        (response.status().as_u16(), id)
    }

    async fn scrape(&self) -> String {
        let response = self
            .client
            .get(format!("{}/metrics", self.metrics_base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        response.text().await.unwrap()
    }

    /// Stops the server and returns what it logged.
    fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        read(self.log.path())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The value of the sample `name{labels}` in a Prometheus text page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

fn backend_of(database: &TestDatabase) -> &'static str {
    if database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

async fn metrics_are_served_on_their_own_listener_and_only_there(database: TestDatabase) {
    let server = Server::start(&database, &[]).await;
    let summary = server.post_fixture().await;
    let accepted = summary["accepted"].as_f64().unwrap();
    let events = accepted + summary["duplicates"].as_f64().unwrap();
    for _ in 0..2 {
        let (status, _) = server
            .get(&server.basic(), "/batch/acme/report_stats?per_page=5")
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = server.get(&server.basic(), "/batch/other/reports").await;
    assert_eq!(status, 404);

    let page = server.scrape().await;
    let requests = |method: &str, route: &str, status: &str| {
        sample(
            &page,
            &format!(
                "reportstats_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(
        requests("GET", "/batch/{workspace}/report_stats", "200"),
        Some(2.0),
        "{page}"
    );
    assert_eq!(
        requests("POST", "/api/{workspace}/events", "200"),
        Some(1.0)
    );
    assert_eq!(
        requests("GET", "/batch/{workspace}/reports", "404"),
        Some(1.0)
    );
    assert!(
        !page.contains("/batch/acme/") && !page.contains("/batch/other/"),
        "a raw path is a label: {page}"
    );
    assert!(page.contains(
        "reportstats_http_request_duration_seconds_bucket{method=\"GET\",route=\"/batch/{workspace}/report_stats\",status=\"200\",le=\"0.1\"}"
    ));
    assert_eq!(
        sample(&page, "reportstats_events_total{outcome=\"accepted\"}"),
        Some(accepted)
    );
    assert_eq!(sample(&page, "reportstats_batch_events_sum"), Some(events));
    let backend = backend_of(&database);
    assert_eq!(
        sample(
            &page,
            &format!("reportstats_commit_duration_seconds_count{{backend=\"{backend}\"}}")
        ),
        Some(1.0),
        "{page}"
    );
    assert!(page.contains(&format!(
        "reportstats_commit_duration_seconds_bucket{{backend=\"{backend}\",le=\"+Inf\"}} 1"
    )));
    assert_eq!(
        sample(
            &page,
            "reportstats_page_cache_misses_total{resource=\"report_stats\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &page,
            "reportstats_page_cache_hits_total{resource=\"report_stats\"}"
        ),
        Some(1.0)
    );
    let role = if backend == "sqlite" {
        "writer"
    } else {
        "pool"
    };
    let open = sample(
        &page,
        &format!("reportstats_db_connections_open{{backend=\"{backend}\",role=\"{role}\"}}"),
    );
    assert!(open.is_some_and(|open| open >= 1.0), "{page}");

    // The API's listener knows nothing of metrics.
    let response = server
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    drop(server.stop());
}

async fn each_request_is_logged_once_with_its_request_id_and_never_a_credential(
    database: TestDatabase,
) {
    let server = Server::start(&database, &[]).await;
    server.post_fixture().await;
    let signature = server.mint().await;
    let bearer = signature.bearer_header();
    let wrong_basic = format!(
        "Basic {}",
        base64_of(&format!("{}:wrong-{}", server.token, server.secret))
    );
    let (status, basic_id) = server
        .get(&server.basic(), "/batch/acme/report_stats?per_page=2")
        .await;
    assert_eq!(status, 200);
    let (status, bearer_id) = server
        .get(
            &bearer,
            &format!(
                "/batch/acme/reports?access_secret={}&secret={}",
                signature.access_secret, server.secret
            ),
        )
        .await;
    assert_eq!(status, 200);
    let (status, wrong_id) = server.get(&wrong_basic, "/batch/acme/spaces").await;
    assert_eq!(status, 401);
    let secrets = [
        server.secret.clone(),
        signature.access_key.clone(),
        signature.access_secret.clone(),
        server.basic().trim_start_matches("Basic ").to_owned(),
        wrong_basic.trim_start_matches("Basic ").to_owned(),
        bearer.trim_start_matches("Bearer ").to_owned(),
    ];
    let logged = server.stop();

    for (id, route, status) in [
        (&basic_id, "/batch/{workspace}/report_stats", 200),
        (&bearer_id, "/batch/{workspace}/reports", 200),
        (&wrong_id, "/batch/{workspace}/spaces", 401),
    ] {
        let lines: Vec<&str> = logged
            .lines()
            .filter(|line| line.contains(id.as_str()) && line.contains(" answered "))
            .collect();
        assert_eq!(lines.len(), 1, "one access line for {id}: {logged}");
        let line = lines[0];
        assert!(line.contains(" INFO "), "{line}");
        assert!(line.contains(&format!("request_id={id} ")), "{line}");
        assert!(line.contains("method=GET"), "{line}");
        assert!(line.contains(&format!("route={route} ")), "{line}");
        assert!(line.contains("workspace=acme"), "{line}");
        assert!(line.contains(&format!("status={status} ")), "{line}");
        assert!(line.contains("duration_ms="), "{line}");
    }
    for secret in &secrets {
        assert!(
            !logged.contains(secret.as_str()),
            "a secret is logged: {logged}"
        );
    }
    assert!(!logged.to_ascii_lowercase().contains("authorization"));
    assert!(!logged.contains("per_page"), "a query string is logged");
}

async fn json_logs_are_one_object_a_line_with_the_request_in_each(database: TestDatabase) {
    let server = Server::start(&database, &["--log-format", "json"]).await;
    let response = server
        .client
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "probe-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "probe-42");
    server.post_fixture().await;
    let logged = server.stop();

    let lines: Vec<Value> = logged
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|line| line["fields"]["message"] == "listening")
    );
    let answered: Vec<&Value> = lines
        .iter()
        .filter(|line| line["fields"]["message"] == "answered")
        .collect();
    assert_eq!(answered.len(), 2, "{logged}");
    let health = answered
        .iter()
        .find(|line| line["span"]["request_id"] == "probe-42")
        .expect("the client's request id is logged");
    assert_eq!(health["level"], "INFO");
    assert_eq!(health["span"]["route"], "/healthz");
    assert_eq!(health["span"]["method"], "GET");
    assert_eq!(health["fields"]["status"], 200);
    assert!(health["fields"]["duration_ms"].is_number());
    let batch = lines
        .iter()
        .find(|line| line["fields"]["message"] == "stored a batch")
        .unwrap();
    assert_eq!(batch["span"]["route"], "/api/{workspace}/events");
    assert_eq!(batch["span"]["workspace"], "acme");
}

on_every_backend!(
    metrics_are_served_on_their_own_listener_and_only_there,
    each_request_is_logged_once_with_its_request_id_and_never_a_credential,
    json_logs_are_one_object_a_line_with_the_request_in_each,
);

#[tokio::test]
async fn a_well_formed_request_id_comes_back_and_any_other_is_replaced() {
    let app = TestApp::spawn(TestDatabase::sqlite()).await;
    let id_for = |sent: Option<&'static str>| {
        let request = app.client.get(app.url("/healthz"));
        let request = match sent {
            Some(id) => request.header("x-request-id", id),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(id_for(Some("client-id.1")).await, "client-id.1");
    for sent in [None, Some("two words"), Some("")] {
        let made = id_for(sent).await;
        assert!(
            made.len() == 32 && made.bytes().all(|byte| byte.is_ascii_hexdigit()),
            "128 bits in hex: {made}"
        );
        assert_ne!(Some(made.as_str()), sent);
    }
    assert_ne!(id_for(None).await, id_for(None).await);
}
