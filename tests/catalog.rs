//! The other batch endpoints over a real socket: reports, spaces and
//! members, with report_stats' paging, links, auth and tenancy.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::{TestApp, TestDatabase, fixture_lines};
use reportstats::domain::listings::space_id;
use serde_json::{Value, json};

const REPORT_FIELDS: [&str; 16] = [
    "id",
    "token",
    "name",
    "description",
    "created_at",
    "edited_at",
    "updated_at",
    "last_run_at",
    "last_run_token",
    "last_run_state",
    "last_successfully_run_at",
    "last_viewed_at",
    "creator_email",
    "space_id",
    "space_token",
    "report_url",
];

async fn walk(
    app: &TestApp,
    credentials: &common::Credentials,
    first: &str,
    key: &str,
) -> Vec<Value> {
    let mut next = Some(first.to_owned());
    let mut rows = Vec::new();
    while let Some(path) = next.take() {
        let page = app.get_json(credentials, &path).await;
        rows.extend(page[key].as_array().unwrap().iter().cloned());
        next = page["_links"]["next_page"]["href"]
            .as_str()
            .map(str::to_owned);
    }
    rows
}

async fn reports_list_the_same_reports_as_report_stats_with_every_field(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    app.post_ndjson_ok(&acme, &fixture_lines()).await;
    for query in ["?per_page=5", "?per_page=5&include_spaces=all"] {
        let reports = walk(
            &app,
            &acme,
            &format!("/batch/acme/reports{query}"),
            "reports",
        )
        .await;
        let stats = walk(
            &app,
            &acme,
            &format!("/batch/acme/report_stats{query}"),
            "report_stats",
        )
        .await;
        assert_eq!(reports.len(), stats.len());
        for (report, stat) in reports.iter().zip(&stats) {
            let fields: BTreeSet<&str> = report
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(fields, BTreeSet::from(REPORT_FIELDS), "{report}");
            assert_eq!(report["id"], stat["report_id"]);
            assert_eq!(report["token"], stat["report_token"]);
            assert_eq!(
                report["report_url"],
                format!(
                    "/api/acme/reports/{}",
                    stat["report_token"].as_str().unwrap()
                )
            );
            let space = report["space_token"].as_str().unwrap();
            assert_eq!(report["space_id"], space_id(space));
            assert!(
                stat["editors_emails"]
                    .as_array()
                    .unwrap()
                    .contains(&report["creator_email"])
            );
            assert!(report["updated_at"].as_str() >= report["created_at"].as_str());
        }
    }
    // Report 1001 as the fixture tells it: created in sp11x0002 by user4,
    // edited since, viewed ten times.
    let first = app.get_json(&acme, "/batch/acme/reports?per_page=1").await;
    let report = &first["reports"][0];
    assert_eq!(report["id"], 1001);
    assert_eq!(report["token"], "9d95bd299753");
    assert_eq!(report["name"], "Report 0");
    assert_eq!(report["description"], Value::Null);
    assert_eq!(report["creator_email"], "user4@company4.com");
    assert_eq!(report["created_at"], "2026-10-22T00:54:11.018Z");
    assert!(report["last_viewed_at"].is_string());
    assert_eq!(
        first["_links"]["next_page"]["href"],
        "/batch/acme/reports?page=2&per_page=1"
    );
}

async fn spaces_leave_out_personal_ones_unless_asked_and_carry_stable_ids(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    app.post_ndjson_ok(&acme, &fixture_lines()).await;
    let shared = walk(&app, &acme, "/batch/acme/spaces?per_page=2", "spaces").await;
    let all = walk(
        &app,
        &acme,
        "/batch/acme/spaces?include_spaces=all",
        "spaces",
    )
    .await;
    assert!(shared.iter().all(|space| space["space_type"] != "private"));
    assert!(all.iter().any(|space| space["space_type"] == "private"));
    assert_eq!(all.len(), 8, "the fixture upserts eight spaces");
    let ids: Vec<i64> = all
        .iter()
        .map(|space| space["id"].as_i64().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ordered by id: {ids:?}"
    );
    for space in &all {
        let token = space["token"].as_str().unwrap();
        assert_eq!(space["id"], space_id(token));
        assert_eq!(space["space_url"], format!("/api/acme/spaces/{token}"));
        assert!(space.get("description").is_some());
    }
    // Every listed report's space is listed: what catalog tools join on.
    let tokens: BTreeSet<&str> = shared
        .iter()
        .map(|space| space["token"].as_str().unwrap())
        .collect();
    for report in walk(&app, &acme, "/batch/acme/reports", "reports").await {
        assert!(
            tokens.contains(report["space_token"].as_str().unwrap()),
            "{report}"
        );
    }

    // A deleted space keeps its row while reports listed are in it, so
    // that joins never break, and its reports stay; a deleted space
    // without reports is gone.
    let before =
        app.get_json(&acme, "/batch/acme/report_stats").await["pagination"]["total_count"].clone();
    let deleted = shared[0]["token"].as_str().unwrap();
    let events = [
        json!({"id": "del-space", "type": "space_deleted", "space_token": deleted}),
        json!({"id": "empty", "type": "space_upserted", "space_token": "empty", "name": "Empty"}),
    ];
    app.post_ndjson_ok(&acme, &events.map(|event| event.to_string()))
        .await;
    let with_empty = walk(&app, &acme, "/batch/acme/spaces", "spaces").await;
    assert_eq!(with_empty.len(), shared.len() + 1);
    let gone = json!({"id": "del-empty", "type": "space_deleted", "space_token": "empty"});
    app.post_ndjson_ok(&acme, &[gone.to_string()]).await;
    let after = walk(&app, &acme, "/batch/acme/spaces", "spaces").await;
    assert_eq!(
        after, shared,
        "the deleted space with reports keeps its row"
    );
    assert_eq!(
        app.get_json(&acme, "/batch/acme/report_stats").await["pagination"]["total_count"],
        before
    );
}

async fn members_list_those_upserted_and_not_removed(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    app.post_ndjson_ok(&acme, &fixture_lines()).await;
    let members = walk(&app, &acme, "/batch/acme/members?per_page=2", "members").await;
    let ids: Vec<i64> = members.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "by id: {ids:?}"
    );
    let mut emails: Vec<&str> = members
        .iter()
        .map(|member| member["member_email"].as_str().unwrap())
        .collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        [
            "user0@company4.com",
            "user1@company4.com",
            "user2@company4.com",
            "user3@company4.com",
            "user4@company4.com"
        ]
    );
    let user4 = members
        .iter()
        .find(|member| member["member_email"] == "user4@company4.com")
        .unwrap();
    assert_eq!(user4["member_username"], "user4");
    assert_eq!(user4["name"], "User4");
    assert_eq!(user4["state"], "active");
    for field in ["token", "member_token"] {
        let token = user4[field].as_str().unwrap();
        assert!(
            token.len() == 12 && token.bytes().all(|b| b.is_ascii_hexdigit()),
            "{field}: {token}"
        );
    }
    assert_ne!(user4["token"], user4["member_token"]);

    let removal = json!({"id": "bye", "type": "member_removed", "email": "USER2@company4.com",
        "occurred_at": "2026-10-31T00:00:00Z"});
    app.post_ndjson_ok(&acme, &[removal.to_string()]).await;
    let page = app.get_json(&acme, "/batch/acme/members").await;
    assert_eq!(page["pagination"]["total_count"], 4);
    assert!(
        page["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|member| member["member_email"] != "user2@company4.com")
    );
}

async fn the_other_endpoints_share_auth_tenancy_and_paging_errors(database: TestDatabase) {
    let app = TestApp::spawn(database).await;
    let acme = app.create_workspace("acme").await;
    let globex = app.create_workspace("globex").await;
    let bearer = app.mint(&acme).await.bearer_header();
    for resource in ["reports", "spaces", "members", "queries", "charts"] {
        let own = format!("/batch/acme/{resource}");
        assert_eq!(app.get_with(Some(&bearer), &own).await.status(), 200);
        assert_eq!(app.get_with(None, &own).await.status(), 401);
        assert_eq!(app.get(&globex, &own).await.status(), 404);
        assert_eq!(
            app.get(&acme, &format!("{own}?per_page=1001"))
                .await
                .status(),
            400
        );
        let empty = app.get_json(&acme, &format!("{own}?page=3")).await;
        assert_eq!(empty[resource], json!([]));
        assert_eq!(empty["pagination"]["total_pages"], 0);
    }
}

on_every_backend!(
    reports_list_the_same_reports_as_report_stats_with_every_field,
    spaces_leave_out_personal_ones_unless_asked_and_carry_stable_ids,
    members_list_those_upserted_and_not_removed,
    the_other_endpoints_share_auth_tenancy_and_paging_errors,
);
