//! Reading a page of report statistics, shared by the backends: the SQL
//! (in PostgreSQL's `$n` form; SQLite takes it through [`sqlite_form`]) and
//! the assembly of rows from the query results.
//!
//! A page costs one query for its reports and one per list-valued column,
//! each a range scan over the page's report ids: the cost follows
//! `per_page`, never the length of the event history.

use std::collections::BTreeSet;

use super::Page;
use super::listing_version::LISTED_REPORTS;
pub use super::session::sqlite_form;
use crate::domain::Timestamp;
use crate::domain::stats::ReportStat;

/// The listed reports after report id `$5` (0 for all): `$3` is the limit,
/// `$4` the offset from there (see [`super::listing_version`]).
pub fn page_sql() -> String {
    format!(
        "SELECT r.report_id, r.report_token, r.view_count, r.creator_email {LISTED_REPORTS}
      AND r.report_id > $5
    ORDER BY r.report_id LIMIT $3 OFFSET $4"
    )
}

/// `(report_id, count)` for ids in `$2..=$3`.
pub const ACTIVE_SCHEDULES_SQL: &str = "SELECT report_id, count(*) FROM schedules
    WHERE workspace_id = $1 AND report_id BETWEEN $2 AND $3
      AND definition_at IS NOT NULL AND NOT deleted AND NOT paused
    GROUP BY report_id";

pub const EXPLORATIONS_SQL: &str = "SELECT report_id, count(*) FROM explorations
    WHERE workspace_id = $1 AND report_id BETWEEN $2 AND $3
      AND definition_at IS NOT NULL AND NOT deleted
    GROUP BY report_id";

/// `(report_id, email)` pairs.
pub const EDITORS_SQL: &str = "SELECT report_id, email FROM report_editors
    WHERE workspace_id = $1 AND report_id BETWEEN $2 AND $3";

/// `(report_id, email, last_run_at)`; `$4` is the start of the recent window.
pub const RECENT_MANUAL_RUNS_SQL: &str =
    "SELECT report_id, email, last_run_at FROM report_manual_runs
    WHERE workspace_id = $1 AND report_id BETWEEN $2 AND $3 AND last_run_at >= $4";

/// A schedule's creator is joined on read: its schedule_created may have
/// arrived after its runs.
pub const SCHEDULED_RUN_CREATORS_SQL: &str =
    "SELECT r.report_id, s.creator_email FROM report_scheduled_runs r
    JOIN schedules s ON s.workspace_id = r.workspace_id AND s.schedule_token = r.schedule_token
    WHERE r.workspace_id = $1 AND r.report_id BETWEEN $2 AND $3 AND s.creator_email IS NOT NULL";

/// Which list a `(report_id, email)` pair belongs to.
#[derive(Clone, Copy, Debug)]
pub enum EmailList {
    Editors,
    RecentManualRunCreators,
    ScheduledRunCreators,
}

/// Which count a `(report_id, count)` pair sets.
#[derive(Clone, Copy, Debug)]
pub enum Count {
    ActiveSchedules,
    Explorations,
}

/// Collects a page's rows, then their counts and email lists. Pairs for
/// report ids in the page's range but not on the page (deleted, personal)
/// are ignored.
#[derive(Default)]
pub struct PageBuilder {
    rows: Vec<ReportStat>,
    lists: Vec<[BTreeSet<String>; 3]>,
    oldest_recent_run: Option<i64>,
}

impl PageBuilder {
    /// Adds a report; calls come in report id order.
    pub fn push_report(
        &mut self,
        report_id: i64,
        report_token: String,
        views: i64,
        creator: Option<String>,
    ) {
        let views = u64::try_from(views).unwrap_or(0);
        self.rows.push(ReportStat {
            report_id,
            report_token,
            active_schedules_count: 0,
            explorations_count: 0,
            total_views_count: views,
            view_count: views,
            recent_manual_run_creators_emails: Vec::new(),
            scheduled_run_creators_emails: Vec::new(),
            editors_emails: Vec::new(),
        });
        // The creator is an editor (SPEC section 4).
        let editors = creator.into_iter().collect();
        self.lists.push([editors, BTreeSet::new(), BTreeSet::new()]);
    }

    /// The first and last report id on the page, if it has any.
    pub fn id_range(&self) -> Option<(i64, i64)> {
        Some((self.rows.first()?.report_id, self.rows.last()?.report_id))
    }

    fn index_of(&self, report_id: i64) -> Option<usize> {
        self.rows
            .binary_search_by_key(&report_id, |row| row.report_id)
            .ok()
    }

    pub fn set_count(&mut self, which: Count, report_id: i64, count: i64) {
        if let Some(index) = self.index_of(report_id) {
            let count = u64::try_from(count).unwrap_or(0);
            match which {
                Count::ActiveSchedules => self.rows[index].active_schedules_count = count,
                Count::Explorations => self.rows[index].explorations_count = count,
            }
        }
    }

    pub fn add_email(&mut self, which: EmailList, report_id: i64, email: String) {
        if let Some(index) = self.index_of(report_id) {
            self.lists[index][which as usize].insert(email);
        }
    }

    /// A recent manual run: its member is a recent creator, and the page
    /// changes when the run leaves the window.
    pub fn add_recent_run(&mut self, report_id: i64, email: String, last_run_at: i64) {
        if self.index_of(report_id).is_some() {
            self.oldest_recent_run = Some(
                self.oldest_recent_run
                    .map_or(last_run_at, |oldest| oldest.min(last_run_at)),
            );
            self.add_email(EmailList::RecentManualRunCreators, report_id, email);
        }
    }

    /// The page: each list sorted and without duplicates.
    pub fn finish(self, total_count: u64) -> Page<ReportStat> {
        let items = self
            .rows
            .into_iter()
            .zip(self.lists)
            .map(|(mut row, [editors, recent, scheduled])| {
                row.editors_emails = editors.into_iter().collect();
                row.recent_manual_run_creators_emails = recent.into_iter().collect();
                row.scheduled_run_creators_emails = scheduled.into_iter().collect();
                row
            })
            .collect();
        Page {
            total_count,
            items,
            oldest_recent_run: self.oldest_recent_run.map(Timestamp::from_micros),
        }
    }
}
