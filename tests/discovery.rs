//! The rest of Mode's Discovery API (SPEC section 5): queries, charts,
//! spaces that keep every join whole, Mode's member object and the REST
//! paths its clients follow. Checked against the shared `usage` fixture and
//! the project's own hand-worked `tests/fixtures/discovery.ndjson`, each sent
//! in several orders and batchings, on both backends.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::{Credentials, TestApp, TestDatabase, post_shuffled, usage_expected, usage_lines};
use reportstats::domain::Timestamp;
use reportstats::domain::clock::FixedClock;
use serde_json::Value;

/// The usage fixture's `as_of`.
const USAGE_NOW: &str = "2026-11-20T13:45:00.000Z";

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn own_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn own_expected() -> Value {
    let text = std::fs::read_to_string(own_dir().join("discovery.expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn spawn(database: TestDatabase) -> TestApp {
    let now = Timestamp::parse(USAGE_NOW).unwrap();
    TestApp::spawn_with_clock(database, Default::default(), Arc::new(FixedClock(now))).await
}

/// Every row of a listing, walking `_links.next_page` from `path`.
async fn all_rows(app: &TestApp, credentials: &Credentials, path: &str, key: &str) -> Vec<Value> {
    let mut next = Some(path.to_owned());
    let mut rows = Vec::new();
    let mut pages = 0;
    while let Some(path) = next.take() {
        let page = app.get_json(credentials, &path).await;
        rows.extend(page[key].as_array().unwrap().iter().cloned());
        next = page["_links"]["next_page"]["href"]
            .as_str()
            .map(str::to_owned);
        pages += 1;
        assert!(pages < 1000, "{path}: the links never end");
    }
    rows
}

fn without(mut row: Value, keys: &[&str]) -> Value {
    for key in keys {
        row.as_object_mut().unwrap().remove(*key);
    }
    row
}

fn by_token(rows: Vec<Value>, server_keys: &[&str]) -> BTreeMap<String, Value> {
    rows.into_iter()
        .map(|row| {
            let token = row["token"].as_str().unwrap().to_owned();
            (token, without(row, server_keys))
        })
        .collect()
}

const QUERY_SERVER_KEYS: &[&str] = &["id", "space_id"];
const CHART_SERVER_KEYS: &[&str] = &["id", "space_id", "query_id", "exploration_url"];
const MEMBER_SERVER_KEYS: &[&str] = &["id", "token", "member_token"];

fn members_by_email(rows: Vec<Value>) -> Vec<Value> {
    let mut rows: Vec<Value> = rows
        .into_iter()
        .map(|row| without(row, MEMBER_SERVER_KEYS))
        .collect();
    rows.sort_by(|a, b| a["member_email"].as_str().cmp(&b["member_email"].as_str()));
    rows
}

async fn the_usage_fixture_gives_its_queries_charts_and_members_in_any_order(
    database: TestDatabase,
) {
    let app = spawn(database).await;
    let expected = usage_expected();
    for (index, seed) in [7u64, 8].into_iter().enumerate() {
        let credentials = app.create_workspace(&format!("usage{index}")).await;
        post_shuffled(&app, &credentials, &usage_lines(), seed).await;
        let name = &credentials.workspace.name;
        for per_page in ["", "?per_page=7"] {
            let queries = all_rows(
                &app,
                &credentials,
                &format!("/batch/{name}/queries{per_page}"),
                "queries",
            )
            .await;
            let queries = by_token(queries, QUERY_SERVER_KEYS);
            assert_eq!(
                serde_json::to_value(&queries).unwrap(),
                expected["queries_by_token"],
                "seed {seed}"
            );
            let charts = all_rows(
                &app,
                &credentials,
                &format!("/batch/{name}/charts{per_page}"),
                "charts",
            )
            .await;
            let charts = by_token(charts, CHART_SERVER_KEYS);
            assert_eq!(
                serde_json::to_value(&charts).unwrap(),
                expected["charts_by_token"],
                "seed {seed}"
            );
            let members = all_rows(
                &app,
                &credentials,
                &format!("/batch/{name}/members{per_page}"),
                "members",
            )
            .await;
            assert_eq!(
                Value::Array(members_by_email(members)),
                expected["members"],
                "seed {seed}"
            );
        }
    }
}

/// What `/spaces`, `/queries` and `/charts` must list, from the own
/// fixture's expected file, for one `include_spaces`.
fn own_listing(expected: &Value, resource: &str, all: bool) -> BTreeMap<String, Value> {
    let mut rows: Vec<Value> = expected[resource].as_array().unwrap().clone();
    if all {
        let added = &expected[format!("{resource}_include_spaces_all_adds")];
        rows.extend(added.as_array().unwrap().iter().cloned());
    }
    by_token(rows, &[])
}

async fn the_own_fixture_gives_its_hand_worked_answers_in_any_order(database: TestDatabase) {
    let app = spawn(database).await;
    let expected = own_expected();
    let stream = lines(&own_dir().join("discovery.ndjson"));
    for (index, seed) in [1u64, 2, 3].into_iter().enumerate() {
        let credentials = app.create_workspace(&format!("own{index}")).await;
        post_shuffled(&app, &credentials, &stream, seed).await;
        let name = &credentials.workspace.name;
        for all in [false, true] {
            let query = if all {
                "?include_spaces=all&per_page=2"
            } else {
                "?per_page=2"
            };
            for (resource, server_keys) in [
                ("queries", QUERY_SERVER_KEYS),
                ("charts", CHART_SERVER_KEYS),
                ("spaces", &["id", "space_url"][..]),
            ] {
                let rows = all_rows(
                    &app,
                    &credentials,
                    &format!("/batch/{name}/{resource}{query}"),
                    resource,
                )
                .await;
                let ids: Vec<i64> = rows.iter().map(|row| row["id"].as_i64().unwrap()).collect();
                assert!(
                    ids.windows(2).all(|pair| pair[0] < pair[1]),
                    "{resource} by id: {ids:?}"
                );
                assert_eq!(
                    by_token(rows, server_keys),
                    own_listing(&expected, resource, all),
                    "{resource}, include_spaces=all: {all}, seed {seed}"
                );
            }
        }
        let members = all_rows(
            &app,
            &credentials,
            &format!("/batch/{name}/members?per_page=1"),
            "members",
        )
        .await;
        assert_eq!(
            Value::Array(members_by_email(members)),
            expected["members"],
            "seed {seed}"
        );
    }
}

/// Every space token a listed report, query or chart carries is listed by
/// `/spaces`, and every query token of a listed chart by `/queries`, under
/// the same `include_spaces`: Amundsen's extractors abort on a dangling key.
async fn joins_never_break(database: TestDatabase) {
    let app = spawn(database).await;
    let credentials = app.create_workspace("usage").await;
    post_shuffled(&app, &credentials, &usage_lines(), 3).await;
    let mut stream = lines(&own_dir().join("discovery.ndjson"));
    // The own fixture's reports, spaces and queries in the same workspace,
    // with ids that do not collide with the usage fixture's.
    for line in &mut stream {
        let mut event: Value = serde_json::from_str(line).unwrap();
        if let Some(id) = event["report_id"].as_i64() {
            event["report_id"] = (id + 900_000).into();
        }
        event["id"] = format!("own-{}", event["id"].as_str().unwrap()).into();
        *line = event.to_string();
    }
    app.post_ndjson_ok(&credentials, &stream).await;
    let name = &credentials.workspace.name;
    for query in ["", "?include_spaces=all"] {
        let listed = |rows: &[Value], key: &str| -> BTreeSet<String> {
            rows.iter()
                .filter_map(|row| row[key].as_str().map(str::to_owned))
                .collect()
        };
        let spaces = all_rows(
            &app,
            &credentials,
            &format!("/batch/{name}/spaces{query}"),
            "spaces",
        )
        .await;
        let spaces = listed(&spaces, "token");
        let queries = all_rows(
            &app,
            &credentials,
            &format!("/batch/{name}/queries{query}"),
            "queries",
        )
        .await;
        let charts = all_rows(
            &app,
            &credentials,
            &format!("/batch/{name}/charts{query}"),
            "charts",
        )
        .await;
        let reports = all_rows(
            &app,
            &credentials,
            &format!("/batch/{name}/reports{query}"),
            "reports",
        )
        .await;
        for (resource, rows) in [
            ("reports", &reports),
            ("queries", &queries),
            ("charts", &charts),
        ] {
            let carried = listed(rows, "space_token");
            assert!(
                carried.is_subset(&spaces),
                "{resource}{query}: {:?} not in /spaces",
                carried.difference(&spaces)
            );
        }
        let query_tokens = listed(&queries, "token");
        let charted = listed(&charts, "query_token");
        assert!(
            charted.is_subset(&query_tokens),
            "charts{query}: {:?}",
            charted.difference(&query_tokens)
        );
        assert!(
            spaces.contains("ghost") && spaces.contains("gone") && spaces.contains("sp11never")
        );
    }
}

async fn the_rest_paths_resolve_within_the_credentials_workspace(database: TestDatabase) {
    let app = spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let other = app.create_workspace("other").await;
    app.post_ndjson_ok(&credentials, &lines(&own_dir().join("discovery.ndjson")))
        .await;

    // report_url and space_url answer the listing's own object.
    for (resource, url_key) in [("reports", "report_url"), ("spaces", "space_url")] {
        let rows = all_rows(
            &app,
            &credentials,
            &format!("/batch/acme/{resource}?include_spaces=all"),
            resource,
        )
        .await;
        assert!(!rows.is_empty());
        for row in rows {
            let url = row[url_key].as_str().unwrap();
            assert_eq!(app.get_json(&credentials, url).await, row, "{url}");
            assert_eq!(
                app.get(&other, url).await.status(),
                404,
                "{url} with another workspace's key"
            );
        }
    }
    assert_eq!(
        app.get(&credentials, "/api/acme/reports/rep5")
            .await
            .status(),
        404,
        "a deleted report"
    );
    assert_eq!(
        app.get(&credentials, "/api/acme/spaces/nowhere")
            .await
            .status(),
        404
    );

    // memberships link to each member, by username or else member token.
    let page = app.get_json(&credentials, "/api/acme/memberships").await;
    let memberships = page["_embedded"]["memberships"].as_array().unwrap();
    assert_eq!(memberships.len(), 2, "{page}");
    assert_eq!(page["pagination"]["total_count"], 2);
    let mut emails = BTreeSet::new();
    for membership in memberships {
        let href = membership["_links"]["user"]["href"].as_str().unwrap();
        let user = app.get_json(&credentials, href).await;
        assert_eq!(user["token"], membership["member_token"]);
        assert_eq!(user["username"], membership["member_username"]);
        emails.insert(user["email"].as_str().unwrap().to_owned());
        assert_eq!(
            app.get(&other, href).await.status(),
            404,
            "{href} from another workspace"
        );
    }
    assert_eq!(
        emails,
        BTreeSet::from(["ann@acme.io".to_owned(), "bob@acme.io".to_owned()])
    );
    let bob = memberships
        .iter()
        .find(|m| m["member_username"].is_null())
        .unwrap();
    assert_eq!(
        bob["_links"]["user"]["href"],
        format!("/api/{}", bob["member_token"].as_str().unwrap())
    );
    // A removed member, and no member at all.
    assert_eq!(app.get(&credentials, "/api/cy").await.status(), 404);
    assert_eq!(app.get(&credentials, "/api/nobody").await.status(), 404);
    let unauthenticated = app.client.get(app.url("/api/ann")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let body: Value = unauthenticated.json().await.unwrap();
    assert_eq!(body["id"], "unauthorized");
}

/// Mode's clients build `?include_spaces=all?page=1`: a `?` inside the query
/// string separates parameters.
async fn a_question_mark_inside_the_query_string_separates_parameters(database: TestDatabase) {
    let app = spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    app.post_ndjson_ok(&credentials, &lines(&own_dir().join("discovery.ndjson")))
        .await;
    let page = app
        .get_json(&credentials, "/batch/acme/charts?include_spaces=all?page=1")
        .await;
    assert_eq!(page["charts"].as_array().unwrap().len(), 5, "{page}");
}

/// The queries and charts listings are paged from remembered positions;
/// every change that can move them (a query or chart changed, a report
/// created, deleted or moved, a space changed) must be seen by the next
/// page, at any page size, and a view must leave them as they are.
async fn pages_follow_every_change_that_moves_the_catalog(database: TestDatabase) {
    let app = spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    app.post_ndjson_ok(&credentials, &lines(&own_dir().join("discovery.ndjson")))
        .await;
    let tokens = |rows: Vec<Value>| -> BTreeSet<String> {
        rows.iter()
            .map(|row| row["token"].as_str().unwrap().to_owned())
            .collect()
    };
    let set =
        |items: &[&str]| -> BTreeSet<String> { items.iter().map(|s| (*s).to_owned()).collect() };
    let steps: [(&str, &[&str], &[&str]); 5] = [
        // Report 99 is created: its query q6 enters, though the new report
        // lands at the end of the report listing.
        (
            r#"{"id":"n1","type":"report_created","occurred_at":"2026-11-01T00:00:00Z","report_id":99,"report_token":"rep99","space_token":"team","email":"bob@acme.io","name":"Late"}"#,
            &["q1", "q2", "q6", "q7"],
            &["c1", "c5", "c6", "c7"],
        ),
        // A view moves nothing.
        (
            r#"{"id":"n2","type":"report_viewed","occurred_at":"2026-11-01T00:00:00Z","report_id":1}"#,
            &["q1", "q2", "q6", "q7"],
            &["c1", "c5", "c6", "c7"],
        ),
        // A query deleted takes its charts with it.
        (
            r#"{"id":"n3","type":"query_deleted","occurred_at":"2026-11-01T00:00:00Z","query_token":"q2"}"#,
            &["q1", "q6", "q7"],
            &["c1", "c6", "c7"],
        ),
        // A personal space made a team space brings its report's queries in.
        (
            r#"{"id":"n4","type":"space_upserted","occurred_at":"2026-11-01T00:00:00Z","space_token":"mine","name":"Shared now"}"#,
            &["q1", "q3", "q6", "q7"],
            &["c1", "c2", "c6", "c7"],
        ),
        // A report moved into a personal space takes its queries out.
        (
            r#"{"id":"n5","type":"report_moved","occurred_at":"2026-11-02T00:00:00Z","report_id":1,"space_token":"ps-ann"}"#,
            &["q3", "q6", "q7"],
            &["c2", "c6"],
        ),
    ];
    let private = r#"{"id":"n0","type":"space_upserted","occurred_at":"2026-10-01T00:00:00Z","space_token":"ps-ann","name":"Ann's","space_type":"private"}"#;
    app.post_ndjson_ok(&credentials, &[private.to_owned()])
        .await;
    for (event, queries, charts) in steps {
        // Read first, at several page sizes, so positions are remembered.
        for per_page in [1, 2, 1000] {
            all_rows(
                &app,
                &credentials,
                &format!("/batch/acme/queries?per_page={per_page}"),
                "queries",
            )
            .await;
            all_rows(
                &app,
                &credentials,
                &format!("/batch/acme/charts?per_page={per_page}"),
                "charts",
            )
            .await;
        }
        app.post_ndjson_ok(&credentials, &[event.to_owned()]).await;
        for per_page in [1, 2, 3, 1000] {
            let listed = all_rows(
                &app,
                &credentials,
                &format!("/batch/acme/queries?per_page={per_page}"),
                "queries",
            )
            .await;
            assert_eq!(
                tokens(listed),
                set(queries),
                "after {event}, per_page={per_page}"
            );
            let listed = all_rows(
                &app,
                &credentials,
                &format!("/batch/acme/charts?per_page={per_page}"),
                "charts",
            )
            .await;
            assert_eq!(
                tokens(listed),
                set(charts),
                "after {event}, per_page={per_page}"
            );
        }
        let page = app
            .get_json(&credentials, "/batch/acme/queries?per_page=2")
            .await;
        assert_eq!(page["pagination"]["total_count"], queries.len());
    }
}

/// Deep pages start from remembered ids (every 256th listed query): a
/// deletion before them must move every later page by one.
async fn deep_pages_follow_a_deletion_before_them(database: TestDatabase) {
    let app = spawn(database).await;
    let credentials = app.create_workspace("acme").await;
    let mut events = vec![
        r#"{"id":"r","type":"report_created","occurred_at":"2026-11-01T00:00:00Z","report_id":1,"report_token":"rep","space_token":"team","email":"a@b.io","name":"R"}"#.to_owned(),
    ];
    for n in 0..700 {
        events.push(format!(
            r#"{{"id":"q{n}","type":"query_created","occurred_at":"2026-11-01T00:00:00Z","query_token":"q{n}","report_id":1,"name":"Q","raw_query":"select {n}","data_source_token":"d","email":"a@b.io"}}"#
        ));
    }
    app.post_ndjson_ok(&credentials, &events).await;
    let ids = |rows: &[Value]| -> Vec<i64> {
        rows.iter().map(|row| row["id"].as_i64().unwrap()).collect()
    };
    let before = all_rows(
        &app,
        &credentials,
        "/batch/acme/queries?per_page=100",
        "queries",
    )
    .await;
    assert_eq!(before.len(), 700);
    // The query listed first goes: every remembered position moves.
    let first = before[0]["token"].as_str().unwrap().to_owned();
    let deletion = format!(
        r#"{{"id":"del","type":"query_deleted","occurred_at":"2026-11-02T00:00:00Z","query_token":"{first}"}}"#
    );
    app.post_ndjson_ok(&credentials, &[deletion]).await;
    let after = all_rows(
        &app,
        &credentials,
        "/batch/acme/queries?per_page=100",
        "queries",
    )
    .await;
    assert_eq!(ids(&after), ids(&before[1..]));
    let deep = app
        .get_json(&credentials, "/batch/acme/queries?per_page=100&page=6")
        .await;
    assert_eq!(
        ids(deep["queries"].as_array().unwrap()),
        ids(&before[501..601])
    );
}

on_every_backend!(
    pages_follow_every_change_that_moves_the_catalog,
    deep_pages_follow_a_deletion_before_them,
    the_usage_fixture_gives_its_queries_charts_and_members_in_any_order,
    the_own_fixture_gives_its_hand_worked_answers_in_any_order,
    joins_never_break,
    the_rest_paths_resolve_within_the_credentials_workspace,
    a_question_mark_inside_the_query_string_separates_parameters,
);
