//! Workspaces, API keys and signature tokens, shared by the backends: their
//! SQL, how their rows are read, and the work of each [`Store`] method on
//! them, run on a [`Session`]. Keys and tokens are stored only as hashes.
//!
//! [`Store`]: super::Store
//!
//! The lookups by token also read the workspace's `version` (see
//! [`super::listing_version`]): a request that authenticates learns in the
//! same query whether a page cached for its workspace is current.

use std::sync::LazyLock;

use super::session::{Query, Row, Session, Statement, Written, selected_columns};
use super::{
    ApiKeyRecord, SignatureTokenRecord, StoreError, StoreResult, StoredApiKey,
    StoredSignatureToken, Workspace, WorkspaceId,
};
use crate::domain::api_key::SecretHash;
use crate::domain::{Timestamp, WorkspaceName};

selected_columns! {
    /// A workspace as stored.
    pub struct WorkspaceColumns {
        workspace_id: i64,
        name: String,
    }
}

impl WorkspaceColumns {
    pub fn parse(self) -> StoreResult<Workspace> {
        let name = WorkspaceName::parse(&self.name).map_err(|error| {
            StoreError::Other(anyhow::anyhow!(
                "stored workspace name `{}` {error}",
                self.name
            ))
        })?;
        Ok(Workspace {
            id: self.workspace_id,
            name,
        })
    }
}

selected_columns! {
    /// A workspace read with a credential: its version says whether a
    /// cached page is current.
    pub struct VersionedWorkspaceColumns {
        workspace_id: i64,
        name: String,
        version: i64,
    }
}

impl VersionedWorkspaceColumns {
    fn parse(self) -> StoreResult<(Workspace, i64)> {
        let workspace = WorkspaceColumns {
            workspace_id: self.workspace_id,
            name: self.name,
        };
        Ok((workspace.parse()?, self.version))
    }
}

fn secret_hash(hash: Vec<u8>) -> StoreResult<SecretHash> {
    hash.try_into()
        .map_err(|_| StoreError::Other(anyhow::anyhow!("a stored key hash has the wrong length")))
}

fn instant(micros: Option<i64>) -> Option<Timestamp> {
    micros.map(Timestamp::from_micros)
}

pub static INSERT_WORKSPACE: LazyLock<Statement> =
    LazyLock::new(|| Statement::new("INSERT INTO workspaces (name, created_at) VALUES ($1, $2)"));

/// The id of the workspace named `$1`.
pub static WORKSPACE_ID: LazyLock<Statement> =
    LazyLock::new(|| Statement::new("SELECT workspace_id FROM workspaces WHERE name = $1"));

pub static WORKSPACES: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {} FROM workspaces ORDER BY name",
        WorkspaceColumns::select_list("")
    ))
});

selected_columns! {
    /// An API key as stored.
    pub struct ApiKeyColumns {
        token: String,
        secret_sha256: Vec<u8>,
        created_at: i64,
        revoked_at: Option<i64>,
    }
}

impl ApiKeyColumns {
    pub fn record(row: &dyn Row) -> StoreResult<ApiKeyRecord> {
        let key = Self::from_row(row)?;
        Ok(ApiKeyRecord {
            token: key.token,
            secret_hash: secret_hash(key.secret_sha256)?,
            created_at: Timestamp::from_micros(key.created_at),
            revoked_at: instant(key.revoked_at),
        })
    }
}

pub static INSERT_API_KEY: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "INSERT INTO api_keys (workspace_id, {}) VALUES ($1, $2, $3, $4, $5)",
        ApiKeyColumns::select_list("")
    ))
});

/// A workspace's keys, oldest first.
pub static API_KEYS: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {} FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, token",
        ApiKeyColumns::select_list("")
    ))
});

/// The live key with token `$1`, with its workspace.
pub static API_KEY: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {}, k.secret_sha256
     FROM api_keys k JOIN workspaces w ON w.workspace_id = k.workspace_id
     WHERE k.token = $1 AND k.revoked_at IS NULL",
        VersionedWorkspaceColumns::select_list("w.")
    ))
});

pub fn stored_api_key(row: &dyn Row) -> StoreResult<StoredApiKey> {
    let (workspace, workspace_version) = VersionedWorkspaceColumns::from_row(row)?.parse()?;
    let hash = row.get(VersionedWorkspaceColumns::COLUMNS.len())?;
    Ok(StoredApiKey {
        workspace,
        secret_hash: secret_hash(hash)?,
        workspace_version,
    })
}

/// Revokes workspace `$1`'s live key `$2` at `$3`.
pub static REVOKE_API_KEY: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "UPDATE api_keys SET revoked_at = $3 WHERE workspace_id = $1 AND token = $2 AND revoked_at IS NULL",
    )
});

selected_columns! {
    /// A signature token as stored.
    pub struct SignatureTokenColumns {
        token: String,
        name: String,
        access_key_sha256: Vec<u8>,
        access_secret_sha256: Vec<u8>,
        authentication_for: String,
        authorization_type: String,
        created_at: i64,
        updated_at: i64,
        expires_at: i64,
        revoked_at: Option<i64>,
    }
}

impl SignatureTokenColumns {
    pub fn record(row: &dyn Row) -> StoreResult<SignatureTokenRecord> {
        let token = Self::from_row(row)?;
        Ok(SignatureTokenRecord {
            token: token.token,
            name: token.name,
            access_key_hash: secret_hash(token.access_key_sha256)?,
            access_secret_hash: secret_hash(token.access_secret_sha256)?,
            authentication_for: token.authentication_for,
            authorization_type: token.authorization_type,
            created_at: Timestamp::from_micros(token.created_at),
            updated_at: Timestamp::from_micros(token.updated_at),
            expires_at: Timestamp::from_micros(token.expires_at),
            revoked_at: instant(token.revoked_at),
        })
    }
}

pub static INSERT_SIGNATURE_TOKEN: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "INSERT INTO signature_tokens (workspace_id, {})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        SignatureTokenColumns::select_list("")
    ))
});

/// A workspace's signature tokens, oldest first.
pub static SIGNATURE_TOKENS: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {} FROM signature_tokens t
     WHERE t.workspace_id = $1 ORDER BY t.created_at, t.token",
        SignatureTokenColumns::select_list("t.")
    ))
});

/// The live signature token `$1`, with its workspace.
pub static SIGNATURE_TOKEN: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(format!(
        "SELECT {}, {}
     FROM signature_tokens t JOIN workspaces w ON w.workspace_id = t.workspace_id
     WHERE t.token = $1 AND t.revoked_at IS NULL",
        SignatureTokenColumns::select_list("t."),
        VersionedWorkspaceColumns::select_list("w.")
    ))
});

pub fn stored_signature_token(row: &dyn Row) -> StoreResult<StoredSignatureToken> {
    let workspace =
        VersionedWorkspaceColumns::from_row_at(row, SignatureTokenColumns::COLUMNS.len());
    let (workspace, workspace_version) = workspace?.parse()?;
    Ok(StoredSignatureToken {
        workspace,
        record: SignatureTokenColumns::record(row)?,
        workspace_version,
    })
}

/// Revokes workspace `$1`'s live signature token `$2` at `$3`.
pub static REVOKE_SIGNATURE_TOKEN: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(
        "UPDATE signature_tokens SET revoked_at = $3, updated_at = $3
     WHERE workspace_id = $1 AND token = $2 AND revoked_at IS NULL",
    )
});

/// Creates a workspace with its first key, in one write transaction.
pub async fn create_workspace(
    session: &mut dyn Session,
    name: WorkspaceName,
    key: ApiKeyRecord,
    now: Timestamp,
) -> StoreResult<Workspace> {
    let params = [name.as_str().into(), now.as_micros().into()];
    if session.execute(INSERT_WORKSPACE.with(&params)).await? == Written::Duplicate {
        return Err(StoreError::Conflict(format!(
            "workspace `{name}` already exists"
        )));
    }
    let id: i64 = session
        .one(WORKSPACE_ID.with(&[name.as_str().into()]))
        .await?;
    insert_api_key(session, id, key).await?;
    Ok(Workspace { id, name })
}

pub async fn workspace(
    session: &mut dyn Session,
    name: WorkspaceName,
) -> StoreResult<Option<Workspace>> {
    let params = [name.as_str().into()];
    let id = session.first(WORKSPACE_ID.with(&params), |row| row.get(0));
    Ok(id.await?.map(|id| Workspace { id, name }))
}

pub async fn workspaces(session: &mut dyn Session) -> StoreResult<Vec<Workspace>> {
    let read = |row: &dyn Row| WorkspaceColumns::from_row(row)?.parse();
    session.all(WORKSPACES.with(&[]), read).await
}

/// Inserts a key; a taken token is a `Conflict`.
pub async fn insert_api_key(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    key: ApiKeyRecord,
) -> StoreResult<()> {
    let params = [
        workspace.into(),
        key.token.as_str().into(),
        key.secret_hash[..].into(),
        key.created_at.as_micros().into(),
        key.revoked_at.map(Timestamp::as_micros).into(),
    ];
    let duplicate =
        || StoreError::Conflict(format!("an API key with token `{}` exists", key.token));
    insert(session, INSERT_API_KEY.with(&params), duplicate).await
}

/// Runs an insert; a duplicate key is the error `duplicate` makes.
async fn insert(
    session: &mut dyn Session,
    query: Query<'_>,
    duplicate: impl FnOnce() -> StoreError,
) -> StoreResult<()> {
    match session.execute(query).await? {
        Written::Rows(_) => Ok(()),
        Written::Duplicate => Err(duplicate()),
    }
}

pub async fn api_keys(
    session: &mut dyn Session,
    workspace: WorkspaceId,
) -> StoreResult<Vec<ApiKeyRecord>> {
    let params = [workspace.into()];
    session
        .all(API_KEYS.with(&params), ApiKeyColumns::record)
        .await
}

pub async fn api_key(
    session: &mut dyn Session,
    token: String,
) -> StoreResult<Option<StoredApiKey>> {
    let params = [token.as_str().into()];
    session.first(API_KEY.with(&params), stored_api_key).await
}

pub async fn create_signature_token(
    session: &mut dyn Session,
    workspace: WorkspaceId,
    record: SignatureTokenRecord,
) -> StoreResult<()> {
    let params = [
        workspace.into(),
        record.token.as_str().into(),
        record.name.as_str().into(),
        record.access_key_hash[..].into(),
        record.access_secret_hash[..].into(),
        record.authentication_for.as_str().into(),
        record.authorization_type.as_str().into(),
        record.created_at.as_micros().into(),
        record.updated_at.as_micros().into(),
        record.expires_at.as_micros().into(),
        record.revoked_at.map(Timestamp::as_micros).into(),
    ];
    // Not a conflict a client could resolve: tokens are random.
    let duplicate = || {
        let token = &record.token;
        StoreError::Other(anyhow::anyhow!(
            "a signature token with token `{token}` exists"
        ))
    };
    insert(session, INSERT_SIGNATURE_TOKEN.with(&params), duplicate).await
}

pub async fn signature_tokens(
    session: &mut dyn Session,
    workspace: WorkspaceId,
) -> StoreResult<Vec<SignatureTokenRecord>> {
    let params = [workspace.into()];
    let read = SignatureTokenColumns::record;
    session.all(SIGNATURE_TOKENS.with(&params), read).await
}

pub async fn signature_token(
    session: &mut dyn Session,
    token: String,
) -> StoreResult<Option<StoredSignatureToken>> {
    let params = [token.as_str().into()];
    session
        .first(SIGNATURE_TOKEN.with(&params), stored_signature_token)
        .await
}

/// Revokes a live key or token with `statement` ([`REVOKE_API_KEY`],
/// [`REVOKE_SIGNATURE_TOKEN`]); whether there was one.
pub async fn revoke(
    session: &mut dyn Session,
    statement: &Statement,
    workspace: WorkspaceId,
    token: String,
    now: Timestamp,
) -> StoreResult<bool> {
    let params = [
        workspace.into(),
        token.as_str().into(),
        now.as_micros().into(),
    ];
    Ok(session.execute(statement.with(&params)).await? == Written::Rows(1))
}
