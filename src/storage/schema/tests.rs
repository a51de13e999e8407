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

/// Every table's one row, column name to value.
fn rows_by_name(changes: &Changes) -> BTreeMap<&'static str, BTreeMap<String, SqlValue<'_>>> {
    table_rows(changes)
        .into_iter()
        .filter_map(|table| {
            let name = table.upsert.table;
            let columns: Vec<String> = table.upsert.columns.iter().map(|c| c.0.clone()).collect();
            let mut rows: Vec<_> = table.rows.collect();
            assert!(rows.len() <= 1, "{name}");
            let row = rows.pop()?;
            Some((name, columns.into_iter().zip(row).collect()))
        })
        .collect()
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
    ]);
    let rows = rows_by_name(&changes);
    assert_eq!(
        rows["reports"],
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
        rows["report_editors"],
        expect(&[("report_id", I(Some(7))), ("email", T(Some("dee@b.c")))])
    );
    assert_eq!(
        rows["report_manual_runs"],
        expect(&[
            ("report_id", I(Some(7))),
            ("email", T(Some("ron@b.c"))),
            ("last_run_at", micros("2026-10-05T00:00:00Z")),
        ])
    );
    assert_eq!(
        rows["report_scheduled_runs"],
        expect(&[
            ("report_id", I(Some(7))),
            ("schedule_token", T(Some("stok")))
        ])
    );
    assert_eq!(
        rows["schedules"],
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
        rows["explorations"],
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
        rows["spaces"],
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
        rows["members"],
        expect(&[
            ("email", T(Some("mem@b.c"))),
            ("profile_at", micros("2026-10-14T00:00:00Z")),
            ("profile_event", T(Some("ee"))),
            ("username", T(Some("memuser"))),
            ("name", T(Some("Mem Ber"))),
            ("present_at", micros("2026-10-15T00:00:00Z")),
            ("present_event", T(Some("ef"))),
            ("present", B(Some(false))),
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
    let report = &rows["reports"];
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
            ("schedules", owned(&["schedule_token"])),
            ("explorations", owned(&["exploration_token"])),
            ("spaces", owned(&["space_token"])),
            ("members", owned(&["email"])),
        ]
    );
}
