//! The state tables, each declared once.
//!
//! A declaration lists a table's columns in order, and for each its SQL
//! type, its merge rule (SPEC section 3: a last-writer-wins register, a
//! final flag, a set member, a counter, the earliest or latest instant) and
//! how its value is taken from a batch's [`Changes`]. Everything else is
//! derived from it: the upsert statements of both dialects
//! ([`Upsert`](crate::storage::sql::Upsert), written by [`crate::storage::sql`]) and the rows a batch
//! binds to them ([`table_rows`]). A column cannot be bound in one place
//! and forgotten in another, and nothing matches columns by position.
//!
//! Adding a column to an entity is one line here and its fold rule in
//! [`crate::domain::state`], plus the migration that creates it:
//! `tests/schema.rs` checks on both backends that the migrated tables have
//! exactly the declared columns, with the declared types.

use crate::domain::Timestamp;
use crate::domain::listings::{derived_id, space_id};
use crate::domain::names::{Email, ReportId, Token};
use crate::domain::state::{
    Changes, ChartChanges, DayActivity, ExplorationChanges, MemberChanges, QueryChanges,
    ReportChanges, ScheduleChanges, SpaceChanges,
};
use crate::storage::rows::{SqlValue, TableRows};
use crate::storage::sql::ColumnType;

mod table;

use ColumnType::{BigInt, Bool, Text};
pub use table::{Column, Rule, Table};
use table::{at, flag, held, int, stamp, text, value};

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

type DaySource<'a> = (ReportId, &'a (i64, DayActivity));

/// A report's views and runs on one UTC date (days since the Unix epoch):
/// counters, which the windows and daily series of SPEC section 8 add up.
/// Merged whole: no index holds a counter, and its triggers fire on any
/// update.
pub fn report_days<'a>() -> Table<'a, DaySource<'a>> {
    let count = |n: u64| int(i64::try_from(n).unwrap_or(i64::MAX));
    Table::new("report_days")
        .merged_whole()
        .key("report_id", BigInt, |(id, _): DaySource| int(id.get()))
        .key("day", BigInt, |(_, (day, _))| int(*day))
        .column("views", BigInt, Rule::Counter, move |(_, (_, day))| {
            count(day.views)
        })
        .column(
            "manual_runs",
            BigInt,
            Rule::Counter,
            move |(_, (_, day))| count(day.manual_runs),
        )
        .column(
            "scheduled_runs",
            BigInt,
            Rule::Counter,
            move |(_, (_, day))| count(day.scheduled_runs),
        )
        .column(
            "failed_runs",
            BigInt,
            Rule::Counter,
            move |(_, (_, day))| count(day.failed_runs),
        )
}

type ViewerDaySource<'a> = (ReportId, &'a (i64, i64));

/// Who viewed a report on which UTC date: a set, so a row is all key. The
/// viewer is the id derived from the email (as a member's is): only how
/// many distinct viewers there are is ever read, and an integer key makes
/// these rows, a million for the 2M-event bench stream, cheaper to write
/// and to keep (BENCHMARKS.md, "Usage over time").
pub fn report_viewer_days<'a>() -> Table<'a, ViewerDaySource<'a>> {
    Table::new("report_viewer_days")
        .key(
            "report_id",
            BigInt,
            |(id, _): ViewerDaySource| int(id.get()),
        )
        .key("day", BigInt, |(_, (day, _))| int(*day))
        .key("viewer_id", BigInt, |(_, (_, viewer))| int(*viewer))
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
        .row_by_row()
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
        .row_by_row()
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
        .row_by_row()
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
        .column("member_id", BigInt, Rule::OfKey, |(email, _)| {
            int(derived_id(email.as_str()))
        })
        .column("activated_at", BigInt, Rule::Earliest, |(_, member)| {
            at(member.activated_at)
        })
        .column(
            "last_report_created_at",
            BigInt,
            Rule::Latest,
            |(_, member)| at(member.last_report_created_at),
        )
        .column(
            "last_report_viewed_at",
            BigInt,
            Rule::Latest,
            |(_, member)| at(member.last_report_viewed_at),
        )
        .column("last_report_run_at", BigInt, Rule::Latest, |(_, member)| {
            at(member.last_report_run_at)
        })
        .column(
            "last_exploration_created_at",
            BigInt,
            Rule::Latest,
            |(_, member)| at(member.last_exploration_created_at),
        )
        .column("last_active_at", BigInt, Rule::Latest, |(_, member)| {
            at(member.last_active_at)
        })
}

type ActiveDaySource<'a> = (&'a Email, i64);

/// The UTC dates on which a member was active: a set.
pub fn member_active_days<'a>() -> Table<'a, ActiveDaySource<'a>> {
    Table::new("member_active_days")
        .key("email", Text, |(email, _): ActiveDaySource| {
            text(Some(email.as_str()))
        })
        .key("day", BigInt, |(_, day)| int(day))
}

type QuerySource<'a> = (&'a Token, &'a QueryChanges);

pub fn queries<'a>() -> Table<'a, QuerySource<'a>> {
    // The id leads the key (a function of the token, so the token alone is
    // still what is unique): SQLite stores the rows in the order `/queries`
    // pages them, and a page reads neighbouring rows, not one page of the
    // table for each query (BENCHMARKS.md, part 5).
    Table::new("queries")
        .row_by_row()
        .key("query_id", BigInt, |(token, _): QuerySource| {
            int(derived_id(token.as_str()))
        })
        .key("query_token", Text, |(token, _)| text(Some(token.as_str())))
        .register(
            "definition",
            |(_, query)| stamp(query.definition.as_ref()),
            [
                value("report_id", BigInt, |(_, query): QuerySource<'a>| {
                    SqlValue::Int(held(query.definition.as_ref()).map(|d| d.report_id.get()))
                }),
                value("creator_email", Text, |(_, query): QuerySource<'a>| {
                    text(held(query.definition.as_ref()).map(|d| d.creator.as_str()))
                }),
            ],
        )
        .register(
            "name",
            |(_, query)| stamp(query.name.as_ref()),
            [value("name", Text, |(_, query): QuerySource<'a>| {
                text(held(query.name.as_ref()).map(|name| name.as_str()))
            })],
        )
        .register(
            "raw_query",
            |(_, query)| stamp(query.raw_query.as_deref()),
            [value("raw_query", Text, |(_, query): QuerySource<'a>| {
                text(held(query.raw_query.as_deref()).map(|sql| sql.as_str()))
            })],
        )
        .register(
            "data_source",
            |(_, query)| stamp(query.data_source.as_ref()),
            [value(
                "data_source_token",
                Text,
                |(_, query): QuerySource<'a>| {
                    text(held(query.data_source.as_ref()).map(|token| token.as_str()))
                },
            )],
        )
        .column("deleted", Bool, Rule::Final, |(_, query)| {
            flag(query.deleted)
        })
        .column("created_at", BigInt, Rule::Earliest, |(_, query)| {
            at(query.created_at)
        })
        .column("updated_at", BigInt, Rule::Latest, |(_, query)| {
            at(query.updated_at)
        })
}

type ChartSource<'a> = (&'a Token, &'a ChartChanges);

pub fn charts<'a>() -> Table<'a, ChartSource<'a>> {
    Table::new("charts")
        .row_by_row()
        .key("chart_token", Text, |(token, _): ChartSource| {
            text(Some(token.as_str()))
        })
        .column("chart_id", BigInt, Rule::OfKey, |(token, _)| {
            int(derived_id(token.as_str()))
        })
        .register(
            "definition",
            |(_, chart)| stamp(chart.definition.as_ref()),
            [
                value("query_token", Text, |(_, chart): ChartSource<'a>| {
                    text(held(chart.definition.as_ref()).map(|d| d.query_token.as_str()))
                }),
                value("creator_email", Text, |(_, chart): ChartSource<'a>| {
                    text(held(chart.definition.as_ref()).map(|d| d.creator.as_str()))
                }),
            ],
        )
        .register(
            "chart_type",
            |(_, chart)| stamp(chart.chart_type.as_ref()),
            [value("chart_type", Text, |(_, chart): ChartSource<'a>| {
                text(held(chart.chart_type.as_ref()).map(|chart_type| chart_type.as_str()))
            })],
        )
        .register(
            "title",
            |(_, chart)| stamp(chart.title.as_ref()),
            [value("chart_title", Text, |(_, chart): ChartSource<'a>| {
                text(held(chart.title.as_ref()).map(|title| title.as_str()))
            })],
        )
        .column("deleted", Bool, Rule::Final, |(_, chart)| {
            flag(chart.deleted)
        })
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
    ]
    .into_iter()
    .chain(usage_table_rows(changes))
    .chain([
        schedules().rows(changes.schedules.iter()),
        explorations().rows(changes.explorations.iter()),
        spaces().rows(changes.spaces.iter()),
        members().rows(changes.members.iter()),
        member_active_days().rows(
            changes.members.iter().flat_map(|(email, member)| {
                member.active_days.iter().map(move |day| (email, *day))
            }),
        ),
        queries().rows(queries_in_key_order(changes)),
        charts().rows(changes.charts.iter()),
    ])
    .collect()
}

/// The queries of `changes` in the order of their table's key, which the
/// id leads: in the token's order they would land all over the table, a
/// page per row (BENCHMARKS.md, "Runs of rows of every shape").
fn queries_in_key_order(changes: &Changes) -> impl Iterator<Item = QuerySource<'_>> + Send {
    let mut queries: Vec<_> = changes
        .queries
        .iter()
        .map(|(token, query)| (derived_id(token.as_str()), token, query))
        .collect();
    queries.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    queries.into_iter().map(|(_, token, query)| (token, query))
}

/// The rows of the usage tables (SPEC section 8) that `changes` touch: a
/// part of [`table_rows`], and what fills them from an event log (see
/// [`crate::storage::usage_fill`]).
pub fn usage_table_rows(changes: &Changes) -> Vec<TableRows<'_>> {
    let reports = &changes.reports;
    vec![
        report_days().rows(
            reports
                .iter()
                .flat_map(|(id, report)| report.days.iter().map(move |day| (*id, day))),
        ),
        report_viewer_days().rows(
            reports
                .iter()
                .flat_map(|(id, report)| report.viewer_days.iter().map(move |pair| (*id, pair))),
        ),
    ]
}

#[cfg(test)]
mod tests;
