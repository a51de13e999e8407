//! The read path: pages of statistics from the maintained tables.
//!
//! A page costs one query for its reports and one per list-valued column,
//! each a range scan over the page's report ids: the cost follows
//! `per_page`, never the length of the event history.

use std::collections::BTreeSet;

use rusqlite::{Connection, params};

use crate::domain::event::Position;
use crate::domain::stats::{ReportStat, SpaceFilter};
use crate::domain::{Event, Timestamp};
use crate::storage::{Page, ReportStatsQuery, StoreError, StoreResult, WorkspaceId};

/// The reports a listing shows: created, not deleted, and (unless asked for
/// all) not in a personal space. `?1` is the workspace, `?2` true for all.
const LISTED_REPORTS: &str = "FROM reports r
    LEFT JOIN spaces s ON s.workspace_id = r.workspace_id AND s.space_token = r.space_token
    WHERE r.workspace_id = ?1 AND r.definition_at IS NOT NULL AND NOT r.deleted
      AND (?2 OR s.space_type IS NULL OR s.space_type <> 'private')";

pub(super) fn report_stats(
    connection: &mut Connection,
    workspace: WorkspaceId,
    query: ReportStatsQuery,
) -> StoreResult<Page<ReportStat>> {
    // One read transaction: the count and the rows come from one snapshot.
    let transaction = connection.transaction()?;
    let all = query.filter == SpaceFilter::All;
    let total_count: i64 = transaction.query_row(
        &format!("SELECT count(*) {LISTED_REPORTS}"),
        params![workspace, all],
        |row| row.get(0),
    )?;

    let limit = i64::try_from(query.page.per_page).unwrap_or(i64::MAX);
    let offset = i64::try_from(query.page.offset()).unwrap_or(i64::MAX);
    let mut rows: Vec<ReportStat> = Vec::new();
    let mut creators: Vec<String> = Vec::new();
    {
        let mut statement = transaction.prepare_cached(&format!(
            "SELECT r.report_id, r.report_token, r.view_count, r.creator_email {LISTED_REPORTS}
             ORDER BY r.report_id LIMIT ?3 OFFSET ?4"
        ))?;
        let mut result = statement.query(params![workspace, all, limit, offset])?;
        while let Some(row) = result.next()? {
            let views: i64 = row.get(2)?;
            rows.push(ReportStat {
                report_id: row.get(0)?,
                report_token: row.get(1)?,
                active_schedules_count: 0,
                explorations_count: 0,
                total_views_count: views as u64,
                view_count: views as u64,
                recent_manual_run_creators_emails: Vec::new(),
                scheduled_run_creators_emails: Vec::new(),
                editors_emails: Vec::new(),
            });
            creators.push(row.get(3)?);
        }
    }
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(Page {
            total_count: total_count as u64,
            items: rows,
        });
    };
    let range = (first.report_id, last.report_id);

    // Per-report columns, each read for the page's id range; ids in the
    // range that are not on the page (deleted, personal) are skipped.
    let index_of = |rows: &[ReportStat], report_id: i64| {
        rows.binary_search_by_key(&report_id, |row| row.report_id)
            .ok()
    };

    let counts = |sql: &str| -> StoreResult<Vec<(i64, i64)>> {
        let mut statement = transaction.prepare_cached(sql)?;
        let pairs = statement
            .query_map(params![workspace, range.0, range.1], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(pairs)
    };
    for (report_id, count) in counts(
        "SELECT report_id, count(*) FROM schedules
         WHERE workspace_id = ?1 AND report_id BETWEEN ?2 AND ?3
           AND definition_at IS NOT NULL AND NOT deleted AND NOT paused
         GROUP BY report_id",
    )? {
        if let Some(index) = index_of(&rows, report_id) {
            rows[index].active_schedules_count = count as u64;
        }
    }
    for (report_id, count) in counts(
        "SELECT report_id, count(*) FROM explorations
         WHERE workspace_id = ?1 AND report_id BETWEEN ?2 AND ?3
           AND definition_at IS NOT NULL AND NOT deleted
         GROUP BY report_id",
    )? {
        if let Some(index) = index_of(&rows, report_id) {
            rows[index].explorations_count = count as u64;
        }
    }

    let mut editors: Vec<BTreeSet<String>> = creators
        .into_iter()
        .map(|creator| BTreeSet::from([creator]))
        .collect();
    let mut scheduled: Vec<BTreeSet<String>> = vec![BTreeSet::new(); rows.len()];
    let mut recent: Vec<BTreeSet<String>> = vec![BTreeSet::new(); rows.len()];
    let emails =
        |sql: &str, extra: Option<i64>, into: &mut Vec<BTreeSet<String>>| -> StoreResult<()> {
            let mut statement = transaction.prepare_cached(sql)?;
            let mut result = match extra {
                Some(since) => statement.query(params![workspace, range.0, range.1, since])?,
                None => statement.query(params![workspace, range.0, range.1])?,
            };
            while let Some(row) = result.next()? {
                if let Some(index) = index_of(&rows, row.get(0)?) {
                    into[index].insert(row.get(1)?);
                }
            }
            Ok(())
        };
    emails(
        "SELECT report_id, email FROM report_editors
         WHERE workspace_id = ?1 AND report_id BETWEEN ?2 AND ?3",
        None,
        &mut editors,
    )?;
    emails(
        "SELECT report_id, email FROM report_manual_runs
         WHERE workspace_id = ?1 AND report_id BETWEEN ?2 AND ?3 AND last_run_at >= ?4",
        Some(query.recent_since.as_micros()),
        &mut recent,
    )?;
    emails(
        "SELECT r.report_id, s.creator_email FROM report_scheduled_runs r
         JOIN schedules s ON s.workspace_id = r.workspace_id AND s.schedule_token = r.schedule_token
         WHERE r.workspace_id = ?1 AND r.report_id BETWEEN ?2 AND ?3 AND s.creator_email IS NOT NULL",
        None,
        &mut scheduled,
    )?;
    for (((row, editors), scheduled), recent) in
        rows.iter_mut().zip(editors).zip(scheduled).zip(recent)
    {
        row.editors_emails = editors.into_iter().collect();
        row.scheduled_run_creators_emails = scheduled.into_iter().collect();
        row.recent_manual_run_creators_emails = recent.into_iter().collect();
    }
    Ok(Page {
        total_count: total_count as u64,
        items: rows,
    })
}

pub(super) fn event_log(
    connection: &mut Connection,
    workspace: WorkspaceId,
) -> StoreResult<Vec<Event>> {
    let mut statement = connection.prepare_cached(
        "SELECT event_id, body FROM events WHERE workspace_id = ?1 ORDER BY event_id",
    )?;
    let mut result = statement.query([workspace])?;
    let mut events = Vec::new();
    // Stored events passed validation when they arrived; only the clock check
    // must not apply again.
    let far_future = Timestamp::from_micros(i64::MAX / 2);
    while let Some(row) = result.next()? {
        let event_id: String = row.get(0)?;
        let body: String = row.get(1)?;
        let event =
            Event::parse(&body, Position::Line(events.len() + 1), far_future).map_err(|error| {
                StoreError::Other(anyhow::anyhow!(
                    "stored event `{event_id}` does not parse: {error}"
                ))
            })?;
        events.push(event);
    }
    Ok(events)
}
