//! SQLite's [`Session`]: the shared statements run on a rusqlite
//! connection, each kept prepared in the connection's cache (parsing the
//! same few statements anew for every page showed in profiles). And the
//! event log, read block by block.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, params_from_iter};

use crate::storage::session::{
    Access, EachRow, Param, Query, Session, Statement, Work, Written, row_through, work,
};
use crate::storage::{LogCursor, LogPage, StoreError, StoreResult, WorkspaceId};

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Param::Int(value) => value.to_sql(),
            Param::Bool(value) => value.to_sql(),
            Param::Text(value) => value.to_sql(),
            Param::Bytes(value) => value.to_sql(),
        }
    }
}

// Columns are read with rusqlite's own typed `Row::get`.
row_through!(rusqlite::Row<'_>, get);

/// A connection running a work's statements, in the transaction its
/// [`Access`] asks for. A transaction not committed is rolled back when the
/// session is dropped, also when the work panics, so the connection goes
/// back to its mutex clean (as rusqlite's own `Transaction` would; that one
/// cannot cross into the shared code, which needs a session it may send).
struct SqliteSession<'c> {
    connection: &'c mut Connection,
}

impl<'c> SqliteSession<'c> {
    /// Opens the transaction `access` asks for: deferred for a snapshot (a
    /// WAL reader's snapshot starts with its first read), immediate for a
    /// write, so that it takes the write lock first or waits for it.
    fn begin(connection: &'c mut Connection, access: Access) -> StoreResult<Self> {
        let begin = match access {
            Access::Statements => None,
            Access::Snapshot => Some("BEGIN DEFERRED"),
            Access::Write => Some("BEGIN IMMEDIATE"),
        };
        if let Some(begin) = begin {
            connection.prepare_cached(begin)?.execute([])?;
        }
        Ok(SqliteSession { connection })
    }

    /// Commits a write, ends a snapshot (it wrote nothing to keep).
    fn finish(self, access: Access) -> StoreResult<()> {
        let end = match access {
            Access::Statements => None,
            Access::Snapshot => Some("ROLLBACK"),
            Access::Write => Some("COMMIT"),
        };
        if let Some(end) = end {
            self.connection.prepare_cached(end)?.execute([])?;
        }
        Ok(())
    }
}

impl Drop for SqliteSession<'_> {
    fn drop(&mut self) {
        if !self.connection.is_autocommit() {
            // A failed rollback leaves nothing to do: SQLite rolls back
            // what it could not keep.
            let _ = self.connection.execute_batch("ROLLBACK");
        }
    }
}

/// Whether `error` says a statement would have broken a unique constraint.
fn is_unique_violation(error: &rusqlite::Error) -> bool {
    error.sqlite_error().is_some_and(|error| {
        matches!(
            error.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    })
}

#[async_trait]
impl Session for SqliteSession<'_> {
    async fn rows(&mut self, query: Query<'_>, each: &mut EachRow<'_>) -> StoreResult<()> {
        let mut prepared = self.connection.prepare_cached(query.statement.sqlite())?;
        let mut rows = prepared.query(params_from_iter(query.params))?;
        while let Some(row) = rows.next()? {
            if each(row)?.is_break() {
                break;
            }
        }
        Ok(())
    }

    async fn execute(&mut self, query: Query<'_>) -> StoreResult<Written> {
        let mut prepared = self.connection.prepare_cached(query.statement.sqlite())?;
        match prepared.execute(params_from_iter(query.params)) {
            Ok(changed) => Ok(Written::Rows(changed as u64)),
            Err(error) if is_unique_violation(&error) => Ok(Written::Duplicate),
            Err(error) => Err(error.into()),
        }
    }
}

/// Runs `work` on `connection` to its end, here, on the blocking thread
/// that holds the connection (see [`crate::storage::session`] for why
/// polling once is enough).
pub(super) fn run<T>(connection: &mut Connection, access: Access, work: Work<T>) -> StoreResult<T> {
    let mut session = SqliteSession::begin(connection, access)?;
    let result = now(work(&mut session))?;
    session.finish(access)?;
    Ok(result)
}

/// The output of a future that never waits: SQLite's sessions answer every
/// statement before they return.
fn now<T>(future: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(StoreError::Other(anyhow::anyhow!(
            "work on a SQLite session waited, which it cannot"
        ))),
    }
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

/// The blocks from `$2` on. A block is a BLOB (a zstd frame) or, written
/// before schema version 6, TEXT: each comes in its own column, so the
/// reader can tell them apart.
static LOG_BLOCKS: std::sync::LazyLock<Statement> = std::sync::LazyLock::new(|| {
    Statement::new(
        "SELECT block_id,
        CASE WHEN typeof(bodies) = 'text' THEN bodies END,
        CASE WHEN typeof(bodies) = 'blob' THEN bodies END
    FROM event_blocks WHERE workspace_id = $1 AND block_id >= $2 ORDER BY block_id",
    )
});

/// The log in block order, `limit` events at most from `from` on.
pub(super) fn log_work(
    workspace: WorkspaceId,
    from: Option<LogCursor>,
    limit: usize,
) -> Work<LogPage> {
    let from = from.as_ref().map(parse_cursor).transpose();
    work(move |session| {
        Box::pin(async move {
            let (first_block, mut skip) = from?.unwrap_or((0, 0));
            let mut page = LogPage::default();
            let params = [workspace.into(), first_block.into()];
            session
                .rows(LOG_BLOCKS.with(&params), &mut |row| {
                    let block: i64 = row.get(0)?;
                    let text: Option<String> = row.get(1)?;
                    let frame: Option<Vec<u8>> = row.get(2)?;
                    let value = match (&text, &frame) {
                        (Some(text), _) => ValueRef::Text(text.as_bytes()),
                        (None, Some(frame)) => ValueRef::Blob(frame),
                        (None, None) => ValueRef::Null,
                    };
                    let bodies = super::log::block_text(value)?;
                    let mut lines = bodies.split('\n').enumerate().skip(skip);
                    skip = 0;
                    for (line, body) in lines.by_ref() {
                        if page.events.len() == limit {
                            page.next = Some(LogCursor(format!("{block}:{line}")));
                            return Ok(ControlFlow::Break(()));
                        }
                        page.events.push(crate::storage::parse_stored_event(
                            format_args!("in block {block}, line {}", line + 1),
                            body,
                        )?);
                    }
                    Ok(ControlFlow::Continue(()))
                })
                .await?;
            Ok(page)
        })
    })
}
