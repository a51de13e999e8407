//! Exports and conditional GETs of the batch listings (SPEC section 8,
//! "Export and caching"), over a real socket, on both backends: CSV and
//! NDJSON hold the JSON listing's rows, across the export's internal pages
//! (made small here), with names full of quotes, commas and newlines;
//! `format` and `Accept` choose; every 200 carries an `ETag` that a
//! matching `If-None-Match` turns into a 304, until an event changes it.

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::{Credentials, TestApp, TestDatabase, fixture_now};
use reportstats::domain::Timestamp;
use reportstats::domain::clock::Clock;
use reportstats::http::Settings;
use serde_json::{Value, json};

/// Rows an export reads at a time here: every listing below spans several
/// of its pages, some ending exactly at one.
const EXPORT_PAGE_ROWS: u64 = 3;

/// Every batch listing, by the key its JSON page lists rows under.
const LISTINGS: [&str; 6] = [
    "report_stats",
    "reports",
    "spaces",
    "members",
    "queries",
    "charts",
];

fn settings() -> Settings {
    Settings {
        export_page_rows: EXPORT_PAGE_ROWS,
        rate_limit_per_minute: 0,
        ..Settings::default()
    }
}

/// A name no CSV writer gets right by accident.
fn awkward(what: &str, i: usize) -> String {
    format!("{what} \"{i}\", with commas; and \"quotes\"")
}

/// Spaces (one personal), reports in them (one in the personal space), a
/// query per report but one, charts, members, views, runs and edits.
fn events() -> Vec<String> {
    let at = "2026-10-01T09:00:00Z";
    let mut events = Vec::new();
    let mut push = |event: Value| events.push(event.to_string());
    for space in 0..5 {
        let space_type = if space == 4 { "private" } else { "custom" };
        push(
            json!({"id": format!("s{space}"), "type": "space_upserted", "occurred_at": at,
            "space_token": format!("sp-{space}"), "name": awkward("Space", space),
            "description": format!("line one,\n\"line\" two\r\nthree {space}"),
            "space_type": space_type}),
        );
    }
    for member in 0..6 {
        push(
            json!({"id": format!("m{member}"), "type": "member_upserted", "occurred_at": at,
            "email": format!("user{member}@acme.com"), "username": format!("user{member}"),
            "name": format!("Doe, \"Jay\" {member}")}),
        );
    }
    for report in 0..8_usize {
        let id = 100 + report;
        let space = if report == 7 { 4 } else { report % 4 };
        push(
            json!({"id": format!("r{report}"), "type": "report_created", "occurred_at": at,
            "report_id": id, "report_token": format!("rt-{report}"),
            "space_token": format!("sp-{space}"), "email": format!("user{}@acme.com", report % 6),
            "name": awkward("Report", report),
            "description": format!("Monthly,\n\"revenue\"\nreport {report}")}),
        );
        push(json!({"id": format!("v{report}"), "type": "report_viewed",
            "occurred_at": "2026-10-20T10:00:00Z", "report_id": id,
            "email": format!("user{}@acme.com", (report + 1) % 6)}));
        push(json!({"id": format!("e{report}"), "type": "report_edited",
            "occurred_at": "2026-10-21T10:00:00Z", "report_id": id,
            "email": format!("user{}@acme.com", (report + 2) % 6)}));
        push(json!({"id": format!("run{report}"), "type": "report_run",
            "occurred_at": "2026-10-22T10:00:00Z", "report_id": id,
            "run_token": format!("run-{report}"), "trigger": "manual",
            "email": format!("user{}@acme.com", (report + 3) % 6), "state": "succeeded"}));
        if report == 3 {
            continue;
        }
        push(
            json!({"id": format!("q{report}"), "type": "query_created", "occurred_at": at,
            "query_token": format!("q-{report}"), "report_id": id, "name": awkward("Query", report),
            "raw_query": format!("select \"a\", b,\n  c\r\nfrom t{report}"),
            "data_source_token": "warehouse", "email": "user0@acme.com"}),
        );
        for chart in 0..2 {
            let mut event = json!({"id": format!("c{report}-{chart}"), "type": "chart_created",
                "occurred_at": at, "chart_token": format!("c-{report}-{chart}"),
                "query_token": format!("q-{report}"), "chart_type": "bar",
                "email": "user0@acme.com"});
            if chart == 0 {
                event["chart_title"] = json!(awkward("Chart", report));
            }
            push(event);
        }
    }
    events
}

async fn app_with_events(database: TestDatabase, settings: Settings) -> (TestApp, Credentials) {
    let app = TestApp::spawn_with(database, settings).await;
    let credentials = app.create_workspace("acme").await;
    app.post_ndjson_ok(&credentials, &events()).await;
    (app, credentials)
}

/// A GET with the workspace key and extra headers.
async fn get(
    app: &TestApp,
    credentials: &Credentials,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(path_and_query))
        .header("Authorization", credentials.basic_header());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn get_text(
    app: &TestApp,
    credentials: &Credentials,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> (reqwest::header::HeaderMap, String) {
    let response = get(app, credentials, path_and_query, headers).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{path_and_query}: {body}");
    (headers, body)
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// Every row of a listing, walking its JSON pages of `per_page`.
async fn json_rows(
    app: &TestApp,
    credentials: &Credentials,
    resource: &str,
    query: &str,
) -> Vec<Value> {
    let mut next = Some(format!("/batch/acme/{resource}?per_page=2{query}"));
    let mut rows = Vec::new();
    while let Some(path) = next.take() {
        let page = app.get_json(credentials, &path).await;
        rows.extend(page[resource].as_array().unwrap().iter().cloned());
        next = page["_links"]["next_page"]["href"]
            .as_str()
            .map(str::to_owned);
    }
    rows
}

/// The CSV cell the export promises for a JSON value.
fn expected_cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items
            .iter()
            .map(expected_cell)
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    }
}

/// The header and records of a CSV body, read by the `csv` crate.
fn read_csv(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, records)
}

/// `fields` appear in `line` (one JSON object) in this order, and are all
/// of its fields.
fn assert_field_order(line: &str, fields: &[String]) {
    let positions: Vec<usize> = fields
        .iter()
        .map(|field| {
            line.find(&format!("\"{field}\":"))
                .unwrap_or_else(|| panic!("`{field}` is not in {line}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "the columns {fields:?} are not in the order of {line}"
    );
    let object: Value = serde_json::from_str(line).unwrap();
    assert_eq!(object.as_object().unwrap().len(), fields.len(), "{line}");
}

async fn csv_exports_hold_the_json_rows_of_every_listing(database: TestDatabase) {
    let (app, credentials) = app_with_events(database, settings()).await;
    for resource in LISTINGS {
        for query in ["", "&include_spaces=all"] {
            let rows = json_rows(&app, &credentials, resource, query).await;
            assert!(
                rows.len() as u64 > EXPORT_PAGE_ROWS,
                "{resource}{query}: too few rows to cross pages"
            );
            let path = format!("/batch/acme/{resource}?format=csv&page=2&per_page=1{query}");
            let (headers, body) = get_text(&app, &credentials, &path, &[]).await;
            assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");
            assert_eq!(
                header(&headers, "content-disposition"),
                format!("attachment; filename=\"acme-{resource}.csv\"")
            );
            assert!(body.contains("\r\n"), "RFC 4180 ends lines with CRLF");
            let (columns, records) = read_csv(&body);
            let mut keys: Vec<String> = rows[0].as_object().unwrap().keys().cloned().collect();
            let mut sorted_columns = columns.clone();
            keys.sort();
            sorted_columns.sort();
            assert_eq!(
                sorted_columns, keys,
                "{resource}: the columns are the fields"
            );
            assert_eq!(records.len(), rows.len(), "{resource}{query}: every page");
            for (record, row) in records.iter().zip(&rows) {
                let expected: Vec<String> = columns
                    .iter()
                    .map(|column| expected_cell(&row[column]))
                    .collect();
                assert_eq!(record, &expected, "{resource}{query}");
            }
        }
    }
}

async fn ndjson_exports_are_the_json_rows_in_their_field_order(database: TestDatabase) {
    let (app, credentials) = app_with_events(database, settings()).await;
    for resource in LISTINGS {
        for query in ["", "&include_spaces=all"] {
            let rows = json_rows(&app, &credentials, resource, query).await;
            let path = format!("/batch/acme/{resource}?format=ndjson{query}");
            let (headers, body) = get_text(&app, &credentials, &path, &[]).await;
            assert_eq!(header(&headers, "content-type"), "application/x-ndjson");
            assert_eq!(
                header(&headers, "content-disposition"),
                format!("attachment; filename=\"acme-{resource}.ndjson\"")
            );
            assert!(body.ends_with('\n'));
            let lines: Vec<&str> = body.lines().collect();
            let exported: Vec<Value> = lines
                .iter()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
            assert_eq!(exported, rows, "{resource}{query}");

            // Each line is the row as the JSON page writes it, and the CSV
            // columns follow its fields.
            let (_, page) = get_text(
                &app,
                &credentials,
                &format!("/batch/acme/{resource}?per_page=1000{query}"),
                &[],
            )
            .await;
            for line in &lines {
                assert!(page.contains(line), "{resource}: {line} is not in the page");
            }
            let (_, csv) = get_text(
                &app,
                &credentials,
                &format!("/batch/acme/{resource}?format=csv{query}"),
                &[],
            )
            .await;
            assert_field_order(lines[0], &read_csv(&csv).0);
        }
    }
}

async fn an_empty_listing_exports_its_header_alone(database: TestDatabase) {
    let app = TestApp::spawn_with(database, settings()).await;
    let credentials = app.create_workspace("acme").await;
    let (_, csv) = get_text(&app, &credentials, "/batch/acme/reports?format=csv", &[]).await;
    assert!(
        csv.starts_with("id,token,name,description,created_at,"),
        "{csv}"
    );
    assert_eq!(csv.matches("\r\n").count(), 1, "{csv}");
    let (_, ndjson) = get_text(&app, &credentials, "/batch/acme/charts?format=ndjson", &[]).await;
    assert_eq!(ndjson, "");
}

async fn content_type_of(
    app: &TestApp,
    credentials: &Credentials,
    accept: &str,
    query: &str,
) -> String {
    let path = format!("/batch/acme/reports{query}");
    let accept = [("Accept", accept)];
    let headers: &[(&str, &str)] = if accept[0].1.is_empty() { &[] } else { &accept };
    let (headers, _) = get_text(app, credentials, &path, headers).await;
    header(&headers, "content-type").to_owned()
}

async fn accept_chooses_the_format_and_the_format_parameter_wins(database: TestDatabase) {
    let (app, credentials) = app_with_events(database, settings()).await;
    let json = "application/json";
    let csv = "text/csv; charset=utf-8";
    let ndjson = "application/x-ndjson";
    for (accept, query, expected) in [
        ("", "", json),
        ("application/json", "", json),
        ("application/hal+json", "", json),
        ("*/*", "", json),
        ("text/csv", "", csv),
        ("text/csv, */*;q=0.1", "", csv),
        ("application/x-ndjson", "", ndjson),
        ("text/csv;q=0.2, application/json", "", json),
        ("", "?format=csv", csv),
        ("", "?format=ndjson", ndjson),
        ("", "?format=json", json),
        ("text/csv", "?format=json", json),
        ("text/csv", "?format=ndjson", ndjson),
        ("application/x-ndjson", "?format=csv", csv),
        ("application/json", "?format=csv", csv),
    ] {
        assert_eq!(
            content_type_of(&app, &credentials, accept, query).await,
            expected,
            "Accept: {accept}, {query}"
        );
    }
}

async fn a_bad_format_is_a_400_naming_it(database: TestDatabase) {
    let (app, credentials) = app_with_events(database, settings()).await;
    for resource in LISTINGS {
        for format in ["xml", "CSV", ""] {
            let path = format!("/batch/acme/{resource}?format={format}");
            let response = get(&app, &credentials, &path, &[("Accept", "text/csv")]).await;
            assert_eq!(response.status(), 400, "{path}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["id"], "bad_request");
            assert!(
                body["message"].as_str().unwrap().starts_with("`format`"),
                "{body}"
            );
        }
    }
    // The listing's own parameters are checked on an export too.
    let response = get(
        &app,
        &credentials,
        "/batch/acme/reports?format=csv&page=0",
        &[],
    )
    .await;
    assert_eq!(response.status(), 400);
    let response = get(
        &app,
        &credentials,
        "/batch/acme/reports?format=csv&include_spaces=some",
        &[],
    )
    .await;
    assert_eq!(response.status(), 400);
}

/// Asks again with `If-None-Match: {tag}` and expects a 304 with the tag.
async fn assert_not_modified(
    app: &TestApp,
    credentials: &Credentials,
    path: &str,
    if_none_match: &str,
    tag: &str,
) {
    let response = get(app, credentials, path, &[("If-None-Match", if_none_match)]).await;
    assert_eq!(
        response.status(),
        304,
        "{path} with If-None-Match: {if_none_match}"
    );
    assert_eq!(header(response.headers(), "etag"), tag);
    assert_eq!(response.text().await.unwrap(), "");
}

async fn every_answer_has_an_etag_that_a_matching_if_none_match_turns_into_a_304(
    database: TestDatabase,
) {
    let (app, credentials) = app_with_events(database, settings()).await;
    let mut tags = Vec::new();
    for resource in LISTINGS {
        for query in ["", "?include_spaces=all", "?format=csv", "?format=ndjson"] {
            let path = format!("/batch/acme/{resource}{query}");
            let (headers, body) = get_text(&app, &credentials, &path, &[]).await;
            let tag = header(&headers, "etag").to_owned();
            assert!(
                tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2,
                "{path}: a strong tag, not {tag}"
            );
            assert!(header(&headers, "vary").contains("accept"), "{path}");
            let (again, _) = get_text(&app, &credentials, &path, &[]).await;
            assert_eq!(header(&again, "etag"), tag, "{path}: the same answer");

            assert_not_modified(&app, &credentials, &path, &tag, &tag).await;
            assert_not_modified(&app, &credentials, &path, &format!("W/{tag}"), &tag).await;
            assert_not_modified(
                &app,
                &credentials,
                &path,
                &format!("\"other\", {tag}"),
                &tag,
            )
            .await;
            assert_not_modified(&app, &credentials, &path, "*", &tag).await;
            let response = get(&app, &credentials, &path, &[("If-None-Match", "\"other\"")]).await;
            assert_eq!(response.status(), 200, "{path}: another tag");
            tags.push((tag, header(&headers, "content-type").to_owned(), body));
        }
    }
    // (`members` has no `include_spaces`: its two JSON pages are one.)
    for (tag, content_type, body) in &tags {
        for (other_tag, other_content_type, other_body) in &tags {
            if tag == other_tag {
                assert_eq!(
                    (content_type, body),
                    (other_content_type, other_body),
                    "one tag, two answers"
                );
            }
        }
    }

    // A page of the JSON listing, as the fallback of the other /batch GETs.
    let path = "/batch/acme/signature_tokens";
    let (headers, _) = get_text(&app, &credentials, path, &[]).await;
    let tag = header(&headers, "etag").to_owned();
    assert_not_modified(&app, &credentials, path, &tag, &tag).await;

    // A HEAD gets the tag a GET does.
    let response = app
        .client
        .head(app.url("/batch/acme/reports?format=csv"))
        .header("Authorization", credentials.basic_header())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (headers, _) = get_text(&app, &credentials, "/batch/acme/reports?format=csv", &[]).await;
    assert_eq!(header(response.headers(), "etag"), header(&headers, "etag"));
}

async fn a_new_event_changes_every_tag(database: TestDatabase) {
    let (app, credentials) = app_with_events(database, settings()).await;
    let mut before = Vec::new();
    for resource in LISTINGS {
        for query in ["", "?format=csv", "?format=ndjson"] {
            let path = format!("/batch/acme/{resource}{query}");
            let (headers, _) = get_text(&app, &credentials, &path, &[]).await;
            before.push((path, header(&headers, "etag").to_owned()));
        }
    }
    // A view changes report_stats, reports (`last_viewed_at`) and members;
    // the others' pages keep their bytes. The exports' tags change
    // with any batch, since they cannot know which rows it touched.
    let view = json!({"id": "late-view", "type": "report_viewed",
        "occurred_at": "2026-10-30T10:00:00Z", "report_id": 100, "email": "user5@acme.com"});
    app.post_ndjson_ok(&credentials, &[view.to_string()]).await;
    for (path, tag) in &before {
        let response = get(&app, &credentials, path, &[("If-None-Match", tag)]).await;
        let changed = ["/report_stats", "/reports", "/members", "format="]
            .iter()
            .any(|part| path.contains(part));
        if changed {
            assert_eq!(response.status(), 200, "{path}: the answer changed");
            assert_ne!(header(response.headers(), "etag"), tag, "{path}");
            assert_not_modified(
                &app,
                &credentials,
                path,
                header(response.headers(), "etag"),
                header(response.headers(), "etag"),
            )
            .await;
        } else {
            // The page's bytes are those it had: its hash, so its tag, too.
            assert_eq!(response.status(), 304, "{path}: the page did not change");
        }
    }
}

/// A clock a second later at every reading.
struct TickingClock(AtomicI64);

impl Clock for TickingClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.0.fetch_add(1_000_000, Ordering::SeqCst))
    }
}

async fn an_export_that_depends_on_the_clock_matches_only_while_it_stands_still(
    database: TestDatabase,
) {
    let clock = Arc::new(TickingClock(AtomicI64::new(fixture_now().as_micros())));
    let app = TestApp::spawn_with_clock(database, settings(), clock).await;
    let credentials = app.create_workspace("acme").await;
    app.post_ndjson_ok(&credentials, &events()).await;

    let path = "/batch/acme/report_stats?format=csv";
    let (headers, body) = get_text(&app, &credentials, path, &[]).await;
    let tag = header(&headers, "etag").to_owned();
    let response = get(&app, &credentials, path, &[("If-None-Match", &tag)]).await;
    assert_eq!(response.status(), 200, "the recent window moved");
    assert_ne!(header(response.headers(), "etag"), tag);
    assert_eq!(
        response.text().await.unwrap(),
        body,
        "though no row left it"
    );

    // The other exports do not depend on the clock.
    let path = "/batch/acme/reports?format=csv";
    let (headers, _) = get_text(&app, &credentials, path, &[]).await;
    let tag = header(&headers, "etag").to_owned();
    assert_not_modified(&app, &credentials, path, &tag, &tag).await;

    // A JSON page is tagged by its bytes, which did not change.
    let path = "/batch/acme/report_stats";
    let (headers, _) = get_text(&app, &credentials, path, &[]).await;
    let tag = header(&headers, "etag").to_owned();
    assert_not_modified(&app, &credentials, path, &tag, &tag).await;
}

async fn pages_without_the_page_cache_are_tagged_by_their_bytes_too(database: TestDatabase) {
    let uncached = Settings {
        page_cache_bytes: 0,
        ..settings()
    };
    let (app, credentials) = app_with_events(database, uncached).await;
    let path = "/batch/acme/reports?per_page=2&page=2";
    let (headers, body) = get_text(&app, &credentials, path, &[]).await;
    let tag = header(&headers, "etag").to_owned();
    assert_not_modified(&app, &credentials, path, &tag, &tag).await;
    let (again, same) = get_text(&app, &credentials, path, &[]).await;
    assert_eq!(
        (header(&again, "etag"), same.as_str()),
        (tag.as_str(), body.as_str())
    );
}

async fn clients_leaving_in_the_middle_of_exports_leave_the_server_sound(database: TestDatabase) {
    let (app, credentials) = app_with_events(database, settings()).await;
    let export = |round: usize| {
        let path = format!(
            "/batch/acme/{}?format=csv&include_spaces=all",
            LISTINGS[round % LISTINGS.len()]
        );
        let (app, credentials) = (&app, &credentials);
        async move {
            let response = get(app, credentials, &path, &[]).await;
            assert_eq!(response.status(), 200);
            // Gone, with the export's later pages being read.
            drop(response);
        }
    };
    futures_util::future::join_all((0..60).map(export)).await;
    // Every connection of the store's pools, several times over.
    let listing = |round: usize| {
        let resource = LISTINGS[round % LISTINGS.len()];
        let (app, credentials) = (&app, &credentials);
        async move {
            let rows = json_rows(app, credentials, resource, "&include_spaces=all").await;
            let path = format!("/batch/acme/{resource}?format=csv&include_spaces=all");
            let (_, body) = get_text(app, credentials, &path, &[]).await;
            assert_eq!(read_csv(&body).1.len(), rows.len(), "{resource}");
        }
    };
    futures_util::future::join_all((0..48).map(listing)).await;
}

on_every_backend!(
    clients_leaving_in_the_middle_of_exports_leave_the_server_sound,
    csv_exports_hold_the_json_rows_of_every_listing,
    ndjson_exports_are_the_json_rows_in_their_field_order,
    an_empty_listing_exports_its_header_alone,
    accept_chooses_the_format_and_the_format_parameter_wins,
    a_bad_format_is_a_400_naming_it,
    every_answer_has_an_etag_that_a_matching_if_none_match_turns_into_a_304,
    a_new_event_changes_every_tag,
    an_export_that_depends_on_the_clock_matches_only_while_it_stands_still,
    pages_without_the_page_cache_are_tagged_by_their_bytes_too,
);
