//! What a plan holds: the workspace's entities (members, spaces, reports,
//! schedules, explorations, queries and charts) with the times of their
//! lifecycles, and the lifecycle events to write when their time comes.
//! Entities refer to each other by their index in the plan's tables.

use super::sql::{DataSource, QuerySpec};
use super::time::MS_PER_SECOND;
use super::topics::Topic;

/// A new member acts only after their personal space exists.
const MEMBER_SETTLE_MS: i64 = 10 * MS_PER_SECOND;

/// A person in the workspace. Times are milliseconds since 1970.
pub(crate) struct Member {
    pub(crate) email: String,
    pub(crate) username: String,
    pub(crate) name: String,
    pub(crate) joined: i64,
    pub(crate) removed: Option<i64>,
    pub(crate) personal_space: usize,
}

impl Member {
    /// Whether the member can act at `at`: settled in and not removed.
    pub(crate) fn active_at(&self, at: i64) -> bool {
        self.joined + MEMBER_SETTLE_MS <= at && self.removed.is_none_or(|removed| at < removed)
    }
}

/// A team space, or a member's personal one (`space_type` `private`).
pub(crate) struct Space {
    pub(crate) token: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) space_type: &'static str,
    pub(crate) created: i64,
    pub(crate) deleted: Option<i64>,
}

impl Space {
    pub(crate) fn exists_at(&self, at: i64) -> bool {
        self.created <= at && self.deleted.is_none_or(|deleted| at < deleted)
    }
}

/// A report, the spaces it lives in over time, and its end if deleted.
pub(crate) struct Report {
    pub(crate) id: i64,
    pub(crate) token: String,
    pub(crate) name: String,
    /// What the report's name says it is about; its first query follows it.
    pub(crate) topic: Topic,
    pub(crate) description: Option<String>,
    pub(crate) creator: usize,
    /// Where the report was created; `moves` says where it went next.
    pub(crate) created_in: usize,
    pub(crate) created: i64,
    pub(crate) deleted: Option<i64>,
    /// Reports drafted in a personal space mostly get their creator's views
    /// until they are moved to a team space.
    pub(crate) private_until: i64,
    pub(crate) moves: Vec<(i64, usize)>,
    pub(crate) interest: Interest,
}

/// How attention to a report changes over the period: what makes usage
/// over time worth looking at (stale content, trends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    /// As popular as its rank says, throughout.
    Steady,
    /// Nobody opens it from this moment on: it went stale.
    FadesAt(i64),
    /// From this moment on it draws a share of attention of its own.
    TrendsFrom(i64),
}

impl Report {
    pub(crate) fn exists_at(&self, at: i64) -> bool {
        self.created <= at && self.deleted.is_none_or(|deleted| at < deleted)
    }

    /// Whether people still open it at `at`.
    pub(crate) fn viewed_at(&self, at: i64) -> bool {
        self.exists_at(at) && !matches!(self.interest, Interest::FadesAt(fades) if fades <= at)
    }

    pub(crate) fn trends_at(&self, at: i64) -> bool {
        self.exists_at(at) && matches!(self.interest, Interest::TrendsFrom(from) if from <= at)
    }

    /// The space the report is in at `at`.
    pub(crate) fn space_at(&self, at: i64) -> usize {
        self.moves
            .iter()
            .take_while(|(moved, _)| *moved <= at)
            .last()
            .map_or(self.created_in, |(_, space)| *space)
    }
}

/// A daily or weekly schedule of a report (`period`), from `first_run` on.
pub(crate) struct Schedule {
    pub(crate) token: String,
    pub(crate) report: usize,
    pub(crate) creator: usize,
    pub(crate) created: i64,
    pub(crate) period: i64,
    pub(crate) first_run: i64,
    pub(crate) paused: Option<i64>,
    pub(crate) resumed: Option<i64>,
    pub(crate) deleted: Option<i64>,
}

impl Schedule {
    /// Whether a run due at `at` happens: after creation and not paused.
    pub(crate) fn runs_at(&self, at: i64) -> bool {
        let paused = self
            .paused
            .is_some_and(|paused| paused <= at && self.resumed.is_none_or(|resumed| at < resumed));
        self.created < at && !paused
    }
}

/// An exploration started from a report.
pub(crate) struct Exploration {
    pub(crate) token: String,
    pub(crate) report: usize,
    pub(crate) creator: usize,
}

/// A query of a report, as it was created; its edits are `Planned` events.
pub(crate) struct Query {
    pub(crate) token: String,
    pub(crate) report: usize,
    pub(crate) creator: usize,
    pub(crate) name: String,
    pub(crate) spec: QuerySpec,
}

/// A chart of a query, as it was created.
pub(crate) struct Chart {
    pub(crate) token: String,
    pub(crate) query: usize,
    pub(crate) creator: usize,
    pub(crate) chart_type: &'static str,
    pub(crate) title: Option<String>,
}

/// A lifecycle event decided while planning, written when its time comes.
pub(crate) enum Planned {
    MemberUpserted(usize),
    MemberRemoved(usize),
    SpaceUpserted(usize),
    SpaceDeleted(usize),
    ReportCreated(usize),
    ReportEdited {
        report: usize,
        editor: usize,
        name: Option<String>,
        description: Option<String>,
    },
    ReportMoved {
        report: usize,
        space: usize,
    },
    ReportDeleted(usize),
    ScheduleCreated(usize),
    SchedulePaused(usize),
    ScheduleResumed(usize),
    ScheduleDeleted(usize),
    ExplorationCreated(usize),
    ExplorationDeleted(usize),
    QueryCreated(usize),
    /// `spec` is the query's new text, `data_source` its new data source.
    QueryEdited {
        query: usize,
        editor: usize,
        name: Option<String>,
        spec: Option<QuerySpec>,
        data_source: Option<&'static DataSource>,
    },
    QueryDeleted(usize),
    ChartCreated(usize),
    ChartEdited {
        chart: usize,
        editor: usize,
        chart_type: Option<&'static str>,
        title: Option<String>,
    },
    ChartDeleted(usize),
}
