//! The declarations checked column by column, by name.

use std::collections::BTreeMap;

use super::*;
use crate::domain::{Event, Position};

fn changes_of(lines: &[&str]) -> Changes {
    let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
    let events: Vec<Event> = lines
        .iter()
        .map(|line| Event::parse(line, Position::Line(1), now).unwrap())
        .collect();
    Changes::from_events(&events)
}

fn micros(at: &str) -> SqlValue<'static> {
    SqlValue::Int(Some(Timestamp::parse(at).unwrap().as_micros()))
}

type NamedRow<'a> = BTreeMap<String, SqlValue<'a>>;

/// Every table's rows, each column name to value.
fn rows_by_name(changes: &Changes) -> BTreeMap<&'static str, Vec<NamedRow<'_>>> {
    table_rows(changes)
        .into_iter()
        .map(|table| {
            let name = table.upsert.table;
            let columns: Vec<String> = table.upsert.columns.iter().map(|c| c.0.clone()).collect();
            let rows = table
                .rows
                .map(|row| columns.iter().cloned().zip(row).collect())
                .collect();
            (name, rows)
        })
        .collect()
}

/// The one row of `table` whose `key` column holds `value`.
fn row<'r, 'a>(
    rows: &'r BTreeMap<&'static str, Vec<NamedRow<'a>>>,
    table: &str,
    (key, value): (&str, SqlValue<'_>),
) -> &'r NamedRow<'a> {
    let matching: Vec<_> = rows[table].iter().filter(|row| row[key] == value).collect();
    assert_eq!(matching.len(), 1, "{table} where {key} = {value:?}");
    matching[0]
}

fn expect<'a>(pairs: &[(&str, SqlValue<'a>)]) -> BTreeMap<String, SqlValue<'a>> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), *value))
        .collect()
}

use SqlValue::{Bool as B, Int as I, Text as T};

/// Each column is checked by its name against a value that only it can
/// hold, so a value bound to the wrong column, or a column left out,
/// fails.
#[test]
fn every_column_holds_the_value_its_declaration_names() {
    let changes = changes_of(&[
        r#"{"id":"e1","type":"report_created","occurred_at":"2026-10-01T00:00:00Z","report_id":7,"report_token":"rtok","space_token":"sp","email":"ann@b.c","name":"first name","description":"first description"}"#,
        r#"{"id":"e2","type":"report_edited","occurred_at":"2026-10-02T00:00:00Z","report_id":7,"email":"dee@b.c","name":"edited name"}"#,
        r#"{"id":"e3","type":"report_viewed","occurred_at":"2026-10-03T00:00:00Z","report_id":7,"email":"vic@b.c"}"#,
        r#"{"id":"e4","type":"report_viewed","occurred_at":"2026-10-04T00:00:00Z","report_id":7}"#,
        r#"{"id":"e5","type":"report_run","occurred_at":"2026-10-05T00:00:00Z","report_id":7,"run_token":"run-m","trigger":"manual","email":"ron@b.c"}"#,
        r#"{"id":"e6","type":"report_run","occurred_at":"2026-10-06T00:00:00Z","report_id":7,"run_token":"run-s","trigger":"scheduled","schedule_token":"stok","state":"failed"}"#,
        r#"{"id":"e7","type":"report_moved","occurred_at":"2026-10-07T00:00:00Z","report_id":7,"space_token":"sp2"}"#,
        r#"{"id":"e8","type":"schedule_created","occurred_at":"2026-10-08T00:00:00Z","schedule_token":"stok","report_id":7,"email":"sam@b.c"}"#,
        r#"{"id":"e9","type":"schedule_paused","occurred_at":"2026-10-09T00:00:00Z","schedule_token":"stok"}"#,
        r#"{"id":"ea","type":"exploration_created","occurred_at":"2026-10-10T00:00:00Z","exploration_token":"xtok","report_id":8,"email":"xan@b.c"}"#,
        r#"{"id":"eb","type":"exploration_deleted","occurred_at":"2026-10-11T00:00:00Z","exploration_token":"xtok"}"#,
        r#"{"id":"ec","type":"space_upserted","occurred_at":"2026-10-12T00:00:00Z","space_token":"sp","name":"Space name","description":"space description","space_type":"private"}"#,
        r#"{"id":"ed","type":"space_deleted","occurred_at":"2026-10-13T00:00:00Z","space_token":"sp"}"#,
        r#"{"id":"ee","type":"member_upserted","occurred_at":"2026-10-14T00:00:00Z","email":"mem@b.c","username":"memuser","name":"Mem Ber"}"#,
        r#"{"id":"ef","type":"member_removed","occurred_at":"2026-10-15T00:00:00Z","email":"mem@b.c"}"#,
        r#"{"id":"f0","type":"query_created","occurred_at":"2026-10-16T00:00:00Z","query_token":"qtok","report_id":7,"name":"first query name","raw_query":"select 1","data_source_token":"dtok","email":"qan@b.c"}"#,
        r#"{"id":"f1","type":"query_edited","occurred_at":"2026-10-17T00:00:00Z","query_token":"qtok","email":"qed@b.c","raw_query":"select 2"}"#,
        r#"{"id":"f2","type":"chart_created","occurred_at":"2026-10-18T00:00:00Z","chart_token":"ctok","query_token":"qtok","chart_type":"bar","email":"can@b.c"}"#,
        r#"{"id":"f3","type":"chart_edited","occurred_at":"2026-10-19T00:00:00Z","chart_token":"ctok","email":"ced@b.c","chart_title":"chart title"}"#,
        r#"{"id":"f4","type":"chart_deleted","occurred_at":"2026-10-20T00:00:00Z","chart_token":"ctok"}"#,
        r#"{"id":"f5","type":"member_upserted","occurred_at":"2026-10-21T00:00:00Z","email":"ann@b.c"}"#,
        r#"{"id":"f6","type":"report_viewed","occurred_at":"2026-10-22T00:00:00Z","report_id":9,"email":"ann@b.c"}"#,
        r#"{"id":"f7","type":"report_run","occurred_at":"2026-10-23T00:00:00Z","report_id":9,"run_token":"run-a","trigger":"manual","email":"ann@b.c"}"#,
        r#"{"id":"f8","type":"exploration_created","occurred_at":"2026-10-24T00:00:00Z","exploration_token":"xtok2","report_id":7,"email":"ann@b.c"}"#,
    ]);
    let rows = rows_by_name(&changes);
    assert_eq!(
        *row(&rows, "reports", ("report_id", I(Some(7)))),
        expect(&[
            ("report_id", I(Some(7))),
            ("definition_at", micros("2026-10-01T00:00:00Z")),
            ("definition_event", T(Some("e1"))),
            ("report_token", T(Some("rtok"))),
            ("creator_email", T(Some("ann@b.c"))),
            ("name_at", micros("2026-10-02T00:00:00Z")),
            ("name_event", T(Some("e2"))),
            ("name", T(Some("edited name"))),
            ("description_at", micros("2026-10-01T00:00:00Z")),
            ("description_event", T(Some("e1"))),
            ("description", T(Some("first description"))),
            ("space_at", micros("2026-10-07T00:00:00Z")),
            ("space_event", T(Some("e7"))),
            ("space_token", T(Some("sp2"))),
            ("last_run_at", micros("2026-10-06T00:00:00Z")),
            ("last_run_event", T(Some("e6"))),
            ("last_run_token", T(Some("run-s"))),
            ("last_run_state", T(Some("failed"))),
            ("deleted", B(Some(false))),
            ("view_count", I(Some(2))),
            ("last_viewed_at", micros("2026-10-04T00:00:00Z")),
            ("created_at", micros("2026-10-01T00:00:00Z")),
            ("edited_at", micros("2026-10-02T00:00:00Z")),
            ("last_successful_run_at", micros("2026-10-05T00:00:00Z")),
        ])
    );
    assert_eq!(
        *row(&rows, "report_editors", ("email", T(Some("dee@b.c")))),
        expect(&[("report_id", I(Some(7))), ("email", T(Some("dee@b.c")))])
    );
    assert_eq!(
        *row(&rows, "report_manual_runs", ("email", T(Some("ron@b.c")))),
        expect(&[
            ("report_id", I(Some(7))),
            ("email", T(Some("ron@b.c"))),
            ("last_run_at", micros("2026-10-05T00:00:00Z")),
        ])
    );
    assert_eq!(
        *row(
            &rows,
            "report_scheduled_runs",
            ("schedule_token", T(Some("stok")))
        ),
        expect(&[
            ("report_id", I(Some(7))),
            ("schedule_token", T(Some("stok")))
        ])
    );
    assert_eq!(
        *row(&rows, "schedules", ("schedule_token", T(Some("stok")))),
        expect(&[
            ("schedule_token", T(Some("stok"))),
            ("definition_at", micros("2026-10-08T00:00:00Z")),
            ("definition_event", T(Some("e8"))),
            ("report_id", I(Some(7))),
            ("creator_email", T(Some("sam@b.c"))),
            ("paused_at", micros("2026-10-09T00:00:00Z")),
            ("paused_event", T(Some("e9"))),
            ("paused", B(Some(true))),
            ("deleted", B(Some(false))),
        ])
    );
    assert_eq!(
        *row(
            &rows,
            "explorations",
            ("exploration_token", T(Some("xtok")))
        ),
        expect(&[
            ("exploration_token", T(Some("xtok"))),
            ("definition_at", micros("2026-10-10T00:00:00Z")),
            ("definition_event", T(Some("ea"))),
            ("report_id", I(Some(8))),
            ("creator_email", T(Some("xan@b.c"))),
            ("deleted", B(Some(true))),
        ])
    );
    assert_eq!(
        *row(&rows, "spaces", ("space_token", T(Some("sp")))),
        expect(&[
            ("space_token", T(Some("sp"))),
            ("space_id", I(Some(space_id("sp")))),
            ("definition_at", micros("2026-10-12T00:00:00Z")),
            ("definition_event", T(Some("ec"))),
            ("name", T(Some("Space name"))),
            ("description", T(Some("space description"))),
            ("space_type", T(Some("private"))),
            ("deleted", B(Some(true))),
        ])
    );
    assert_eq!(
        *row(&rows, "members", ("email", T(Some("mem@b.c")))),
        expect(&[
            ("email", T(Some("mem@b.c"))),
            ("profile_at", micros("2026-10-14T00:00:00Z")),
            ("profile_event", T(Some("ee"))),
            ("username", T(Some("memuser"))),
            ("name", T(Some("Mem Ber"))),
            ("present_at", micros("2026-10-15T00:00:00Z")),
            ("present_event", T(Some("ef"))),
            ("present", B(Some(false))),
            ("member_id", I(Some(derived_id("mem@b.c")))),
            ("activated_at", micros("2026-10-14T00:00:00Z")),
            ("last_report_created_at", I(None)),
            ("last_report_viewed_at", I(None)),
            ("last_report_run_at", I(None)),
            ("last_exploration_created_at", I(None)),
            ("last_active_at", I(None)),
        ])
    );
    assert_eq!(
        *row(&rows, "members", ("email", T(Some("ann@b.c")))),
        expect(&[
            ("email", T(Some("ann@b.c"))),
            ("profile_at", micros("2026-10-21T00:00:00Z")),
            ("profile_event", T(Some("f5"))),
            ("username", T(None)),
            ("name", T(None)),
            ("present_at", micros("2026-10-21T00:00:00Z")),
            ("present_event", T(Some("f5"))),
            ("present", B(Some(true))),
            ("member_id", I(Some(derived_id("ann@b.c")))),
            ("activated_at", micros("2026-10-21T00:00:00Z")),
            ("last_report_created_at", micros("2026-10-01T00:00:00Z")),
            ("last_report_viewed_at", micros("2026-10-22T00:00:00Z")),
            ("last_report_run_at", micros("2026-10-23T00:00:00Z")),
            (
                "last_exploration_created_at",
                micros("2026-10-24T00:00:00Z")
            ),
            ("last_active_at", micros("2026-10-24T00:00:00Z")),
        ])
    );
    let ann_days: Vec<_> = rows["member_active_days"]
        .iter()
        .filter(|row| row["email"] == T(Some("ann@b.c")))
        .map(|row| row["day"])
        .collect();
    let day = |at: &str| {
        I(Some(
            Timestamp::parse(at).unwrap().utc_day().days_since_epoch(),
        ))
    };
    assert_eq!(
        ann_days,
        [
            "2026-10-01T00:00:00Z",
            "2026-10-22T00:00:00Z",
            "2026-10-23T00:00:00Z",
            "2026-10-24T00:00:00Z"
        ]
        .map(day)
    );
    assert_eq!(
        *row(&rows, "queries", ("query_token", T(Some("qtok")))),
        expect(&[
            ("query_token", T(Some("qtok"))),
            ("query_id", I(Some(derived_id("qtok")))),
            ("definition_at", micros("2026-10-16T00:00:00Z")),
            ("definition_event", T(Some("f0"))),
            ("report_id", I(Some(7))),
            ("creator_email", T(Some("qan@b.c"))),
            ("name_at", micros("2026-10-16T00:00:00Z")),
            ("name_event", T(Some("f0"))),
            ("name", T(Some("first query name"))),
            ("raw_query_at", micros("2026-10-17T00:00:00Z")),
            ("raw_query_event", T(Some("f1"))),
            ("raw_query", T(Some("select 2"))),
            ("data_source_at", micros("2026-10-16T00:00:00Z")),
            ("data_source_event", T(Some("f0"))),
            ("data_source_token", T(Some("dtok"))),
            ("deleted", B(Some(false))),
            ("created_at", micros("2026-10-16T00:00:00Z")),
            ("updated_at", micros("2026-10-17T00:00:00Z")),
        ])
    );
    assert_eq!(
        *row(&rows, "charts", ("chart_token", T(Some("ctok")))),
        expect(&[
            ("chart_token", T(Some("ctok"))),
            ("chart_id", I(Some(derived_id("ctok")))),
            ("definition_at", micros("2026-10-18T00:00:00Z")),
            ("definition_event", T(Some("f2"))),
            ("query_token", T(Some("qtok"))),
            ("creator_email", T(Some("can@b.c"))),
            ("chart_type_at", micros("2026-10-18T00:00:00Z")),
            ("chart_type_event", T(Some("f2"))),
            ("chart_type", T(Some("bar"))),
            ("title_at", micros("2026-10-19T00:00:00Z")),
            ("title_event", T(Some("f3"))),
            ("chart_title", T(Some("chart title"))),
            ("deleted", B(Some(true))),
        ])
    );
    // A report created in a space, or moved to one, mentions it: its row
    // exists, unwritten, so that `/spaces` can list it.
    assert_eq!(
        *row(&rows, "spaces", ("space_token", T(Some("sp2")))),
        expect(&[
            ("space_token", T(Some("sp2"))),
            ("space_id", I(Some(space_id("sp2")))),
            ("definition_at", I(None)),
            ("definition_event", T(None)),
            ("name", T(None)),
            ("description", T(None)),
            ("space_type", T(None)),
            ("deleted", B(Some(false))),
        ])
    );
}

/// A register the events never wrote binds NULL in all its columns, so
/// its merge leaves the stored register as it is.
#[test]
fn an_unwritten_register_binds_null_throughout() {
    let changes = changes_of(&[
        r#"{"id":"v","type":"report_viewed","occurred_at":"2026-10-03T00:00:00Z","report_id":7}"#,
    ]);
    let rows = rows_by_name(&changes);
    let report = row(&rows, "reports", ("report_id", I(Some(7))));
    for column in [
        "definition_at",
        "definition_event",
        "report_token",
        "name",
        "space_token",
    ] {
        assert!(
            matches!(report[column], I(None) | T(None)),
            "{column}: {:?}",
            report[column]
        );
    }
}

#[test]
fn keys_are_the_key_columns_in_order() {
    let keys: Vec<(&str, Vec<String>)> = table_rows(&Changes::default())
        .into_iter()
        .map(|table| (table.upsert.table, table.upsert.key))
        .collect();
    let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        keys,
        [
            ("reports", owned(&["report_id"])),
            ("report_editors", owned(&["report_id", "email"])),
            ("report_manual_runs", owned(&["report_id", "email"])),
            (
                "report_scheduled_runs",
                owned(&["report_id", "schedule_token"])
            ),
            ("report_days", owned(&["report_id", "day"])),
            (
                "report_viewer_days",
                owned(&["report_id", "day", "viewer_id"])
            ),
            ("schedules", owned(&["schedule_token"])),
            ("explorations", owned(&["exploration_token"])),
            ("spaces", owned(&["space_token"])),
            ("members", owned(&["email"])),
            ("member_active_days", owned(&["email", "day"])),
            ("queries", owned(&["query_id", "query_token"])),
            ("charts", owned(&["chart_token"])),
        ]
    );
}
