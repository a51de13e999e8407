//! What the database keeps summed of the usage tables (the sums per space,
//! each viewer's latest view of each report, the window counts: see the
//! migrations that made them), rebuilt from the tables at once when keeping
//! them row by row would cost more: in grouped statements on PostgreSQL
//! ([`rebuild_statements`]), in Rust on SQLite (`sqlite::sums`, held to the
//! same rows by its tests), whose grouping sorts.
//!
//! The triggers that keep the sums as rows are written skip every row of a
//! workspace marked `usage_sums_pending`. A bulk write marks its workspace
//! before it merges and rebuilds its sums last, in the same transaction:
//! an import (a stream of more than one chunk, marked once it stores an
//! event, so that an import run again, every event a duplicate, rebuilds
//! nothing). That costs what the workspace's usage tables hold, once,
//! where the triggers cost a few upserts per row written: a 2M-event import
//! spent 80% of its time in them. The migrations, and the fill of the usage
//! tables from the log ([`super::usage_fill`]), mark the workspaces they
//! change, and [`rebuild_pending`] rebuilds them when a store opens.
//! Readers never see a mark: it is set and cleared in one transaction, or
//! before the store serves.
//!
//! The windows are not rebuilt but marked not computed
//! ([`super::usage_windows::NOT_COMPUTED`]), so that the next move computes
//! them from scratch; `total_viewers`, which holds for every date, is.

use std::sync::LazyLock;

use super::backend::Backend;
use super::report_usage::day_of;
use super::session::{Access, Statement, Work, work};
use super::usage_windows::NOT_COMPUTED;
use super::{StoreResult, WorkspaceId};

/// The `last_view_day` of `space_reports` for a report never viewed: long
/// before any event.
pub const NEVER_VIEWED: i64 = -100_000_000;

/// Marks workspace `$1`: the triggers leave its rows to a rebuild
/// ([`rebuild_statements`], or SQLite's in Rust).
pub static DEFER: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new("UPDATE workspaces SET usage_sums_pending = TRUE WHERE workspace_id = $1")
});

/// Empties every sum of workspace `$1`: the first of
/// [`rebuild_statements`].
pub static CLEAR: LazyLock<Vec<Statement>> = LazyLock::new(|| {
    [
        "space_days",
        "space_viewer_days",
        "space_reports",
        "viewer_days",
        "viewer_latest",
        "scope_days",
        "report_viewers",
    ]
    .map(|table| Statement::new(format!("DELETE FROM {table} WHERE workspace_id = $1")))
    .into()
});

/// Fills the sums of workspace `$1` from its usage tables and reports, in
/// grouped statements: the middle of [`rebuild_statements`] on PostgreSQL, whose
/// grouping hashes in the server. SQLite's grouping sorts, and sums the
/// same rows in Rust instead (`sqlite::sums`, which the tests hold to the
/// same answers).
///
/// Each inserts its rows in its table's key order: PostgreSQL's grouping
/// hashes, and rows in hash order land all over the primary key's index.
/// Sorted, `space_viewer_days` of the 2M-event bench stream went in in
/// 4.0 s rather than 6.6 (BENCHMARKS.md, "Runs of rows of every shape").
static GROUPED: LazyLock<Vec<Statement>> = LazyLock::new(|| {
    let live = "r.definition_at IS NOT NULL AND NOT r.deleted";
    [
        format!(
            "INSERT INTO space_days (workspace_id, day, space_token, views, manual_runs,
    scheduled_runs, failed_runs)
SELECT d.workspace_id, d.day, coalesce(r.space_token, ''), CAST(sum(d.views) AS BIGINT),
    CAST(sum(d.manual_runs) AS BIGINT), CAST(sum(d.scheduled_runs) AS BIGINT),
    CAST(sum(d.failed_runs) AS BIGINT)
FROM report_days d CROSS JOIN reports r
WHERE d.workspace_id = $1 AND r.workspace_id = d.workspace_id AND r.report_id = d.report_id
  AND {live}
GROUP BY d.workspace_id, d.day, coalesce(r.space_token, '')
ORDER BY d.workspace_id, d.day, coalesce(r.space_token, '')"
        ),
        format!(
            "INSERT INTO space_viewer_days (workspace_id, day, space_token, viewer_id, reports)
SELECT v.workspace_id, v.day, coalesce(r.space_token, ''), v.viewer_id, count(*)
FROM report_viewer_days v CROSS JOIN reports r
WHERE v.workspace_id = $1 AND r.workspace_id = v.workspace_id AND r.report_id = v.report_id
  AND {live}
GROUP BY v.workspace_id, v.day, coalesce(r.space_token, ''), v.viewer_id
ORDER BY v.workspace_id, v.day, coalesce(r.space_token, ''), v.viewer_id"
        ),
        format!(
            "INSERT INTO viewer_days (workspace_id, day, viewer_id, listed_spaces, personal_spaces)
SELECT v.workspace_id, v.day, v.viewer_id, CAST(sum(1 - {personal}) AS BIGINT),
    CAST(sum({personal}) AS BIGINT)
FROM space_viewer_days v
LEFT JOIN spaces s ON s.workspace_id = v.workspace_id AND s.space_token = v.space_token
WHERE v.workspace_id = $1 AND v.reports > 0
GROUP BY v.workspace_id, v.day, v.viewer_id
ORDER BY v.workspace_id, v.day, v.viewer_id",
            personal = "CASE WHEN s.space_type = 'private' THEN 1 ELSE 0 END"
        ),
        format!(
            "INSERT INTO viewer_latest (workspace_id, viewer_id, listed_day, any_day)
SELECT workspace_id, viewer_id,
    coalesce(max(CASE WHEN listed_spaces > 0 THEN day END), {NEVER_VIEWED}), max(day)
FROM viewer_days WHERE workspace_id = $1 AND (listed_spaces > 0 OR personal_spaces > 0)
GROUP BY workspace_id, viewer_id
ORDER BY workspace_id, viewer_id"
        ),
        "INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
    failed_runs, viewers)
SELECT d.workspace_id, d.day, coalesce(s.space_type = 'private', FALSE),
    CAST(sum(d.views) AS BIGINT), CAST(sum(d.manual_runs) AS BIGINT),
    CAST(sum(d.scheduled_runs) AS BIGINT), CAST(sum(d.failed_runs) AS BIGINT), 0
FROM space_days d
LEFT JOIN spaces s ON s.workspace_id = d.workspace_id AND s.space_token = d.space_token
WHERE d.workspace_id = $1
GROUP BY d.workspace_id, d.day, coalesce(s.space_type = 'private', FALSE)
ORDER BY d.workspace_id, d.day, coalesce(s.space_type = 'private', FALSE)"
            .to_owned(),
        "INSERT INTO scope_days (workspace_id, day, personal, views, manual_runs, scheduled_runs,
    failed_runs, viewers)
SELECT workspace_id, day, listed_spaces <= 0, 0, 0, 0, 0, count(*) FROM viewer_days
WHERE workspace_id = $1 AND (listed_spaces > 0 OR personal_spaces > 0)
GROUP BY workspace_id, day, listed_spaces <= 0
ORDER BY workspace_id, day, listed_spaces <= 0
ON CONFLICT (workspace_id, day, personal) DO UPDATE SET viewers = excluded.viewers"
            .to_owned(),
        format!(
            "INSERT INTO space_reports (workspace_id, space_token, last_view_day, reports, views)
SELECT r.workspace_id, coalesce(r.space_token, ''), coalesce({day}, {NEVER_VIEWED}), count(*),
    CAST(sum(r.view_count) AS BIGINT)
FROM reports r WHERE r.workspace_id = $1 AND {live}
GROUP BY r.workspace_id, coalesce(r.space_token, ''), coalesce({day}, {NEVER_VIEWED})
ORDER BY r.workspace_id, coalesce(r.space_token, ''), coalesce({day}, {NEVER_VIEWED})",
            day = day_of("r.last_viewed_at")
        ),
        "INSERT INTO report_viewers (workspace_id, report_id, viewer_id, last_day)
SELECT workspace_id, report_id, viewer_id, max(day) FROM report_viewer_days
WHERE workspace_id = $1 GROUP BY workspace_id, report_id, viewer_id
ORDER BY workspace_id, report_id, viewer_id"
            .to_owned(),
    ]
    .map(Statement::new)
    .into()
});

/// Gives every report of workspace `$1` its windows row, counts zero but
/// `total_viewers` (from `report_viewers`), and clears the mark: the last
/// of [`rebuild_statements`], on both backends.
pub static FINISH: LazyLock<Vec<Statement>> = LazyLock::new(|| {
    let counts = [
        "views_7d",
        "views_30d",
        "views_90d",
        "viewers_7d",
        "viewers_30d",
        "viewers_90d",
        "runs_30d",
        "failed_runs_30d",
    ]
    .map(|count| format!("{count} = 0"))
    .join(", ");
    [
        "INSERT INTO report_windows (workspace_id, report_id, views_7d, views_30d, views_90d,
    viewers_7d, viewers_30d, viewers_90d, total_viewers, runs_30d, failed_runs_30d)
SELECT workspace_id, report_id, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM reports WHERE workspace_id = $1
ON CONFLICT (workspace_id, report_id) DO NOTHING"
            .to_owned(),
        format!(
            "UPDATE report_windows SET {counts}, total_viewers = (SELECT count(*) FROM report_viewers p
    WHERE p.workspace_id = report_windows.workspace_id AND p.report_id = report_windows.report_id)
WHERE workspace_id = $1"
        ),
        format!(
            "UPDATE workspaces SET usage_sums_pending = FALSE, windows_day = {NOT_COMPUTED}
WHERE workspace_id = $1"
        ),
    ]
    .map(Statement::new)
    .into()
});

/// Rebuilds every sum of workspace `$1` from its usage tables and reports,
/// and clears its mark, in order: PostgreSQL's rebuild.
pub fn rebuild_statements() -> impl Iterator<Item = &'static Statement> {
    CLEAR.iter().chain(GROUPED.iter()).chain(FINISH.iter())
}

static PENDING: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "SELECT workspace_id FROM workspaces WHERE usage_sums_pending ORDER BY workspace_id",
    )
});

/// Whether workspace `$1` is still marked (1), read under the workspace's
/// exclusive lock on PostgreSQL (servers starting at once rebuild it once);
/// SQLite's single writer serialises anyway.
pub static CLAIM: LazyLock<Statement> = LazyLock::new(|| {
    Statement::per_dialect(
        "SELECT CAST(CASE WHEN usage_sums_pending THEN 1 ELSE 0 END AS BIGINT)
        FROM (SELECT pg_advisory_xact_lock($1)) AS locked, workspaces WHERE workspace_id = $1",
        "SELECT CAST(CASE WHEN usage_sums_pending THEN 1 ELSE 0 END AS BIGINT)
        FROM workspaces WHERE workspace_id = $1",
    )
});

/// Rebuilds the sums of every marked workspace of `backend`'s database, one
/// transaction each ([`Backend::rebuild_usage_sums`]): what the migrations
/// that made them, and the fill of the usage tables, leave to do.
pub async fn rebuild_pending<B: Backend>(backend: &B) -> StoreResult<()> {
    let pending = work(|session| {
        Box::pin(async move { session.all(PENDING.with(&[]), |row| row.get(0)).await })
    });
    let workspaces: Vec<WorkspaceId> = backend.run(Access::Statements, pending).await?;
    for workspace in workspaces {
        backend.rebuild_usage_sums(workspace).await?;
        tracing::info!(workspace, "rebuilt the sums of the usage tables");
    }
    Ok(())
}

/// Rebuilds the sums of `workspace` in [`rebuild_statements`] if it is
/// still marked: PostgreSQL's [`Backend::rebuild_usage_sums`], on
/// [`Access::Write`].
pub fn rebuild_if_marked(workspace: WorkspaceId) -> Work<()> {
    work(move |session| {
        Box::pin(async move {
            let pending: Option<i64> = session
                .first(CLAIM.with(&[workspace.into()]), |row| row.get(0))
                .await?;
            if pending == Some(1) {
                for statement in rebuild_statements() {
                    session.execute(statement.with(&[workspace.into()])).await?;
                }
            }
            Ok(())
        })
    })
}
