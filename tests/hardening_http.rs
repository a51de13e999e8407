//! The HTTP boundary against careless and hostile clients (issue 18): every
//! refusal is in the error format, compressed bodies are decoded within the
//! body limit, URLs handed out are percent-encoded, and what the OpenAPI
//! document promises is what the server does.

#[macro_use]
mod common;

use std::io::Write;

use common::{Credentials, TestApp, TestDatabase};
use reportstats::http::Settings;
use serde_json::{Value, json};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

fn two_views() -> String {
    [
        json!({"id": "v1", "type": "report_viewed", "report_id": 1}),
        json!({"id": "v2", "type": "report_viewed", "report_id": 1}),
    ]
    .map(|event| event.to_string())
    .join("\n")
}

async fn post_encoded(
    app: &TestApp,
    credentials: &Credentials,
    path: &str,
    encoding: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("Authorization", credentials.basic_header())
        .header("Content-Type", "application/x-ndjson")
        .header("Content-Encoding", encoding)
        .body(body)
        .send()
        .await
        .unwrap()
}

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

async fn stored_events(app: &TestApp, credentials: &Credentials) -> usize {
    app.store
        .event_log(credentials.workspace.id)
        .await
        .unwrap()
        .len()
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

async fn gzip_and_zstd_bodies_are_decoded_before_they_are_read(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let events = two_views();
    for (encoding, body) in [
        ("gzip", gzip(events.as_bytes())),
        ("zstd", zstd(events.as_bytes())),
        ("identity", events.clone().into_bytes()),
    ] {
        let response = post_encoded(&app, &credentials, "/api/acme/events", encoding, body).await;
        assert_eq!(response.status(), 200, "{encoding}");
        let summary: Value = response.json().await.unwrap();
        assert_eq!(
            summary["accepted"].as_u64().unwrap() + summary["duplicates"].as_u64().unwrap(),
            2
        );
    }
    assert_eq!(stored_events(&app, &credentials).await, 2);

    let mint = json!({"signature_token": {"name": "compressed", "expires_at": "2030-01-01T00:00:00Z",
        "auth_scope": {"authentication_for": "batch-api", "authorization_type": "read-only"}}});
    let response = post_encoded(
        &app,
        &credentials,
        "/batch/acme/signature_tokens",
        "gzip",
        gzip(mint.to_string().as_bytes()),
    )
    .await;
    assert_eq!(response.status(), 200);
}

async fn a_body_that_is_not_in_its_declared_encoding_is_a_400_storing_nothing(
    database: TestDatabase,
) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    for encoding in ["gzip", "zstd"] {
        let response = post_encoded(
            &app,
            &credentials,
            "/api/acme/events",
            encoding,
            two_views().into_bytes(),
        )
        .await;
        let (status, body) = error_of(response).await;
        assert_eq!(status, 400, "{encoding}: {body}");
        assert_eq!(body["id"], "bad_request");
    }
    assert_eq!(stored_events(&app, &credentials).await, 0);
}

async fn an_unsupported_content_encoding_is_a_415_in_the_error_format(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    for path in ["/api/acme/events", "/batch/acme/signature_tokens"] {
        for encoding in ["br", "deflate", "compress", "gzip, zstd"] {
            let response =
                post_encoded(&app, &credentials, path, encoding, two_views().into_bytes()).await;
            let (status, body) = error_of(response).await;
            assert_eq!(status, 415, "{path} {encoding}: {body}");
            assert_eq!(body["id"], "unsupported_media_type");
            assert!(body["message"].as_str().unwrap().contains("gzip"), "{body}");
        }
    }
    assert_eq!(stored_events(&app, &credentials).await, 0);
}

async fn a_decompression_bomb_stops_at_the_body_limit_with_a_413(database: TestDatabase) {
    let limit = 16 * 1024;
    let settings = Settings {
        max_body_bytes: limit,
        ..Settings::default()
    };
    let app = TestApp::spawn_with(database, settings).await;
    let credentials = app.create_workspace("acme").await;
    // 8 MiB of blank lines (a valid, empty NDJSON batch, were it read to
    // the end), 512 times the limit, compressed to well under it. (Small
    // enough that the client has sent it all when the server answers early.)
    let decoded_size = 8 * 1024 * 1024;
    let chunk = vec![b'\n'; 1024 * 1024];
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..decoded_size / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    let gzip_bomb = encoder.finish().unwrap();
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 19).unwrap();
    for _ in 0..decoded_size / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    let zstd_bomb = encoder.finish().unwrap();
    assert!(gzip_bomb.len() < limit && zstd_bomb.len() < limit);

    for path in ["/api/acme/events", "/batch/acme/signature_tokens"] {
        for (encoding, bomb) in [("gzip", &gzip_bomb), ("zstd", &zstd_bomb)] {
            let started = std::time::Instant::now();
            let response = post_encoded(&app, &credentials, path, encoding, bomb.clone()).await;
            let (status, body) = error_of(response).await;
            assert_eq!(status, 413, "{path} {encoding}: {body}");
            assert_eq!(body["id"], "payload_too_large");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{path} {encoding}: the bomb was read far past the limit"
            );
        }
    }
}

async fn every_refusal_of_a_body_is_in_the_error_format(database: TestDatabase) {
    let settings = Settings {
        max_body_bytes: 4096,
        ..Settings::default()
    };
    let app = TestApp::spawn_with(database, settings).await;
    let credentials = app.create_workspace("acme").await;
    let post = |path: &'static str, body: Vec<u8>| {
        app.client
            .post(app.url(path))
            .header("Authorization", credentials.basic_header())
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };

    let too_big = vec![b' '; 5000];
    for path in ["/api/acme/events", "/batch/acme/signature_tokens"] {
        let (status, body) = error_of(post(path, too_big.clone()).await.unwrap()).await;
        assert_eq!(
            (status, body["id"].as_str()),
            (413, Some("payload_too_large")),
            "{path}"
        );
        assert!(body["message"].as_str().unwrap().contains("4096"), "{body}");
    }
    for bad in ["null", "[]", "{\"signature_token\": null}", "\u{7f}"] {
        let response = post("/batch/acme/signature_tokens", bad.into())
            .await
            .unwrap();
        let (status, body) = error_of(response).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = error_of(post("/api/acme/events", b"[null]".to_vec()).await.unwrap()).await;
    assert_eq!(status, 400);
}

async fn every_refusal_of_a_path_or_query_is_in_the_error_format(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    for path in [
        "/batch/acme/report_stats?page=%FF",
        "/batch/acme/report_stats?include_spaces=",
        "/batch/acme/reports?per_page=%00",
        "/batch/%FF/report_stats",
        "/batch/acme/report_stats/%FF",
    ] {
        let (status, body) = error_of(app.get(&credentials, path).await).await;
        assert!([400, 404].contains(&status), "{path}: {status} {body}");
    }
    let response = app
        .client
        .delete(app.url("/batch/acme/signature_tokens/%FF%FE"))
        .header("Authorization", credentials.basic_header())
        .send()
        .await
        .unwrap();
    let (status, _) = error_of(response).await;
    assert!([400, 404].contains(&status));
}

async fn an_empty_events_body_is_an_empty_batch(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    for (content_type, body) in [
        ("application/x-ndjson", ""),
        ("application/x-ndjson", "\n \n"),
        ("application/json", ""),
        ("application/json", "[]"),
    ] {
        let response = app.post_events(&credentials, content_type, body).await;
        assert_eq!(response.status(), 200, "{content_type} {body:?}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"accepted": 0, "duplicates": 0})
        );
    }
    let response = app
        .client
        .post(app.url("/api/acme/events"))
        .header("Authorization", credentials.basic_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn an_integer_written_with_a_zero_fraction_is_that_integer(database: TestDatabase) {
    // JSON has one number type: 7.0 and 7 are the same number, as JSON
    // Schema's `integer` (and every JavaScript client) has it.
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let lines = [
        json!({"id": "r", "type": "report_created", "report_id": 7, "report_token": "t7",
               "space_token": "s", "email": "a@b.c", "name": "Seven"})
        .to_string(),
        r#"{"id": "v1", "type": "report_viewed", "report_id": 7.0}"#.to_owned(),
        r#"{"id": "v2", "type": "report_viewed", "report_id": 0.7e1}"#.to_owned(),
    ];
    app.post_ndjson_ok(&credentials, &lines).await;
    let stats = app.all_report_stats(&credentials, "").await;
    assert_eq!(stats[0]["total_views_count"], 2);
    for refused in ["7.5", "1e300", "-7.0", "0.0"] {
        let line = format!(r#"{{"id": "bad", "type": "report_viewed", "report_id": {refused}}}"#);
        let response = app
            .post_events(&credentials, "application/x-ndjson", line)
            .await;
        assert_eq!(response.status(), 400, "{refused}");
    }
}

async fn report_and_space_urls_percent_encode_their_tokens(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let token = "a/b?c#d e%é";
    let encoded = "a%2Fb%3Fc%23d%20e%25%C3%A9";
    app.post_ndjson_ok(
        &credentials,
        &[
            json!({"id": "s", "type": "space_upserted", "space_token": token, "name": "Odd"})
                .to_string(),
            json!({"id": "r", "type": "report_created", "report_id": 1, "report_token": token,
                   "space_token": token, "email": "a@b.c", "name": "Odd"})
            .to_string(),
        ],
    )
    .await;
    let reports = app.get_json(&credentials, "/batch/acme/reports").await;
    assert_eq!(reports["reports"][0]["token"], token);
    assert_eq!(
        reports["reports"][0]["report_url"],
        format!("/api/acme/reports/{encoded}")
    );
    let spaces = app.get_json(&credentials, "/batch/acme/spaces").await;
    assert_eq!(
        spaces["spaces"][0]["space_url"],
        format!("/api/acme/spaces/{encoded}")
    );
}

/// The parameters of every listing operation, by name.
fn listing_parameters(document: &Value) -> Vec<(String, Value)> {
    let mut parameters = Vec::new();
    for resource in ["report_stats", "reports", "spaces", "members"] {
        let operation = &document["paths"][format!("/batch/{{workspace}}/{resource}")]["get"];
        for parameter in operation["parameters"].as_array().unwrap() {
            parameters.push((
                parameter["name"].as_str().unwrap().to_owned(),
                parameter["schema"].clone(),
            ));
        }
    }
    parameters
}

async fn the_openapi_document_describes_what_the_server_accepts(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let document: Value = app
        .get_with(None, "/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    for (name, schema) in listing_parameters(&document) {
        match name.as_str() {
            "include_spaces" => assert_eq!(schema["enum"], json!(["all"]), "{schema}"),
            "page" => assert_eq!(schema["maximum"], json!(i64::MAX), "{schema}"),
            _ => {}
        }
    }

    let events = &document["paths"]["/api/{workspace}/events"]["post"]["requestBody"];
    assert_ne!(
        events["required"],
        json!(true),
        "an empty body is an empty batch"
    );
    for media_type in ["application/json", "application/x-ndjson"] {
        let schema = &events["content"][media_type]["schema"];
        assert_eq!(schema["type"], "array", "{media_type}: {schema}");
        assert_eq!(schema["items"]["$ref"], "#/components/schemas/Event");
    }
    let event_types = document["components"]["schemas"]["Event"]["oneOf"]
        .as_array()
        .unwrap();
    assert!(event_types.len() >= 16);
    for event_type in event_types {
        let required = event_type["required"].as_array().unwrap();
        assert!(required.contains(&json!("id")) && required.contains(&json!("type")));
        assert_eq!(event_type["additionalProperties"], json!(false));
    }

    let mint = &document["paths"]["/batch/{workspace}/signature_tokens"]["post"]["requestBody"];
    let reference = mint["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap();
    let name = reference.rsplit('/').next().unwrap();
    let schema = &document["components"]["schemas"][name];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["signature_token"]));
}

/// Requests given up half way (their timeout passed while their page was
/// being read) leave every pooled connection sound. A PostgreSQL connection
/// whose transaction was dropped in the middle of a read could go back to
/// the pool still inside it, to fail the next request on it ("SET
/// TRANSACTION ISOLATION LEVEL must be called before any query": seen with
/// exports whose clients left); reads now run to their end on a task of
/// their own.
async fn requests_given_up_half_way_leave_every_connection_sound(database: TestDatabase) {
    // No page cache, so that every request reads the database, and a
    // timeout that cuts most of them short.
    let settings = Settings {
        page_cache_bytes: 0,
        request_timeout: std::time::Duration::from_millis(2),
        ..Settings::default()
    };
    let app = TestApp::spawn_with(database, settings).await;
    let credentials = app.create_workspace("acme").await;
    let now = reportstats::domain::Timestamp::parse("2026-10-03T00:00:00Z").unwrap();
    let mut events = Vec::new();
    for report in 1..=400 {
        let created = json!({"id": format!("c{report}"), "type": "report_created",
            "occurred_at": "2026-10-01T00:00:00Z", "report_id": report,
            "report_token": format!("t{report}"), "space_token": "sp", "email": "a@b.c",
            "name": format!("Report {report}")});
        events.push(created.to_string());
        for view in 0..3 {
            events.push(
                json!({"id": format!("v{report}-{view}"), "type": "report_viewed",
                "occurred_at": "2026-10-02T00:00:00Z", "report_id": report,
                "email": format!("u{view}@b.c")})
                .to_string(),
            );
        }
    }
    let events = events
        .iter()
        .map(|line| {
            reportstats::domain::Event::parse(line, reportstats::domain::Position::Line(1), now)
                .unwrap()
        })
        .collect();
    let workspace = credentials.workspace.id;
    reportstats::storage::ingest(app.store.as_ref(), workspace, events)
        .await
        .unwrap();

    let paths = [
        "/batch/acme/report_usage?sort=-viewers_90d",
        "/batch/acme/report_stats?include_spaces=all",
        "/batch/acme/usage_daily?from=2025-10-03&to=2026-10-03",
    ];
    let mut timed_out = 0;
    for round in 0..90 {
        let response = app.get(&credentials, paths[round % paths.len()]).await;
        timed_out += usize::from(response.status() == 503);
    }
    assert!(timed_out > 0, "no request was cut short");
    // Then every connection of the store's pools, several times over.
    let page = reportstats::storage::PageRequest {
        page: 1,
        per_page: 1000,
    };
    let reads = futures_util::future::join_all((0..48).map(|_| {
        let store = app.store.clone();
        async move {
            store
                .reports(workspace, page, Default::default())
                .await
                .map(|page| page.items.len())
        }
    }))
    .await;
    for read in reads {
        assert_eq!(read.unwrap(), 400);
    }
}

on_every_backend!(
    requests_given_up_half_way_leave_every_connection_sound,
    a_page_beyond_the_documented_int64_maximum_is_refused,
    gzip_and_zstd_bodies_are_decoded_before_they_are_read,
    a_body_that_is_not_in_its_declared_encoding_is_a_400_storing_nothing,
    an_unsupported_content_encoding_is_a_415_in_the_error_format,
    a_decompression_bomb_stops_at_the_body_limit_with_a_413,
    every_refusal_of_a_body_is_in_the_error_format,
    every_refusal_of_a_path_or_query_is_in_the_error_format,
    an_empty_events_body_is_an_empty_batch,
    an_integer_written_with_a_zero_fraction_is_that_integer,
    report_and_space_urls_percent_encode_their_tokens,
    the_openapi_document_describes_what_the_server_accepts,
);
