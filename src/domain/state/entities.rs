//! What [`Changes`](super::Changes) holds of each kind of entity: reports,
//! schedules, explorations, spaces, members, queries and charts, each as
//! the registers, flags, sets, instants and counters its events merge into.

use super::{Register, Size};
use crate::domain::event::{RunState, SpaceType};
use crate::domain::names::{
    ChartType, Description, Email, Name, RawQuery, ReportId, Token, Username,
};
use crate::domain::timestamp::Timestamp;

/// What `report_created` says about a report besides its name, description
/// and space, which other events can change too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportDefinition {
    pub report_token: Token,
    pub creator: Email,
}

/// The latest run of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastRun {
    pub run_token: Token,
    pub state: RunState,
}

/// Everything the events say about one report.
///
/// An import holds many of these between merges, most touched only by
/// views, runs or edits, so they are kept small: registers are boxed and
/// sets are sorted vectors (BENCHMARKS.md has what that saved).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportChanges {
    pub definition: Option<Box<Register<ReportDefinition>>>,
    pub name: Option<Box<Register<Name>>>,
    pub description: Option<Box<Register<Option<Description>>>>,
    pub space: Option<Box<Register<Token>>>,
    pub deleted: bool,
    pub views: u64,
    pub last_viewed_at: Option<Timestamp>,
    /// The earliest `report_created`.
    pub created_at: Option<Timestamp>,
    /// The latest `report_edited`.
    pub edited_at: Option<Timestamp>,
    /// Members with a `report_edited` event (the creator is added on read,
    /// since who the creator is can still change), sorted, each once.
    pub editors: Vec<Email>,
    /// Members who started a manual run, with the time of their latest one
    /// (whether it is recent depends on when the statistics are read),
    /// sorted by member, each once.
    pub manual_runs: Vec<(Email, Timestamp)>,
    /// Schedules that ran this report at least once, sorted, each once.
    pub scheduled_runs: Vec<Token>,
    pub last_run: Option<Box<Register<LastRun>>>,
    pub last_successful_run_at: Option<Timestamp>,
    /// Views and runs by UTC date (days since the Unix epoch), sorted by
    /// date, each date once: what the windows and daily series of SPEC
    /// section 8 add up.
    pub days: Vec<(i64, DayActivity)>,
    /// Who viewed it on which UTC date, `(days since the epoch, viewer)`,
    /// the viewer by the id derived from the email, sorted, each pair once:
    /// its distinct viewers over any range of days. Only how many distinct
    /// viewers there are is ever read, so the id is what is stored, and
    /// holding it rather than the email makes a pair 16 bytes with no
    /// allocation of its own: an import holds a million of them between
    /// merges (BENCHMARKS.md, "Runs of rows of every shape").
    pub viewer_days: Vec<(i64, i64)>,
}

/// What happened to a report on one UTC date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayActivity {
    pub views: u64,
    pub manual_runs: u64,
    pub scheduled_runs: u64,
    /// Runs of either trigger whose state is `failed`.
    pub failed_runs: u64,
}

impl ReportChanges {
    /// The activity of the date `at` falls on, made empty if new: a new row.
    pub(super) fn day(&mut self, at: Timestamp, size: &mut Size) -> &mut DayActivity {
        let day = at.utc_day().days_since_epoch();
        let index = match self.days.binary_search_by_key(&day, |(day, _)| *day) {
            Ok(index) => index,
            Err(index) => {
                self.days.insert(index, (day, DayActivity::default()));
                size.usage_rows += 1;
                index
            }
        };
        &mut self.days[index].1
    }
}

/// Which report a schedule or an exploration belongs to, and who made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportLink {
    pub report_id: ReportId,
    pub creator: Email,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScheduleChanges {
    pub definition: Option<Register<ReportLink>>,
    /// The latest pause (`true`) or resume (`false`).
    pub paused: Option<Register<bool>>,
    pub deleted: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExplorationChanges {
    pub definition: Option<Register<ReportLink>>,
    pub deleted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceDefinition {
    pub name: Name,
    pub description: Option<Description>,
    pub space_type: SpaceType,
}

/// A space, or only its mention: a report created in it or moved to it
/// makes its row, so that `/spaces` can list it (and its derived id can
/// order it) before any `space_upserted`, or without one (SPEC section 5,
/// "Joins never break").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpaceChanges {
    pub definition: Option<Register<SpaceDefinition>>,
    pub deleted: bool,
}

impl SpaceChanges {
    /// Whether these changes only mention the space.
    pub fn is_mention(&self) -> bool {
        self.definition.is_none() && !self.deleted
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberProfile {
    pub username: Option<Username>,
    pub name: Option<Name>,
}

/// Members are not deleted for good: the latest upsert or removal decides
/// whether one is present.
///
/// The activity fields (Mode's member object, SPEC section 5) are kept for
/// every email an event names as its actor, upserted or not: a member
/// upserted later shows the activity that came before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberChanges {
    pub profile: Option<Register<MemberProfile>>,
    pub present: Option<Register<bool>>,
    /// The earliest `member_upserted`.
    pub activated_at: Option<Timestamp>,
    pub last_report_created_at: Option<Timestamp>,
    pub last_report_viewed_at: Option<Timestamp>,
    /// The latest manual run this member started.
    pub last_report_run_at: Option<Timestamp>,
    pub last_exploration_created_at: Option<Timestamp>,
    /// The latest activity of any kind (see [`Event::actor`]).
    pub last_active_at: Option<Timestamp>,
    /// The UTC dates with activity, as days since the Unix epoch, sorted,
    /// each once.
    pub active_days: Vec<i64>,
}

/// Which report a query belongs to, and who wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryDefinition {
    pub report_id: ReportId,
    pub creator: Email,
}

/// Everything the events say about one query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryChanges {
    pub definition: Option<Register<QueryDefinition>>,
    pub name: Option<Register<Name>>,
    /// Boxed: up to 256 KiB, and most queries a batch touches are edits
    /// that leave the text alone.
    pub raw_query: Option<Box<Register<RawQuery>>>,
    pub data_source: Option<Register<Token>>,
    pub deleted: bool,
    /// The earliest `query_created`.
    pub created_at: Option<Timestamp>,
    /// The latest `query_created` or `query_edited`.
    pub updated_at: Option<Timestamp>,
}

/// Which query a chart draws, and who made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartDefinition {
    pub query_token: Token,
    pub creator: Email,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChartChanges {
    pub definition: Option<Register<ChartDefinition>>,
    pub chart_type: Option<Register<ChartType>>,
    /// Written only by events that give a title: a chart is `null`-titled
    /// only while no event gave it one (SPEC section 5).
    pub title: Option<Register<Name>>,
    pub deleted: bool,
}
