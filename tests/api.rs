//! The HTTP contract over a real socket: paging, links, errors, all or
//! nothing, retries.

#[macro_use]
mod common;

use common::{Credentials, TestApp, TestDatabase};
use reportstats::http::Settings;
use reportstats::http::error::AUTHENTICATE_CHALLENGE;
use serde_json::{Value, json};

/// `count` reports with ids 1..=count, every third one in a personal space.
fn reports_batch(count: u64) -> Vec<String> {
    let mut lines = vec![
        json!({"id": "sp-team", "type": "space_upserted", "occurred_at": "2026-01-01T00:00:00Z", "space_token": "team", "name": "Team"}).to_string(),
        json!({"id": "sp-me", "type": "space_upserted", "occurred_at": "2026-01-01T00:00:00Z", "space_token": "me", "name": "Personal", "space_type": "private"}).to_string(),
    ];
    for id in 1..=count {
        let space = if id % 3 == 0 { "me" } else { "team" };
        lines.push(
            json!({"id": format!("r{id}"), "type": "report_created", "occurred_at": "2026-02-01T00:00:00Z",
                   "report_id": id, "report_token": format!("tok{id}"), "space_token": space,
                   "email": "ann@example.com", "name": format!("Report {id}")})
            .to_string(),
        );
    }
    lines
}

async fn app_with_reports(database: TestDatabase, count: u64) -> (TestApp, Credentials) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    app.post_ndjson_ok(&credentials, &reports_batch(count))
        .await;
    (app, credentials)
}

fn ids(page: &Value) -> Vec<u64> {
    page["report_stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["report_id"].as_u64().unwrap())
        .collect()
}

async fn pages_link_to_their_neighbours_and_keep_per_page(database: TestDatabase) {
    // 30 reports, 10 of them personal: 20 listed.
    let (app, credentials) = app_with_reports(database, 30).await;

    let first = app
        .get_json(&credentials, "/batch/acme/report_stats?per_page=8")
        .await;
    assert_eq!(
        first["pagination"],
        json!({"page": 1, "per_page": 8, "count": 8, "total_pages": 3, "total_count": 20})
    );
    assert_eq!(
        first["_links"],
        json!({"next_page": {"href": "/batch/acme/report_stats?page=2&per_page=8"}})
    );
    assert_eq!(ids(&first), vec![1, 2, 4, 5, 7, 8, 10, 11]);

    let middle = app
        .get_json(&credentials, "/batch/acme/report_stats?page=2&per_page=8")
        .await;
    assert_eq!(
        middle["_links"],
        json!({"next_page": {"href": "/batch/acme/report_stats?page=3&per_page=8"},
               "prev_page": {"href": "/batch/acme/report_stats?page=1&per_page=8"}})
    );

    let last = app
        .get_json(&credentials, "/batch/acme/report_stats?page=3&per_page=8")
        .await;
    assert_eq!(last["pagination"]["count"], 4);
    assert_eq!(
        last["_links"],
        json!({"prev_page": {"href": "/batch/acme/report_stats?page=2&per_page=8"}})
    );
    assert_eq!(ids(&last), vec![25, 26, 28, 29]);
}

async fn include_spaces_all_lists_personal_reports_and_stays_in_the_links(database: TestDatabase) {
    let (app, credentials) = app_with_reports(database, 30).await;
    let page = app
        .get_json(
            &credentials,
            "/batch/acme/report_stats?per_page=10&include_spaces=all&page=2",
        )
        .await;
    assert_eq!(page["pagination"]["total_count"], 30);
    assert_eq!(ids(&page), (11..=20).collect::<Vec<_>>());
    assert_eq!(
        page["_links"],
        json!({"next_page": {"href": "/batch/acme/report_stats?page=3&per_page=10&include_spaces=all"},
               "prev_page": {"href": "/batch/acme/report_stats?page=1&per_page=10&include_spaces=all"}})
    );
}

/// Amundsen's Mode extractors append `?page=N` to a URL that already has a
/// query: the `?` separates parameters as `&` does, on every listing.
async fn a_question_mark_inside_the_query_separates_parameters(database: TestDatabase) {
    let (app, credentials) = app_with_reports(database, 30).await;
    let tolerant = app
        .get_json(
            &credentials,
            "/batch/acme/report_stats?include_spaces=all?page=2?per_page=10",
        )
        .await;
    let plain = app
        .get_json(
            &credentials,
            "/batch/acme/report_stats?include_spaces=all&page=2&per_page=10",
        )
        .await;
    assert_eq!(tolerant, plain);
    assert_eq!(ids(&tolerant), (11..=20).collect::<Vec<_>>());
    for listing in ["reports", "spaces", "members"] {
        let response = app
            .get(
                &credentials,
                &format!("/batch/acme/{listing}?include_spaces=all?page=1"),
            )
            .await;
        assert_eq!(response.status(), 200, "{listing}");
    }
    // An encoded `?` is part of its value: still a 400 naming the parameter.
    let encoded = app
        .get(&credentials, "/batch/acme/report_stats?page=1%3Fper_page=5")
        .await;
    assert_eq!(encoded.status(), 400);
}

async fn a_page_past_the_end_is_empty_and_links_back(database: TestDatabase) {
    let (app, credentials) = app_with_reports(database, 5).await;
    let page = app
        .get_json(&credentials, "/batch/acme/report_stats?page=4&per_page=2")
        .await;
    assert_eq!(page["report_stats"], json!([]));
    assert_eq!(
        page["pagination"],
        json!({"page": 4, "per_page": 2, "count": 0, "total_pages": 2, "total_count": 4})
    );
    assert_eq!(
        page["_links"],
        json!({"prev_page": {"href": "/batch/acme/report_stats?page=3&per_page=2"}})
    );
}

async fn an_empty_workspace_has_no_pages_and_empty_links(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let page = app.get_json(&credentials, "/batch/acme/report_stats").await;
    assert_eq!(
        page,
        json!({"pagination": {"page": 1, "per_page": 1000, "count": 0, "total_pages": 0, "total_count": 0},
               "report_stats": [], "_links": {}})
    );
}

async fn per_page_defaults_to_1000_and_accepts_its_bounds(database: TestDatabase) {
    let (app, credentials) = app_with_reports(database, 1002).await;
    let default = app
        .get_json(&credentials, "/batch/acme/report_stats?include_spaces=all")
        .await;
    assert_eq!(default["pagination"]["per_page"], 1000);
    assert_eq!(default["pagination"]["count"], 1000);
    assert_eq!(default["pagination"]["total_pages"], 2);
    let one = app
        .get_json(&credentials, "/batch/acme/report_stats?per_page=1")
        .await;
    assert_eq!(one["pagination"]["count"], 1);
    let most = app
        .get_json(
            &credentials,
            "/batch/acme/report_stats?per_page=1000&utm_source=ignored",
        )
        .await;
    assert_eq!(most["pagination"]["count"], 668);
}

async fn bad_paging_parameters_are_a_400_naming_the_parameter(database: TestDatabase) {
    let (app, credentials) = app_with_reports(database, 3).await;
    for (query, parameter) in [
        ("per_page=0", "per_page"),
        ("per_page=1001", "per_page"),
        ("per_page=ten", "per_page"),
        ("page=0", "page"),
        ("page=-2", "page"),
        ("include_spaces=personal", "include_spaces"),
    ] {
        let response = app
            .get(&credentials, &format!("/batch/acme/report_stats?{query}"))
            .await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["id"], "bad_request");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{parameter}`")),
            "{body}"
        );
    }
}

async fn clients_asking_for_hal_json_get_the_same_json(database: TestDatabase) {
    let (app, credentials) = app_with_reports(database, 3).await;
    let plain = app.get_json(&credentials, "/batch/acme/report_stats").await;
    let response = app
        .client
        .get(app.url("/batch/acme/report_stats"))
        .header("Authorization", credentials.basic_header())
        .header("Accept", "application/hal+json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.json::<Value>().await.unwrap(), plain);
}

async fn assert_unauthorized(response: reqwest::Response) {
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        AUTHENTICATE_CHALLENGE
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "unauthorized");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty())
    );
}

async fn missing_malformed_or_wrong_credentials_are_a_401(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let url = app.url("/batch/acme/report_stats");
    let wrong_secret = Credentials {
        secret: "0".repeat(64),
        ..credentials.clone()
    };
    let unknown_token = Credentials {
        token: "ffffffffffff".into(),
        ..credentials.clone()
    };
    let cases: Vec<Option<String>> = vec![
        None,
        Some("Digest abc".into()),
        Some("Basic not-base64!".into()),
        Some("Basic".into()),
        Some(format!("Basic {}", base64_of("no-colon"))),
        Some(wrong_secret.basic_header()),
        Some(unknown_token.basic_header()),
    ];
    for header in cases {
        let mut request = app.client.get(&url);
        if let Some(header) = &header {
            request = request.header("Authorization", header);
        }
        assert_unauthorized(request.send().await.unwrap()).await;
        // Writing needs the same credentials.
        let mut request = app.client.post(app.url("/api/acme/events")).body("");
        if let Some(header) = &header {
            request = request.header("Authorization", header);
        }
        assert_unauthorized(request.send().await.unwrap()).await;
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

async fn a_key_of_another_workspace_gets_the_same_404_as_a_missing_workspace(
    database: TestDatabase,
) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    app.create_workspace("globex").await;

    let mut answers = Vec::new();
    for path in [
        "/batch/globex/report_stats",
        "/batch/no-such-workspace/report_stats",
        "/batch/NOT%20A%20NAME/report_stats",
    ] {
        let response = app.get(&acme, path).await;
        assert_eq!(response.status(), 404, "{path}");
        answers.push(response.bytes().await.unwrap());
    }
    let response = app.post_events(&acme, "application/json", "[]").await;
    assert_eq!(response.status(), 200);
    let response = app
        .client
        .post(app.url("/api/globex/events"))
        .header("Authorization", acme.basic_header())
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    answers.push(response.bytes().await.unwrap());

    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    let body: Value = serde_json::from_slice(&answers[0]).unwrap();
    assert_eq!(body, json!({"id": "not_found", "message": "Not found"}));
}

async fn unknown_routes_and_methods_answer_in_the_error_format(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let response = app.get(&credentials, "/batch/acme/nothing_here").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["id"], "not_found");
    let response = app
        .client
        .delete(app.url("/batch/acme/report_stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(
        response.json::<Value>().await.unwrap()["id"],
        "method_not_allowed"
    );
}

async fn an_invalid_batch_stores_nothing_and_lists_the_bad_events(database: TestDatabase) {
    let (app, credentials) = app_with_reports(database, 3).await;
    let before = app
        .all_report_stats(&credentials, "?include_spaces=all")
        .await;
    let body = json!([
        {"id": "ok-1", "type": "report_viewed", "report_id": 1},
        {"id": "bad-1", "type": "report_viewed", "report_id": "1"},
        {"id": "ok-2", "type": "report_created", "report_id": 9, "report_token": "t9", "space_token": "team", "email": "a@b.c", "name": "Nine"},
        {"id": "bad-2", "type": "report_teleported", "report_id": 1},
    ]);
    let response = app
        .post_events(&credentials, "application/json", body.to_string())
        .await;
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["id"], "bad_request");
    assert_eq!(
        answer["message"],
        "2 events were rejected; nothing was stored"
    );
    assert_eq!(answer["errors"][0]["index"], 1);
    assert_eq!(answer["errors"][0]["field"], "report_id");
    assert_eq!(answer["errors"][1]["index"], 3);
    assert_eq!(answer["errors"][1]["field"], "type");

    assert_eq!(
        app.all_report_stats(&credentials, "?include_spaces=all")
            .await,
        before
    );
    let log = app.store.event_log(credentials.workspace.id).await.unwrap();
    assert!(
        log.iter()
            .all(|event| !event.id.as_str().starts_with("ok-"))
    );
}

async fn malformed_json_is_a_400(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    for body in ["[{\"id\": ", "{\"id\":\"a\"}\n{oops}\n"] {
        let response = app
            .post_events(&credentials, "application/json", body)
            .await;
        assert_eq!(response.status(), 400, "{body}");
        assert_eq!(response.json::<Value>().await.unwrap()["id"], "bad_request");
    }
}

async fn a_retried_batch_changes_nothing(database: TestDatabase) {
    let (app, credentials) = app_with_reports(database, 4).await;
    let views: Vec<String> = (0..20)
        .map(|n| {
            json!({"id": format!("view-{n}"), "type": "report_viewed", "report_id": 1 + n % 4})
                .to_string()
        })
        .collect();
    let first = app.post_ndjson_ok(&credentials, &views).await;
    assert_eq!(first, json!({"accepted": 20, "duplicates": 0}));
    let stats = app
        .all_report_stats(&credentials, "?include_spaces=all")
        .await;
    let retry = app.post_ndjson_ok(&credentials, &views).await;
    assert_eq!(retry, json!({"accepted": 0, "duplicates": 20}));
    assert_eq!(
        app.all_report_stats(&credentials, "?include_spaces=all")
            .await,
        stats
    );
    assert_eq!(stats[0]["total_views_count"], 5);
    assert_eq!(stats[0]["view_count"], 5);
}

async fn oversized_bodies_and_batches_are_a_413_storing_nothing(database: TestDatabase) {
    let settings = Settings {
        max_body_bytes: 4096,
        max_batch_events: 10,
        ..Settings::default()
    };
    let app = TestApp::spawn_with(database, settings).await;
    let credentials = app.create_workspace("acme").await;

    let view = |n: usize| {
        json!({"id": format!("v{n}"), "type": "report_viewed", "report_id": 1}).to_string()
    };
    let too_many: Vec<String> = (0..11).map(view).collect();
    let response = app
        .post_events(&credentials, "application/x-ndjson", too_many.join("\n"))
        .await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "payload_too_large");
    assert!(
        body["message"].as_str().unwrap().contains("at most 10"),
        "{body}"
    );

    let too_big = format!("{}\n{}", view(0), " ".repeat(5000));
    let response = app
        .post_events(&credentials, "application/x-ndjson", too_big)
        .await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap()["id"],
        "payload_too_large"
    );

    assert!(
        app.store
            .event_log(credentials.workspace.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A clock the test moves.
struct SteppedClock(std::sync::atomic::AtomicI64);

impl reportstats::domain::clock::Clock for SteppedClock {
    fn now(&self) -> reportstats::domain::Timestamp {
        reportstats::domain::Timestamp::from_micros(
            self.0.load(std::sync::atomic::Ordering::SeqCst),
        )
    }
}

async fn a_manual_run_leaves_recent_creators_when_it_leaves_the_window(database: TestDatabase) {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    let start = common::fixture_now();
    let clock = Arc::new(SteppedClock(start.as_micros().into()));
    let app = TestApp::spawn_with_clock(database, Settings::default(), clock.clone()).await;
    let credentials = app.create_workspace("acme").await;
    let mut lines = reports_batch(1);
    lines.push(
        json!({"id": "run", "type": "report_run", "report_id": 1, "run_token": "r1", "trigger": "manual",
               "email": "ann@example.com", "occurred_at": start.saturating_sub_days(89).to_string()})
        .to_string(),
    );
    app.post_ndjson_ok(&credentials, &lines).await;
    let recent = |page: Value| page["report_stats"][0]["recent_manual_run_creators_emails"].clone();

    // Read twice (the second from the page cache), then two days later.
    for _ in 0..2 {
        let page = app.get_json(&credentials, "/batch/acme/report_stats").await;
        assert_eq!(recent(page), json!(["ann@example.com"]));
    }
    clock.0.store(
        start.saturating_add_seconds(2 * 86_400).as_micros(),
        Ordering::SeqCst,
    );
    let page = app.get_json(&credentials, "/batch/acme/report_stats").await;
    assert_eq!(recent(page), json!([]));
}

on_every_backend!(
    a_manual_run_leaves_recent_creators_when_it_leaves_the_window,
    pages_link_to_their_neighbours_and_keep_per_page,
    include_spaces_all_lists_personal_reports_and_stays_in_the_links,
    a_page_past_the_end_is_empty_and_links_back,
    a_question_mark_inside_the_query_separates_parameters,
    an_empty_workspace_has_no_pages_and_empty_links,
    per_page_defaults_to_1000_and_accepts_its_bounds,
    bad_paging_parameters_are_a_400_naming_the_parameter,
    clients_asking_for_hal_json_get_the_same_json,
    missing_malformed_or_wrong_credentials_are_a_401,
    a_key_of_another_workspace_gets_the_same_404_as_a_missing_workspace,
    unknown_routes_and_methods_answer_in_the_error_format,
    an_invalid_batch_stores_nothing_and_lists_the_bad_events,
    malformed_json_is_a_400,
    a_retried_batch_changes_nothing,
    oversized_bodies_and_batches_are_a_413_storing_nothing,
);
