//! The statistics of SPEC section 4, and a from-scratch computation of them.
//!
//! The storage backends read [`ReportStat`] rows from tables they maintain as
//! events arrive; [`compute_report_stats`] derives the same rows from a
//! [`Changes`] folded over a whole event log. The second is slow and simple:
//! it is the reference the first is tested against (`tests/laws.rs` and
//! `tests/postgres.rs` compare a store's rows with it, folded from the events
//! sent and from the store's own event log). No command runs it.

use std::collections::BTreeSet;

use serde::Serialize;

use super::event::SpaceType;
use super::state::Changes;
use super::timestamp::Timestamp;

/// One row of `GET /batch/{workspace}/report_stats`, fields in the order of
/// SPEC section 5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ReportStat {
    pub report_id: i64,
    pub report_token: String,
    pub active_schedules_count: u64,
    pub explorations_count: u64,
    pub total_views_count: u64,
    /// The same number as `total_views_count`, under the name Mode's docs and
    /// Amundsen's extractor read.
    pub view_count: u64,
    pub recent_manual_run_creators_emails: Vec<String>,
    pub scheduled_run_creators_emails: Vec<String>,
    pub editors_emails: Vec<String>,
}

/// Which reports a listing includes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SpaceFilter {
    /// Leave out reports whose current space is a personal (`private`) one.
    #[default]
    ExcludePersonal,
    /// `include_spaces=all`.
    All,
}

/// The statistics of every live report in `state`, ordered by report id.
///
/// `recent_since` is `as_of` minus the recent window: manual runs at or after
/// it are recent.
pub fn compute_report_stats(
    state: &Changes,
    recent_since: Timestamp,
    filter: SpaceFilter,
) -> Vec<ReportStat> {
    let mut rows = Vec::new();
    for (report_id, report) in &state.reports {
        let Some(definition) = &report.definition else {
            continue;
        };
        if report.deleted {
            continue;
        }
        let space_type = report
            .space
            .as_ref()
            .and_then(|space| state.spaces.get(&space.value))
            .and_then(|space| space.definition.as_ref())
            .map(|definition| definition.value.space_type);
        if filter == SpaceFilter::ExcludePersonal && space_type == Some(SpaceType::Private) {
            continue;
        }

        let active_schedules_count = state
            .schedules
            .values()
            .filter(|schedule| !schedule.deleted)
            .filter(|schedule| !schedule.paused.as_ref().is_some_and(|paused| paused.value))
            .filter(|schedule| {
                schedule
                    .definition
                    .as_ref()
                    .is_some_and(|link| link.value.report_id == *report_id)
            })
            .count();
        let explorations_count = state
            .explorations
            .values()
            .filter(|exploration| !exploration.deleted)
            .filter(|exploration| {
                exploration
                    .definition
                    .as_ref()
                    .is_some_and(|link| link.value.report_id == *report_id)
            })
            .count();
        let recent_manual_run_creators_emails = report
            .manual_runs
            .iter()
            .filter(|(_, latest)| *latest >= recent_since)
            .map(|(email, _)| email.as_str().to_owned())
            .collect();
        let scheduled_run_creators_emails: BTreeSet<&str> = report
            .scheduled_runs
            .iter()
            .filter_map(|token| state.schedules.get(token)?.definition.as_ref())
            .map(|link| link.value.creator.as_str())
            .collect();
        let editors_emails: BTreeSet<&str> = report
            .editors
            .iter()
            .map(|email| email.as_str())
            .chain([definition.value.creator.as_str()])
            .collect();

        rows.push(ReportStat {
            report_id: report_id.get(),
            report_token: definition.value.report_token.as_str().to_owned(),
            active_schedules_count: active_schedules_count as u64,
            explorations_count: explorations_count as u64,
            total_views_count: report.views,
            view_count: report.views,
            recent_manual_run_creators_emails,
            scheduled_run_creators_emails: scheduled_run_creators_emails
                .into_iter()
                .map(str::to_owned)
                .collect(),
            editors_emails: editors_emails.into_iter().map(str::to_owned).collect(),
        });
    }
    rows
}
