//! The read path: pages of statistics from the maintained tables.

use rusqlite::{Connection, ToSql, params};

use crate::domain::Event;
use crate::domain::stats::{ReportStat, SpaceFilter};
use crate::storage::report_stats::{self as sql, Count, EmailList, PageBuilder, sqlite_form};
use crate::storage::{Page, ReportStatsQuery, StoreResult, WorkspaceId};

pub(super) fn report_stats(
    connection: &mut Connection,
    workspace: WorkspaceId,
    query: ReportStatsQuery,
) -> StoreResult<Page<ReportStat>> {
    // One read transaction: the count and the rows come from one snapshot.
    let transaction = connection.transaction()?;
    let all = query.filter == SpaceFilter::All;
    let total_count: i64 = transaction.query_row(
        &sqlite_form(&sql::count_sql()),
        params![workspace, all],
        |row| row.get(0),
    )?;

    let limit = i64::try_from(query.page.per_page).unwrap_or(i64::MAX);
    let offset = i64::try_from(query.page.offset()).unwrap_or(i64::MAX);
    let mut page = PageBuilder::default();
    {
        let mut statement = transaction.prepare_cached(&sqlite_form(&sql::page_sql()))?;
        let mut rows = statement.query(params![workspace, all, limit, offset])?;
        while let Some(row) = rows.next()? {
            page.push_report(row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        }
    }

    if let Some((first, last)) = page.id_range() {
        for (which, query_text) in [
            (Count::ActiveSchedules, sql::ACTIVE_SCHEDULES_SQL),
            (Count::Explorations, sql::EXPLORATIONS_SQL),
        ] {
            let mut statement = transaction.prepare_cached(&sqlite_form(query_text))?;
            let mut rows = statement.query(params![workspace, first, last])?;
            while let Some(row) = rows.next()? {
                page.set_count(which, row.get(0)?, row.get(1)?);
            }
        }
        let since = query.recent_since.as_micros();
        let mut add_emails =
            |which: EmailList, query_text: &str, parameters: &[&dyn ToSql]| -> StoreResult<()> {
                let mut statement = transaction.prepare_cached(&sqlite_form(query_text))?;
                let mut rows = statement.query(parameters)?;
                while let Some(row) = rows.next()? {
                    page.add_email(which, row.get(0)?, row.get(1)?);
                }
                Ok(())
            };
        add_emails(
            EmailList::Editors,
            sql::EDITORS_SQL,
            params![workspace, first, last],
        )?;
        add_emails(
            EmailList::RecentManualRunCreators,
            sql::RECENT_MANUAL_RUNS_SQL,
            params![workspace, first, last, since],
        )?;
        add_emails(
            EmailList::ScheduledRunCreators,
            sql::SCHEDULED_RUN_CREATORS_SQL,
            params![workspace, first, last],
        )?;
    }
    Ok(Page {
        total_count: u64::try_from(total_count).unwrap_or(0),
        items: page.finish(),
    })
}

pub(super) fn events_after(
    connection: &mut Connection,
    workspace: WorkspaceId,
    after: Option<&str>,
    limit: usize,
) -> StoreResult<Vec<Event>> {
    let mut statement = connection.prepare_cached(
        "SELECT event_id, body FROM events
         WHERE workspace_id = ?1 AND (?2 IS NULL OR event_id > ?2)
         ORDER BY event_id LIMIT ?3",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = statement.query(params![workspace, after, limit])?;
    let mut events = Vec::new();
    while let Some(row) = rows.next()? {
        let event_id: String = row.get(0)?;
        let body: String = row.get(1)?;
        events.push(crate::storage::parse_stored_event(&event_id, &body)?);
    }
    Ok(events)
}
