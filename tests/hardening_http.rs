//! The HTTP boundary against careless and hostile clients (issue 18): every
//! refusal is in the error format, compressed bodies are decoded within the
//! body limit, URLs handed out are percent-encoded, and what the OpenAPI
//! document promises is what the server does.

#[macro_use]
mod common;

use common::{TestApp, TestDatabase};
use serde_json::{Value, json};

/// The status, and the body, which must be in the error format.
async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "{status}: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"));
    assert!(
        body["id"].is_string() && body["message"].is_string(),
        "{body}"
    );
    (status, body)
}

async fn a_page_beyond_the_documented_int64_maximum_is_refused(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let largest = app
        .get_json(
            &credentials,
            "/batch/acme/report_stats?page=9223372036854775807",
        )
        .await;
    assert_eq!(largest["pagination"]["page"], json!(9223372036854775807u64));
    for page in ["9223372036854775808", "18446744073709551616"] {
        for resource in ["report_stats", "reports", "spaces", "members"] {
            let response = app
                .get(&credentials, &format!("/batch/acme/{resource}?page={page}"))
                .await;
            let (status, body) = error_of(response).await;
            assert_eq!(status, 400, "{resource} page={page}: {body}");
            assert!(
                body["message"].as_str().unwrap().starts_with("`page`"),
                "{body}"
            );
        }
    }
}

on_every_backend!(a_page_beyond_the_documented_int64_maximum_is_refused);
