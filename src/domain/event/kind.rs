//! The event types of SPEC section 3 and the enumerations their fields take.

use crate::domain::names::{
    ChartType, Description, Email, Name, RawQuery, ReportId, Token, Username,
};

/// The kind of a space; `Private` is a member's personal space, whose reports
/// `report_stats` leaves out unless asked for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpaceType {
    Custom,
    Community,
    Private,
}

impl SpaceType {
    pub fn as_str(self) -> &'static str {
        match self {
            SpaceType::Custom => "custom",
            SpaceType::Community => "community",
            SpaceType::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "custom" => Some(SpaceType::Custom),
            "community" => Some(SpaceType::Community),
            "private" => Some(SpaceType::Private),
            _ => None,
        }
    }
}

/// Who started a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunTrigger {
    Manual { email: Email },
    Scheduled { schedule_token: Token },
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunState {
    Succeeded,
    Failed,
    Cancelled,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "succeeded" => Some(RunState::Succeeded),
            "failed" => Some(RunState::Failed),
            "cancelled" => Some(RunState::Cancelled),
            _ => None,
        }
    }
}

/// The event types of SPEC section 3 with their fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    MemberUpserted {
        email: Email,
        username: Option<Username>,
        name: Option<Name>,
    },
    MemberRemoved {
        email: Email,
    },
    SpaceUpserted {
        space_token: Token,
        name: Name,
        description: Option<Description>,
        space_type: SpaceType,
    },
    SpaceDeleted {
        space_token: Token,
    },
    ReportCreated {
        report_id: ReportId,
        report_token: Token,
        space_token: Token,
        email: Email,
        name: Name,
        description: Option<Description>,
    },
    ReportEdited {
        report_id: ReportId,
        email: Email,
        name: Option<Name>,
        description: Option<Description>,
    },
    ReportMoved {
        report_id: ReportId,
        space_token: Token,
    },
    ReportDeleted {
        report_id: ReportId,
    },
    ReportViewed {
        report_id: ReportId,
        email: Option<Email>,
    },
    ReportRun {
        report_id: ReportId,
        run_token: Token,
        trigger: RunTrigger,
        state: RunState,
    },
    ScheduleCreated {
        schedule_token: Token,
        report_id: ReportId,
        email: Email,
    },
    SchedulePaused {
        schedule_token: Token,
    },
    ScheduleResumed {
        schedule_token: Token,
    },
    ScheduleDeleted {
        schedule_token: Token,
    },
    ExplorationCreated {
        exploration_token: Token,
        report_id: ReportId,
        email: Email,
    },
    ExplorationDeleted {
        exploration_token: Token,
    },
    QueryCreated {
        query_token: Token,
        report_id: ReportId,
        name: Name,
        raw_query: RawQuery,
        data_source_token: Token,
        email: Email,
    },
    QueryEdited {
        query_token: Token,
        email: Email,
        name: Option<Name>,
        raw_query: Option<RawQuery>,
        data_source_token: Option<Token>,
    },
    QueryDeleted {
        query_token: Token,
    },
    ChartCreated {
        chart_token: Token,
        query_token: Token,
        chart_type: ChartType,
        email: Email,
        chart_title: Option<Name>,
    },
    ChartEdited {
        chart_token: Token,
        email: Email,
        chart_type: Option<ChartType>,
        chart_title: Option<Name>,
    },
    ChartDeleted {
        chart_token: Token,
    },
}

impl EventKind {
    /// The report the event names, if it names one.
    pub fn report_id(&self) -> Option<ReportId> {
        match self {
            EventKind::ReportCreated { report_id, .. }
            | EventKind::ReportEdited { report_id, .. }
            | EventKind::ReportMoved { report_id, .. }
            | EventKind::ReportDeleted { report_id, .. }
            | EventKind::ReportViewed { report_id, .. }
            | EventKind::ReportRun { report_id, .. }
            | EventKind::ScheduleCreated { report_id, .. }
            | EventKind::ExplorationCreated { report_id, .. }
            | EventKind::QueryCreated { report_id, .. } => Some(*report_id),
            _ => None,
        }
    }

    /// The `type` string of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventKind::MemberUpserted { .. } => "member_upserted",
            EventKind::MemberRemoved { .. } => "member_removed",
            EventKind::SpaceUpserted { .. } => "space_upserted",
            EventKind::SpaceDeleted { .. } => "space_deleted",
            EventKind::ReportCreated { .. } => "report_created",
            EventKind::ReportEdited { .. } => "report_edited",
            EventKind::ReportMoved { .. } => "report_moved",
            EventKind::ReportDeleted { .. } => "report_deleted",
            EventKind::ReportViewed { .. } => "report_viewed",
            EventKind::ReportRun { .. } => "report_run",
            EventKind::ScheduleCreated { .. } => "schedule_created",
            EventKind::SchedulePaused { .. } => "schedule_paused",
            EventKind::ScheduleResumed { .. } => "schedule_resumed",
            EventKind::ScheduleDeleted { .. } => "schedule_deleted",
            EventKind::ExplorationCreated { .. } => "exploration_created",
            EventKind::ExplorationDeleted { .. } => "exploration_deleted",
            EventKind::QueryCreated { .. } => "query_created",
            EventKind::QueryEdited { .. } => "query_edited",
            EventKind::QueryDeleted { .. } => "query_deleted",
            EventKind::ChartCreated { .. } => "chart_created",
            EventKind::ChartEdited { .. } => "chart_edited",
            EventKind::ChartDeleted { .. } => "chart_deleted",
        }
    }
}
