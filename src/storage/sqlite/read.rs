//! The read path: pages of statistics from the maintained tables.

use rusqlite::{Connection, params};

use crate::domain::listings::{MemberRow, ReportRow, SpaceRow};
use crate::domain::stats::{ReportStat, SpaceFilter};
use crate::storage::listing_version::{COUNT, LISTED_IDS, LISTING_VERSION, PositionCache};
use crate::storage::listings::{self, ReportColumns};
use crate::storage::report_stats::{self as sql, Count, EmailList, PageBuilder, sqlite_form};
use crate::storage::session::Param;
use crate::storage::{
    LogCursor, LogPage, Page, PageRequest, ReportStatsQuery, StoreError, StoreResult, WorkspaceId,
};

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Int(value) => value.to_sql(),
            Param::Bool(value) => value.to_sql(),
            Param::Text(value) => value.to_sql(),
            Param::Bytes(value) => value.to_sql(),
        }
    }
}

/// Where the page at `offset` of the listed reports starts, and how many
/// reports are listed: from the listing's positions when they are known or
/// the page is deep (see [`crate::storage::listing_version`]), else by counting.
/// Returns the total, the report id the page starts after, and the rows to
/// skip from there.
fn locate(
    transaction: &rusqlite::Transaction<'_>,
    positions: &PositionCache,
    workspace: WorkspaceId,
    all: bool,
    offset: u64,
) -> StoreResult<(u64, i64, i64)> {
    let listing_version: i64 =
        query_one(transaction, LISTING_VERSION.sqlite(), [workspace], |row| {
            row.get(0)
        })?;
    let planned = positions.plan(workspace, all, listing_version, offset);
    let mut walked = Vec::new();
    if let Some(planned) = &planned {
        let mut statement = transaction.prepare_cached(LISTED_IDS.sqlite())?;
        let mut rows = statement.query(params![workspace, all, planned.last_mark()])?;
        while let Some(row) = rows.next()? {
            walked.push(row.get(0)?);
        }
    }
    let known = planned.and_then(|planned| positions.settle(workspace, all, planned, &walked));
    let total = match &known {
        Some((total, _)) => *total,
        None => count(query_one(
            transaction,
            COUNT.sqlite(),
            params![workspace, all],
            |row| row.get(0),
        )?),
    };
    let (after, skip) = known.map_or((0, offset), |(_, known)| known.start(offset));
    Ok((total, after, i64::try_from(skip).unwrap_or(i64::MAX)))
}

pub(super) fn report_stats(
    connection: &mut Connection,
    positions: &PositionCache,
    workspace: WorkspaceId,
    query: ReportStatsQuery,
) -> StoreResult<Page<ReportStat>> {
    // One read transaction: the count and the rows come from one snapshot.
    let transaction = connection.transaction()?;
    let all = query.filter == SpaceFilter::All;
    let offset = query.page.offset();
    let (total_count, after, skip) = locate(&transaction, positions, workspace, all, offset)?;

    let limit = i64::try_from(query.page.per_page).unwrap_or(i64::MAX);
    let mut page = PageBuilder::default();
    {
        let mut statement = transaction.prepare_cached(&sqlite_form(&sql::page_sql()))?;
        let mut rows = statement.query(params![workspace, all, limit, skip, after])?;
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
        for (which, query_text) in [
            (EmailList::Editors, sql::EDITORS_SQL),
            (
                EmailList::ScheduledRunCreators,
                sql::SCHEDULED_RUN_CREATORS_SQL,
            ),
        ] {
            let mut statement = transaction.prepare_cached(&sqlite_form(query_text))?;
            let mut rows = statement.query(params![workspace, first, last])?;
            while let Some(row) = rows.next()? {
                page.add_email(which, row.get(0)?, row.get(1)?);
            }
        }
        let since = query.recent_since.as_micros();
        let mut statement =
            transaction.prepare_cached(&sqlite_form(sql::RECENT_MANUAL_RUNS_SQL))?;
        let mut rows = statement.query(params![workspace, first, last, since])?;
        while let Some(row) = rows.next()? {
            page.add_recent_run(row.get(0)?, row.get(1)?, row.get(2)?);
        }
    }
    Ok(page.finish(total_count))
}

/// A cursor is `{block_id}:{lines}`: the block to read on in, and how many of
/// its lines were read already.
fn parse_cursor(cursor: &LogCursor) -> StoreResult<(i64, usize)> {
    cursor
        .0
        .split_once(':')
        .and_then(|(block, lines)| Some((block.parse().ok()?, lines.parse().ok()?)))
        .ok_or_else(|| StoreError::Other(anyhow::anyhow!("`{}` is not a log cursor", cursor.0)))
}

pub(super) fn read_log(
    connection: &mut Connection,
    workspace: WorkspaceId,
    from: Option<&LogCursor>,
    limit: usize,
) -> StoreResult<LogPage> {
    let (first_block, mut skip) = from.map(parse_cursor).transpose()?.unwrap_or((0, 0));
    let mut statement = connection.prepare_cached(
        "SELECT block_id, bodies FROM event_blocks
         WHERE workspace_id = ?1 AND block_id >= ?2 ORDER BY block_id",
    )?;
    let mut rows = statement.query(params![workspace, first_block])?;
    let mut page = LogPage::default();
    while let Some(row) = rows.next()? {
        let block: i64 = row.get(0)?;
        let bodies = super::log::block_text(row.get_ref(1)?)?;
        let mut lines = bodies.split('\n').enumerate().skip(skip);
        skip = 0;
        for (line, body) in lines.by_ref() {
            if page.events.len() == limit {
                page.next = Some(LogCursor(format!("{block}:{line}")));
                return Ok(page);
            }
            page.events.push(crate::storage::parse_stored_event(
                format_args!("in block {block}, line {}", line + 1),
                body,
            )?);
        }
    }
    Ok(page)
}

/// The one row of a statement kept prepared on the connection: every page
/// runs the same few statements, and parsing them anew showed in profiles.
fn query_one<T>(
    transaction: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    transaction.prepare_cached(sql)?.query_row(params, row)
}

fn limit_offset(page: PageRequest) -> (i64, i64) {
    (
        i64::try_from(page.per_page).unwrap_or(i64::MAX),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    )
}

fn count(total: i64) -> u64 {
    u64::try_from(total).unwrap_or(0)
}

pub(super) fn reports(
    connection: &mut Connection,
    positions: &PositionCache,
    workspace: WorkspaceId,
    page: PageRequest,
    filter: SpaceFilter,
) -> StoreResult<Page<ReportRow>> {
    let transaction = connection.transaction()?;
    let all = filter == SpaceFilter::All;
    let (total, after, skip) = locate(&transaction, positions, workspace, all, page.offset())?;
    let (limit, _) = limit_offset(page);
    let mut statement = transaction.prepare_cached(&sqlite_form(&listings::reports_page_sql()))?;
    let items = statement
        .query_map(params![workspace, all, limit, skip, after], |row| {
            Ok(ReportRow::from(ReportColumns {
                report_id: row.get(0)?,
                report_token: row.get(1)?,
                name: row.get(2)?,
                description: row.get(3)?,
                created_at: row.get(4)?,
                edited_at: row.get(5)?,
                definition_at: row.get(6)?,
                space_at: row.get(7)?,
                last_run_at: row.get(8)?,
                last_run_token: row.get(9)?,
                last_run_state: row.get(10)?,
                last_successful_run_at: row.get(11)?,
                last_viewed_at: row.get(12)?,
                creator_email: row.get(13)?,
                space_token: row.get(14)?,
            }))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::new(total, items))
}

pub(super) fn spaces(
    connection: &mut Connection,
    workspace: WorkspaceId,
    page: PageRequest,
    filter: SpaceFilter,
) -> StoreResult<Page<SpaceRow>> {
    let transaction = connection.transaction()?;
    let all = filter == SpaceFilter::All;
    let total: i64 = query_one(
        &transaction,
        &sqlite_form(&listings::spaces_count_sql()),
        params![workspace, all],
        |row| row.get(0),
    )?;
    let (limit, offset) = limit_offset(page);
    let mut statement = transaction.prepare_cached(&sqlite_form(&listings::spaces_page_sql()))?;
    let items = statement
        .query_map(params![workspace, all, limit, offset], |row| {
            Ok(SpaceRow {
                id: row.get(0)?,
                token: row.get(1)?,
                name: row.get(2)?,
                description: row.get(3)?,
                space_type: row.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::new(count(total), items))
}

pub(super) fn members(
    connection: &mut Connection,
    workspace: WorkspaceId,
    page: PageRequest,
) -> StoreResult<Page<MemberRow>> {
    let transaction = connection.transaction()?;
    let total: i64 = query_one(
        &transaction,
        &sqlite_form(listings::MEMBERS_COUNT_SQL),
        [workspace],
        |row| row.get(0),
    )?;
    let (limit, offset) = limit_offset(page);
    let mut statement = transaction.prepare_cached(&sqlite_form(listings::MEMBERS_PAGE_SQL))?;
    let items = statement
        .query_map(params![workspace, limit, offset], |row| {
            Ok(MemberRow {
                email: row.get(0)?,
                username: row.get(1)?,
                name: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::new(count(total), items))
}
