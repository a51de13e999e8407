//! Credentials and the client contract: signature tokens, Bearer and Basic,
//! every 401 and 404, rate limits, CORS, health and the OpenAPI document.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::{Credentials, SignatureCredentials, TestApp, TestDatabase, fixture_now};
use reportstats::domain::api_key::hash_secret;
use reportstats::http::Settings;
use reportstats::http::error::AUTHENTICATE_CHALLENGE;
use reportstats::storage::SignatureTokenRecord;
use serde_json::{Value, json};

fn mint_body(name: &str, expires_at: &str) -> Value {
    json!({"signature_token": {"name": name, "expires_at": expires_at,
        "auth_scope": {"authentication_for": "batch-api", "authorization_type": "read-only"}}})
}

async fn signature_tokens_are_minted_listed_used_and_revoked(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    let url = app.url("/batch/acme/signature_tokens");

    let response = app
        .client
        .post(&url)
        .header("Authorization", acme.basic_header())
        .json(&mint_body("nightly export", "2027-01-01T00:00Z"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let minted: Value = response.json().await.unwrap();
    let keys: BTreeSet<&str> = minted
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "token",
            "name",
            "access_key",
            "access_secret",
            "created_at",
            "updated_at",
            "expires_at",
            "authentication_for",
            "authorization_type"
        ])
    );
    assert_eq!(minted["name"], "nightly export");
    assert_eq!(minted["expires_at"], "2027-01-01T00:00:00.000Z");
    assert_eq!(minted["created_at"], "2026-11-01T00:00:00.000Z");
    assert_eq!(minted["authentication_for"], "batch-api");
    assert_eq!(minted["authorization_type"], "read-only");
    let signature = SignatureCredentials {
        token: minted["token"].as_str().unwrap().into(),
        access_key: minted["access_key"].as_str().unwrap().into(),
        access_secret: minted["access_secret"].as_str().unwrap().into(),
    };

    // The listing never shows the secrets.
    let listed = app.get_json(&acme, "/batch/acme/signature_tokens").await;
    let tokens = listed["signature_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["token"], minted["token"]);
    assert_eq!(tokens[0]["revoked_at"], Value::Null);
    assert!(tokens[0].get("access_key").is_none() && tokens[0].get("access_secret").is_none());

    // Bearer reads the batch API.
    let bearer = signature.bearer_header();
    let response = app
        .get_with(Some(&bearer), "/batch/acme/report_stats")
        .await;
    assert_eq!(response.status(), 200);

    // Revoked: 401 at once.
    let response = app
        .client
        .delete(app.url(&format!("/batch/acme/signature_tokens/{}", signature.token)))
        .header("Authorization", acme.basic_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let revoked: Value = response.json().await.unwrap();
    assert_eq!(revoked["revoked_at"], "2026-11-01T00:00:00.000Z");
    let response = app
        .get_with(Some(&bearer), "/batch/acme/report_stats")
        .await;
    assert_unauthorized(response, "Invalid credentials").await;

    // Revoking again, or a token that never was: 404.
    let response = app
        .client
        .delete(app.url(&format!("/batch/acme/signature_tokens/{}", signature.token)))
        .header("Authorization", acme.basic_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

async fn a_bad_mint_request_is_a_400_naming_the_field(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    let cases = [
        (
            mint_body("abc", "2027-01-01T00:00:00Z"),
            "signature_token.name",
        ),
        (
            mint_body("a good name", "2026-10-01T00:00:00Z"),
            "signature_token.expires_at",
        ),
        (
            json!({"signature_token": {"name": "a good name", "expires_at": "2027-01-01T00:00:00Z",
                "auth_scope": {"authentication_for": "batch-api", "authorization_type": "admin"}}}),
            "signature_token.auth_scope.authorization_type",
        ),
        (json!({"name": "a good name"}), "signature_token"),
    ];
    for (body, field) in cases {
        let response = app
            .client
            .post(app.url("/batch/acme/signature_tokens"))
            .header("Authorization", acme.basic_header())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["id"], "bad_request");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("`{field}`")),
            "{answer}"
        );
    }
}

async fn assert_unauthorized(response: reqwest::Response, message: &str) {
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        AUTHENTICATE_CHALLENGE
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "unauthorized");
    assert!(
        body["message"].as_str().unwrap().starts_with(message),
        "{body}"
    );
}

fn bearer_of(text: &str) -> String {
    use base64::Engine;
    format!(
        "Bearer {}",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

async fn every_bad_credential_is_a_401_before_anything_about_the_workspace(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    let globex = app.create_workspace("globex").await;
    let signature = app.mint(&acme).await;
    let globex_signature = app.mint(&globex).await;

    // An expired token, stored directly: minting refuses a past expiry.
    let expired = SignatureCredentials {
        token: "0123456789ab".into(),
        access_key: "expired-key".into(),
        access_secret: "expired-secret".into(),
    };
    let an_hour_ago = fixture_now().saturating_add_seconds(-3600);
    app.store
        .create_signature_token(
            acme.workspace.id,
            &SignatureTokenRecord {
                token: expired.token.clone(),
                name: "expired".into(),
                access_key_hash: hash_secret(&expired.access_key),
                access_secret_hash: hash_secret(&expired.access_secret),
                authentication_for: "batch-api".into(),
                authorization_type: "read-only".into(),
                created_at: an_hour_ago,
                updated_at: an_hour_ago,
                expires_at: an_hour_ago,
                revoked_at: None,
            },
        )
        .await
        .unwrap();

    let wrong_secret = Credentials {
        secret: "0".repeat(64),
        ..acme.clone()
    };
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "Authentication required"),
        (
            Some("Digest abc".into()),
            "Unsupported authorization scheme",
        ),
        (
            Some("Bearer %%%".into()),
            "The Authorization header is malformed",
        ),
        (
            Some("Basic %%%".into()),
            "The Authorization header is malformed",
        ),
        (
            Some(bearer_of("only-two:parts")),
            "The Authorization header is malformed",
        ),
        (Some(wrong_secret.basic_header()), "Invalid credentials"),
        (
            Some(
                SignatureCredentials {
                    access_secret: "wrong".into(),
                    ..signature.clone()
                }
                .bearer_header(),
            ),
            "Invalid credentials",
        ),
        (
            Some(
                SignatureCredentials {
                    access_key: "wrong".into(),
                    ..signature.clone()
                }
                .bearer_header(),
            ),
            "Invalid credentials",
        ),
        (
            Some(expired.bearer_header()),
            "The signature token has expired",
        ),
        // The token of another workspace with this one's access key and secret.
        (
            Some(
                SignatureCredentials {
                    token: globex_signature.token.clone(),
                    ..signature.clone()
                }
                .bearer_header(),
            ),
            "Invalid credentials",
        ),
        // A workspace key's token presented as a signature token.
        (
            Some(bearer_of(&format!(
                "{}:{}:{}",
                acme.token, acme.secret, acme.secret
            ))),
            "Invalid credentials",
        ),
    ];
    for (header, message) in cases {
        // The same 401 on a workspace that exists and one that does not.
        for path in ["/batch/acme/report_stats", "/batch/nowhere/report_stats"] {
            assert_unauthorized(app.get_with(header.as_deref(), path).await, message).await;
        }
    }
}

async fn a_signature_token_cannot_write_or_manage_tokens(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    let bearer = app.mint(&acme).await.bearer_header();
    let requests = [
        app.client.post(app.url("/api/acme/events")).body("[]"),
        app.client
            .post(app.url("/batch/acme/signature_tokens"))
            .json(&mint_body("sneaky", "2027-01-01T00:00:00Z")),
        app.client.get(app.url("/batch/acme/signature_tokens")),
        app.client
            .delete(app.url("/batch/acme/signature_tokens/abc")),
    ];
    for request in requests {
        let response = request
            .header("Authorization", &bearer)
            .send()
            .await
            .unwrap();
        assert_unauthorized(response, "This endpoint needs the workspace API key").await;
    }
}

async fn any_valid_credential_of_another_workspace_gets_the_missing_workspace_404(
    database: TestDatabase,
) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    app.create_workspace("globex").await;
    let bearer = app.mint(&acme).await.bearer_header();
    let basic = acme.basic_header();
    let mut answers = Vec::new();
    for authorization in [&bearer, &basic] {
        for path in [
            "/batch/globex/report_stats",
            "/batch/nowhere/report_stats",
            "/batch/globex/report_stats?per_page=0",
        ] {
            let response = app.get_with(Some(authorization), path).await;
            assert_eq!(response.status(), 404, "{path}");
            answers.push((response.headers().clone(), response.bytes().await.unwrap()));
        }
    }
    for (method, path) in [
        (reqwest::Method::GET, "/batch/globex/signature_tokens"),
        (
            reqwest::Method::DELETE,
            "/batch/nowhere/signature_tokens/abc",
        ),
    ] {
        let response = app
            .client
            .request(method, app.url(path))
            .header("Authorization", &basic)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        answers.push((response.headers().clone(), response.bytes().await.unwrap()));
    }
    let (first_headers, first_body) = &answers[0];
    assert_eq!(
        first_body.as_ref(),
        br#"{"id":"not_found","message":"Not found"}"#
    );
    for (headers, body) in &answers {
        assert_eq!(body, first_body);
        assert_eq!(headers["content-type"], first_headers["content-type"]);
        assert_eq!(headers["content-length"], first_headers["content-length"]);
        assert!(headers.get("www-authenticate").is_none());
    }
}

async fn a_credential_over_its_rate_limit_gets_a_429_with_retry_after(database: TestDatabase) {
    let settings = Settings {
        rate_limit_per_minute: 3,
        ..Settings::default()
    };
    let app = TestApp::spawn_with(database, settings).await;
    let acme = app.create_workspace("acme").await;
    let globex = app.create_workspace("globex").await;
    for _ in 0..3 {
        assert_eq!(
            app.get(&acme, "/batch/acme/report_stats").await.status(),
            200
        );
    }
    let response = app.get(&acme, "/batch/acme/report_stats").await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(
        response.json::<Value>().await.unwrap()["id"],
        "too_many_requests"
    );
    // Another credential has its own budget.
    assert_eq!(
        app.get(&globex, "/batch/globex/report_stats")
            .await
            .status(),
        200
    );
}

/// The budget of events counts events, not requests: a large batch goes
/// through and is owed, the next one waits, and nothing of it is stored.
async fn an_api_key_over_its_events_per_minute_gets_a_429_and_stores_nothing(
    database: TestDatabase,
) {
    let settings = Settings {
        event_rate_limit_per_minute: 60,
        ..Settings::default()
    };
    let app = TestApp::spawn_with(database, settings).await;
    let acme = app.create_workspace("acme").await;
    let globex = app.create_workspace("globex").await;
    let views = |prefix: &str, count: usize| -> String {
        (0..count)
            .map(|index| {
                format!(r#"{{"id":"{prefix}-{index}","type":"report_viewed","report_id":1}}"#)
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    // 60 a minute: a batch of 100 is let through, and leaves 40 owed.
    let large = app
        .post_events(&acme, "application/x-ndjson", views("large", 100))
        .await;
    assert_eq!(large.status(), 200);
    let refused = app
        .post_events(&acme, "application/x-ndjson", views("refused", 1))
        .await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((40..=42).contains(&retry_after), "{retry_after}");
    assert_eq!(
        refused.json::<Value>().await.unwrap()["id"],
        "too_many_requests"
    );
    let log = app.store.event_log(acme.workspace.id).await.unwrap();
    assert_eq!(log.len(), 100, "the refused batch stored nothing");
    // Another key has its own budget.
    let other = app
        .post_events(&globex, "application/x-ndjson", views("other", 1))
        .await;
    assert_eq!(other.status(), 200);
}

async fn an_allowed_origin_may_call_with_credentials_from_a_browser(database: TestDatabase) {
    let settings = Settings {
        cors_origins: vec!["https://dash.example.com".parse().unwrap()],
        ..Settings::default()
    };
    let app = TestApp::spawn_with(database, settings).await;
    let acme = app.create_workspace("acme").await;
    // The preflight Mode's XMLHttpRequest example triggers.
    let preflight = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/batch/acme/report_stats"),
        )
        .header("Origin", "https://dash.example.com")
        .header("Access-Control-Request-Method", "GET")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,accept",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let headers = preflight.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://dash.example.com"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");

    let response = app
        .client
        .get(app.url("/batch/acme/report_stats"))
        .header("Origin", "https://dash.example.com")
        .header("Authorization", acme.basic_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://dash.example.com"
    );

    let response = app
        .client
        .get(app.url("/batch/acme/report_stats"))
        .header("Origin", "https://evil.example.com")
        .header("Authorization", acme.basic_header())
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    // A bad credential from the allowed origin's page is a 401 the page
    // sees at once: no `Basic` challenge, which would make the browser ask
    // its user for a password instead. Anyone else still gets both.
    let challenge = |origin: Option<&'static str>| {
        let mut request = app
            .client
            .get(app.url("/batch/acme/report_stats"))
            .header("Authorization", "Bearer bm90OmEgdG9rZW4=");
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401);
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(
        challenge(Some("https://dash.example.com")).await,
        "Bearer realm=\"reportstats\""
    );
    for origin in [None, Some("https://evil.example.com")] {
        let offered = challenge(origin).await;
        assert!(offered.starts_with("Basic "), "{origin:?}: {offered}");
        assert!(offered.contains("Bearer "), "{origin:?}: {offered}");
    }
}

async fn health_checks_answer_without_credentials(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let live = app.get_with(None, "/healthz").await;
    assert_eq!(live.status(), 200);
    assert_eq!(live.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let ready = app.get_with(None, "/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({"status": "ready"})
    );
}

/// Every route of the application, as (method, path).
const ROUTES: [(&str, &str); 19] = [
    ("get", "/batch/{workspace}/report_stats"),
    ("get", "/batch/{workspace}/report_usage"),
    ("get", "/batch/{workspace}/usage_daily"),
    ("get", "/batch/{workspace}/reports"),
    ("get", "/batch/{workspace}/spaces"),
    ("get", "/batch/{workspace}/members"),
    ("get", "/batch/{workspace}/queries"),
    ("get", "/batch/{workspace}/charts"),
    ("get", "/api/{workspace}/memberships"),
    ("get", "/api/{workspace}/reports/{token}"),
    ("get", "/api/{workspace}/spaces/{token}"),
    ("get", "/api/{username}"),
    ("get", "/batch/{workspace}/signature_tokens"),
    ("post", "/batch/{workspace}/signature_tokens"),
    ("delete", "/batch/{workspace}/signature_tokens/{token}"),
    ("post", "/api/{workspace}/events"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
];

async fn the_openapi_document_lists_every_route_and_each_one_answers(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let document: Value = app
        .get_with(None, "/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    // The document describes itself too.
    documented.insert(("get".into(), "/openapi.json".into()));
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented, expected);
    assert!(document["components"]["securitySchemes"]["signature_token"].is_object());

    // Each route is served: without credentials it is a 401 (or a 200 for
    // the public ones), never the router's "no such route" 404 or 405.
    for (method, path) in &ROUTES {
        let concrete = path
            .replace("{workspace}", "acme")
            .replace("{token}", "abc");
        let method: reqwest::Method = method.to_uppercase().parse().unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        assert!(
            [200, 401].contains(&response.status().as_u16()),
            "{method} {concrete}: {}",
            response.status()
        );
    }
}

on_every_backend!(
    signature_tokens_are_minted_listed_used_and_revoked,
    a_bad_mint_request_is_a_400_naming_the_field,
    every_bad_credential_is_a_401_before_anything_about_the_workspace,
    a_signature_token_cannot_write_or_manage_tokens,
    any_valid_credential_of_another_workspace_gets_the_missing_workspace_404,
    a_credential_over_its_rate_limit_gets_a_429_with_retry_after,
    an_api_key_over_its_events_per_minute_gets_a_429_and_stores_nothing,
    an_allowed_origin_may_call_with_credentials_from_a_browser,
    health_checks_answer_without_credentials,
    the_openapi_document_lists_every_route_and_each_one_answers,
);
