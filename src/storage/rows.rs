//! A batch's [`Changes`] as rows of the state tables, for any backend.
//!
//! This is the one place that maps the domain's merged state onto columns;
//! each backend only binds the values, row by row (SQLite) or column by
//! column (PostgreSQL). Tables come in a fixed order and rows in key order,
//! so concurrent PostgreSQL writers lock rows in the same order and cannot
//! deadlock on each other.

use super::sql::{self, Upsert};
use crate::domain::Timestamp;
use crate::domain::listings::space_id;
use crate::domain::state::{Changes, Register};

/// One bound value. `None` is SQL `NULL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlValue<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
    Bool(Option<bool>),
}

/// An upsert and the rows to merge with it; each row holds one value per
/// column of `upsert.columns`, `workspace_id` aside.
pub struct TableRows<'a> {
    pub upsert: Upsert,
    pub rows: Vec<Vec<SqlValue<'a>>>,
}

fn int(value: i64) -> SqlValue<'static> {
    SqlValue::Int(Some(value))
}

fn at(value: Option<Timestamp>) -> SqlValue<'static> {
    SqlValue::Int(value.map(Timestamp::as_micros))
}

fn text(value: &str) -> SqlValue<'_> {
    SqlValue::Text(Some(value))
}

fn flag(value: bool) -> SqlValue<'static> {
    SqlValue::Bool(Some(value))
}

/// A register's stamp columns and its value columns (all NULL if absent).
fn register<'a, T>(
    register: &'a Option<Register<T>>,
    values: impl FnOnce(Option<&'a T>) -> Vec<SqlValue<'a>>,
) -> Vec<SqlValue<'a>> {
    let mut columns = match register {
        Some(register) => vec![
            at(Some(register.stamp.at)),
            text(register.stamp.event.as_str()),
        ],
        None => vec![SqlValue::Int(None), SqlValue::Text(None)],
    };
    columns.extend(values(register.as_ref().map(|register| &register.value)));
    columns
}

/// The rows of every state table that `changes` touches, in lock order.
pub fn table_rows(changes: &Changes) -> Vec<TableRows<'_>> {
    let mut reports = Vec::with_capacity(changes.reports.len());
    let mut editors = Vec::new();
    let mut manual_runs = Vec::new();
    let mut scheduled_runs = Vec::new();
    for (report_id, report) in &changes.reports {
        let id = report_id.get();
        reports.push(
            [
                vec![int(id)],
                register(&report.definition, |definition| {
                    vec![
                        SqlValue::Text(definition.map(|d| d.report_token.as_str())),
                        SqlValue::Text(definition.map(|d| d.creator.as_str())),
                    ]
                }),
                register(&report.name, |name| {
                    vec![SqlValue::Text(name.map(|n| n.as_str()))]
                }),
                register(&report.description, |description| {
                    vec![SqlValue::Text(
                        description.and_then(|d| d.as_ref()).map(|d| d.as_str()),
                    )]
                }),
                register(&report.space, |space| {
                    vec![SqlValue::Text(space.map(|s| s.as_str()))]
                }),
                register(&report.last_run, |run| {
                    vec![
                        SqlValue::Text(run.map(|run| run.run_token.as_str())),
                        SqlValue::Text(run.map(|run| run.state.as_str())),
                    ]
                }),
                vec![
                    flag(report.deleted),
                    int(i64::try_from(report.views).unwrap_or(i64::MAX)),
                    at(report.last_viewed_at),
                    at(report.created_at),
                    at(report.edited_at),
                    at(report.last_successful_run_at),
                ],
            ]
            .concat(),
        );
        editors.extend(
            report
                .editors
                .iter()
                .map(|email| vec![int(id), text(email.as_str())]),
        );
        manual_runs.extend(
            report
                .manual_runs
                .iter()
                .map(|(email, latest)| vec![int(id), text(email.as_str()), at(Some(*latest))]),
        );
        scheduled_runs.extend(
            report
                .scheduled_runs
                .iter()
                .map(|token| vec![int(id), text(token.as_str())]),
        );
    }

    let schedules = changes
        .schedules
        .iter()
        .map(|(token, schedule)| {
            [
                vec![text(token.as_str())],
                register(&schedule.definition, |link| {
                    vec![
                        SqlValue::Int(link.map(|link| link.report_id.get())),
                        SqlValue::Text(link.map(|link| link.creator.as_str())),
                    ]
                }),
                register(&schedule.paused, |paused| {
                    vec![flag(paused.copied().unwrap_or(false))]
                }),
                vec![flag(schedule.deleted)],
            ]
            .concat()
        })
        .collect();

    let explorations = changes
        .explorations
        .iter()
        .map(|(token, exploration)| {
            [
                vec![text(token.as_str())],
                register(&exploration.definition, |link| {
                    vec![
                        SqlValue::Int(link.map(|link| link.report_id.get())),
                        SqlValue::Text(link.map(|link| link.creator.as_str())),
                    ]
                }),
                vec![flag(exploration.deleted)],
            ]
            .concat()
        })
        .collect();

    let spaces = changes
        .spaces
        .iter()
        .map(|(token, space)| {
            [
                vec![text(token.as_str()), int(space_id(token.as_str()))],
                register(&space.definition, |definition| {
                    vec![
                        SqlValue::Text(definition.map(|d| d.name.as_str())),
                        SqlValue::Text(
                            definition
                                .and_then(|d| d.description.as_ref())
                                .map(|d| d.as_str()),
                        ),
                        SqlValue::Text(definition.map(|d| d.space_type.as_str())),
                    ]
                }),
                vec![flag(space.deleted)],
            ]
            .concat()
        })
        .collect();

    let members = changes
        .members
        .iter()
        .map(|(email, member)| {
            [
                vec![text(email.as_str())],
                register(&member.profile, |profile| {
                    vec![
                        SqlValue::Text(
                            profile
                                .and_then(|p| p.username.as_ref())
                                .map(|u| u.as_str()),
                        ),
                        SqlValue::Text(profile.and_then(|p| p.name.as_ref()).map(|n| n.as_str())),
                    ]
                }),
                register(&member.present, |present| {
                    vec![SqlValue::Bool(present.copied())]
                }),
            ]
            .concat()
        })
        .collect();

    vec![
        TableRows {
            upsert: sql::reports(),
            rows: reports,
        },
        TableRows {
            upsert: sql::report_editors(),
            rows: editors,
        },
        TableRows {
            upsert: sql::report_manual_runs(),
            rows: manual_runs,
        },
        TableRows {
            upsert: sql::report_scheduled_runs(),
            rows: scheduled_runs,
        },
        TableRows {
            upsert: sql::schedules(),
            rows: schedules,
        },
        TableRows {
            upsert: sql::explorations(),
            rows: explorations,
        },
        TableRows {
            upsert: sql::spaces(),
            rows: spaces,
        },
        TableRows {
            upsert: sql::members(),
            rows: members,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Event, Position};

    #[test]
    fn every_row_has_one_value_per_column_of_the_right_type() {
        let lines = [
            r#"{"id":"1","type":"report_created","report_id":1,"report_token":"t","space_token":"s","email":"a@b.c","name":"n"}"#,
            r#"{"id":"2","type":"report_edited","report_id":1,"email":"d@b.c","description":"d"}"#,
            r#"{"id":"3","type":"report_run","report_id":1,"run_token":"r","trigger":"manual","email":"a@b.c"}"#,
            r#"{"id":"4","type":"report_run","report_id":1,"run_token":"r","trigger":"scheduled","schedule_token":"s"}"#,
            r#"{"id":"5","type":"schedule_paused","schedule_token":"s"}"#,
            r#"{"id":"6","type":"exploration_created","exploration_token":"x","report_id":1,"email":"a@b.c"}"#,
            r#"{"id":"7","type":"space_upserted","space_token":"s","name":"S"}"#,
            r#"{"id":"8","type":"member_removed","email":"a@b.c"}"#,
        ];
        let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let events: Vec<Event> = lines
            .iter()
            .map(|line| Event::parse(line, Position::Line(1), now).unwrap())
            .collect();
        let changes = Changes::from_events(&events);
        for table in table_rows(&changes) {
            assert_eq!(table.rows.len(), 1, "{}", table.upsert.table);
            for row in &table.rows {
                assert_eq!(
                    row.len(),
                    table.upsert.columns.len(),
                    "{}",
                    table.upsert.table
                );
                for (value, (column, column_type)) in row.iter().zip(&table.upsert.columns) {
                    let matches = matches!(
                        (value, column_type),
                        (SqlValue::Int(_), sql::ColumnType::BigInt)
                            | (SqlValue::Text(_), sql::ColumnType::Text)
                            | (SqlValue::Bool(_), sql::ColumnType::Bool)
                    );
                    assert!(matches, "{}.{column}: {value:?}", table.upsert.table);
                }
            }
        }
    }
}
