//! What a set of events means: the merge rules of SPEC section 3.
//!
//! [`Changes`] folds events into per-entity state. Every part of it merges
//! in a way that ignores order: registers keep the write with the largest
//! [`Stamp`] (last writer wins, ties broken by event id), flags only ever turn
//! on (deletions are final), sets are unions, maxima and minima are kept, and
//! counters add up. Counting each event once is the event log's job (events
//! are deduplicated by id before they get here), so folding any permutation
//! of a set of distinct events gives the same `Changes`.
//!
//! The storage backends fold each batch into a `Changes` and merge it into
//! their tables with the same rules, written in SQL. Folded over a whole
//! event log, a `Changes` is also the reference model that
//! [`crate::domain::stats`] reads statistics from, so tests can check the
//! maintained tables against a recomputation from scratch.

use std::collections::BTreeMap;

use super::event::{Event, EventKind, RunState, RunTrigger};
use super::listings::derived_id;
use super::names::{Email, EventId, ReportId, Token};
use super::timestamp::Timestamp;

mod entities;

pub use entities::{
    ChartChanges, ChartDefinition, DayActivity, ExplorationChanges, LastRun, MemberChanges,
    MemberProfile, QueryChanges, QueryDefinition, ReportChanges, ReportDefinition, ReportLink,
    ScheduleChanges, SpaceChanges, SpaceDefinition,
};

/// The position of a write in the last-writer-wins order: later
/// `occurred_at` wins, and of two writes at the same instant the larger event
/// id (byte order) wins.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    pub at: Timestamp,
    pub event: EventId,
}

impl Stamp {
    pub fn of(event: &Event) -> Self {
        Stamp {
            at: event.occurred_at,
            event: event.id.clone(),
        }
    }
}

/// A last-writer-wins register: a value and the stamp of the write that set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register<T> {
    pub stamp: Stamp,
    pub value: T,
}

impl<T> Register<T> {
    /// The write `event` makes.
    pub fn of(event: &Event, value: T) -> Self {
        Register {
            stamp: Stamp::of(event),
            value,
        }
    }
}

/// Where a register is kept: inline, or boxed where most entities leave it
/// empty (see [`ReportChanges`]).
trait Slot<T> {
    fn stamp(&self) -> Option<&Stamp>;
    fn put(&mut self, register: Register<T>);
}

impl<T> Slot<T> for Option<Register<T>> {
    fn stamp(&self) -> Option<&Stamp> {
        self.as_ref().map(|register| &register.stamp)
    }

    fn put(&mut self, register: Register<T>) {
        *self = Some(register);
    }
}

impl<T> Slot<T> for Option<Box<Register<T>>> {
    fn stamp(&self) -> Option<&Stamp> {
        self.as_ref().map(|register| &register.stamp)
    }

    fn put(&mut self, register: Register<T>) {
        match self {
            Some(current) => **current = register,
            None => *self = Some(Box::new(register)),
        }
    }
}

/// Keeps whichever of the current write and `event`'s has the larger stamp.
/// The value is made only when `event` wins: folding is the import's
/// hottest loop, and most writes lose to one already folded in.
fn write_register<T>(slot: &mut impl Slot<T>, event: &Event, value: impl FnOnce() -> T) {
    if let Some(current) = slot.stamp() {
        if (current.at, &current.event) >= (event.occurred_at, &event.id) {
            return;
        }
    }
    slot.put(Register::of(event, value()));
}

/// Adds `item` to a sorted set kept as a vector, cloning it only if it is
/// new. A report's sets hold a few items between two merges, where a
/// `BTreeSet` would allocate a node of eleven.
fn insert_sorted<T: Ord + Clone>(set: &mut Vec<T>, item: &T) -> bool {
    match set.binary_search(item) {
        Ok(_) => false,
        Err(index) => {
            set.insert(index, item.clone());
            true
        }
    }
}

/// The entry for `key`, made empty if there is none yet: a new row.
fn entry<'m, K: Ord + Clone, V: Default>(
    map: &'m mut BTreeMap<K, V>,
    key: &K,
    size: &mut Size,
) -> &'m mut V {
    match map.entry(key.clone()) {
        std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
        std::collections::btree_map::Entry::Vacant(entry) => {
            size.rows += 1;
            entry.insert(V::default())
        }
    }
}

fn merge_max(slot: &mut Option<Timestamp>, incoming: Timestamp) {
    *slot = Some(slot.map_or(incoming, |current| current.max(incoming)));
}

fn merge_min(slot: &mut Option<Timestamp>, incoming: Timestamp) {
    *slot = Some(slot.map_or(incoming, |current| current.min(incoming)));
}

/// The merged meaning of a set of events, entity by entity. Maps are ordered
/// so that storage writes rows in key order, which keeps concurrent writers
/// from deadlocking on each other.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub reports: BTreeMap<ReportId, ReportChanges>,
    pub schedules: BTreeMap<Token, ScheduleChanges>,
    pub explorations: BTreeMap<Token, ExplorationChanges>,
    pub spaces: BTreeMap<Token, SpaceChanges>,
    pub members: BTreeMap<Email, MemberChanges>,
    pub queries: BTreeMap<Token, QueryChanges>,
    pub charts: BTreeMap<Token, ChartChanges>,
    /// See [`Changes::size`]; kept as events are recorded, since counting
    /// it afresh for every chunk of an import showed in profiles of the
    /// writer. It follows from the entries and items present, so it is the
    /// same whatever the order of the events.
    size: Size,
}

/// How much a [`Changes`] holds: what storage weighs to decide when to merge
/// pending changes (the domain says what a change is; how to batch it is
/// storage's business).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Size {
    /// Rows that merging the changes writes: one per entity, and one per
    /// item of a report's sets (editors, manual runners, schedules run).
    pub rows: usize,
    /// Days in members' sets of active days: each a row to write too, but
    /// in memory an integer, not a row's worth of strings.
    pub active_days: usize,
    /// Dates in reports' daily activity: rows to write too, each a few
    /// dozen bytes in memory.
    pub usage_rows: usize,
    /// `(date, viewer)` pairs of reports: rows to write too, each two
    /// integers in memory.
    pub viewer_days: usize,
    /// Report definitions, which come with a name, a description and a
    /// space, each a string of its own.
    pub definitions: usize,
    /// Bytes of query text (up to 256 KiB each) recorded: an upper bound on
    /// what is held, since a text that loses its register is dropped. It is
    /// the one size that depends on the order of events, and only decides
    /// when storage merges, never what.
    pub text_bytes: usize,
}

impl Changes {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut changes = Changes::default();
        for event in events {
            changes.record(event);
        }
        changes
    }

    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
            && self.schedules.is_empty()
            && self.explorations.is_empty()
            && self.spaces.is_empty()
            && self.members.is_empty()
            && self.queries.is_empty()
            && self.charts.is_empty()
    }

    /// How much these changes hold.
    pub fn size(&self) -> Size {
        self.size
    }

    /// Folds one event in. The caller guarantees each distinct event is
    /// recorded once.
    pub fn record(&mut self, event: &Event) {
        let at = event.occurred_at;
        if let Some(actor) = event.actor() {
            let member = entry(&mut self.members, actor, &mut self.size);
            merge_max(&mut member.last_active_at, at);
            if insert_sorted(&mut member.active_days, &at.utc_day().days_since_epoch()) {
                self.size.active_days += 1;
            }
            match &event.kind {
                EventKind::ReportCreated { .. } => {
                    merge_max(&mut member.last_report_created_at, at)
                }
                EventKind::ReportViewed { .. } => merge_max(&mut member.last_report_viewed_at, at),
                EventKind::ReportRun { .. } => merge_max(&mut member.last_report_run_at, at),
                EventKind::ExplorationCreated { .. } => {
                    merge_max(&mut member.last_exploration_created_at, at)
                }
                _ => {}
            }
        }
        match &event.kind {
            EventKind::MemberUpserted {
                email,
                username,
                name,
            } => {
                let member = entry(&mut self.members, email, &mut self.size);
                write_register(&mut member.profile, event, || MemberProfile {
                    username: username.clone(),
                    name: name.clone(),
                });
                write_register(&mut member.present, event, || true);
                merge_min(&mut member.activated_at, at);
            }
            EventKind::MemberRemoved { email } => {
                let member = entry(&mut self.members, email, &mut self.size);
                write_register(&mut member.present, event, || false);
            }
            EventKind::SpaceUpserted {
                space_token,
                name,
                description,
                space_type,
            } => {
                let space = entry(&mut self.spaces, space_token, &mut self.size);
                write_register(&mut space.definition, event, || SpaceDefinition {
                    name: name.clone(),
                    description: description.clone(),
                    space_type: *space_type,
                });
            }
            EventKind::SpaceDeleted { space_token } => {
                entry(&mut self.spaces, space_token, &mut self.size).deleted = true;
            }
            EventKind::ReportCreated {
                report_id,
                report_token,
                space_token,
                email,
                name,
                description,
            } => {
                let report = entry(&mut self.reports, report_id, &mut self.size);
                if report.definition.is_none() {
                    self.size.definitions += 1;
                }
                write_register(&mut report.definition, event, || ReportDefinition {
                    report_token: report_token.clone(),
                    creator: email.clone(),
                });
                write_register(&mut report.name, event, || name.clone());
                write_register(&mut report.description, event, || description.clone());
                write_register(&mut report.space, event, || space_token.clone());
                merge_min(&mut report.created_at, at);
                entry(&mut self.spaces, space_token, &mut self.size);
            }
            EventKind::ReportEdited {
                report_id,
                email,
                name,
                description,
            } => {
                let report = entry(&mut self.reports, report_id, &mut self.size);
                if insert_sorted(&mut report.editors, email) {
                    self.size.rows += 1;
                }
                merge_max(&mut report.edited_at, at);
                if let Some(name) = name {
                    write_register(&mut report.name, event, || name.clone());
                }
                if let Some(description) = description {
                    write_register(&mut report.description, event, || Some(description.clone()));
                }
            }
            EventKind::ReportMoved {
                report_id,
                space_token,
            } => {
                let report = entry(&mut self.reports, report_id, &mut self.size);
                write_register(&mut report.space, event, || space_token.clone());
                entry(&mut self.spaces, space_token, &mut self.size);
            }
            EventKind::ReportDeleted { report_id } => {
                entry(&mut self.reports, report_id, &mut self.size).deleted = true;
            }
            EventKind::ReportViewed { report_id, email } => {
                let report = entry(&mut self.reports, report_id, &mut self.size);
                report.views += 1;
                merge_max(&mut report.last_viewed_at, at);
                report.day(at, &mut self.size).views += 1;
                // Anonymous views count as views, not as viewers.
                if let Some(email) = email {
                    let pair = (at.utc_day().days_since_epoch(), derived_id(email.as_str()));
                    let pairs = &mut report.viewer_days;
                    if let Err(index) = pairs.binary_search(&pair) {
                        pairs.insert(index, pair);
                        self.size.viewer_days += 1;
                    }
                }
            }
            EventKind::ReportRun {
                report_id,
                run_token,
                trigger,
                state,
            } => {
                let report = entry(&mut self.reports, report_id, &mut self.size);
                let day = report.day(at, &mut self.size);
                match trigger {
                    RunTrigger::Manual { .. } => day.manual_runs += 1,
                    RunTrigger::Scheduled { .. } => day.scheduled_runs += 1,
                }
                if *state == RunState::Failed {
                    day.failed_runs += 1;
                }
                match trigger {
                    RunTrigger::Manual { email } => {
                        let runs = &mut report.manual_runs;
                        match runs.binary_search_by(|(member, _)| member.cmp(email)) {
                            Ok(index) => runs[index].1 = runs[index].1.max(at),
                            Err(index) => {
                                runs.insert(index, (email.clone(), at));
                                self.size.rows += 1;
                            }
                        }
                    }
                    RunTrigger::Scheduled { schedule_token } => {
                        if insert_sorted(&mut report.scheduled_runs, schedule_token) {
                            self.size.rows += 1;
                        }
                    }
                }
                write_register(&mut report.last_run, event, || LastRun {
                    run_token: run_token.clone(),
                    state: *state,
                });
                if *state == RunState::Succeeded {
                    merge_max(&mut report.last_successful_run_at, at);
                }
            }
            EventKind::ScheduleCreated {
                schedule_token,
                report_id,
                email,
            } => {
                let schedule = entry(&mut self.schedules, schedule_token, &mut self.size);
                write_register(&mut schedule.definition, event, || ReportLink {
                    report_id: *report_id,
                    creator: email.clone(),
                });
            }
            EventKind::SchedulePaused { schedule_token } => {
                let schedule = entry(&mut self.schedules, schedule_token, &mut self.size);
                write_register(&mut schedule.paused, event, || true);
            }
            EventKind::ScheduleResumed { schedule_token } => {
                let schedule = entry(&mut self.schedules, schedule_token, &mut self.size);
                write_register(&mut schedule.paused, event, || false);
            }
            EventKind::ScheduleDeleted { schedule_token } => {
                entry(&mut self.schedules, schedule_token, &mut self.size).deleted = true;
            }
            EventKind::ExplorationCreated {
                exploration_token,
                report_id,
                email,
            } => {
                let exploration = entry(&mut self.explorations, exploration_token, &mut self.size);
                write_register(&mut exploration.definition, event, || ReportLink {
                    report_id: *report_id,
                    creator: email.clone(),
                });
            }
            EventKind::ExplorationDeleted { exploration_token } => {
                entry(&mut self.explorations, exploration_token, &mut self.size).deleted = true;
            }
            EventKind::QueryCreated {
                query_token,
                report_id,
                name,
                raw_query,
                data_source_token,
                email,
            } => {
                self.size.text_bytes += raw_query.as_str().len();
                let query = entry(&mut self.queries, query_token, &mut self.size);
                write_register(&mut query.definition, event, || QueryDefinition {
                    report_id: *report_id,
                    creator: email.clone(),
                });
                write_register(&mut query.name, event, || name.clone());
                write_register(&mut query.raw_query, event, || raw_query.clone());
                write_register(&mut query.data_source, event, || data_source_token.clone());
                merge_min(&mut query.created_at, at);
                merge_max(&mut query.updated_at, at);
            }
            EventKind::QueryEdited {
                query_token,
                name,
                raw_query,
                data_source_token,
                ..
            } => {
                let query = entry(&mut self.queries, query_token, &mut self.size);
                if let Some(name) = name {
                    write_register(&mut query.name, event, || name.clone());
                }
                if let Some(raw_query) = raw_query {
                    self.size.text_bytes += raw_query.as_str().len();
                    write_register(&mut query.raw_query, event, || raw_query.clone());
                }
                if let Some(data_source) = data_source_token {
                    write_register(&mut query.data_source, event, || data_source.clone());
                }
                merge_max(&mut query.updated_at, at);
            }
            EventKind::QueryDeleted { query_token } => {
                entry(&mut self.queries, query_token, &mut self.size).deleted = true;
            }
            EventKind::ChartCreated {
                chart_token,
                query_token,
                chart_type,
                email,
                chart_title,
            } => {
                let chart = entry(&mut self.charts, chart_token, &mut self.size);
                write_register(&mut chart.definition, event, || ChartDefinition {
                    query_token: query_token.clone(),
                    creator: email.clone(),
                });
                write_register(&mut chart.chart_type, event, || chart_type.clone());
                if let Some(title) = chart_title {
                    write_register(&mut chart.title, event, || title.clone());
                }
            }
            EventKind::ChartEdited {
                chart_token,
                chart_type,
                chart_title,
                ..
            } => {
                let chart = entry(&mut self.charts, chart_token, &mut self.size);
                if let Some(chart_type) = chart_type {
                    write_register(&mut chart.chart_type, event, || chart_type.clone());
                }
                if let Some(title) = chart_title {
                    write_register(&mut chart.title, event, || title.clone());
                }
            }
            EventKind::ChartDeleted { chart_token } => {
                entry(&mut self.charts, chart_token, &mut self.size).deleted = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::Position;

    fn event(json: &str) -> Event {
        Event::parse(
            json,
            Position::Line(1),
            Timestamp::parse("2030-01-01T00:00:00Z").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_later_write_wins_whatever_the_order_of_arrival() {
        let early = event(
            r#"{"id":"b","type":"report_moved","report_id":1,"space_token":"old","occurred_at":"2026-01-01T00:00:00Z"}"#,
        );
        let late = event(
            r#"{"id":"a","type":"report_moved","report_id":1,"space_token":"new","occurred_at":"2026-02-01T00:00:00Z"}"#,
        );
        for order in [[&early, &late], [&late, &early]] {
            let changes = Changes::from_events(order);
            let space = &changes.reports[&ReportId::new(1).unwrap()].space;
            assert_eq!(space.as_ref().unwrap().value.as_str(), "new");
        }
    }

    #[test]
    fn a_tie_in_time_goes_to_the_larger_event_id() {
        let a = event(
            r#"{"id":"a","type":"schedule_paused","schedule_token":"s","occurred_at":"2026-01-01T00:00:00Z"}"#,
        );
        let b = event(
            r#"{"id":"b","type":"schedule_resumed","schedule_token":"s","occurred_at":"2026-01-01T00:00:00Z"}"#,
        );
        for order in [[&a, &b], [&b, &a]] {
            let changes = Changes::from_events(order);
            let paused = &changes.schedules[&Token::parse("s").unwrap()].paused;
            assert!(!paused.as_ref().unwrap().value);
        }
    }

    #[test]
    fn deletion_is_final_even_against_later_events() {
        let deleted = event(
            r#"{"id":"a","type":"report_deleted","report_id":1,"occurred_at":"2026-01-01T00:00:00Z"}"#,
        );
        let created = event(
            r#"{"id":"b","type":"report_created","report_id":1,"report_token":"t","space_token":"s","email":"a@b.c","name":"n","occurred_at":"2026-06-01T00:00:00Z"}"#,
        );
        let changes = Changes::from_events([&deleted, &created]);
        assert!(changes.reports[&ReportId::new(1).unwrap()].deleted);
    }
}
