//! The dashboard (SPEC section 9) over a socket, on both backends: its
//! numbers equal the JSON API's for the usage fixture, its sessions begin
//! and end as they must, and every answer carries the security headers. And
//! in a real browser: Debian's headless Chromium, driven by Playwright
//! (tests/browser/dashboard.py) against `reportstats demo`, which also takes
//! the README's screenshots.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::binary::{free_port, start_demo};
use common::{Credentials, TestApp, TestClock, TestDatabase, post_shuffled, usage_lines};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// The usage fixture's `as_of`.
const USAGE_NOW: &str = "2026-11-20T13:45:00.000Z";

/// A browser without cookies of its own: the tests carry the session cookie
/// by hand, to see exactly what the server sets.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The session cookie a sign-in answer sets.
fn session_cookie(response: &Response) -> String {
    let set = response
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    let pair = set.split(';').next().unwrap();
    pair.strip_prefix("reportstats_session=")
        .unwrap()
        .to_owned()
}

/// `POST /sign-in` of `form`, with `headers`.
async fn post_sign_in(
    app: &TestApp,
    headers: &[(&str, String)],
    form: &[(&str, &str)],
) -> Response {
    let mut request = browser().post(app.url("/sign-in")).form(form);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

/// `POST /sign-in` of `form` from the server's own page.
async fn sign_in(app: &TestApp, form: &[(&str, &str)]) -> Response {
    post_sign_in(app, &[("Origin", format!("http://{}", app.address))], form).await
}

async fn sign_in_with_key(app: &TestApp, credentials: &Credentials) -> String {
    let response = sign_in(
        app,
        &[
            ("token", &credentials.token),
            ("secret", &credentials.secret),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/ui/{}/", credentials.workspace.name)
    );
    session_cookie(&response)
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> Response {
    browser()
        .get(app.url(path))
        .header("Cookie", format!("reportstats_session={cookie}"))
        .send()
        .await
        .unwrap()
}

async fn html(app: &TestApp, cookie: &str, path: &str) -> String {
    let response = page(app, cookie, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.text().await.unwrap()
}

/// The text of the element carrying `data-testid="{id}"`.
fn test_id(html: &str, id: &str) -> String {
    let marker = format!("data-testid=\"{id}\">");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {id}")) + marker.len();
    html[start..][..html[start..].find('<').unwrap()]
        .trim()
        .to_owned()
}

/// A number as the dashboard writes it: `1,234`.
fn number(text: &str) -> u64 {
    text.replace(',', "").parse().unwrap()
}

/// The `data-report-id`s of the rows inside the element whose test id is
/// `id`, in order.
fn report_ids(html: &str, id: &str) -> Vec<i64> {
    let start = html.find(&format!("data-testid=\"{id}\"")).unwrap();
    let section = &html[start..];
    let end = section.find("</table>").unwrap();
    section[..end]
        .split("data-report-id=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

fn ids_of(page: &Value) -> Vec<i64> {
    page["report_usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["report_id"].as_i64().unwrap())
        .collect()
}

async fn spawn(database: TestDatabase) -> (TestApp, Arc<TestClock>) {
    let clock = Arc::new(TestClock::at(USAGE_NOW));
    let app = TestApp::spawn_with_clock(database, Default::default(), clock.clone()).await;
    (app, clock)
}

async fn every_number_equals_the_apis(database: TestDatabase) {
    let (app, _clock) = spawn(database).await;
    let credentials = app.create_workspace("usage").await;
    post_shuffled(&app, &credentials, &usage_lines(), 7).await;
    let cookie = sign_in_with_key(&app, &credentials).await;
    let name = &credentials.workspace.name;
    for scope in ["", "include_spaces=all"] {
        let and = |query: &str| [query, scope].join("&");
        let overview = html(&app, &cookie, &format!("/ui/{name}/?{scope}")).await;
        let reports = app
            .get_json(
                &credentials,
                &format!("/batch/{name}/report_usage?{}", and("per_page=1")),
            )
            .await;
        let stale = app
            .get_json(
                &credentials,
                &format!(
                    "/batch/{name}/report_usage?{}",
                    and("unviewed_days=90&sort=-total_views_count&per_page=10")
                ),
            )
            .await;
        let daily = app
            .get_json(&credentials, &format!("/batch/{name}/usage_daily?{scope}"))
            .await;
        let shown = |id| number(&test_id(&overview, id));
        assert_eq!(
            shown("reports"),
            reports["pagination"]["total_count"],
            "{scope}"
        );
        assert_eq!(shown("views_30d"), daily["totals"]["views"], "{scope}");
        assert_eq!(shown("viewers_30d"), daily["totals"]["viewers"], "{scope}");
        assert_eq!(
            shown("stale_reports_90d"),
            stale["pagination"]["total_count"],
            "{scope}"
        );
        assert!(shown("views_30d") > 0 && shown("viewers_30d") > 0);
        // The chart's points are usage_daily's last 90 days.
        let to = &USAGE_NOW[..10];
        let ninety = app
            .get_json(
                &credentials,
                &format!(
                    "/batch/{name}/usage_daily?{}",
                    and(&format!("to={to}&from={}", days_before(to, 89)))
                ),
            )
            .await;
        for day in ninety["days"].as_array().unwrap() {
            for (field, noun) in [("views", "views"), ("viewers", "viewers")] {
                let point = format!(
                    "{}: {} {noun}</title>",
                    day["date"].as_str().unwrap(),
                    day[field]
                );
                assert!(overview.contains(&point), "{point} {scope}");
            }
        }
        assert_eq!(report_ids(&overview, "stale-reports"), ids_of(&stale));

        // The reports table is report_usage, parameters and all.
        for query in [
            "",
            "sort=-views_30d",
            "sort=name&per_page=2&page=2",
            "sort=-last_viewed_at&unviewed_days=7",
            "q=REPORT",
            "sort=days_since_last_view&q=",
        ] {
            let table = html(&app, &cookie, &format!("/ui/{name}/reports?{}", and(query))).await;
            let per_page = if query.contains("per_page") {
                ""
            } else {
                "per_page=50"
            };
            let api = app
                .get_json(
                    &credentials,
                    &format!(
                        "/batch/{name}/report_usage?{}",
                        and(&[query, per_page].join("&"))
                    ),
                )
                .await;
            assert_eq!(
                report_ids(&table, "reports-table"),
                ids_of(&api),
                "{query} {scope}"
            );
            assert!(
                test_id(&table, "shown")
                    .ends_with(&format!("of {} reports", api["pagination"]["total_count"])),
                "{query}"
            );
        }
        // Each space's numbers are its reports' in report_usage.
        let spaces = html(&app, &cookie, &format!("/ui/{name}/spaces?{scope}")).await;
        let rows: Vec<&str> = spaces.split("data-space-token=\"").skip(1).collect();
        assert!(!rows.is_empty(), "{scope}");
        for row in rows {
            let token = &row[..row.find('"').unwrap()];
            let cell = |field: &str| {
                let marker = format!("data-field=\"{field}\">");
                let start = row.find(&marker).unwrap() + marker.len();
                number(&row[start..][..row[start..].find('<').unwrap()])
            };
            let usage = |query: &str| format!("/batch/{name}/report_usage?{}", and(query));
            let reports = app
                .get_json(&credentials, &usage(&format!("space_token={token}")))
                .await;
            let sum = |field: &str| -> u64 {
                let rows = reports["report_usage"].as_array().unwrap();
                rows.iter().map(|row| row[field].as_u64().unwrap()).sum()
            };
            assert_eq!(
                cell("reports"),
                reports["pagination"]["total_count"],
                "{token}"
            );
            assert_eq!(cell("views_30d"), sum("views_30d"), "{token}");
            assert_eq!(cell("total_views"), sum("total_views_count"), "{token}");
            let stale_path = usage(&format!("space_token={token}&unviewed_days=90"));
            let stale = app.get_json(&credentials, &stale_path).await;
            assert_eq!(cell("stale"), stale["pagination"]["total_count"], "{token}");
        }

        // Its CSV is the API's export of the same listing.
        let query = and("sort=-views_90d&unviewed_days=1");
        let csv = page(&app, &cookie, &format!("/ui/{name}/reports.csv?{query}")).await;
        assert_eq!(csv.status(), StatusCode::OK);
        assert!(
            csv.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("report_usage.csv")
        );
        let exported = app
            .get(
                &credentials,
                &format!("/batch/{name}/report_usage?{query}&format=csv"),
            )
            .await;
        assert_eq!(csv.text().await.unwrap(), exported.text().await.unwrap());
    }

    // Each report's page, and the members and spaces pages, open.
    let all = app
        .get_json(
            &credentials,
            &format!("/batch/{name}/report_usage?include_spaces=all"),
        )
        .await;
    for row in all["report_usage"].as_array().unwrap() {
        let token = row["report_token"].as_str().unwrap();
        let report = html(&app, &cookie, &format!("/ui/{name}/reports/{token}")).await;
        if let Some(name) = row["name"].as_str() {
            assert!(report.contains(&escaped(name)), "{token}");
        }
        assert!(report.contains("<svg"), "{token}");
    }
    let members = html(&app, &cookie, &format!("/ui/{name}/members")).await;
    let total = app
        .get_json(&credentials, &format!("/batch/{name}/members?per_page=1"))
        .await["pagination"]["total_count"]
        .clone();
    assert!(test_id(&members, "engagement").contains(&format!("of {total} members")));
    for sort in ["email", "-total_days_engaged", "last_report_viewed_at"] {
        html(&app, &cookie, &format!("/ui/{name}/members?sort={sort}")).await;
    }
    html(
        &app,
        &cookie,
        &format!("/ui/{name}/spaces?include_spaces=all"),
    )
    .await;
    // A mistake in a URL is a page saying so, not a 500.
    let wrong = page(&app, &cookie, &format!("/ui/{name}/reports?sort=colour")).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("`sort` must be one of")
    );
    let missing = page(&app, &cookie, &format!("/ui/{name}/reports/no-such-report")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

/// The date `days` before `date` (`YYYY-MM-DD`).
fn days_before(date: &str, days: i64) -> String {
    let day = reportstats::domain::timestamp::UtcDay::parse(date).unwrap();
    day.plus_days(-days).to_string()
}

/// `text` as askama writes it into HTML.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

async fn sessions_begin_and_end_as_they_must(database: TestDatabase) {
    let (app, clock) = spawn(database).await;
    let credentials = app.create_workspace("sessions").await;
    let other = app.create_workspace("other").await;
    let name = &credentials.workspace.name;
    let overview = format!("/ui/{name}/");

    // Not signed in: to the form, from every page.
    for path in ["/", overview.as_str(), &format!("/ui/{name}/reports")] {
        let response = page(&app, "", path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()["location"], "/sign-in");
    }
    let form = browser().get(app.url("/sign-in")).send().await.unwrap();
    let text = form.text().await.unwrap();
    for input in ["token", "secret", "access_key", "access_secret"] {
        assert!(text.contains(&format!("name=\"{input}\"")), "{input}");
    }

    // A wrong secret: the form again, saying so, after a delay.
    let started = Instant::now();
    let wrong = sign_in(&app, &[("token", &credentials.token), ("secret", "guess")]).await;
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(wrong.status(), StatusCode::OK);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(wrong.text().await.unwrap().contains("not valid"));

    // A form posted from another site is refused.
    let key = [
        ("token", credentials.token.as_str()),
        ("secret", credentials.secret.as_str()),
    ];
    let elsewhere = [("Origin", "https://attacker.example".to_owned())];
    let forged = post_sign_in(&app, &elsewhere, &key).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.headers().get("set-cookie").is_none());

    // The API key: a cookie with the flags, never a credential in a URL.
    let response = sign_in(&app, &key).await;
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    assert_eq!(response.headers()["location"], overview.as_str());
    let by_key = session_cookie(&response);
    assert!(!by_key.contains(&credentials.secret));
    assert_eq!(
        page(&app, &by_key, &overview).await.status(),
        StatusCode::OK
    );
    let home = page(&app, &by_key, "/").await;
    assert_eq!(home.headers()["location"], overview.as_str());
    // Behind HTTPS the cookie is Secure.
    let proxied = [("X-Forwarded-Proto", "https".to_owned())];
    let through_https = post_sign_in(&app, &proxied, &key).await;
    assert!(
        through_https.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    // One workspace: another's pages are not found, as in the API.
    let elsewhere = page(&app, &by_key, &format!("/ui/{}/", other.workspace.name)).await;
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);

    // A signature token; its revocation ends its session at once.
    let signature = app.mint(&credentials).await;
    let response = sign_in(
        &app,
        &[
            ("token", &signature.token),
            ("access_key", &signature.access_key),
            ("access_secret", &signature.access_secret),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let by_token = session_cookie(&response);
    assert_eq!(
        page(&app, &by_token, &overview).await.status(),
        StatusCode::OK
    );
    let revoked = app
        .client
        .delete(app.url(&format!(
            "/batch/{name}/signature_tokens/{}",
            signature.token
        )))
        .header("Authorization", credentials.basic_header())
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let ended = page(&app, &by_token, &overview).await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert_eq!(ended.headers()["location"], "/sign-in");

    // Sessions live in the database: another server over it knows this
    // one, as behind a load balancer.
    let second = second_server(&app, clock.clone()).await;
    let there = |path: String| {
        let cookie = by_key.clone();
        async move {
            browser()
                .get(format!("http://{second}{path}"))
                .header("Cookie", format!("reportstats_session={cookie}"))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(there(overview.clone()).await.status(), StatusCode::OK);

    // Sign-out ends a session, on every server; so do twelve hours.
    let signed_out = browser()
        .post(app.url("/sign-out"))
        .header("Origin", format!("http://{}", app.address))
        .header("Cookie", format!("reportstats_session={by_key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert!(
        signed_out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        page(&app, &by_key, &overview).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        there(overview.clone()).await.status(),
        StatusCode::SEE_OTHER
    );
    let fresh = sign_in_with_key(&app, &credentials).await;
    clock.advance_seconds(12 * 3600 - 1);
    assert_eq!(page(&app, &fresh, &overview).await.status(), StatusCode::OK);
    clock.advance_seconds(1);
    assert_eq!(
        page(&app, &fresh, &overview).await.status(),
        StatusCode::SEE_OTHER
    );
}

/// Another server over `app`'s database, with its own store and state.
async fn second_server(app: &TestApp, clock: Arc<TestClock>) -> std::net::SocketAddr {
    let store = app.database.open().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let state = reportstats::http::AppState::new(store, clock, Default::default());
    tokio::spawn(reportstats::http::serve(
        listener,
        state,
        std::future::pending(),
    ));
    address
}

async fn every_answer_carries_the_security_headers(database: TestDatabase) {
    let (app, _clock) = spawn(database).await;
    let credentials = app.create_workspace("headers").await;
    let cookie = sign_in_with_key(&app, &credentials).await;
    let name = &credentials.workspace.name;
    for (path, status) in [
        ("/sign-in".to_owned(), StatusCode::OK),
        ("/".to_owned(), StatusCode::SEE_OTHER),
        (format!("/ui/{name}/"), StatusCode::OK),
        (format!("/ui/{name}/reports"), StatusCode::OK),
        (format!("/ui/{name}/members"), StatusCode::OK),
        (format!("/ui/{name}/spaces"), StatusCode::OK),
        (
            format!("/ui/{name}/reports?page=0"),
            StatusCode::BAD_REQUEST,
        ),
        ("/ui/elsewhere/".to_owned(), StatusCode::NOT_FOUND),
        ("/assets/dashboard.css".to_owned(), StatusCode::OK),
    ] {
        let response = page(&app, &cookie, &path).await;
        assert_eq!(response.status(), status, "{path}");
        let headers = response.headers();
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'self'"), "{path}: {policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
    }
    // The pages load nothing from another origin: no absolute URL at all.
    let overview = html(&app, &cookie, &format!("/ui/{name}/")).await;
    for attribute in ["src=\"http", "href=\"http", "href=\"//", "src=\"//"] {
        assert!(!overview.contains(attribute), "{attribute}");
    }
    assert!(
        !overview.contains("style=\""),
        "inline styles break the CSP"
    );
}

on_every_backend!(
    every_number_equals_the_apis,
    sessions_begin_and_end_as_they_must,
    every_answer_carries_the_security_headers,
);

/// Debian's Chromium, or the one `REPORTSTATS_CHROMIUM` names.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("REPORTSTATS_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// What `reportstats demo` printed after `label`.
fn printed(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("the demo printed no {label}"))
        .trim()
        .to_owned()
}

/// Where the browser test leaves its screenshots: `docs/screenshots` (the
/// README's) with `REPORTSTATS_UPDATE_SCREENSHOTS=1`, else cargo's target
/// directory, so that a test run changes no committed file.
fn screenshots_dir() -> PathBuf {
    if std::env::var_os("REPORTSTATS_UPDATE_SCREENSHOTS").is_some() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots")
    } else {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
    }
}

#[test]
fn the_dashboard_works_in_a_real_browser() {
    let Some(chromium) = chromium() else {
        // CI must run it (.ci/run installs Chromium); elsewhere, say so.
        assert!(
            std::env::var_os("CI").is_none(),
            "no Chromium found (install Debian's `chromium`, or set REPORTSTATS_CHROMIUM)"
        );
        eprintln!("SKIPPED the_dashboard_works_in_a_real_browser: no Chromium found");
        return;
    };
    let venv = common::python::virtualenv();
    let directory = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", directory.path().join("demo.db").display());
    let port = free_port();
    let (_demo, printed_lines) = start_demo(&database, port);
    assert!(
        printed_lines
            .iter()
            .any(|line| line.contains(&format!("http://127.0.0.1:{port}/ in a browser"))),
        "the demo prints the dashboard's address"
    );
    let output = Command::new(venv.join("bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard.py"))
        .env("REPORTSTATS_URL", format!("http://127.0.0.1:{port}"))
        .env("REPORTSTATS_WORKSPACE", "demo")
        .env("REPORTSTATS_API_TOKEN", printed(&printed_lines, "token:  "))
        .env("REPORTSTATS_API_SECRET", printed(&printed_lines, "secret:"))
        .env(
            "REPORTSTATS_SIGNATURE_TOKEN",
            printed(&printed_lines, "token:         "),
        )
        .env(
            "REPORTSTATS_SIGNATURE_ACCESS_KEY",
            printed(&printed_lines, "access_key:"),
        )
        .env(
            "REPORTSTATS_SIGNATURE_ACCESS_SECRET",
            printed(&printed_lines, "access_secret:"),
        )
        .env("REPORTSTATS_CHROMIUM", &chromium)
        .env("REPORTSTATS_SCREENSHOTS", screenshots_dir())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
