//! Realistic, reproducible activity for `reportstats demo` and for benchmarks.
//!
//! # Design
//!
//! Generation runs in two phases.
//!
//! 1. **Planning** draws every entity (members, spaces, reports with their
//!    edits, moves and deletion, schedules, explorations, queries and their
//!    charts) together with the times of its lifecycle events. These tables
//!    grow with `reports` and `members`, never with `views`, so they are
//!    kept in memory; a query's SQL is not, being written from a small spec
//!    when its line is.
//! 2. **Streaming** walks the period in short chunks, oldest first. Each chunk
//!    gathers the planned events that fall in it, draws its share of views and
//!    manual runs, fires the schedules that are due, sorts all of that by time
//!    and writes it. Memory is therefore the plan plus one chunk, however many
//!    millions of views are asked for.
//!
//! Every reference is consistent at its time: a report is viewed, run, edited
//! or explored only while it exists, by a member who has joined and not been
//! removed; a schedule runs only while it is neither paused nor deleted; a
//! query is written, edited or charted only while it and its report exist,
//! by the report's creator or one of its editors. The
//! service does not need this (events may arrive in any order and still count
//! once what they refer to exists) but it makes the demo's numbers plausible.
//!
//! The output depends only on the configuration: the same seed gives the same
//! bytes (with the same build of `rand`), so a demo can be re-imported as pure
//! duplicates and benchmark runs compare like with like.
//!
//! # Layout
//!
//! - `config`: [`ActivityConfig`], what to generate, and the configurations
//!   that are refused.
//! - `plan/`: the planning phase. `plan/mod.rs` holds the `Plan` and the
//!   draws both phases make from it (a member who can act, a report that
//!   exists, a viewer, when a schedule runs); one file per kind of entity
//!   plans it: `people` (team spaces, members and their personal spaces),
//!   `reports` (creation, moves, edits, deletion), `schedules` (schedules
//!   and explorations), `queries` (queries and their charts, with their
//!   edits and deletions).
//! - `entities`: what a plan holds: members, spaces, reports, schedules,
//!   explorations, queries, charts, and the lifecycle events (`Planned`)
//!   decided for them.
//! - `stream`: the streaming phase and its entry point, [`write_activity`]:
//!   chunks of time, the views and manual runs drawn for each, schedules
//!   fired when due.
//! - `render`: what each line says: the event type and fields of an item.
//! - `output`: numbering, serialising and writing the lines, and re-sending
//!   a fraction of them as a retrying client would.
//! - `topics`: what reports and queries are about: metrics with the tables
//!   and columns they come from, dimensions, cadences; report names.
//! - `sql`: data sources and their dialects, the shapes of queries, their
//!   names, the charts that suit them, and their SQL text.
//! - `words`: the word lists: people's names, team spaces, reports'
//!   descriptions.
//! - `random`: popularity that follows a Zipf law, seed mixing, Mode-like
//!   tokens, uniform draws.
//! - `time`: milliseconds and weekdays.
//! - `tests`: the generator's own tests.

mod config;
mod entities;
mod output;
mod plan;
mod random;
mod render;
mod sql;
mod stream;
mod time;
mod topics;
mod words;

#[cfg(test)]
mod tests;

pub use config::ActivityConfig;
pub use stream::write_activity;
