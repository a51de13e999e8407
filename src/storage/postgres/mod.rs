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

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tokio::sync::mpsc;

use super::backend::Backend;
use super::group_commit::{self, GroupQueue};
use super::listing_version::PositionCache;
use super::session::{Access, Statement, Work};
use super::{EventChunk, IngestMessage, IngestSummary, LogCursor, LogPage};
use super::{StoreError, StoreOptions, StoreResult, WorkspaceId};

/// Migrations in order; `reportstats_migrations` records which have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_signature_tokens.sql"),
    include_str!("migrations/0003_listing_version.sql"),
    include_str!("migrations/0004_queries_charts_member_activity.sql"),
    include_str!("migrations/0005_queries_in_id_order.sql"),
    include_str!("migrations/0006_report_usage.sql"),
    include_str!("migrations/0007_dashboard_sessions.sql"),
    include_str!("migrations/0008_space_usage.sql"),
    include_str!("migrations/0009_report_windows.sql"),
    include_str!("migrations/0010_scope_days.sql"),
    include_str!("migrations/0011_static_trigger_statements.sql"),
];

/// The schema version a migrated database has.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

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
    positions: Arc<PositionCache>,
    options: StoreOptions,
    /// Each workspace's batches waiting for a group commit. Groups are per
    /// workspace: every batch bumps its workspace's version row, so two
    /// transactions of one workspace would only wait for each other, while
    /// different workspaces commit side by side on the pool.
    batches: Mutex<HashMap<WorkspaceId, Arc<GroupQueue>>>,
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
        let store = PostgresStore {
            pool,
            positions: Arc::default(),
            options,
            batches: Mutex::default(),
        };
        crate::storage::usage_fill::fill(&store)
            .await
            .context("filling the usage tables from the event log")?;
        crate::storage::usage_sums::rebuild_pending(&store)
            .await
            .context("rebuilding the sums of the usage tables")?;
        Ok(store)
    }

    fn batches(&self, workspace: WorkspaceId) -> Arc<GroupQueue> {
        let mut batches = self
            .batches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(batches.entry(workspace).or_default())
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

impl Backend for PostgresStore {
    async fn run<T: Send + 'static>(&self, access: Access, work: Work<T>) -> StoreResult<T> {
        read::run(&self.pool, access, work).await
    }

    fn positions(&self) -> &Arc<PositionCache> {
        &self.positions
    }

    fn schema_version_statement() -> &'static Statement {
        static APPLIED: LazyLock<Statement> = LazyLock::new(|| {
            Statement::new("SELECT coalesce(max(version), 0) FROM reportstats_migrations")
        });
        &APPLIED
    }

    fn log_work(workspace: WorkspaceId, from: Option<LogCursor>, limit: usize) -> Work<LogPage> {
        read::log_work(workspace, from, limit)
    }

    async fn rebuild_usage_sums(&self, workspace: WorkspaceId) -> StoreResult<()> {
        let rebuild = crate::storage::usage_sums::rebuild_if_marked(workspace);
        self.run(Access::Write, rebuild).await
    }

    async fn store_events(
        &self,
        workspace: WorkspaceId,
        messages: mpsc::Receiver<IngestMessage>,
    ) -> StoreResult<IngestSummary> {
        let merge_at = self.options.merge_at_bytes;
        write::ingest_stream(&self.pool, workspace, merge_at, messages).await
    }

    async fn store_batch(
        &self,
        workspace: WorkspaceId,
        chunk: EventChunk,
    ) -> StoreResult<IngestSummary> {
        let batches = self.batches(workspace);
        let queued = batches.push(workspace, chunk);
        if queued.lead {
            let pool = self.pool.clone();
            // The leader runs apart from this request (see SQLite's).
            tokio::spawn(async move {
                group_commit::lead(&batches, |group| {
                    let pool = pool.clone();
                    Box::pin(
                        async move { write::store_batches(&pool, workspace, group.events()).await },
                    )
                })
                .await;
            });
        }
        group_commit::outcome(queued.outcome).await
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
