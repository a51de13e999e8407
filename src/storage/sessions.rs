//! The dashboard's sessions (SPEC section 9), shared by the backends: which
//! credential a browser signed in with, keyed by the SHA-256 of its session
//! cookie (the cookie itself is never stored). They live in the database so
//! that every server over it knows every session: behind a load balancer a
//! browser may reach any of them, and a sign-out ends the session for all.

use std::sync::LazyLock;

use super::records::WorkspaceColumns;
use super::session::{Session, Statement, selected_columns};
use super::{StoreResult, Workspace, WorkspaceId};
use crate::domain::Timestamp;

/// A session as stored. `credential_kind` is `api_key` or
/// `signature_token`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub key: [u8; 32],
    pub workspace: WorkspaceId,
    pub credential_kind: String,
    pub credential_token: String,
    pub started_at: Timestamp,
}

/// A session found by its key, with its workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub workspace: Workspace,
    pub credential_kind: String,
    pub credential_token: String,
    pub started_at: Timestamp,
}

selected_columns! {
    struct SessionColumns {
        credential_kind: String,
        credential_token: String,
        started_at: i64,
    }
}

/// Sessions started before `$1` are over: removed as a new one opens.
static END_EXPIRED: LazyLock<Statement> =
    LazyLock::new(|| Statement::new("DELETE FROM dashboard_sessions WHERE started_at < $1"));

static INSERT: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "INSERT INTO dashboard_sessions
    (session_sha256, workspace_id, credential_kind, credential_token, started_at)
    VALUES ($1, $2, $3, $4, $5)",
    )
});

static FIND: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {}, {} FROM dashboard_sessions d
    JOIN workspaces w ON w.workspace_id = d.workspace_id
    WHERE d.session_sha256 = $1",
        SessionColumns::select_list("d."),
        WorkspaceColumns::select_list("w.")
    ))
});

static DELETE: LazyLock<Statement> =
    LazyLock::new(|| Statement::new("DELETE FROM dashboard_sessions WHERE session_sha256 = $1"));

/// Stores a new session, ending those started before `expired_before`, in
/// one write transaction.
pub async fn open(
    session: &mut dyn Session,
    record: SessionRecord,
    expired_before: Timestamp,
) -> StoreResult<()> {
    session
        .execute(END_EXPIRED.with(&[expired_before.as_micros().into()]))
        .await?;
    let params = [
        record.key[..].into(),
        record.workspace.into(),
        record.credential_kind.as_str().into(),
        record.credential_token.as_str().into(),
        record.started_at.as_micros().into(),
    ];
    session.execute(INSERT.with(&params)).await?;
    Ok(())
}

pub async fn find(session: &mut dyn Session, key: [u8; 32]) -> StoreResult<Option<StoredSession>> {
    let read = |row: &dyn super::session::Row| {
        let columns = SessionColumns::from_row(row)?;
        let workspace = WorkspaceColumns::from_row_at(row, SessionColumns::COUNT)?.parse()?;
        Ok(StoredSession {
            workspace,
            credential_kind: columns.credential_kind,
            credential_token: columns.credential_token,
            started_at: Timestamp::from_micros(columns.started_at),
        })
    };
    session.first(FIND.with(&[key[..].into()]), read).await
}

pub async fn close(session: &mut dyn Session, key: [u8; 32]) -> StoreResult<()> {
    session.execute(DELETE.with(&[key[..].into()])).await?;
    Ok(())
}
