//! Usage over time over a socket, on both backends (SPEC section 8): the
//! shared usage fixture's `report_usage` rows and daily series for any
//! order, batching and duplication of its events; every sort in both
//! directions and every filter, paged through the links, against the
//! domain's from-scratch computation; the windows at clock instants on and
//! around day boundaries; `usage_daily` of one report; and a 400 naming
//! each bad parameter.

mod common;

use std::sync::Arc;

use common::{
    Credentials, TestApp, TestClock, TestDatabase, post_shuffled, usage_expected, usage_lines,
};
use reportstats::domain::state::Changes;
use reportstats::domain::stats::SpaceFilter;
use reportstats::domain::timestamp::UtcDay;
use reportstats::domain::usage::{
    DailyScope, UsageField, UsageFilters, UsageSeries, UsageSort, compute_report_usage,
    compute_usage_daily, compute_usage_series,
};
use reportstats::domain::{Event, Position, Timestamp};
use reportstats::http::Settings;
use reportstats::storage::report_usage::UsageQuery;
use reportstats::storage::{PageRequest, Store, WorkspaceId};
use serde_json::Value;

/// The usage fixture's `as_of`.
const USAGE_NOW: &str = "2026-11-20T13:45:00.000Z";

/// The fixture's events, each id once.
fn usage_events() -> Vec<Event> {
    let now = Timestamp::parse(USAGE_NOW).unwrap();
    let mut seen = std::collections::HashSet::new();
    usage_lines()
        .iter()
        .map(|line| Event::parse(line, Position::Line(1), now).unwrap())
        .filter(|event| seen.insert(event.id.clone()))
        .collect()
}

async fn spawn(database: TestDatabase) -> (TestApp, Arc<TestClock>) {
    spawn_with(database, Default::default()).await
}

async fn spawn_with(database: TestDatabase, settings: Settings) -> (TestApp, Arc<TestClock>) {
    let clock = Arc::new(TestClock::at(USAGE_NOW));
    let app = TestApp::spawn_with_clock(database, settings, clock.clone()).await;
    (app, clock)
}

/// Every row of a listing, walking `_links.next_page` from `path`.
async fn all_rows(app: &TestApp, credentials: &Credentials, path: &str) -> Vec<Value> {
    let mut next = Some(path.to_owned());
    let mut rows = Vec::new();
    let mut pages = 0;
    while let Some(path) = next.take() {
        let page = app.get_json(credentials, &path).await;
        let items = page["report_usage"].as_array().unwrap();
        assert_eq!(page["pagination"]["count"], items.len(), "{path}");
        rows.extend(items.iter().cloned());
        next = page["_links"]["next_page"]["href"]
            .as_str()
            .map(str::to_owned);
        pages += 1;
        assert!(pages < 1000, "{path}: the links never end");
    }
    rows
}

fn usage_path(credentials: &Credentials, query: &str) -> String {
    format!("/batch/{}/report_usage?{query}", credentials.workspace.name)
}

async fn the_usage_fixture_gives_its_report_usage_and_daily_series_in_any_order(
    database: TestDatabase,
) {
    let (app, _clock) = spawn(database).await;
    let expected = usage_expected();
    let lines = usage_lines();
    for seed in [1u64, 2, 3] {
        let credentials = app.create_workspace(&format!("usage{seed}")).await;
        post_shuffled(&app, &credentials, &lines, seed).await;
        for (query, key) in [
            ("per_page=3", "report_usage"),
            (
                "per_page=3&include_spaces=all",
                "report_usage_include_spaces_all",
            ),
        ] {
            let rows = all_rows(&app, &credentials, &usage_path(&credentials, query)).await;
            assert_eq!(Value::Array(rows), expected[key], "seed {seed}, {query}");
        }
        let daily = app
            .get_json(
                &credentials,
                &format!("/batch/{}/usage_daily", credentials.workspace.name),
            )
            .await;
        assert_eq!(
            daily["days"], expected["usage_daily_last_30_days"],
            "seed {seed}"
        );
        assert_eq!(daily["from"], "2026-10-22");
        assert_eq!(daily["to"], "2026-11-20");
    }
}

/// What the domain computes from the events for `query`'s sort and
/// filters on the clock's date, as JSON rows.
fn reference(
    events: &[Event],
    today: UtcDay,
    filter: SpaceFilter,
    filters: &UsageFilters,
    sort: UsageSort,
) -> Vec<Value> {
    let state = Changes::from_events(events);
    compute_report_usage(&state, events, today, filter, filters, sort)
        .into_iter()
        .map(|row| serde_json::to_value(row).unwrap())
        .collect()
}

async fn every_sort_and_filter_pages_as_the_reference_orders(database: TestDatabase) {
    // Exports read two rows at a time: each starts after its last row.
    let settings = Settings {
        export_page_rows: 2,
        ..Settings::default()
    };
    let (app, _clock) = spawn_with(database, settings).await;
    let credentials = app.create_workspace("sorted").await;
    post_shuffled(&app, &credentials, &usage_lines(), 7).await;
    let events = usage_events();
    let today = Timestamp::parse(USAGE_NOW).unwrap().utc_day();
    let no_filters = UsageFilters::default();

    for field in UsageField::ALL {
        for descending in [false, true] {
            let sort = UsageSort { field, descending };
            for (all, filter) in [
                ("", SpaceFilter::ExcludePersonal),
                ("&include_spaces=all", SpaceFilter::All),
            ] {
                let path = usage_path(&credentials, &format!("per_page=4&sort={sort}{all}"));
                let rows = all_rows(&app, &credentials, &path).await;
                let expected = reference(&events, today, filter, &no_filters, sort);
                assert_eq!(rows, expected, "{path}");
                let export = usage_path(&credentials, &format!("format=ndjson&sort={sort}{all}"));
                assert_eq!(ndjson_rows(&app, &credentials, &export).await, expected);
            }
        }
    }

    let some_space = reference(
        &events,
        today,
        SpaceFilter::All,
        &no_filters,
        UsageSort::default(),
    )[1]["space_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let filtered = [
        (
            "unviewed_days=1",
            UsageFilters {
                unviewed_days: Some(1),
                ..Default::default()
            },
        ),
        (
            "unviewed_days=7",
            UsageFilters {
                unviewed_days: Some(7),
                ..Default::default()
            },
        ),
        (
            "unviewed_days=30",
            UsageFilters {
                unviewed_days: Some(30),
                ..Default::default()
            },
        ),
        (
            "unviewed_days=3650",
            UsageFilters {
                unviewed_days: Some(3650),
                ..Default::default()
            },
        ),
        (
            &*format!("space_token={some_space}"),
            UsageFilters {
                space_token: Some(some_space.clone()),
                ..Default::default()
            },
        ),
        (
            "q=REPORT%201",
            UsageFilters {
                name_contains: Some("REPORT 1".into()),
                ..Default::default()
            },
        ),
        (
            "q=port",
            UsageFilters {
                name_contains: Some("port".into()),
                ..Default::default()
            },
        ),
        (
            "q=no%20such%20name",
            UsageFilters {
                name_contains: Some("no such name".into()),
                ..Default::default()
            },
        ),
        (
            "unviewed_days=7&q=report",
            UsageFilters {
                unviewed_days: Some(7),
                name_contains: Some("report".into()),
                ..Default::default()
            },
        ),
    ];
    for (query, filters) in &filtered {
        for sort in ["-views_90d", "name", "-days_since_last_view"] {
            let path = usage_path(
                &credentials,
                &format!("per_page=2&include_spaces=all&sort={sort}&{query}"),
            );
            let page = app.get_json(&credentials, &path).await;
            let sort = UsageSort::parse(sort).unwrap();
            let expected = reference(&events, today, SpaceFilter::All, filters, sort);
            assert_eq!(page["pagination"]["total_count"], expected.len(), "{path}");
            if let Some(next) = page["_links"]["next_page"]["href"].as_str() {
                for kept in query.split('&').chain([&*format!("sort={sort}")]) {
                    assert!(next.contains(kept), "{next} keeps {kept}");
                }
            }
            assert_eq!(
                all_rows(&app, &credentials, &path).await,
                expected,
                "{path}"
            );
            let export = usage_path(
                &credentials,
                &format!("format=ndjson&include_spaces=all&sort={sort}&{query}"),
            );
            assert_eq!(ndjson_rows(&app, &credentials, &export).await, expected);
        }
    }
}

/// The rows of an NDJSON export.
async fn ndjson_rows(app: &TestApp, credentials: &Credentials, path: &str) -> Vec<Value> {
    let response = app.get(credentials, path).await;
    assert_eq!(response.status(), 200, "{path}");
    let body = response.text().await.unwrap();
    body.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Pages after a row (what exports walk by) hold the listing's rows in its
/// order, for every sort both ways, with counts computed from the day
/// tables and kept per report, pages of one to three rows, and filters;
/// the fixture has long runs of ties and `null`s to cross.
async fn pages_after_a_row_walk_every_sort_as_pages_by_number(database: TestDatabase) {
    let store = database.open().await;
    let workspace = common::create_workspace(store.as_ref(), "walked")
        .await
        .workspace
        .id;
    let events = usage_events();
    reportstats::storage::ingest(store.as_ref(), workspace, events.clone())
        .await
        .unwrap();
    let today = Timestamp::parse(USAGE_NOW).unwrap().utc_day();
    let filters = [
        UsageFilters::default(),
        UsageFilters {
            unviewed_days: Some(7),
            name_contains: Some("report".into()),
            ..Default::default()
        },
    ];
    for kept in [false, true] {
        if kept {
            store.roll_usage_windows(workspace, today).await.unwrap();
        }
        for field in UsageField::ALL {
            for descending in [false, true] {
                let sort = UsageSort { field, descending };
                for (filter, filters) in [SpaceFilter::ExcludePersonal, SpaceFilter::All]
                    .into_iter()
                    .flat_map(|filter| filters.iter().map(move |filters| (filter, filters)))
                {
                    let state = Changes::from_events(&events);
                    let expected =
                        compute_report_usage(&state, &events, today, filter, filters, sort);
                    for per_page in 1..=3 {
                        let mut walked = Vec::new();
                        let mut after = None;
                        loop {
                            let query = UsageQuery {
                                page: PageRequest { page: 1, per_page },
                                filter,
                                today,
                                sort,
                                filters: filters.clone(),
                                after: after.clone(),
                            };
                            let rows = store.report_usage_rows(workspace, query).await.unwrap();
                            let Some(last) = rows.last() else { break };
                            after = Some(sort.cursor_after(last));
                            walked.extend(rows);
                            assert!(walked.len() <= expected.len(), "{sort} walks on");
                        }
                        assert_eq!(
                            walked, expected,
                            "{sort}, {filter:?}, {filters:?}, kept {kept}"
                        );
                    }
                }
            }
        }
    }
}

async fn the_windows_move_with_the_clock_across_day_boundaries(database: TestDatabase) {
    let (app, clock) = spawn(database).await;
    let credentials = app.create_workspace("boundaries").await;
    post_shuffled(&app, &credentials, &usage_lines(), 11).await;
    let events = usage_events();
    // The fixture's views sit on the windows' first and last days, at
    // 00:00:00.000 and 23:59:59.999: the instants around those edges.
    for instant in [
        "2026-11-20T00:00:00.000Z",
        "2026-11-20T23:59:59.999Z",
        "2026-11-21T00:00:00.000Z",
        "2026-11-14T00:00:00.000Z",
        "2026-11-13T23:59:59.999Z",
        "2026-10-22T00:00:00.000Z",
        "2026-08-23T00:00:00.000Z",
        "2027-01-01T00:00:00.000Z",
    ] {
        clock.set(instant);
        let today = Timestamp::parse(instant).unwrap().utc_day();
        let path = usage_path(&credentials, "include_spaces=all&sort=-viewers_7d");
        let sort = UsageSort::parse("-viewers_7d").unwrap();
        let expected = reference(
            &events,
            today,
            SpaceFilter::All,
            &UsageFilters::default(),
            sort,
        );
        assert_eq!(
            all_rows(&app, &credentials, &path).await,
            expected,
            "at {instant}"
        );

        let state = Changes::from_events(&events);
        let listed = compute_usage_series(
            &state,
            &events,
            today.plus_days(-89),
            today,
            DailyScope::Listed(SpaceFilter::ExcludePersonal),
        );
        let from = today.plus_days(-89);
        let daily = app
            .get_json(
                &credentials,
                &format!(
                    "/batch/{}/usage_daily?from={from}",
                    credentials.workspace.name
                ),
            )
            .await;
        assert_eq!(
            daily["days"],
            serde_json::to_value(&listed.days).unwrap(),
            "at {instant}"
        );
        // The range's distinct viewers, which no sum of its days gives.
        assert_eq!(
            daily["totals"],
            serde_json::to_value(listed.totals()).unwrap(),
            "at {instant}"
        );
    }
}

async fn usage_daily_answers_for_one_report_and_names_every_bad_parameter(database: TestDatabase) {
    let (app, _clock) = spawn(database).await;
    let credentials = app.create_workspace("daily").await;
    post_shuffled(&app, &credentials, &usage_lines(), 5).await;
    let events = usage_events();
    let state = Changes::from_events(&events);
    let name = &credentials.workspace.name;
    let rows = reference(
        &events,
        Timestamp::parse(USAGE_NOW).unwrap().utc_day(),
        SpaceFilter::All,
        &UsageFilters::default(),
        UsageSort::default(),
    );
    for row in rows.iter().take(4) {
        let id = row["report_id"].as_i64().unwrap();
        let (from, to) = (
            UtcDay::parse("2026-08-01").unwrap(),
            UtcDay::parse("2026-11-25").unwrap(),
        );
        let expected = compute_usage_daily(&state, &events, from, to, DailyScope::Report(id));
        let daily = app
            .get_json(
                &credentials,
                &format!("/batch/{name}/usage_daily?report_id={id}&from={from}&to={to}"),
            )
            .await;
        assert_eq!(
            daily["days"],
            serde_json::to_value(&expected).unwrap(),
            "report {id}"
        );
        assert_eq!(daily["days"].as_array().unwrap().len(), 117);
    }
    let missing = app
        .get(
            &credentials,
            &format!("/batch/{name}/usage_daily?report_id=999999"),
        )
        .await;
    assert_eq!(missing.status(), 404);

    for (path, named) in [
        (
            format!("/batch/{name}/report_usage?sort=report_token"),
            "`sort`",
        ),
        (
            format!("/batch/{name}/report_usage?sort=--views_7d"),
            "`sort`",
        ),
        (
            format!("/batch/{name}/report_usage?unviewed_days=0"),
            "`unviewed_days`",
        ),
        (
            format!("/batch/{name}/report_usage?unviewed_days=3651"),
            "`unviewed_days`",
        ),
        (
            format!("/batch/{name}/report_usage?unviewed_days=x"),
            "`unviewed_days`",
        ),
        (
            format!("/batch/{name}/report_usage?space_token="),
            "`space_token`",
        ),
        (
            format!("/batch/{name}/report_usage?q={}", "x".repeat(257)),
            "`q`",
        ),
        (
            format!("/batch/{name}/report_usage?per_page=0"),
            "`per_page`",
        ),
        (
            format!("/batch/{name}/report_usage?include_spaces=some"),
            "`include_spaces`",
        ),
        (
            format!("/batch/{name}/usage_daily?from=2026-13-01"),
            "`from`",
        ),
        (format!("/batch/{name}/usage_daily?to=yesterday"), "`to`"),
        (
            format!("/batch/{name}/usage_daily?from=2026-11-02&to=2026-11-01"),
            "`from`",
        ),
        (
            format!("/batch/{name}/usage_daily?from=2025-01-01&to=2026-01-02"),
            "at most 366",
        ),
        (
            format!("/batch/{name}/usage_daily?report_id=0"),
            "`report_id`",
        ),
        (
            format!("/batch/{name}/usage_daily?include_spaces=x"),
            "`include_spaces`",
        ),
    ] {
        let response = app.get(&credentials, &path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["id"], "bad_request", "{path}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(named), "{path}: {message}");
    }
    // 366 days, both ends included, is the most.
    let longest = app
        .get_json(
            &credentials,
            &format!("/batch/{name}/usage_daily?from=2025-11-20&to=2026-11-20"),
        )
        .await;
    assert_eq!(longest["days"].as_array().unwrap().len(), 366);
}

/// Runs `undo` on the database and sets its schema version back to
/// `sqlite_version` (SQLite) or `postgres_version` (PostgreSQL), so that the
/// later migrations run again when it is next opened.
async fn undo_migrations(
    database: &TestDatabase,
    [sqlite_undo, postgres_undo]: [&str; 2],
    sqlite_version: usize,
    postgres_version: usize,
) {
    match database.url.strip_prefix("sqlite://") {
        Some(path) => {
            let connection = rusqlite::Connection::open(path).unwrap();
            connection.execute_batch(sqlite_undo).unwrap();
            connection
                .pragma_update(None, "user_version", sqlite_version)
                .unwrap();
        }
        None => {
            let pool = sqlx::PgPool::connect(&database.url).await.unwrap();
            let undo = format!(
                "{postgres_undo} DELETE FROM reportstats_migrations WHERE version > {postgres_version};"
            );
            sqlx::Executor::execute(&pool, undo.as_str()).await.unwrap();
            pool.close().await;
        }
    }
}

/// The undoing of the migrations that keep sums of the usage tables: per
/// space (SQLite's 12, PostgreSQL's 8), per report window (13, 9) and per
/// scope (14, 10); and of those after them, which then run again (SQLite's
/// 15, the journal of sliced batches).
const USAGE_SUMS_UNDO: [&str; 2] = [
    "DROP TABLE sliced_batches;
        DROP TRIGGER spaces_scoped_added; DROP TRIGGER spaces_scoped_changed;
        DROP TABLE viewer_days; DROP TABLE scope_days; DROP TABLE viewer_latest;
        DROP TRIGGER reports_added; DROP TRIGGER reports_moved; DROP TRIGGER reports_windowed;
        DROP TRIGGER report_days_added; DROP TRIGGER report_days_changed;
        DROP TRIGGER report_viewer_days_added; DROP TRIGGER report_days_windowed_added;
        DROP TRIGGER report_days_windowed_changed; DROP TRIGGER report_viewer_days_windowed;
        DROP TRIGGER reports_counted; DROP TRIGGER reports_recounted;
        DROP TABLE space_days; DROP TABLE space_viewer_days; DROP TABLE space_reports;
        DROP TABLE report_windows; DROP TABLE report_viewers;
        DROP INDEX reports_live_by_views; ALTER TABLE workspaces DROP COLUMN windows_day;
        ALTER TABLE workspaces DROP COLUMN usage_sums_pending;",
    "DROP FUNCTION reportstats_space_days_scoped, reportstats_space_viewer_days_scoped,
        reportstats_viewer_days_scoped, reportstats_spaces_scoped,
        reportstats_viewer_latest, reportstats_space_day_changes, reportstats_space_viewer_changes,
        reportstats_viewer_day_changes, reportstats_space_moves, reportstats_space_locks CASCADE;
        DROP TABLE viewer_days; DROP TABLE scope_days; DROP TABLE viewer_latest;
        DROP FUNCTION reportstats_report_days_summed, reportstats_report_viewer_days_summed,
        reportstats_reports_summed, reportstats_day_changes, reportstats_report_moves,
        reportstats_report_counts, reportstats_last_view_day, reportstats_reports_windowed,
        reportstats_report_days_windowed, reportstats_report_viewer_days_windowed CASCADE;
        DROP TABLE space_days; DROP TABLE space_viewer_days; DROP TABLE space_reports;
        DROP TABLE report_windows; DROP TABLE report_viewers;
        DROP INDEX reports_live_by_views; ALTER TABLE workspaces DROP COLUMN windows_day;
        ALTER TABLE workspaces DROP COLUMN usage_sums_pending;",
];

/// Takes a database back to the schema before the sums of its usage tables:
/// what the release before them left, usage tables and all.
async fn without_usage_sums(database: &TestDatabase) {
    undo_migrations(database, USAGE_SUMS_UNDO, 11, 7).await;
}

/// Takes a database back to the schema before the usage tables (SQLite's
/// 9, PostgreSQL's 5): what the previous release left, events and all.
async fn without_usage_tables(database: &TestDatabase) {
    // The schema before them: later migrations (the dashboard's sessions,
    // the usage sums) go too, and run again.
    const UNDO: &str = "DROP TABLE report_days; DROP TABLE report_viewer_days;
        ALTER TABLE workspaces DROP COLUMN usage_filled; DROP TABLE dashboard_sessions;";
    let [sqlite_sums, postgres_sums] = USAGE_SUMS_UNDO;
    let undo = [
        format!("{sqlite_sums} {UNDO}"),
        format!("{postgres_sums} {UNDO}"),
    ];
    undo_migrations(database, [&undo[0], &undo[1]], 9, 5).await;
}

/// The listed reports' daily series over a year, in both scopes.
async fn yearly_series(
    store: &dyn Store,
    workspace: WorkspaceId,
    today: UtcDay,
) -> Vec<Option<UsageSeries>> {
    let mut series = Vec::new();
    for filter in [SpaceFilter::ExcludePersonal, SpaceFilter::All] {
        let query = reportstats::storage::usage_daily::DailyQuery {
            from: today.plus_days(-365),
            to: today,
            scope: DailyScope::Listed(filter),
        };
        series.push(store.usage_daily(workspace, query).await.unwrap());
    }
    series
}

async fn a_database_from_before_the_usage_sums_fills_them_from_its_usage(database: TestDatabase) {
    let events = usage_events();
    let today = Timestamp::parse(USAGE_NOW).unwrap().utc_day();
    let (half, rest) = events.split_at(events.len() / 2);
    let (workspace, expected) = {
        let store = database.open().await;
        let workspace = common::create_workspace(store.as_ref(), "sums")
            .await
            .workspace
            .id;
        for events in [half, rest] {
            reportstats::storage::ingest(store.as_ref(), workspace, events.to_vec())
                .await
                .unwrap();
        }
        let expected = yearly_series(store.as_ref(), workspace, today).await;
        assert!(expected.iter().flatten().any(|series| series.viewers > 0));
        (workspace, expected)
    };
    // The migration fills the sums from what half the events stored, and
    // its triggers keep them as the rest arrive again.
    {
        let store = database.open().await;
        let workspace_again = common::create_workspace(store.as_ref(), "sums_again")
            .await
            .workspace
            .id;
        reportstats::storage::ingest(store.as_ref(), workspace_again, half.to_vec())
            .await
            .unwrap();
        drop(store);
        without_usage_sums(&database).await;
        let store = database.open().await;
        assert_eq!(
            yearly_series(store.as_ref(), workspace, today).await,
            expected
        );
        reportstats::storage::ingest(store.as_ref(), workspace_again, rest.to_vec())
            .await
            .unwrap();
        assert_eq!(
            yearly_series(store.as_ref(), workspace_again, today).await,
            expected
        );
    }
}

async fn a_database_from_before_the_usage_tables_is_filled_from_its_log(database: TestDatabase) {
    let events = usage_events();
    let today = Timestamp::parse(USAGE_NOW).unwrap().utc_day();
    let everything = PageRequest {
        page: 1,
        per_page: 1000,
    };
    let query = |sort: &str| UsageQuery {
        page: everything,
        filter: SpaceFilter::All,
        today,
        sort: UsageSort::parse(sort).unwrap(),
        filters: UsageFilters::default(),
        after: None,
    };
    let daily = reportstats::storage::usage_daily::DailyQuery {
        from: today.plus_days(-365),
        to: today,
        scope: DailyScope::Listed(SpaceFilter::All),
    };
    let (workspaces, expected, expected_daily) = {
        let store = database.open().await;
        let mut workspaces = Vec::new();
        // Two workspaces, so that each is filled from its own log.
        for name in ["before", "other"] {
            let workspace = common::create_workspace(store.as_ref(), name)
                .await
                .workspace
                .id;
            for chunk in events.chunks(97) {
                reportstats::storage::ingest(store.as_ref(), workspace, chunk.to_vec())
                    .await
                    .unwrap();
            }
            workspaces.push(workspace);
        }
        let expected = store
            .report_usage(workspaces[0], query("-views_90d"))
            .await
            .unwrap();
        let expected_daily = store.usage_daily(workspaces[0], daily).await.unwrap();
        assert!(expected.items.iter().any(|row| row.viewers_90d > 0));
        (workspaces, expected, expected_daily)
    };
    without_usage_tables(&database).await;

    let store = database.open().await;
    for workspace in &workspaces {
        let filled = store
            .report_usage(*workspace, query("-views_90d"))
            .await
            .unwrap();
        assert_eq!(filled.items, expected.items);
        assert_eq!(
            store.usage_daily(*workspace, daily).await.unwrap(),
            expected_daily
        );
    }
    // Opening again fills nothing twice.
    drop(store);
    let store = database.open().await;
    let again = store
        .report_usage(workspaces[0], query("-views_90d"))
        .await
        .unwrap();
    assert_eq!(again.items, expected.items);
}

async fn get_with(
    app: &TestApp,
    credentials: &Credentials,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(path))
        .header("Authorization", credentials.basic_header());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// The answer's status and `ETag`, and whether a request naming that tag
/// gets a 304.
async fn tag_of(app: &TestApp, credentials: &Credentials, path: &str) -> String {
    let response = get_with(app, credentials, path, &[]).await;
    assert_eq!(response.status(), 200, "{path}");
    let tag = response.headers()["etag"].to_str().unwrap().to_owned();
    let again = get_with(app, credentials, path, &[("If-None-Match", &tag)]).await;
    assert_eq!(again.status(), 304, "{path} with If-None-Match: {tag}");
    assert!(again.bytes().await.unwrap().is_empty());
    tag
}

async fn report_usage_exports_and_revalidates_until_an_event_or_the_next_day(
    database: TestDatabase,
) {
    let (app, clock) = spawn(database).await;
    let credentials = app.create_workspace("exported").await;
    let name = &credentials.workspace.name;
    // Names hold quotes, commas and semicolons (events refuse control
    // characters in names; `tests/export.rs` has newlines in other fields).
    let tricky = [
        "Churn, \"legacy\" model",
        "Semi;colon, 'single'",
        "Plain",
        "Ünïcode “quotes”, too",
    ];
    let mut lines = Vec::new();
    for (index, title) in tricky.iter().enumerate() {
        let id = 7001 + index;
        lines.push(serde_json::json!({"id": format!("c{index}"), "type": "report_created",
            "occurred_at": "2026-11-01T10:00:00Z", "report_id": id, "report_token": format!("tok{index}"),
            "space_token": "sp", "email": "ann@acme.com", "name": title}).to_string());
        for view in 0..=index {
            lines.push(
                serde_json::json!({"id": format!("v{index}-{view}"), "type": "report_viewed",
                "occurred_at": format!("2026-11-{:02}T12:00:00Z", 14 + view), "report_id": id,
                "email": format!("u{view}@acme.com")})
                .to_string(),
            );
        }
    }
    app.post_ndjson_ok(&credentials, &lines).await;

    for query in [
        "sort=-views_7d",
        "sort=name&q=e",
        "unviewed_days=6&sort=-last_viewed_at",
    ] {
        let rows = all_rows(
            &app,
            &credentials,
            &usage_path(&credentials, &format!("per_page=1&{query}")),
        )
        .await;
        assert!(!rows.is_empty(), "{query}");
        let csv_path = usage_path(&credentials, &format!("format=csv&per_page=1&{query}"));
        let response = get_with(&app, &credentials, &csv_path, &[]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-disposition"],
            format!("attachment; filename=\"{name}-report_usage.csv\"").as_str()
        );
        let body = response.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        // The columns are the fields in SPEC section 8's order.
        let fields = [
            "report_id",
            "report_token",
            "name",
            "space_token",
            "creator_email",
            "created_at",
            "total_views_count",
            "views_7d",
            "views_30d",
            "views_90d",
            "total_viewers_count",
            "viewers_7d",
            "viewers_30d",
            "viewers_90d",
            "last_viewed_at",
            "days_since_last_view",
            "runs_30d",
            "failed_runs_30d",
            "active_schedules_count",
        ];
        assert_eq!(header, fields, "{query}");
        let records: Vec<Vec<String>> = reader
            .records()
            .map(|record| record.unwrap().iter().map(str::to_owned).collect())
            .collect();
        let expected: Vec<Vec<String>> = rows
            .iter()
            .map(|row| {
                fields
                    .iter()
                    .map(|field| match &row[*field] {
                        Value::Null => String::new(),
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(records, expected, "{query}");

        let ndjson = get_with(
            &app,
            &credentials,
            &usage_path(&credentials, query),
            &[("Accept", "application/x-ndjson")],
        )
        .await
        .text()
        .await
        .unwrap();
        let parsed: Vec<Value> = ndjson
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(parsed, rows, "{query}");
    }

    // Tags hold until an event is stored, and until the date rolls over.
    let page = usage_path(&credentials, "sort=-views_7d");
    let export = usage_path(&credentials, "sort=-views_7d&format=csv");
    let daily = format!("/batch/{name}/usage_daily");
    let before = [
        tag_of(&app, &credentials, &page).await,
        tag_of(&app, &credentials, &export).await,
        tag_of(&app, &credentials, &daily).await,
    ];
    clock.set("2026-11-20T23:59:59.999Z");
    let later_that_day = [
        tag_of(&app, &credentials, &page).await,
        tag_of(&app, &credentials, &export).await,
        tag_of(&app, &credentials, &daily).await,
    ];
    assert_eq!(later_that_day, before, "the same date, the same answers");
    clock.set("2026-11-21T00:00:00.000Z");
    let next_day = [
        tag_of(&app, &credentials, &page).await,
        tag_of(&app, &credentials, &export).await,
        tag_of(&app, &credentials, &daily).await,
    ];
    for (old, new) in before.iter().zip(&next_day) {
        assert_ne!(old, new, "the windows moved");
        let stale = get_with(&app, &credentials, &page, &[("If-None-Match", old)]).await;
        assert_eq!(stale.status(), 200);
    }
    let view = serde_json::json!({"id": "late", "type": "report_viewed",
        "occurred_at": "2026-11-20T08:00:00Z", "report_id": 7001, "email": "new@acme.com"});
    app.post_ndjson_ok(&credentials, &[view.to_string()]).await;
    let after_event = [
        tag_of(&app, &credentials, &page).await,
        tag_of(&app, &credentials, &export).await,
        tag_of(&app, &credentials, &daily).await,
    ];
    for (old, new) in next_day.iter().zip(&after_event) {
        assert_ne!(old, new, "a new view");
    }
}

on_every_backend!(
    pages_after_a_row_walk_every_sort_as_pages_by_number,
    report_usage_exports_and_revalidates_until_an_event_or_the_next_day,
    a_database_from_before_the_usage_tables_is_filled_from_its_log,
    a_database_from_before_the_usage_sums_fills_them_from_its_usage,
    the_usage_fixture_gives_its_report_usage_and_daily_series_in_any_order,
    every_sort_and_filter_pages_as_the_reference_orders,
    the_windows_move_with_the_clock_across_day_boundaries,
    usage_daily_answers_for_one_report_and_names_every_bad_parameter,
);
