//! What each line says: the event type and fields of a planned event, a
//! view or a run. A query's SQL is written here, from its spec, so that the
//! plan does not hold it.

use serde::Serialize;

use super::entities::Planned;
use super::plan::Plan;
use super::stream::Item;

impl Plan {
    /// The type and fields of `item`'s line; `run_token` is a run's token.
    pub(crate) fn render<'a>(
        &'a self,
        item: &'a Item,
        run_token: &'a str,
    ) -> (&'static str, Fields<'a>) {
        let member_email = |member: usize| Some(self.members[member].email.as_str());
        match item {
            Item::Planned(index) => self.render_planned(&self.events[*index].1),
            Item::View { report, viewer } => (
                "report_viewed",
                Fields {
                    report_id: Some(self.reports[*report].id),
                    email: viewer.and_then(member_email),
                    ..Fields::default()
                },
            ),
            Item::ManualRun {
                report,
                runner,
                state,
                ..
            } => (
                "report_run",
                Fields {
                    report_id: Some(self.reports[*report].id),
                    run_token: Some(run_token),
                    trigger: Some("manual"),
                    state: Some(*state),
                    email: member_email(*runner),
                    ..Fields::default()
                },
            ),
            Item::ScheduledRun {
                schedule, state, ..
            } => {
                let schedule = &self.schedules[*schedule];
                (
                    "report_run",
                    Fields {
                        report_id: Some(self.reports[schedule.report].id),
                        run_token: Some(run_token),
                        trigger: Some("scheduled"),
                        schedule_token: Some(&schedule.token),
                        state: Some(*state),
                        ..Fields::default()
                    },
                )
            }
        }
    }

    fn render_planned<'a>(&'a self, planned: &'a Planned) -> (&'static str, Fields<'a>) {
        let member_email = |member: usize| Some(self.members[member].email.as_str());
        let report_id = |report: usize| Some(self.reports[report].id);
        let space_token = |space: usize| Some(self.spaces[space].token.as_str());
        let schedule_token = |schedule: usize| Some(self.schedules[schedule].token.as_str());
        let exploration_token =
            |exploration: usize| Some(self.explorations[exploration].token.as_str());
        let query_token = |query: usize| Some(self.queries[query].token.as_str());
        let chart_token = |chart: usize| Some(self.charts[chart].token.as_str());
        match planned {
            Planned::MemberUpserted(member) => {
                let m = &self.members[*member];
                (
                    "member_upserted",
                    Fields {
                        email: Some(&m.email),
                        username: Some(&m.username),
                        name: Some(&m.name),
                        ..Fields::default()
                    },
                )
            }
            Planned::MemberRemoved(member) => (
                "member_removed",
                Fields {
                    email: member_email(*member),
                    ..Fields::default()
                },
            ),
            Planned::SpaceUpserted(space) => {
                let s = &self.spaces[*space];
                (
                    "space_upserted",
                    Fields {
                        space_token: Some(&s.token),
                        name: Some(&s.name),
                        description: s.description.as_deref(),
                        space_type: Some(s.space_type),
                        ..Fields::default()
                    },
                )
            }
            Planned::SpaceDeleted(space) => (
                "space_deleted",
                Fields {
                    space_token: space_token(*space),
                    ..Fields::default()
                },
            ),
            Planned::ReportCreated(report) => {
                let r = &self.reports[*report];
                (
                    "report_created",
                    Fields {
                        report_id: Some(r.id),
                        report_token: Some(&r.token),
                        space_token: space_token(r.created_in),
                        email: member_email(r.creator),
                        name: Some(&r.name),
                        description: r.description.as_deref(),
                        ..Fields::default()
                    },
                )
            }
            Planned::ReportEdited {
                report,
                editor,
                name,
                description,
            } => (
                "report_edited",
                Fields {
                    report_id: report_id(*report),
                    email: member_email(*editor),
                    name: name.as_deref(),
                    description: description.as_deref(),
                    ..Fields::default()
                },
            ),
            Planned::ReportMoved { report, space } => (
                "report_moved",
                Fields {
                    report_id: report_id(*report),
                    space_token: space_token(*space),
                    ..Fields::default()
                },
            ),
            Planned::ReportDeleted(report) => (
                "report_deleted",
                Fields {
                    report_id: report_id(*report),
                    ..Fields::default()
                },
            ),
            Planned::ScheduleCreated(schedule) => {
                let s = &self.schedules[*schedule];
                (
                    "schedule_created",
                    Fields {
                        schedule_token: Some(&s.token),
                        report_id: report_id(s.report),
                        email: member_email(s.creator),
                        ..Fields::default()
                    },
                )
            }
            Planned::SchedulePaused(schedule) => (
                "schedule_paused",
                Fields {
                    schedule_token: schedule_token(*schedule),
                    ..Fields::default()
                },
            ),
            Planned::ScheduleResumed(schedule) => (
                "schedule_resumed",
                Fields {
                    schedule_token: schedule_token(*schedule),
                    ..Fields::default()
                },
            ),
            Planned::ScheduleDeleted(schedule) => (
                "schedule_deleted",
                Fields {
                    schedule_token: schedule_token(*schedule),
                    ..Fields::default()
                },
            ),
            Planned::ExplorationCreated(exploration) => {
                let e = &self.explorations[*exploration];
                (
                    "exploration_created",
                    Fields {
                        exploration_token: Some(&e.token),
                        report_id: report_id(e.report),
                        email: member_email(e.creator),
                        ..Fields::default()
                    },
                )
            }
            Planned::ExplorationDeleted(exploration) => (
                "exploration_deleted",
                Fields {
                    exploration_token: exploration_token(*exploration),
                    ..Fields::default()
                },
            ),
            Planned::QueryCreated(query) => {
                let q = &self.queries[*query];
                (
                    "query_created",
                    Fields {
                        report_id: report_id(q.report),
                        query_token: Some(&q.token),
                        email: member_email(q.creator),
                        name: Some(&q.name),
                        data_source_token: Some(q.spec.source.token),
                        raw_query: Some(q.spec.raw_query()),
                        ..Fields::default()
                    },
                )
            }
            Planned::QueryEdited {
                query,
                editor,
                name,
                spec,
                data_source,
            } => (
                "query_edited",
                Fields {
                    query_token: query_token(*query),
                    email: member_email(*editor),
                    name: name.as_deref(),
                    data_source_token: data_source.map(|source| source.token),
                    raw_query: spec.map(|spec| spec.raw_query()),
                    ..Fields::default()
                },
            ),
            Planned::QueryDeleted(query) => (
                "query_deleted",
                Fields {
                    query_token: query_token(*query),
                    ..Fields::default()
                },
            ),
            Planned::ChartCreated(chart) => {
                let c = &self.charts[*chart];
                (
                    "chart_created",
                    Fields {
                        chart_token: Some(&c.token),
                        query_token: query_token(c.query),
                        email: member_email(c.creator),
                        chart_type: Some(c.chart_type),
                        chart_title: c.title.as_deref(),
                        ..Fields::default()
                    },
                )
            }
            Planned::ChartEdited {
                chart,
                editor,
                chart_type,
                title,
            } => (
                "chart_edited",
                Fields {
                    chart_token: chart_token(*chart),
                    email: member_email(*editor),
                    chart_type: *chart_type,
                    chart_title: title.as_deref(),
                    ..Fields::default()
                },
            ),
            Planned::ChartDeleted(chart) => (
                "chart_deleted",
                Fields {
                    chart_token: chart_token(*chart),
                    ..Fields::default()
                },
            ),
        }
    }
}

/// The fields of a line after `id`, `type` and `occurred_at`, in the order
/// they are written.
#[derive(Default, Serialize)]
pub(crate) struct Fields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    report_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    space_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploration_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chart_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trigger: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    space_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chart_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chart_title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_source_token: Option<&'a str>,
    /// Written from its spec for this line alone; last, being the longest.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_query: Option<String>,
}
