//! PostgreSQL's [`Session`]: the shared statements run on a connection of
//! the pool (sqlx keeps each prepared per connection). And the event log,
//! read in event id order.

use async_trait::async_trait;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow};
use sqlx::{Postgres, Row as _};

use crate::storage::session::{
    Access, EachRow, Param, Query, Session, Statement, Work, Written, row_through, work,
};
use crate::storage::{
    LogCursor, LogPage, StoreError, StoreResult, WorkspaceId, parse_stored_event,
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

// Columns are read with sqlx's own typed `Row::try_get`.
row_through!(PgRow, try_get);

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.code().as_deref() == Some("23505"))
}

struct PgSession<'c>(&'c mut PgConnection);

#[async_trait]
impl Session for PgSession<'_> {
    async fn rows(&mut self, query: Query<'_>, each: &mut EachRow<'_>) -> StoreResult<()> {
        let rows = bind(sqlx::query(query.statement.postgres()), query.params)
            .fetch_all(&mut *self.0)
            .await?;
        for row in &rows {
            if each(row)?.is_break() {
                break;
            }
        }
        Ok(())
    }

    async fn execute(&mut self, query: Query<'_>) -> StoreResult<Written> {
        let executed = bind(sqlx::query(query.statement.postgres()), query.params)
            .execute(&mut *self.0)
            .await;
        match executed {
            Ok(done) => Ok(Written::Rows(done.rows_affected())),
            Err(error) if is_unique_violation(&error) => Ok(Written::Duplicate),
            Err(error) => Err(error.into()),
        }
    }
}

/// Runs `work` on a connection of `pool`, in the transaction `access` asks
/// for: none for single statements; for a snapshot, a read-only one on one
/// snapshot, so the count and the rows of a page agree even while batches
/// are being written.
///
/// The work runs to its end on a task of its own: a request dropped half way
/// (its client gone, its timeout passed) would otherwise drop the
/// transaction in the middle of a statement, and the connection would go
/// back to the pool still inside it, to fail the next request that takes it.
pub(super) async fn run<T: Send + 'static>(
    pool: &PgPool,
    access: Access,
    work: Work<T>,
) -> StoreResult<T> {
    let pool = pool.clone();
    tokio::spawn(async move { run_to_end(&pool, access, work).await })
        .await
        .map_err(|error| StoreError::Other(anyhow::anyhow!("a database task failed: {error}")))?
}

async fn run_to_end<T>(pool: &PgPool, access: Access, work: Work<T>) -> StoreResult<T> {
    if access == Access::Statements {
        let mut connection = pool.acquire().await?;
        return work(&mut PgSession(&mut connection)).await;
    }
    let mut transaction = pool.begin().await?;
    if access == Access::Snapshot {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *transaction)
            .await?;
    }
    let result = work(&mut PgSession(&mut transaction)).await?;
    transaction.commit().await?;
    Ok(result)
}

static LOG: std::sync::LazyLock<Statement> = std::sync::LazyLock::new(|| {
    Statement::new(
        "SELECT event_id, body FROM events
         WHERE workspace_id = $1 AND ($2::text IS NULL OR event_id > $2)
         ORDER BY event_id LIMIT $3",
    )
});

/// The log in event id order; a cursor is the last id read.
pub(super) fn log_work(
    workspace: WorkspaceId,
    from: Option<LogCursor>,
    limit: usize,
) -> Work<LogPage> {
    work(move |session| {
        Box::pin(async move {
            let params = [
                workspace.into(),
                from.as_ref().map(|cursor| cursor.0.as_str()).into(),
                i64::try_from(limit).unwrap_or(i64::MAX).into(),
            ];
            let mut events = Vec::new();
            session
                .each(LOG.with(&params), |row| {
                    let id: String = row.get(0)?;
                    let body: String = row.get(1)?;
                    events.push(parse_stored_event(format_args!("`{id}`"), &body)?);
                    Ok(())
                })
                .await?;
            let next = (events.len() == limit)
                .then(|| {
                    events
                        .last()
                        .map(|event| LogCursor(event.id.as_str().to_owned()))
                })
                .flatten();
            Ok(LogPage { events, next })
        })
    })
}
