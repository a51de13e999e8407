//! Hardening of credentials and connections (issue 18, findings 2, 3 and 7):
//! an ambiguous `Authorization` header is refused, failed authentication is
//! throttled without locking out the key holder, and slow or idle
//! connections cannot starve everyone else.

#[macro_use]
mod common;

use common::{TestApp, TestDatabase};
use serde_json::Value;

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

on_every_backend!(a_request_with_two_authorization_headers_is_a_400);
