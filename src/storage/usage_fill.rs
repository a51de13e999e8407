//! Fills the usage tables (SPEC section 8: `report_days`,
//! `report_viewer_days`) of workspaces made before they existed, from each
//! workspace's stored event log, when a store opens.
//!
//! The migration that makes the tables marks every existing workspace
//! unfilled (`workspaces.usage_filled`); a workspace made afterwards starts
//! filled, its log and its tables both empty. Each unfilled workspace is
//! filled in one write transaction: it clears the usage rows, replays the
//! whole log into them, marks what is summed of them for the rebuild that
//! follows when a store opens ([`super::usage_sums::rebuild_pending`]) and
//! marks the workspace filled, so a fill that dies half way leaves nothing
//! behind and the next start does it again. The mark is
//! read again under the transaction's lock (`FOR UPDATE` on PostgreSQL; the
//! single writer on SQLite), so servers starting at once on one database
//! fill a workspace once. A store serves only after its fill, so no batch
//! is counted both by ingestion and by the replay.
//!
//! The replay folds the log a stretch at a time: the usage tables are
//! counters and sets, whose merges add up to the same rows in any order
//! and any chunking.

use std::sync::LazyLock;

use super::backend::Backend;
use super::rows::SqlValue;
use super::schema::usage_table_rows;
use super::session::{Access, Param, Session, Statement, work};
use super::usage_sums::DEFER;
use super::{StoreResult, WorkspaceId};
use crate::domain::state::Changes;

/// Events read from the log per stretch.
const STRETCH_EVENTS: usize = 20_000;

static UNFILLED: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT workspace_id FROM workspaces WHERE NOT usage_filled ORDER BY workspace_id",
    )
});

/// Whether workspace `$1` is filled, read under the writer's lock.
static CLAIM: LazyLock<Statement> = LazyLock::new(|| {
    let sql = "SELECT CAST(CASE WHEN usage_filled THEN 1 ELSE 0 END AS BIGINT)
        FROM workspaces WHERE workspace_id = $1";
    Statement::per_dialect(format!("{sql} FOR UPDATE"), sql)
});

static CLEAR: LazyLock<[Statement; 2]> = LazyLock::new(|| {
    ["report_days", "report_viewer_days"]
        .map(|table| Statement::new(format!("DELETE FROM {table} WHERE workspace_id = $1")))
});

static MARK: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new("UPDATE workspaces SET usage_filled = TRUE WHERE workspace_id = $1")
});

/// Fills every unfilled workspace of `backend`'s database.
pub async fn fill<B: Backend>(backend: &B) -> StoreResult<()> {
    let unfilled = work(|session| {
        Box::pin(async move { session.all(UNFILLED.with(&[]), |row| row.get(0)).await })
    });
    let workspaces: Vec<WorkspaceId> = backend.run(Access::Statements, unfilled).await?;
    for workspace in workspaces {
        let fill = work(move |session| Box::pin(fill_workspace::<B>(session, workspace)));
        backend.run(Access::Write, fill).await?;
        tracing::info!(workspace, "filled the usage tables from the event log");
    }
    Ok(())
}

async fn fill_workspace<B: Backend>(
    session: &mut dyn Session,
    workspace: WorkspaceId,
) -> StoreResult<()> {
    let filled: Option<i64> = session
        .first(CLAIM.with(&[workspace.into()]), |row| row.get(0))
        .await?;
    if filled != Some(0) {
        return Ok(());
    }
    // The sums kept of the usage rows are rebuilt once, after the fill.
    session.execute(DEFER.with(&[workspace.into()])).await?;
    for clear in CLEAR.iter() {
        session.execute(clear.with(&[workspace.into()])).await?;
    }
    let mut from = None;
    loop {
        let page = B::log_work(workspace, from.take(), STRETCH_EVENTS)(session).await?;
        merge_usage(session, workspace, &Changes::from_events(&page.events)).await?;
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    session.execute(MARK.with(&[workspace.into()])).await?;
    Ok(())
}

/// Merges the usage rows of `changes`, a row at a time.
async fn merge_usage(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    changes: &Changes,
) -> StoreResult<()> {
    for table in usage_table_rows(changes) {
        let statement = Statement::new(table.upsert.single_row_statement());
        for row in table.rows {
            let params: Vec<Param> = std::iter::once(workspace.into())
                .chain(row.into_iter().map(|value| match value {
                    SqlValue::Int(value) => Param::Int(value),
                    SqlValue::Text(value) => Param::Text(value),
                    // The usage tables have no flags.
                    SqlValue::Bool(value) => Param::Bool(value.unwrap_or(false)),
                }))
                .collect();
            session.execute(statement.with(&params)).await?;
        }
    }
    Ok(())
}
