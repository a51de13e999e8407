//! The read path, with the SQL shared with SQLite.

use sqlx::postgres::{PgArguments, PgPool};
use sqlx::{Postgres, Row, Transaction};

use crate::domain::Event;
use crate::domain::listings::{MemberRow, ReportRow, SpaceRow};
use crate::domain::stats::{ReportStat, SpaceFilter};
use crate::storage::listing_version::{COUNT, LISTED_IDS, LISTING_VERSION, PositionCache};
use crate::storage::listings::{self, ReportColumns};
use crate::storage::report_stats::{self as sql, Count, EmailList, PageBuilder};
use crate::storage::session::Param;
use crate::storage::{
    LogCursor, LogPage, Page, PageRequest, ReportStatsQuery, StoreResult, WorkspaceId,
    parse_stored_event,
};

/// Binds `params` to `query`, in order.
pub(super) fn bind<'q>(
    mut query: sqlx::query::Query<'q, Postgres, PgArguments>,
    params: &[Param<'q>],
) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    for param in params {
        query = match *param {
            Param::Int(value) => query.bind(value),
            Param::Bool(value) => query.bind(value),
            Param::Text(value) => query.bind(value),
            Param::Bytes(value) => query.bind(value),
        };
    }
    query
}

/// A read-only transaction on one snapshot, so the count and the rows of a
/// page agree even while batches are being written.
async fn snapshot(pool: &PgPool) -> StoreResult<Transaction<'static, Postgres>> {
    let mut transaction = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *transaction)
        .await?;
    Ok(transaction)
}

/// Where the page at `offset` of the listed reports starts, and how many
/// reports are listed: from the listing's positions when they are known or
/// the page is deep (see [`crate::storage::listing_version`]), else by counting.
/// Returns the total, the report id the page starts after, and the rows to
/// skip from there.
async fn locate(
    transaction: &mut Transaction<'static, Postgres>,
    positions: &PositionCache,
    workspace: WorkspaceId,
    all: bool,
    offset: u64,
) -> StoreResult<(u64, i64, i64)> {
    let listing_version: i64 = sqlx::query_scalar(LISTING_VERSION.postgres())
        .bind(workspace)
        .fetch_one(&mut **transaction)
        .await?;
    let planned = positions.plan(workspace, all, listing_version, offset);
    let mut walked = Vec::new();
    if let Some(planned) = &planned {
        walked = sqlx::query_scalar(LISTED_IDS.postgres())
            .bind(workspace)
            .bind(all)
            .bind(planned.last_mark())
            .fetch_all(&mut **transaction)
            .await?;
    }
    let known = planned.and_then(|planned| positions.settle(workspace, all, planned, &walked));
    let total = match &known {
        Some((total, _)) => *total,
        None => {
            let counted: i64 = sqlx::query_scalar(COUNT.postgres())
                .bind(workspace)
                .bind(all)
                .fetch_one(&mut **transaction)
                .await?;
            u64::try_from(counted).unwrap_or(0)
        }
    };
    let (after, skip) = known.map_or((0, offset), |(_, known)| known.start(offset));
    Ok((total, after, i64::try_from(skip).unwrap_or(i64::MAX)))
}

pub(super) async fn report_stats(
    pool: &PgPool,
    positions: &PositionCache,
    workspace: WorkspaceId,
    query: ReportStatsQuery,
) -> StoreResult<Page<ReportStat>> {
    let mut transaction = snapshot(pool).await?;
    let all = query.filter == SpaceFilter::All;
    let offset = query.page.offset();
    let (total_count, after, skip) =
        locate(&mut transaction, positions, workspace, all, offset).await?;

    let limit = i64::try_from(query.page.per_page).unwrap_or(i64::MAX);
    let mut page = PageBuilder::default();
    let rows = sqlx::query(&sql::page_sql())
        .bind(workspace)
        .bind(all)
        .bind(limit)
        .bind(skip)
        .bind(after)
        .fetch_all(&mut *transaction)
        .await?;
    for row in rows {
        page.push_report(
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
    }

    if let Some((first, last)) = page.id_range() {
        for (which, query_text) in [
            (Count::ActiveSchedules, sql::ACTIVE_SCHEDULES_SQL),
            (Count::Explorations, sql::EXPLORATIONS_SQL),
        ] {
            let rows = sqlx::query(query_text)
                .bind(workspace)
                .bind(first)
                .bind(last)
                .fetch_all(&mut *transaction)
                .await?;
            for row in rows {
                page.set_count(which, row.try_get(0)?, row.try_get(1)?);
            }
        }
        for (which, query_text) in [
            (EmailList::Editors, sql::EDITORS_SQL),
            (
                EmailList::ScheduledRunCreators,
                sql::SCHEDULED_RUN_CREATORS_SQL,
            ),
        ] {
            let rows = sqlx::query(query_text)
                .bind(workspace)
                .bind(first)
                .bind(last)
                .fetch_all(&mut *transaction)
                .await?;
            for row in rows {
                page.add_email(which, row.try_get(0)?, row.try_get(1)?);
            }
        }
        let rows = sqlx::query(sql::RECENT_MANUAL_RUNS_SQL)
            .bind(workspace)
            .bind(first)
            .bind(last)
            .bind(query.recent_since.as_micros())
            .fetch_all(&mut *transaction)
            .await?;
        for row in rows {
            page.add_recent_run(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        }
    }
    transaction.commit().await?;
    Ok(page.finish(total_count))
}

/// The log in event id order; a cursor is the last id read.
pub(super) async fn read_log(
    pool: &PgPool,
    workspace: WorkspaceId,
    from: Option<&LogCursor>,
    limit: usize,
) -> StoreResult<LogPage> {
    let rows = sqlx::query(
        "SELECT event_id, body FROM events
         WHERE workspace_id = $1 AND ($2::text IS NULL OR event_id > $2)
         ORDER BY event_id LIMIT $3",
    )
    .bind(workspace)
    .bind(from.map(|cursor| cursor.0.as_str()))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    let events = rows
        .iter()
        .map(|row| {
            parse_stored_event(
                format_args!("`{}`", row.try_get::<&str, _>(0)?),
                row.try_get(1)?,
            )
        })
        .collect::<StoreResult<Vec<Event>>>()?;
    let next = (events.len() == limit)
        .then(|| {
            events
                .last()
                .map(|event| LogCursor(event.id.as_str().to_owned()))
        })
        .flatten();
    Ok(LogPage { events, next })
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

pub(super) async fn reports(
    pool: &PgPool,
    positions: &PositionCache,
    workspace: WorkspaceId,
    page: PageRequest,
    filter: SpaceFilter,
) -> StoreResult<Page<ReportRow>> {
    let mut transaction = snapshot(pool).await?;
    let all = filter == SpaceFilter::All;
    let (total, after, skip) =
        locate(&mut transaction, positions, workspace, all, page.offset()).await?;
    let (limit, _) = limit_offset(page);
    let rows = sqlx::query(&listings::reports_page_sql())
        .bind(workspace)
        .bind(all)
        .bind(limit)
        .bind(skip)
        .bind(after)
        .fetch_all(&mut *transaction)
        .await?;
    transaction.commit().await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(ReportRow::from(ReportColumns {
                report_id: row.try_get(0)?,
                report_token: row.try_get(1)?,
                name: row.try_get(2)?,
                description: row.try_get(3)?,
                created_at: row.try_get(4)?,
                edited_at: row.try_get(5)?,
                definition_at: row.try_get(6)?,
                space_at: row.try_get(7)?,
                last_run_at: row.try_get(8)?,
                last_run_token: row.try_get(9)?,
                last_run_state: row.try_get(10)?,
                last_successful_run_at: row.try_get(11)?,
                last_viewed_at: row.try_get(12)?,
                creator_email: row.try_get(13)?,
                space_token: row.try_get(14)?,
            }))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Page::new(total, items))
}

pub(super) async fn spaces(
    pool: &PgPool,
    workspace: WorkspaceId,
    page: PageRequest,
    filter: SpaceFilter,
) -> StoreResult<Page<SpaceRow>> {
    let mut transaction = snapshot(pool).await?;
    let all = filter == SpaceFilter::All;
    let total: i64 = sqlx::query_scalar(&listings::spaces_count_sql())
        .bind(workspace)
        .bind(all)
        .fetch_one(&mut *transaction)
        .await?;
    let (limit, offset) = limit_offset(page);
    let rows = sqlx::query(&listings::spaces_page_sql())
        .bind(workspace)
        .bind(all)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *transaction)
        .await?;
    transaction.commit().await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(SpaceRow {
                id: row.try_get(0)?,
                token: row.try_get(1)?,
                name: row.try_get(2)?,
                description: row.try_get(3)?,
                space_type: row.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Page::new(count(total), items))
}

pub(super) async fn members(
    pool: &PgPool,
    workspace: WorkspaceId,
    page: PageRequest,
) -> StoreResult<Page<MemberRow>> {
    let mut transaction = snapshot(pool).await?;
    let total: i64 = sqlx::query_scalar(listings::MEMBERS_COUNT_SQL)
        .bind(workspace)
        .fetch_one(&mut *transaction)
        .await?;
    let (limit, offset) = limit_offset(page);
    let rows = sqlx::query(listings::MEMBERS_PAGE_SQL)
        .bind(workspace)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *transaction)
        .await?;
    transaction.commit().await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(MemberRow {
                email: row.try_get(0)?,
                username: row.try_get(1)?,
                name: row.try_get(2)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Page::new(count(total), items))
}
