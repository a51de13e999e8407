//! Hardening of credentials and connections (issue 18, findings 2, 3 and 7):
//! an ambiguous `Authorization` header is refused, failed authentication is
//! throttled without locking out the key holder, and slow or idle
//! connections cannot starve everyone else.

#[macro_use]
mod common;

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use common::{Credentials, TestApp, TestDatabase, fixture_now};
use reportstats::domain::clock::FixedClock;
use reportstats::http::{self, AppState, Settings};
use serde_json::Value;
use tower::ServiceExt;

/// Failures allowed per minute, per address and per token, in these tests.
const BUDGET: u32 = 4;

fn throttled() -> Settings {
    Settings {
        auth_failures_per_minute: BUDGET,
        ..Settings::default()
    }
}

/// A client whose connections come from `address` (any of 127.0.0.0/8
/// reaches a server on 127.0.0.1 on Linux): so one test can play several
/// clients.
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

fn with_wrong_secret(credentials: &Credentials) -> Credentials {
    Credentials {
        secret: "0".repeat(credentials.secret.len()),
        ..credentials.clone()
    }
}

async fn status_of(client: &reqwest::Client, app: &TestApp, credentials: &Credentials) -> u16 {
    client
        .get(app.url(&format!(
            "/batch/{}/report_stats",
            credentials.workspace.name
        )))
        .header("Authorization", credentials.basic_header())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn assert_too_many_requests(response: reqwest::Response) {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // 4 a minute: one comes back every 15 s.
    assert!((1..=15).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "too_many_requests", "{body}");
}

async fn wrong_secrets_from_one_address_get_429_once_its_failure_budget_is_spent(
    database: TestDatabase,
) {
    let app = TestApp::spawn_with(database, throttled()).await;
    let acme = app.create_workspace("acme").await;
    let globex = app.create_workspace("globex").await;
    let attacker = client_from("127.0.0.2");
    // Successes spend nothing.
    for _ in 0..20 {
        assert_eq!(status_of(&attacker, &app, &acme).await, 200);
    }
    // Failures against any tokens, known or not, spend the address's budget.
    let unknown = Credentials {
        token: "000000000000".to_owned(),
        ..with_wrong_secret(&globex)
    };
    for credentials in [&acme, &globex, &unknown, &acme] {
        let wrong = with_wrong_secret(credentials);
        assert_eq!(status_of(&attacker, &app, &wrong).await, 401);
    }
    let response = attacker
        .get(app.url("/batch/acme/report_stats"))
        .header("Authorization", with_wrong_secret(&acme).basic_header())
        .send()
        .await
        .unwrap();
    assert_too_many_requests(response).await;
    // Over its budget, the address is refused whatever it sends...
    assert_eq!(status_of(&attacker, &app, &acme).await, 429);
    // ...but no one else is: the key holders, elsewhere, are served.
    let holder = client_from("127.0.0.3");
    assert_eq!(status_of(&holder, &app, &acme).await, 200);
    assert_eq!(status_of(&holder, &app, &globex).await, 200);
}

async fn guesses_from_many_addresses_do_not_lock_out_the_key_holder(database: TestDatabase) {
    let app = TestApp::spawn_with(database, throttled()).await;
    let acme = app.create_workspace("acme").await;
    let wrong = with_wrong_secret(&acme);
    // Each address stays within its own budget; together they spend the
    // token's.
    for address in ["127.0.0.2", "127.0.0.3"] {
        for _ in 0..BUDGET / 2 {
            assert_eq!(status_of(&client_from(address), &app, &wrong).await, 401);
        }
    }
    // Now each guess at acme's token, from anywhere, is a 429 and uses up
    // its address's budget at once.
    let fresh = client_from("127.0.0.4");
    let response = fresh
        .get(app.url("/batch/acme/report_stats"))
        .header("Authorization", wrong.basic_header())
        .send()
        .await
        .unwrap();
    assert_too_many_requests(response).await;
    assert_eq!(status_of(&fresh, &app, &acme).await, 429);
    assert_eq!(
        status_of(&client_from("127.0.0.2"), &app, &wrong).await,
        429
    );
    // The key holder, from an address that has not failed, is served.
    let holder = client_from("127.0.0.5");
    for _ in 0..10 {
        assert_eq!(status_of(&holder, &app, &acme).await, 200);
    }
}

/// Without a socket (`oneshot`) there is no client address; the router
/// still answers and the per-token budget still applies.
async fn without_a_socket_failures_are_throttled_per_token(database: TestDatabase) {
    let store = database.open().await;
    let acme = common::create_workspace(store.as_ref(), "acme").await;
    let app = http::app(AppState::new(
        store,
        Arc::new(FixedClock(fixture_now())),
        throttled(),
    ));
    let status = |credentials: &Credentials| {
        let request = Request::get("/batch/acme/report_stats")
            .header("Authorization", credentials.basic_header())
            .body(Body::empty())
            .unwrap();
        let app = app.clone();
        async move { app.oneshot(request).await.unwrap().status().as_u16() }
    };
    let wrong = with_wrong_secret(&acme);
    for _ in 0..BUDGET {
        assert_eq!(status(&wrong).await, 401);
    }
    assert_eq!(status(&wrong).await, 429);
    assert_eq!(status(&acme).await, 200);
}

async fn a_request_with_two_authorization_headers_is_a_400(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    let wrong = "Basic d3Jvbmc6d3Jvbmc=";
    // Whichever comes first, and even when both agree: a proxy or a client
    // library that adds its own header must not decide who is asking.
    for (first, second) in [
        (acme.basic_header(), wrong.to_owned()),
        (wrong.to_owned(), acme.basic_header()),
        (acme.basic_header(), acme.basic_header()),
    ] {
        let response = app
            .client
            .get(app.url("/batch/acme/report_stats"))
            .header("Authorization", &first)
            .header("Authorization", &second)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{first} then {second}");
        assert!(response.headers().get("www-authenticate").is_none());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["id"], "bad_request", "{body}");
        assert_eq!(
            body.as_object().unwrap().len(),
            2,
            "only id and message: {body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("Authorization"),
            "{body}"
        );
    }
    // One header still works.
    assert_eq!(
        app.get(&acme, "/batch/acme/report_stats").await.status(),
        200
    );
}

on_every_backend!(
    a_request_with_two_authorization_headers_is_a_400,
    wrong_secrets_from_one_address_get_429_once_its_failure_budget_is_spent,
    guesses_from_many_addresses_do_not_lock_out_the_key_holder,
    without_a_socket_failures_are_throttled_per_token,
);
