//! A batch's [`Changes`] as rows of the state tables, for any backend.
//!
//! This is the one place that maps the domain's merged state onto columns;
//! each backend only binds the values, row by row (SQLite) or column by
//! column (PostgreSQL). Tables come in a fixed order and rows in key order,
//! so concurrent PostgreSQL writers lock rows in the same order and cannot
//! deadlock on each other.

use super::sql::{self, MergeMask, Neutral, Upsert};
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
/// column of `upsert.columns`, `workspace_id` aside. Rows are made one at a
/// time as the merge goes: made all at once, they raised the peak memory of
/// a 1M-event import from 180 MB to 256.
pub struct TableRows<'a> {
    pub upsert: Upsert,
    pub rows: Box<dyn Iterator<Item = Vec<SqlValue<'a>>> + Send + 'a>,
}

impl SqlValue<'_> {
    /// Whether this incoming value leaves the stored row as it is under a
    /// merge that is neutral at `neutral`.
    pub fn is_neutral(self, neutral: Neutral) -> bool {
        matches!(
            (self, neutral),
            (
                SqlValue::Int(None) | SqlValue::Text(None) | SqlValue::Bool(None),
                _
            ) | (SqlValue::Bool(Some(false)), Neutral::False)
                | (SqlValue::Int(Some(0)), Neutral::Zero)
        )
    }
}

/// Picks, for each row of one upsert, the merges it needs.
pub struct MergePicker {
    inputs: Vec<(usize, Neutral)>,
}

impl MergePicker {
    pub fn new(upsert: &Upsert) -> Self {
        let inputs = upsert
            .merge_inputs()
            .into_iter()
            .zip(upsert.merges.iter().map(|merge| merge.neutral))
            .collect();
        MergePicker { inputs }
    }

    /// The merges `row` needs: those for which it brings more than the
    /// neutral value. The others would leave the stored row as it is.
    pub fn merges(&self, row: &[SqlValue<'_>]) -> MergeMask {
        self.inputs
            .iter()
            .enumerate()
            .filter(|(_, (input, neutral))| !row[*input].is_neutral(*neutral))
            .fold(0, |mask, (index, _)| mask | 1 << index)
    }
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
    register: Option<&'a Register<T>>,
    values: impl FnOnce(Option<&'a T>) -> Vec<SqlValue<'a>>,
) -> Vec<SqlValue<'a>> {
    let mut columns = match register {
        Some(register) => vec![
            at(Some(register.stamp.at)),
            text(register.stamp.event.as_str()),
        ],
        None => vec![SqlValue::Int(None), SqlValue::Text(None)],
    };
    columns.extend(values(register.map(|register| &register.value)));
    columns
}

/// The rows of every state table that `changes` touches, in lock order.
pub fn table_rows(changes: &Changes) -> Vec<TableRows<'_>> {
    let reports = changes.reports.iter().map(|(report_id, report)| {
        [
            vec![int(report_id.get())],
            register(report.definition.as_deref(), |definition| {
                vec![
                    SqlValue::Text(definition.map(|d| d.report_token.as_str())),
                    SqlValue::Text(definition.map(|d| d.creator.as_str())),
                ]
            }),
            register(report.name.as_deref(), |name| {
                vec![SqlValue::Text(name.map(|n| n.as_str()))]
            }),
            register(report.description.as_deref(), |description| {
                vec![SqlValue::Text(
                    description.and_then(|d| d.as_ref()).map(|d| d.as_str()),
                )]
            }),
            register(report.space.as_deref(), |space| {
                vec![SqlValue::Text(space.map(|s| s.as_str()))]
            }),
            register(report.last_run.as_deref(), |run| {
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
        .concat()
    });
    let editors = changes.reports.iter().flat_map(|(report_id, report)| {
        report
            .editors
            .iter()
            .map(|email| vec![int(report_id.get()), text(email.as_str())])
    });
    let manual_runs = changes.reports.iter().flat_map(|(report_id, report)| {
        report.manual_runs.iter().map(|(email, latest)| {
            vec![
                int(report_id.get()),
                text(email.as_str()),
                at(Some(*latest)),
            ]
        })
    });
    let scheduled_runs = changes.reports.iter().flat_map(|(report_id, report)| {
        report
            .scheduled_runs
            .iter()
            .map(|token| vec![int(report_id.get()), text(token.as_str())])
    });

    let schedules = changes.schedules.iter().map(|(token, schedule)| {
        [
            vec![text(token.as_str())],
            register(schedule.definition.as_ref(), |link| {
                vec![
                    SqlValue::Int(link.map(|link| link.report_id.get())),
                    SqlValue::Text(link.map(|link| link.creator.as_str())),
                ]
            }),
            register(schedule.paused.as_ref(), |paused| {
                vec![flag(paused.copied().unwrap_or(false))]
            }),
            vec![flag(schedule.deleted)],
        ]
        .concat()
    });

    let explorations = changes.explorations.iter().map(|(token, exploration)| {
        [
            vec![text(token.as_str())],
            register(exploration.definition.as_ref(), |link| {
                vec![
                    SqlValue::Int(link.map(|link| link.report_id.get())),
                    SqlValue::Text(link.map(|link| link.creator.as_str())),
                ]
            }),
            vec![flag(exploration.deleted)],
        ]
        .concat()
    });

    let spaces = changes.spaces.iter().map(|(token, space)| {
        [
            vec![text(token.as_str()), int(space_id(token.as_str()))],
            register(space.definition.as_ref(), |definition| {
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
    });

    let members = changes.members.iter().map(|(email, member)| {
        [
            vec![text(email.as_str())],
            register(member.profile.as_ref(), |profile| {
                vec![
                    SqlValue::Text(
                        profile
                            .and_then(|p| p.username.as_ref())
                            .map(|u| u.as_str()),
                    ),
                    SqlValue::Text(profile.and_then(|p| p.name.as_ref()).map(|n| n.as_str())),
                ]
            }),
            register(member.present.as_ref(), |present| {
                vec![SqlValue::Bool(present.copied())]
            }),
        ]
        .concat()
    });

    fn table<'a>(
        upsert: Upsert,
        rows: impl Iterator<Item = Vec<SqlValue<'a>>> + Send + 'a,
    ) -> TableRows<'a> {
        TableRows {
            upsert,
            rows: Box::new(rows),
        }
    }
    vec![
        table(sql::reports(), reports),
        table(sql::report_editors(), editors),
        table(sql::report_manual_runs(), manual_runs),
        table(sql::report_scheduled_runs(), scheduled_runs),
        table(sql::schedules(), schedules),
        table(sql::explorations(), explorations),
        table(sql::spaces(), spaces),
        table(sql::members(), members),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Event, Position};

    /// The merges a row of `table` needs, by input column.
    fn merges_of(changes: &Changes, table: &str) -> Vec<String> {
        let table = table_rows(changes)
            .into_iter()
            .find(|rows| rows.upsert.table == table)
            .unwrap();
        let picker = MergePicker::new(&table.upsert);
        let rows: Vec<_> = table.rows.collect();
        assert_eq!(rows.len(), 1);
        let mask = picker.merges(&rows[0]);
        table
            .upsert
            .merges
            .iter()
            .enumerate()
            .filter(|(index, _)| mask & (1 << index) != 0)
            .map(|(_, merge)| merge.input.clone())
            .collect()
    }

    #[test]
    fn a_row_needs_only_the_merges_it_brings_something_for() {
        let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
        let parse = |line: &str| Event::parse(line, Position::Line(1), now).unwrap();
        let viewed = parse(r#"{"id":"1","type":"report_viewed","report_id":1}"#);
        assert_eq!(
            merges_of(&Changes::from_events([&viewed]), "reports"),
            ["view_count", "last_viewed_at"]
        );
        let deleted = parse(r#"{"id":"2","type":"report_deleted","report_id":1}"#);
        assert_eq!(
            merges_of(&Changes::from_events([&deleted]), "reports"),
            ["deleted"]
        );
        // A resume writes `paused = false`: the register is set, so it merges.
        let resumed = parse(r#"{"id":"3","type":"schedule_resumed","schedule_token":"s"}"#);
        assert_eq!(
            merges_of(&Changes::from_events([&resumed]), "schedules"),
            ["paused_at"]
        );
    }

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
            let rows: Vec<_> = table.rows.collect();
            assert_eq!(rows.len(), 1, "{}", table.upsert.table);
            for row in &rows {
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
