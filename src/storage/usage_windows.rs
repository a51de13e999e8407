//! Each report's counts over the last 7, 30 and 90 days, kept as events
//! arrive (`report_windows`, SPEC section 8), and moved when the date does.
//!
//! The counts hold for one date, the workspace's `windows_day`. The
//! triggers of the migration that made them add each new view, run and
//! viewer to the windows it falls in on that date; [`roll`] moves them to
//! another date, in one write transaction: for each window, the dates that
//! leave it (or enter it, when the date moves back) are those between its
//! old and its new first date, and their sums, a range of `report_days`
//! by date and of `report_viewers` by latest view, come off (or go on). A
//! workspace starts at [`NOT_COMPUTED`], a far future date whose windows
//! hold nothing, so that its first move adds up everything there is, by the
//! same statements.
//!
//! A page reads the counts when `windows_day` is its own date, in the same
//! snapshot, and the day tables otherwise
//! ([`crate::storage::report_usage`]): an answer never depends on whether
//! the windows have moved yet, only its cost does. The server moves them to
//! its date after each batch and once a minute
//! ([`crate::http::usage_windows`]).
//!
//! On PostgreSQL a move takes the workspace's advisory lock exclusively
//! (batches hold it shared, see [`crate::storage::postgres`]), so no batch
//! adds to the counts of a date that is changing under it; SQLite's single
//! writer does that anyway.

use std::sync::LazyLock;

use super::session::{Session, Statement};
use super::{StoreResult, WorkspaceId};
use crate::domain::timestamp::UtcDay;
use crate::domain::usage::{WINDOWS, window_start};

/// The `windows_day` of a workspace whose windows were never computed (the
/// migrations' default): no date of an event is in its windows.
pub const NOT_COMPUTED: i64 = 100_000_000;

static LOCK: LazyLock<Statement> = LazyLock::new(|| {
    Statement::per_dialect(
        "SELECT CAST(1 AS BIGINT) FROM (SELECT pg_advisory_xact_lock($1)) AS locked",
        "SELECT $1",
    )
});

/// The date the workspace's windows end on, read in the page's snapshot.
pub(super) static WINDOWS_DAY: LazyLock<Statement> =
    LazyLock::new(|| Statement::new("SELECT windows_day FROM workspaces WHERE workspace_id = $1"));

static SET_WINDOWS_DAY: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new("UPDATE workspaces SET windows_day = $2 WHERE workspace_id = $1")
});

/// For each window, its two statements: `$1` workspace, `$2..$3` the dates
/// (days since the epoch, end excluded) that enter (`$4` = 1) or leave
/// (`$4` = -1) it.
struct Move {
    days: Statement,
    viewers: Statement,
}

impl Move {
    fn new(days: i64) -> Self {
        // The 30-day window also counts runs.
        let runs = if days == 30 {
            ", runs_30d = runs_30d + $4 * c.runs, failed_runs_30d = failed_runs_30d + $4 * c.failed"
        } else {
            ""
        };
        Move {
            days: Statement::new(format!(
                "UPDATE report_windows SET views_{days}d = views_{days}d + $4 * c.views{runs}
FROM (SELECT d.report_id AS report_id, CAST(sum(d.views) AS BIGINT) AS views,
        CAST(sum(d.manual_runs + d.scheduled_runs) AS BIGINT) AS runs,
        CAST(sum(d.failed_runs) AS BIGINT) AS failed
    FROM report_days d WHERE d.workspace_id = $1 AND d.day >= $2 AND d.day < $3
    GROUP BY d.report_id) AS c
WHERE report_windows.workspace_id = $1 AND report_windows.report_id = c.report_id"
            )),
            viewers: Statement::new(format!(
                "UPDATE report_windows SET viewers_{days}d = viewers_{days}d + $4 * c.viewers
FROM (SELECT p.report_id AS report_id, count(*) AS viewers
    FROM report_viewers p WHERE p.workspace_id = $1 AND p.last_day >= $2 AND p.last_day < $3
    GROUP BY p.report_id) AS c
WHERE report_windows.workspace_id = $1 AND report_windows.report_id = c.report_id"
            )),
        }
    }
}

static MOVES: LazyLock<[(i64, Move); 3]> =
    LazyLock::new(|| WINDOWS.map(|days| (days, Move::new(days))));

/// The date the workspace's windows end on (`None` for no such workspace,
/// or windows not computed).
pub async fn ends_on(
    session: &mut dyn Session,
    workspace: WorkspaceId,
) -> StoreResult<Option<UtcDay>> {
    let day = session
        .first(WINDOWS_DAY.with(&[workspace.into()]), |row| {
            row.get::<i64>(0)
        })
        .await?;
    Ok(day
        .filter(|day| *day != NOT_COMPUTED)
        .map(UtcDay::from_days_since_epoch))
}

/// Moves the workspace's windows to end on `today`, on the writer's
/// session; nothing if they already do. Whether they moved.
pub async fn roll(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    today: UtcDay,
) -> StoreResult<bool> {
    let _: i64 = session.one(LOCK.with(&[workspace.into()])).await?;
    let Some(old) = session
        .first(WINDOWS_DAY.with(&[workspace.into()]), |row| {
            row.get::<i64>(0)
        })
        .await?
    else {
        return Ok(false);
    };
    let new = today.days_since_epoch();
    if old == new {
        return Ok(false);
    }
    for (days, statements) in MOVES.iter() {
        let first_day = |end: i64| window_start(UtcDay::from_days_since_epoch(end), *days);
        let (old_start, new_start) = (
            first_day(old).days_since_epoch(),
            first_day(new).days_since_epoch(),
        );
        // Moving on, the dates before the new first one leave; moving
        // back, those from it on to the old first one enter.
        let (from, to, sign) = if new > old {
            (old_start, new_start, -1i64)
        } else {
            (new_start, old_start, 1)
        };
        for statement in [&statements.days, &statements.viewers] {
            let params = [workspace.into(), from.into(), to.into(), sign.into()];
            session.execute(statement.with(&params)).await?;
        }
    }
    session
        .execute(SET_WINDOWS_DAY.with(&[workspace.into(), new.into()]))
        .await?;
    Ok(true)
}
