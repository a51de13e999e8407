//! PostgreSQL: the same service on a server database, for deployments that
//! run several stateless `reportstats serve` processes over one database.
//!
//! The tables and the merge rules are SQLite's (see [`crate::storage::sql`]);
//! what differs is how rows get in. A batch is one transaction: its events go
//! into the log with one multi-row `INSERT ... ON CONFLICT DO NOTHING
//! RETURNING`, which tells the new ones from the duplicates even when another
//! server is storing the same events at the same moment, and each state table
//! is merged with one `INSERT ... SELECT FROM UNNEST(arrays)` upsert.

mod read;
mod write;

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use tokio::sync::mpsc;

use super::positions::PositionCache;
use super::{
    ApiKeyRecord, IngestMessage, IngestSummary, LogCursor, LogPage, Page, PageRequest,
    ReportStatsQuery, SignatureTokenRecord, Store, StoreError, StoreOptions, StoreResult,
    StoredApiKey, StoredSignatureToken, Workspace, WorkspaceId,
};
use crate::domain::api_key::SecretHash;
use crate::domain::listings::{MemberRow, ReportRow, SpaceRow};
use crate::domain::stats::{ReportStat, SpaceFilter};
use crate::domain::{Timestamp, WorkspaceName};

/// Migrations in order; `reportstats_migrations` records which have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_signature_tokens.sql"),
    include_str!("migrations/0003_listing_version.sql"),
];

/// The advisory lock that serialises migrations when several servers start
/// at once (an arbitrary constant: "rstats" in ASCII).
const MIGRATION_LOCK: i64 = 0x7273_7461_7473;

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Other(error.into())
    }
}

pub struct PostgresStore {
    pool: PgPool,
    positions: PositionCache,
    options: StoreOptions,
}

impl PostgresStore {
    /// Connects and runs the migrations this database has not seen yet.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_with(url, StoreOptions::default()).await
    }

    /// [`PostgresStore::open`], tuned by `options`.
    pub async fn open_with(url: &str, options: StoreOptions) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .context("connecting to PostgreSQL")?;
        migrate(&pool).await?;
        Ok(PostgresStore {
            pool,
            positions: PositionCache::default(),
            options,
        })
    }
}

/// Runs pending migrations in one transaction (PostgreSQL's DDL is
/// transactional) under an advisory lock, so servers starting at once on a
/// new database migrate it once, the others waiting and then finding
/// nothing to do.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut transaction = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *transaction)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS reportstats_migrations (
            version    BIGINT PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .execute(&mut *transaction)
    .await?;
    let applied: i64 =
        sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM reportstats_migrations")
            .fetch_one(&mut *transaction)
            .await?;
    let applied = usize::try_from(applied).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        anyhow::bail!(
            "the database has schema version {applied}, newer than this reportstats knows ({}); upgrade reportstats",
            MIGRATIONS.len()
        );
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = i64::try_from(index + 1)?;
        // A plain string runs in the simple query protocol, which takes
        // several statements at once.
        if let Err(error) = sqlx::Executor::execute(&mut *transaction, *migration).await {
            anyhow::bail!("running migration {version}: {error}");
        }
        sqlx::query("INSERT INTO reportstats_migrations (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *transaction)
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Inserts a key; a taken token is a `Conflict`.
async fn insert_key(
    connection: &mut PgConnection,
    workspace: WorkspaceId,
    key: &ApiKeyRecord,
) -> StoreResult<()> {
    let inserted = sqlx::query(
        "INSERT INTO api_keys (workspace_id, token, secret_sha256, created_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(workspace)
    .bind(&key.token)
    .bind(&key.secret_hash[..])
    .bind(key.created_at.as_micros())
    .bind(key.revoked_at.map(Timestamp::as_micros))
    .execute(connection)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict(format!(
            "an API key with token `{}` exists",
            key.token
        ))),
        Err(error) => Err(error.into()),
    }
}

/// The columns [`signature_token_from_row`] reads, in its order.
const SIGNATURE_TOKEN_COLUMNS: &str = "t.token, t.name, t.access_key_sha256, t.access_secret_sha256,
    t.authentication_for, t.authorization_type, t.created_at, t.updated_at, t.expires_at, t.revoked_at";

fn signature_token_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<SignatureTokenRecord> {
    Ok(SignatureTokenRecord {
        token: row.try_get(0)?,
        name: row.try_get(1)?,
        access_key_hash: secret_hash_from_column(row.try_get(2)?)?,
        access_secret_hash: secret_hash_from_column(row.try_get(3)?)?,
        authentication_for: row.try_get(4)?,
        authorization_type: row.try_get(5)?,
        created_at: Timestamp::from_micros(row.try_get(6)?),
        updated_at: Timestamp::from_micros(row.try_get(7)?),
        expires_at: Timestamp::from_micros(row.try_get(8)?),
        revoked_at: row
            .try_get::<Option<i64>, _>(9)?
            .map(Timestamp::from_micros),
    })
}

fn secret_hash_from_column(hash: Vec<u8>) -> StoreResult<SecretHash> {
    hash.try_into()
        .map_err(|_| StoreError::Other(anyhow::anyhow!("a stored key hash has the wrong length")))
}

fn workspace_from_row(id: i64, name: &str) -> StoreResult<Workspace> {
    let name = WorkspaceName::parse(name).map_err(|error| {
        StoreError::Other(anyhow::anyhow!("stored workspace name `{name}` {error}"))
    })?;
    Ok(Workspace { id, name })
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.code().as_deref() == Some("23505"))
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_workspace(
        &self,
        name: &WorkspaceName,
        key: &ApiKeyRecord,
        now: Timestamp,
    ) -> StoreResult<Workspace> {
        let mut transaction = self.pool.begin().await?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO workspaces (name, created_at) VALUES ($1, $2) RETURNING workspace_id",
        )
        .bind(name.as_str())
        .bind(now.as_micros())
        .fetch_one(&mut *transaction)
        .await;
        let id = match inserted {
            Ok(id) => id,
            Err(error) if is_unique_violation(&error) => {
                return Err(StoreError::Conflict(format!(
                    "workspace `{name}` already exists"
                )));
            }
            Err(error) => return Err(error.into()),
        };
        insert_key(&mut transaction, id, key).await?;
        transaction.commit().await?;
        Ok(Workspace {
            id,
            name: name.clone(),
        })
    }

    async fn workspace(&self, name: &WorkspaceName) -> StoreResult<Option<Workspace>> {
        let id =
            sqlx::query_scalar::<_, i64>("SELECT workspace_id FROM workspaces WHERE name = $1")
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(id.map(|id| Workspace {
            id,
            name: name.clone(),
        }))
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        let rows = sqlx::query("SELECT workspace_id, name FROM workspaces ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| workspace_from_row(row.try_get(0)?, row.try_get(1)?))
            .collect()
    }

    async fn insert_api_key(&self, workspace: WorkspaceId, key: &ApiKeyRecord) -> StoreResult<()> {
        let mut connection = self.pool.acquire().await?;
        insert_key(&mut connection, workspace, key).await
    }

    async fn api_keys(&self, workspace: WorkspaceId) -> StoreResult<Vec<ApiKeyRecord>> {
        let rows = sqlx::query(
            "SELECT token, secret_sha256, created_at, revoked_at FROM api_keys
             WHERE workspace_id = $1 ORDER BY created_at, token",
        )
        .bind(workspace)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiKeyRecord {
                    token: row.try_get(0)?,
                    secret_hash: secret_hash_from_column(row.try_get(1)?)?,
                    created_at: Timestamp::from_micros(row.try_get(2)?),
                    revoked_at: row
                        .try_get::<Option<i64>, _>(3)?
                        .map(Timestamp::from_micros),
                })
            })
            .collect()
    }

    async fn api_key(&self, token: &str) -> StoreResult<Option<StoredApiKey>> {
        let row = sqlx::query(
            "SELECT w.workspace_id, w.name, k.secret_sha256, w.version
             FROM api_keys k JOIN workspaces w ON w.workspace_id = k.workspace_id
             WHERE k.token = $1 AND k.revoked_at IS NULL",
        )
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(StoredApiKey {
            workspace: workspace_from_row(row.try_get(0)?, row.try_get(1)?)?,
            secret_hash: secret_hash_from_column(row.try_get(2)?)?,
            workspace_version: row.try_get(3)?,
        }))
    }

    async fn revoke_api_key(
        &self,
        workspace: WorkspaceId,
        token: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE api_keys SET revoked_at = $3 WHERE workspace_id = $1 AND token = $2 AND revoked_at IS NULL",
        )
        .bind(workspace)
        .bind(token)
        .bind(now.as_micros())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn create_signature_token(
        &self,
        workspace: WorkspaceId,
        record: &SignatureTokenRecord,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signature_tokens (workspace_id, token, name, access_key_sha256, access_secret_sha256,
                 authentication_for, authorization_type, created_at, updated_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(workspace)
        .bind(&record.token)
        .bind(&record.name)
        .bind(&record.access_key_hash[..])
        .bind(&record.access_secret_hash[..])
        .bind(&record.authentication_for)
        .bind(&record.authorization_type)
        .bind(record.created_at.as_micros())
        .bind(record.updated_at.as_micros())
        .bind(record.expires_at.as_micros())
        .bind(record.revoked_at.map(Timestamp::as_micros))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn signature_tokens(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<SignatureTokenRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {SIGNATURE_TOKEN_COLUMNS} FROM signature_tokens t
             WHERE t.workspace_id = $1 ORDER BY t.created_at, t.token"
        ))
        .bind(workspace)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(signature_token_from_row).collect()
    }

    async fn signature_token(&self, token: &str) -> StoreResult<Option<StoredSignatureToken>> {
        let row = sqlx::query(&format!(
            "SELECT {SIGNATURE_TOKEN_COLUMNS}, w.workspace_id, w.name, w.version
             FROM signature_tokens t JOIN workspaces w ON w.workspace_id = t.workspace_id
             WHERE t.token = $1 AND t.revoked_at IS NULL"
        ))
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(StoredSignatureToken {
            record: signature_token_from_row(&row)?,
            workspace: workspace_from_row(row.try_get(10)?, row.try_get(11)?)?,
            workspace_version: row.try_get(12)?,
        }))
    }

    async fn revoke_signature_token(
        &self,
        workspace: WorkspaceId,
        token: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE signature_tokens SET revoked_at = $3, updated_at = $3
             WHERE workspace_id = $1 AND token = $2 AND revoked_at IS NULL",
        )
        .bind(workspace)
        .bind(token)
        .bind(now.as_micros())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn ingest_stream(
        &self,
        workspace: WorkspaceId,
        messages: mpsc::Receiver<IngestMessage>,
    ) -> StoreResult<IngestSummary> {
        let merge_at = self.options.merge_at_bytes;
        write::ingest_stream(&self.pool, workspace, merge_at, messages).await
    }

    async fn report_stats(
        &self,
        workspace: WorkspaceId,
        query: ReportStatsQuery,
    ) -> StoreResult<Page<ReportStat>> {
        read::report_stats(&self.pool, &self.positions, workspace, query).await
    }

    async fn reports(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<ReportRow>> {
        read::reports(&self.pool, &self.positions, workspace, page, filter).await
    }

    async fn spaces(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<SpaceRow>> {
        read::spaces(&self.pool, workspace, page, filter).await
    }

    async fn members(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> StoreResult<Page<MemberRow>> {
        read::members(&self.pool, workspace, page).await
    }

    async fn read_log(
        &self,
        workspace: WorkspaceId,
        from: Option<&LogCursor>,
        limit: usize,
    ) -> StoreResult<LogPage> {
        read::read_log(&self.pool, workspace, from, limit).await
    }

    async fn schema_version(&self) -> StoreResult<u32> {
        let version: i64 =
            sqlx::query_scalar("SELECT coalesce(max(version), 0) FROM reportstats_migrations")
                .fetch_one(&self.pool)
                .await?;
        Ok(u32::try_from(version).unwrap_or(u32::MAX))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn connection_use(&self) -> super::ConnectionUse {
        let open = self.pool.size() as usize;
        super::ConnectionUse {
            backend: "postgres",
            pools: vec![super::PoolUse {
                role: "pool",
                open,
                max: self.pool.options().get_max_connections() as usize,
                busy: open.saturating_sub(self.pool.num_idle()),
            }],
        }
    }
}
