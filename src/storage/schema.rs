//! The state tables, each declared once.
//!
//! A declaration lists a table's columns in order, and for each its SQL
//! type, its merge rule (SPEC section 3: a last-writer-wins register, a
//! final flag, a set member, a counter, the earliest or latest instant) and
//! how its value is taken from a batch's [`Changes`]. Everything else is
//! derived from it: the upsert statements of both dialects
//! ([`Upsert`], written by [`crate::storage::sql`]) and the rows a batch
//! binds to them ([`table_rows`]). A column cannot be bound in one place
//! and forgotten in another, and nothing matches columns by position.
//!
//! Adding a column to an entity is one line here and its fold rule in
//! [`crate::domain::state`], plus the migration that creates it:
//! `tests/schema.rs` checks on both backends that the migrated tables have
//! exactly the declared columns, with the declared types.

use crate::domain::Timestamp;
use crate::domain::listings::space_id;
use crate::domain::names::{Email, ReportId, Token};
use crate::domain::state::{
    Changes, ExplorationChanges, MemberChanges, Register, ReportChanges, ScheduleChanges,
    SpaceChanges, Stamp,
};
use crate::storage::rows::{SqlValue, TableRows};
use crate::storage::sql::{ColumnType, Merge, Upsert};

use ColumnType::{BigInt, Bool, Text};

/// How a column's stored value merges with an incoming row's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Part of the primary key, after `workspace_id`.
    Key,
    /// A function of the key: written with the row, never changed.
    OfKey,
    /// The time of the write a register holds (`{register}_at`).
    RegisterAt,
    /// The event of the write a register holds (`{register}_event`), which
    /// breaks ties in time.
    RegisterEvent,
    /// A value of a register: replaced with the register's write.
    RegisterValue,
    /// Once true, true for good (deletions are final).
    Final,
    /// Adds up.
    Counter,
    /// Keeps the later instant.
    Latest,
    /// Keeps the earlier instant.
    Earliest,
}

/// Reads one column's value from the source of a row (`R`, e.g. a report's
/// id and changes).
type Value<'a, R> = Box<dyn Fn(R) -> SqlValue<'a> + Send + Sync + 'a>;

/// One declared column.
pub struct Column<'a, R> {
    pub name: String,
    pub sql_type: ColumnType,
    pub rule: Rule,
    value: Value<'a, R>,
}

impl<'a, R> Column<'a, R> {
    /// A column whose value `value` reads from the row's source.
    pub fn new(
        name: &str,
        sql_type: ColumnType,
        rule: Rule,
        value: impl Fn(R) -> SqlValue<'a> + Send + Sync + 'a,
    ) -> Self {
        Column {
            name: name.to_owned(),
            sql_type,
            rule,
            value: Box::new(value),
        }
    }
}

/// A value column of a register (see [`Table::register`]).
fn value<'a, R>(
    name: &str,
    sql_type: ColumnType,
    value: impl Fn(R) -> SqlValue<'a> + Send + Sync + 'a,
) -> Column<'a, R> {
    Column::new(name, sql_type, Rule::RegisterValue, value)
}

/// A table's declaration. `R` is what one row is made from.
pub struct Table<'a, R> {
    pub name: &'static str,
    pub columns: Vec<Column<'a, R>>,
    merges: Vec<Merge>,
}

impl<'a, R: Copy + 'a> Table<'a, R> {
    fn new(name: &'static str) -> Self {
        Table {
            name,
            columns: Vec::new(),
            merges: Vec::new(),
        }
    }

    fn column(
        mut self,
        name: &str,
        sql_type: ColumnType,
        rule: Rule,
        value: impl Fn(R) -> SqlValue<'a> + Send + Sync + 'a,
    ) -> Self {
        let merge = match rule {
            Rule::Key | Rule::OfKey => None,
            Rule::Final => Some(Merge::flag(self.name, name)),
            Rule::Counter => Some(Merge::sum(self.name, name)),
            Rule::Latest => Some(Merge::later(self.name, name)),
            Rule::Earliest => Some(Merge::earlier(self.name, name)),
            Rule::RegisterAt | Rule::RegisterEvent | Rule::RegisterValue => {
                unreachable!(
                    "{}.{name}: registers are declared with `register`",
                    self.name
                )
            }
        };
        self.merges.extend(merge);
        self.columns.push(Column::new(name, sql_type, rule, value));
        self
    }

    fn key(
        self,
        name: &str,
        sql_type: ColumnType,
        value: impl Fn(R) -> SqlValue<'a> + Send + Sync + 'a,
    ) -> Self {
        self.column(name, sql_type, Rule::Key, value)
    }

    /// A last-writer-wins register: the columns `{name}_at` and
    /// `{name}_event` (the write's [`Stamp`], from `stamp`), then `values`,
    /// all replaced together by a write with a larger stamp.
    fn register<const N: usize>(
        mut self,
        name: &str,
        stamp: fn(R) -> Option<&'a Stamp>,
        values: [Column<'a, R>; N],
    ) -> Self {
        let at = format!("{name}_at");
        let event = format!("{name}_event");
        let value_names: Vec<&str> = values.iter().map(|value| value.name.as_str()).collect();
        self.merges
            .push(Merge::register(self.name, &at, &event, &value_names));
        self.columns
            .push(Column::new(&at, BigInt, Rule::RegisterAt, move |row| {
                SqlValue::Int(stamp(row).map(|stamp| stamp.at.as_micros()))
            }));
        self.columns
            .push(Column::new(&event, Text, Rule::RegisterEvent, move |row| {
                SqlValue::Text(stamp(row).map(|stamp| stamp.event.as_str()))
            }));
        self.columns.extend(values);
        self
    }

    /// The upsert that merges this table's rows.
    pub fn upsert(&self) -> Upsert {
        Upsert {
            table: self.name,
            columns: self
                .columns
                .iter()
                .map(|column| (column.name.clone(), column.sql_type))
                .collect(),
            key: self
                .columns
                .iter()
                .filter(|column| column.rule == Rule::Key)
                .map(|column| column.name.clone())
                .collect(),
            merges: self.merges.clone(),
        }
    }

    /// The row `source` makes: one value per column, in order.
    pub fn row(&self, source: R) -> Vec<SqlValue<'a>> {
        self.columns
            .iter()
            .map(|column| (column.value)(source))
            .collect()
    }

    /// The rows of `sources`, made one at a time as the merge goes: made
    /// all at once, they raised the peak memory of imports (BENCHMARKS.md).
    fn rows(self, sources: impl Iterator<Item = R> + Send + 'a) -> TableRows<'a> {
        let upsert = self.upsert();
        TableRows {
            upsert,
            rows: Box::new(sources.map(move |source| self.row(source))),
        }
    }
}

fn int(value: i64) -> SqlValue<'static> {
    SqlValue::Int(Some(value))
}

fn at(value: Option<Timestamp>) -> SqlValue<'static> {
    SqlValue::Int(value.map(Timestamp::as_micros))
}

fn text(value: Option<&str>) -> SqlValue<'_> {
    SqlValue::Text(value)
}

fn flag(value: bool) -> SqlValue<'static> {
    SqlValue::Bool(Some(value))
}

/// The stamp of a register's write, if it has one.
fn stamp<T>(register: Option<&Register<T>>) -> Option<&Stamp> {
    register.map(|register| &register.stamp)
}

/// The value of a register's write, if it has one.
fn held<T>(register: Option<&Register<T>>) -> Option<&T> {
    register.map(|register| &register.value)
}

type ReportSource<'a> = (&'a ReportId, &'a ReportChanges);

pub fn reports<'a>() -> Table<'a, ReportSource<'a>> {
    Table::new("reports")
        .key("report_id", BigInt, |(id, _): ReportSource| int(id.get()))
        .register(
            "definition",
            |(_, report)| stamp(report.definition.as_deref()),
            [
                value("report_token", Text, |(_, report): ReportSource<'a>| {
                    text(held(report.definition.as_deref()).map(|d| d.report_token.as_str()))
                }),
                value("creator_email", Text, |(_, report): ReportSource<'a>| {
                    text(held(report.definition.as_deref()).map(|d| d.creator.as_str()))
                }),
            ],
        )
        .register(
            "name",
            |(_, report)| stamp(report.name.as_deref()),
            [value("name", Text, |(_, report): ReportSource<'a>| {
                text(held(report.name.as_deref()).map(|name| name.as_str()))
            })],
        )
        .register(
            "description",
            |(_, report)| stamp(report.description.as_deref()),
            [value(
                "description",
                Text,
                |(_, report): ReportSource<'a>| {
                    text(
                        held(report.description.as_deref())
                            .and_then(Option::as_ref)
                            .map(|description| description.as_str()),
                    )
                },
            )],
        )
        .register(
            "space",
            |(_, report)| stamp(report.space.as_deref()),
            [value(
                "space_token",
                Text,
                |(_, report): ReportSource<'a>| {
                    text(held(report.space.as_deref()).map(|space| space.as_str()))
                },
            )],
        )
        .register(
            "last_run",
            |(_, report)| stamp(report.last_run.as_deref()),
            [
                value("last_run_token", Text, |(_, report): ReportSource<'a>| {
                    text(held(report.last_run.as_deref()).map(|run| run.run_token.as_str()))
                }),
                value("last_run_state", Text, |(_, report): ReportSource<'a>| {
                    text(held(report.last_run.as_deref()).map(|run| run.state.as_str()))
                }),
            ],
        )
        .column("deleted", Bool, Rule::Final, |(_, report)| {
            flag(report.deleted)
        })
        .column("view_count", BigInt, Rule::Counter, |(_, report)| {
            int(i64::try_from(report.views).unwrap_or(i64::MAX))
        })
        .column("last_viewed_at", BigInt, Rule::Latest, |(_, report)| {
            at(report.last_viewed_at)
        })
        .column("created_at", BigInt, Rule::Earliest, |(_, report)| {
            at(report.created_at)
        })
        .column("edited_at", BigInt, Rule::Latest, |(_, report)| {
            at(report.edited_at)
        })
        .column(
            "last_successful_run_at",
            BigInt,
            Rule::Latest,
            |(_, report)| at(report.last_successful_run_at),
        )
}

type EditorSource<'a> = (ReportId, &'a Email);

/// Members who edited a report: a set, so a row is all key.
pub fn report_editors<'a>() -> Table<'a, EditorSource<'a>> {
    Table::new("report_editors")
        .key("report_id", BigInt, |(id, _): EditorSource| int(id.get()))
        .key("email", Text, |(_, email)| text(Some(email.as_str())))
}

type ManualRunSource<'a> = (ReportId, &'a (Email, Timestamp));

/// Each member's latest manual run of a report.
pub fn report_manual_runs<'a>() -> Table<'a, ManualRunSource<'a>> {
    Table::new("report_manual_runs")
        .key(
            "report_id",
            BigInt,
            |(id, _): ManualRunSource| int(id.get()),
        )
        .key("email", Text, |(_, (email, _))| text(Some(email.as_str())))
        .column("last_run_at", BigInt, Rule::Latest, |(_, (_, latest))| {
            at(Some(*latest))
        })
}

type ScheduledRunSource<'a> = (ReportId, &'a Token);

/// Schedules that ran a report: a set.
pub fn report_scheduled_runs<'a>() -> Table<'a, ScheduledRunSource<'a>> {
    Table::new("report_scheduled_runs")
        .key("report_id", BigInt, |(id, _): ScheduledRunSource| {
            int(id.get())
        })
        .key("schedule_token", Text, |(_, token)| {
            text(Some(token.as_str()))
        })
}

type ScheduleSource<'a> = (&'a Token, &'a ScheduleChanges);

pub fn schedules<'a>() -> Table<'a, ScheduleSource<'a>> {
    Table::new("schedules")
        .key("schedule_token", Text, |(token, _): ScheduleSource| {
            text(Some(token.as_str()))
        })
        .register(
            "definition",
            |(_, schedule)| stamp(schedule.definition.as_ref()),
            [
                value("report_id", BigInt, |(_, schedule): ScheduleSource<'a>| {
                    SqlValue::Int(held(schedule.definition.as_ref()).map(|l| l.report_id.get()))
                }),
                value(
                    "creator_email",
                    Text,
                    |(_, schedule): ScheduleSource<'a>| {
                        text(held(schedule.definition.as_ref()).map(|l| l.creator.as_str()))
                    },
                ),
            ],
        )
        .register(
            "paused",
            |(_, schedule)| stamp(schedule.paused.as_ref()),
            [value(
                "paused",
                Bool,
                |(_, schedule): ScheduleSource<'a>| {
                    flag(held(schedule.paused.as_ref()).is_some_and(|paused| *paused))
                },
            )],
        )
        .column("deleted", Bool, Rule::Final, |(_, schedule)| {
            flag(schedule.deleted)
        })
}

type ExplorationSource<'a> = (&'a Token, &'a ExplorationChanges);

pub fn explorations<'a>() -> Table<'a, ExplorationSource<'a>> {
    Table::new("explorations")
        .key(
            "exploration_token",
            Text,
            |(token, _): ExplorationSource| text(Some(token.as_str())),
        )
        .register(
            "definition",
            |(_, exploration)| stamp(exploration.definition.as_ref()),
            [
                value(
                    "report_id",
                    BigInt,
                    |(_, exploration): ExplorationSource<'a>| {
                        SqlValue::Int(
                            held(exploration.definition.as_ref()).map(|l| l.report_id.get()),
                        )
                    },
                ),
                value(
                    "creator_email",
                    Text,
                    |(_, exploration): ExplorationSource<'a>| {
                        text(held(exploration.definition.as_ref()).map(|l| l.creator.as_str()))
                    },
                ),
            ],
        )
        .column("deleted", Bool, Rule::Final, |(_, exploration)| {
            flag(exploration.deleted)
        })
}

type SpaceSource<'a> = (&'a Token, &'a SpaceChanges);

pub fn spaces<'a>() -> Table<'a, SpaceSource<'a>> {
    Table::new("spaces")
        .key("space_token", Text, |(token, _): SpaceSource| {
            text(Some(token.as_str()))
        })
        .column("space_id", BigInt, Rule::OfKey, |(token, _)| {
            int(space_id(token.as_str()))
        })
        .register(
            "definition",
            |(_, space)| stamp(space.definition.as_ref()),
            [
                value("name", Text, |(_, space): SpaceSource<'a>| {
                    text(held(space.definition.as_ref()).map(|d| d.name.as_str()))
                }),
                value("description", Text, |(_, space): SpaceSource<'a>| {
                    text(
                        held(space.definition.as_ref())
                            .and_then(|d| d.description.as_ref())
                            .map(|description| description.as_str()),
                    )
                }),
                value("space_type", Text, |(_, space): SpaceSource<'a>| {
                    text(held(space.definition.as_ref()).map(|d| d.space_type.as_str()))
                }),
            ],
        )
        .column("deleted", Bool, Rule::Final, |(_, space)| {
            flag(space.deleted)
        })
}

type MemberSource<'a> = (&'a Email, &'a MemberChanges);

pub fn members<'a>() -> Table<'a, MemberSource<'a>> {
    Table::new("members")
        .key("email", Text, |(email, _): MemberSource| {
            text(Some(email.as_str()))
        })
        .register(
            "profile",
            |(_, member)| stamp(member.profile.as_ref()),
            [
                value("username", Text, |(_, member): MemberSource<'a>| {
                    text(
                        held(member.profile.as_ref())
                            .and_then(|p| p.username.as_ref())
                            .map(|username| username.as_str()),
                    )
                }),
                value("name", Text, |(_, member): MemberSource<'a>| {
                    text(
                        held(member.profile.as_ref())
                            .and_then(|p| p.name.as_ref())
                            .map(|name| name.as_str()),
                    )
                }),
            ],
        )
        .register(
            "present",
            |(_, member)| stamp(member.present.as_ref()),
            [value("present", Bool, |(_, member): MemberSource<'a>| {
                SqlValue::Bool(held(member.present.as_ref()).copied())
            })],
        )
}

/// The rows of every state table that `changes` touches. Tables come in a
/// fixed order and rows in key order, so concurrent PostgreSQL writers lock
/// rows in the same order and cannot deadlock on each other.
pub fn table_rows(changes: &Changes) -> Vec<TableRows<'_>> {
    let reports = &changes.reports;
    vec![
        self::reports().rows(reports.iter()),
        report_editors().rows(
            reports
                .iter()
                .flat_map(|(id, report)| report.editors.iter().map(move |email| (*id, email))),
        ),
        report_manual_runs().rows(
            reports
                .iter()
                .flat_map(|(id, report)| report.manual_runs.iter().map(move |run| (*id, run))),
        ),
        report_scheduled_runs().rows(
            reports.iter().flat_map(|(id, report)| {
                report.scheduled_runs.iter().map(move |token| (*id, token))
            }),
        ),
        schedules().rows(changes.schedules.iter()),
        explorations().rows(changes.explorations.iter()),
        spaces().rows(changes.spaces.iter()),
        members().rows(changes.members.iter()),
    ]
}

#[cfg(test)]
mod tests {
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
                let columns: Vec<String> =
                    table.upsert.columns.iter().map(|c| c.0.clone()).collect();
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
}
