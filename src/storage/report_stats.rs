//! A page of report statistics, shared by the backends: its SQL and the
//! assembly of rows from the query results, run on a [`Session`].
//!
//! A page costs one query for its reports and one per list-valued column,
//! each a range scan over the page's report ids: the cost follows
//! `per_page`, never the length of the event history.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use super::listing_version::{self, PositionCache};
use super::session::{Row, Session, Statement, selected_columns};
use super::{Page, ReportStatsQuery, StoreResult, WorkspaceId};
use crate::domain::Timestamp;
use crate::domain::stats::{ReportStat, SpaceFilter};

selected_columns! {
    /// A listed report as the page query reads it.
    pub struct ListedReport {
        report_id: i64,
        report_token: String,
        view_count: i64,
        creator_email: Option<String>,
    }
}

/// The listed reports of a page (see [`listing_version::PageStart`]).
pub static PAGE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(listing_version::listed_page_sql(
        &ListedReport::select_list("r."),
    ))
});

/// A schedule that counts in `active_schedules_count` (SPEC section 4), as
/// a condition on the `schedules` table's columns.
pub const ACTIVE_SCHEDULE: &str = "definition_at IS NOT NULL AND NOT deleted AND NOT paused";

/// `(report_id, count)` for ids in `$2..=$3`.
pub static ACTIVE_SCHEDULES: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT report_id, count(*) FROM schedules
    WHERE workspace_id = $1 AND report_id BETWEEN $2 AND $3 AND {ACTIVE_SCHEDULE}
    GROUP BY report_id"
    ))
});

pub static EXPLORATIONS: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT report_id, count(*) FROM explorations
    WHERE workspace_id = $1 AND report_id BETWEEN $2 AND $3
      AND definition_at IS NOT NULL AND NOT deleted
    GROUP BY report_id",
    )
});

/// `(report_id, email)` pairs.
pub static EDITORS: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT report_id, email FROM report_editors
    WHERE workspace_id = $1 AND report_id BETWEEN $2 AND $3",
    )
});

/// `(report_id, email, last_run_at)`; `$4` is the start of the recent window.
pub static RECENT_MANUAL_RUNS: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT report_id, email, last_run_at FROM report_manual_runs
    WHERE workspace_id = $1 AND report_id BETWEEN $2 AND $3 AND last_run_at >= $4",
    )
});

/// A schedule's creator is joined on read: its schedule_created may have
/// arrived after its runs.
pub static SCHEDULED_RUN_CREATORS: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT r.report_id, s.creator_email FROM report_scheduled_runs r
    JOIN schedules s ON s.workspace_id = r.workspace_id AND s.schedule_token = r.schedule_token
    WHERE r.workspace_id = $1 AND r.report_id BETWEEN $2 AND $3 AND s.creator_email IS NOT NULL",
    )
});

/// A page of report statistics, read in one snapshot.
pub async fn page(
    session: &mut dyn Session,
    positions: &PositionCache,
    workspace: WorkspaceId,
    query: ReportStatsQuery,
) -> StoreResult<Page<ReportStat>> {
    let all = query.filter == SpaceFilter::All;
    let start = listing_version::locate(
        session,
        positions,
        &listing_version::REPORTS,
        (workspace, all),
        query.page.offset(),
    )
    .await?;
    let mut page = PageBuilder::default();
    let params = start.params(query.page.per_page);
    session
        .each(PAGE.with(&params), |row| {
            page.push_report(ListedReport::from_row(row)?);
            Ok(())
        })
        .await?;

    add_details(session, &mut page, workspace, query.recent_since).await?;
    Ok(page.finish(start.total_count))
}

/// Report `$2`, live, whatever its space.
static ONE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {} FROM reports r
    WHERE r.workspace_id = $1 AND r.report_id = $2 AND r.definition_at IS NOT NULL AND NOT r.deleted",
        ListedReport::select_list("r.")
    ))
});

/// One live report's statistics, whatever its space (the dashboard's
/// report page): the same row a page of `report_stats` holds.
pub async fn one(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    report_id: i64,
    recent_since: Timestamp,
) -> StoreResult<Option<ReportStat>> {
    let mut page = PageBuilder::default();
    session
        .each(ONE.with(&[workspace.into(), report_id.into()]), |row| {
            page.push_report(ListedReport::from_row(row)?);
            Ok(())
        })
        .await?;
    add_details(session, &mut page, workspace, recent_since).await?;
    Ok(page.finish(1).items.into_iter().next())
}

/// The counts and email lists of the reports `page` holds.
async fn add_details(
    session: &mut dyn Session,
    page: &mut PageBuilder,
    workspace: WorkspaceId,
    recent_since: Timestamp,
) -> StoreResult<()> {
    if let Some((first, last)) = page.id_range() {
        let range = [workspace.into(), first.into(), last.into()];
        for (detail, statement) in [
            (Detail::Count(Count::ActiveSchedules), &*ACTIVE_SCHEDULES),
            (Detail::Count(Count::Explorations), &*EXPLORATIONS),
            (Detail::Email(EmailList::Editors), &*EDITORS),
            (
                Detail::Email(EmailList::ScheduledRunCreators),
                &*SCHEDULED_RUN_CREATORS,
            ),
        ] {
            let add = |row: &dyn Row| page.add(detail, row);
            session.each(statement.with(&range), add).await?;
        }
        let since = recent_since.as_micros();
        let params = [workspace.into(), first.into(), last.into(), since.into()];
        let add = |row: &dyn Row| page.add(Detail::RecentRun, row);
        session.each(RECENT_MANUAL_RUNS.with(&params), add).await?;
    }
    Ok(())
}

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

/// What a row of a detail query adds to a page.
#[derive(Clone, Copy, Debug)]
pub enum Detail {
    /// `(report_id, count)`.
    Count(Count),
    /// `(report_id, email)`.
    Email(EmailList),
    /// `(report_id, email, last_run_at)` of a recent manual run.
    RecentRun,
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
    pub fn push_report(&mut self, report: ListedReport) {
        let views = u64::try_from(report.view_count).unwrap_or(0);
        self.rows.push(ReportStat {
            report_id: report.report_id,
            report_token: report.report_token,
            active_schedules_count: 0,
            explorations_count: 0,
            total_views_count: views,
            view_count: views,
            recent_manual_run_creators_emails: Vec::new(),
            scheduled_run_creators_emails: Vec::new(),
            editors_emails: Vec::new(),
        });
        // The creator is an editor (SPEC section 4).
        let editors = report.creator_email.into_iter().collect();
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

    /// Adds what a row of a detail query says.
    pub fn add(&mut self, detail: Detail, row: &dyn Row) -> StoreResult<()> {
        match detail {
            Detail::Count(which) => self.set_count(which, row.get(0)?, row.get(1)?),
            Detail::Email(which) => self.add_email(which, row.get(0)?, row.get(1)?),
            Detail::RecentRun => self.add_recent_run(row.get(0)?, row.get(1)?, row.get(2)?),
        }
        Ok(())
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
