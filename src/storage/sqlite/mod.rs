//! The embedded default: one SQLite file in WAL mode.
//!
//! SQLite allows one writer at a time, so there is one writer connection
//! behind a mutex; readers get their own connections and, thanks to WAL,
//! read a consistent snapshot while a batch is being written. rusqlite is
//! synchronous, so every call runs on tokio's blocking pool; the mutexes are
//! std's because they are only ever held there, never across an `.await`.

mod folding;
mod log;
mod read;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
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

/// Migrations in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_signature_tokens.sql"),
    include_str!("migrations/0003_event_blocks.sql"),
    include_str!("migrations/0004_listing_version.sql"),
    include_str!("migrations/0005_reports_without_rowid.sql"),
    include_str!("migrations/0006_compressed_event_blocks.sql"),
    include_str!("migrations/0007_event_ids_id_first.sql"),
];

/// Connections for concurrent reads: a handful is enough on small machines,
/// where the CPU, not the connection count, is the limit.
const READER_CONNECTIONS: usize = 4;

/// The file path of a `sqlite://PATH` (or `sqlite:PATH`) URL, if it is one.
/// `sqlite://reportstats.db` is relative to the working directory,
/// `sqlite:///var/lib/reportstats.db` absolute.
pub fn path_from_url(url: &str) -> Option<&str> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split_once('?').map_or(path, |(path, _)| path);
    (!path.is_empty()).then_some(path)
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                StoreError::Busy
            }
            _ => StoreError::Other(error.into()),
        }
    }
}

pub struct SqliteStore {
    inner: Arc<Connections>,
    positions: Arc<PositionCache>,
    options: StoreOptions,
}

struct Connections {
    // Fields drop in order: the readers close first, so the last connection
    // to close is the writer, which checkpoints the WAL into the database
    // and removes it (a read-only connection closing last could not, and
    // the next process would find the whole WAL to replay).
    readers: Vec<Mutex<Connection>>,
    writer: Mutex<Connection>,
    next_reader: AtomicUsize,
}

fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves no half-done transaction behind
    // (rusqlite rolls back on drop), so the connection is still good.
    connection
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Page size of a new database. With SQLite's default of 4 KiB the event id
/// index is deeper and splits its pages more often: 16 KiB pages made
/// imports faster, and 64 KiB slower again (BENCHMARKS.md),
/// and cost reads of single rows little, since the hot pages are cached.
const PAGE_SIZE: i64 = 16 * 1024;

/// Page cache of the writer connection, in KiB. An import's working set
/// (the state rows it merges into) fits in it for workspaces of up to some
/// hundred thousand reports; past that no cache the memory budget allows
/// holds it (at a million reports, a cache twice as large imported no
/// faster: BENCHMARKS.md), so
/// the budget goes to folding more changes in memory between merges
/// instead (see [`crate::storage::pending`]). Readers
/// need less.
const WRITER_CACHE_KIB: i64 = 64 * 1024;
const READER_CACHE_KIB: i64 = 16 * 1024;

fn configure(connection: &Connection, cache_kib: i64) -> rusqlite::Result<()> {
    // FULL: a batch is on disk (the WAL is fsynced) before it is acknowledged.
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "OFF")?;
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    // A negative size is in KiB.
    connection.pragma_update(None, "cache_size", -cache_kib)?;
    // Once checkpointed, a WAL grown by a large import is cut back to this.
    connection.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    connection.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(())
}

fn migrate(connection: &mut Connection) -> anyhow::Result<()> {
    // IMMEDIATE takes the write lock first, so two processes starting on one
    // file migrate one after the other.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: usize = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if applied > MIGRATIONS.len() {
        anyhow::bail!(
            "the database has schema version {applied}, newer than this reportstats knows ({}); upgrade reportstats",
            MIGRATIONS.len()
        );
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        transaction
            .execute_batch(migration)
            .with_context(|| format!("running migration {}", index + 1))?;
        transaction.pragma_update(None, "user_version", index + 1)?;
    }
    transaction.commit()?;
    Ok(())
}

impl SqliteStore {
    /// Opens the file at `path`, creating and migrating it as needed.
    pub async fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        Self::open_with(path, StoreOptions::default()).await
    }

    /// [`SqliteStore::open`], tuned by `options`.
    pub async fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> anyhow::Result<Self> {
        let path: PathBuf = path.as_ref().to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path, options)).await?
    }

    fn open_blocking(path: &Path, options: StoreOptions) -> anyhow::Result<Self> {
        let mut writer = Connection::open(path)
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        // Only a new, empty database takes a page size; an existing one keeps its own.
        writer.pragma_update(None, "page_size", PAGE_SIZE)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            anyhow::bail!(
                "{} cannot use WAL mode (journal_mode is {mode})",
                path.display()
            );
        }
        configure(&writer, WRITER_CACHE_KIB)?;
        // Merges prepare one statement per shape of row (see `write.rs`):
        // some dozens, more than rusqlite keeps by default.
        writer.set_prepared_statement_cache_capacity(256);
        migrate(&mut writer)?;
        let readers = (0..READER_CONNECTIONS)
            .map(|_| {
                let reader = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )?;
                configure(&reader, READER_CACHE_KIB)?;
                Ok(Mutex::new(reader))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(SqliteStore {
            inner: Arc::new(Connections {
                readers,
                writer: Mutex::new(writer),
                next_reader: AtomicUsize::new(0),
            }),
            positions: Arc::default(),
            options,
        })
    }

    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&mut lock(&inner.writer)))
            .await
            .map_err(|error| StoreError::Other(error.into()))?
    }

    async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let index = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            work(&mut lock(&inner.readers[index]))
        })
        .await
        .map_err(|error| StoreError::Other(error.into()))?
    }
}

/// Inserts a key; a taken token is a `Conflict`.
fn insert_key(
    connection: &Connection,
    workspace: WorkspaceId,
    key: &ApiKeyRecord,
) -> StoreResult<()> {
    let taken = connection
        .query_row(
            "SELECT 1 FROM api_keys WHERE token = ?1",
            [&key.token],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if taken {
        return Err(StoreError::Conflict(format!(
            "an API key with token `{}` exists",
            key.token
        )));
    }
    connection.execute(
        "INSERT INTO api_keys (workspace_id, token, secret_sha256, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        (
            workspace,
            &key.token,
            &key.secret_hash[..],
            key.created_at.as_micros(),
            key.revoked_at.map(Timestamp::as_micros),
        ),
    )?;
    Ok(())
}

/// The columns [`signature_token_from_row`] reads, in its order.
const SIGNATURE_TOKEN_COLUMNS: &str = "t.token, t.name, t.access_key_sha256, t.access_secret_sha256,
    t.authentication_for, t.authorization_type, t.created_at, t.updated_at, t.expires_at, t.revoked_at";

fn signature_token_from_row(row: &rusqlite::Row<'_>) -> StoreResult<SignatureTokenRecord> {
    Ok(SignatureTokenRecord {
        token: row.get(0)?,
        name: row.get(1)?,
        access_key_hash: secret_hash_from_column(row.get(2)?)?,
        access_secret_hash: secret_hash_from_column(row.get(3)?)?,
        authentication_for: row.get(4)?,
        authorization_type: row.get(5)?,
        created_at: Timestamp::from_micros(row.get(6)?),
        updated_at: Timestamp::from_micros(row.get(7)?),
        expires_at: Timestamp::from_micros(row.get(8)?),
        revoked_at: row.get::<_, Option<i64>>(9)?.map(Timestamp::from_micros),
    })
}

fn secret_hash_from_column(hash: Vec<u8>) -> StoreResult<SecretHash> {
    hash.try_into()
        .map_err(|_| StoreError::Other(anyhow::anyhow!("a stored key hash has the wrong length")))
}

fn workspace_from_row(id: i64, name: String) -> StoreResult<Workspace> {
    let name = WorkspaceName::parse(&name).map_err(|error| {
        StoreError::Other(anyhow::anyhow!("stored workspace name `{name}` {error}"))
    })?;
    Ok(Workspace { id, name })
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_workspace(
        &self,
        name: &WorkspaceName,
        key: &ApiKeyRecord,
        now: Timestamp,
    ) -> StoreResult<Workspace> {
        let name = name.clone();
        let key = key.clone();
        self.write(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists = transaction
                .query_row(
                    "SELECT 1 FROM workspaces WHERE name = ?1",
                    [name.as_str()],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if exists {
                return Err(StoreError::Conflict(format!(
                    "workspace `{name}` already exists"
                )));
            }
            transaction.execute(
                "INSERT INTO workspaces (name, created_at) VALUES (?1, ?2)",
                (name.as_str(), now.as_micros()),
            )?;
            let id = transaction.last_insert_rowid();
            insert_key(&transaction, id, &key)?;
            transaction.commit()?;
            Ok(Workspace { id, name })
        })
        .await
    }

    async fn workspace(&self, name: &WorkspaceName) -> StoreResult<Option<Workspace>> {
        let name = name.clone();
        self.read(move |connection| {
            let id = connection
                .query_row(
                    "SELECT workspace_id FROM workspaces WHERE name = ?1",
                    [name.as_str()],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(id.map(|id| Workspace { id, name }))
        })
        .await
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.read(|connection| {
            let mut statement =
                connection.prepare("SELECT workspace_id, name FROM workspaces ORDER BY name")?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(i64, String)>>>()?;
            rows.into_iter()
                .map(|(id, name)| workspace_from_row(id, name))
                .collect()
        })
        .await
    }

    async fn insert_api_key(&self, workspace: WorkspaceId, key: &ApiKeyRecord) -> StoreResult<()> {
        let key = key.clone();
        self.write(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            insert_key(&transaction, workspace, &key)?;
            transaction.commit()?;
            Ok(())
        })
        .await
    }

    async fn api_keys(&self, workspace: WorkspaceId) -> StoreResult<Vec<ApiKeyRecord>> {
        self.read(move |connection| {
            let mut statement = connection.prepare(
                "SELECT token, secret_sha256, created_at, revoked_at FROM api_keys
                 WHERE workspace_id = ?1 ORDER BY created_at, token",
            )?;
            let rows = statement
                .query_map([workspace], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })?
                .collect::<rusqlite::Result<Vec<(String, Vec<u8>, i64, Option<i64>)>>>()?;
            rows.into_iter()
                .map(|(token, hash, created_at, revoked_at)| {
                    Ok(ApiKeyRecord {
                        token,
                        secret_hash: secret_hash_from_column(hash)?,
                        created_at: Timestamp::from_micros(created_at),
                        revoked_at: revoked_at.map(Timestamp::from_micros),
                    })
                })
                .collect()
        })
        .await
    }

    async fn api_key(&self, token: &str) -> StoreResult<Option<StoredApiKey>> {
        let token = token.to_owned();
        self.read(move |connection| {
            let row = connection
                .prepare_cached(
                    "SELECT w.workspace_id, w.name, k.secret_sha256, w.version
                     FROM api_keys k JOIN workspaces w ON w.workspace_id = k.workspace_id
                     WHERE k.token = ?1 AND k.revoked_at IS NULL",
                )?
                .query_row([&token], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .optional()?;
            let Some((id, name, hash, workspace_version)) = row else {
                return Ok(None);
            };
            let secret_hash: SecretHash = hash.try_into().map_err(|_| {
                StoreError::Other(anyhow::anyhow!("stored key hash has the wrong length"))
            })?;
            Ok(Some(StoredApiKey {
                workspace_version,
                workspace: workspace_from_row(id, name)?,
                secret_hash,
            }))
        })
        .await
    }

    async fn revoke_api_key(
        &self,
        workspace: WorkspaceId,
        token: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let token = token.to_owned();
        self.write(move |connection| {
            let changed = connection.execute(
                "UPDATE api_keys SET revoked_at = ?3 WHERE workspace_id = ?1 AND token = ?2 AND revoked_at IS NULL",
                params![workspace, token, now.as_micros()],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    async fn create_signature_token(
        &self,
        workspace: WorkspaceId,
        record: &SignatureTokenRecord,
    ) -> StoreResult<()> {
        let record = record.clone();
        self.write(move |connection| {
            connection.execute(
                "INSERT INTO signature_tokens (workspace_id, token, name, access_key_sha256, access_secret_sha256,
                     authentication_for, authorization_type, created_at, updated_at, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    workspace,
                    record.token,
                    record.name,
                    &record.access_key_hash[..],
                    &record.access_secret_hash[..],
                    record.authentication_for,
                    record.authorization_type,
                    record.created_at.as_micros(),
                    record.updated_at.as_micros(),
                    record.expires_at.as_micros(),
                    record.revoked_at.map(Timestamp::as_micros),
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn signature_tokens(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<SignatureTokenRecord>> {
        self.read(move |connection| {
            let mut statement = connection.prepare(&format!(
                "SELECT {SIGNATURE_TOKEN_COLUMNS} FROM signature_tokens t
                 WHERE t.workspace_id = ?1 ORDER BY t.created_at, t.token"
            ))?;
            let mut rows = statement.query([workspace])?;
            let mut records = Vec::new();
            while let Some(row) = rows.next()? {
                records.push(signature_token_from_row(row)?);
            }
            Ok(records)
        })
        .await
    }

    async fn signature_token(&self, token: &str) -> StoreResult<Option<StoredSignatureToken>> {
        let token = token.to_owned();
        self.read(move |connection| {
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {SIGNATURE_TOKEN_COLUMNS}, w.workspace_id, w.name, w.version
                 FROM signature_tokens t JOIN workspaces w ON w.workspace_id = t.workspace_id
                 WHERE t.token = ?1 AND t.revoked_at IS NULL"
            ))?;
            let mut rows = statement.query([&token])?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            Ok(Some(StoredSignatureToken {
                record: signature_token_from_row(row)?,
                workspace: workspace_from_row(row.get(10)?, row.get(11)?)?,
                workspace_version: row.get(12)?,
            }))
        })
        .await
    }

    async fn revoke_signature_token(
        &self,
        workspace: WorkspaceId,
        token: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let token = token.to_owned();
        self.write(move |connection| {
            let changed = connection.execute(
                "UPDATE signature_tokens SET revoked_at = ?3, updated_at = ?3
                 WHERE workspace_id = ?1 AND token = ?2 AND revoked_at IS NULL",
                params![workspace, token, now.as_micros()],
            )?;
            Ok(changed == 1)
        })
        .await
    }

    async fn ingest_stream(
        &self,
        workspace: WorkspaceId,
        messages: mpsc::Receiver<IngestMessage>,
    ) -> StoreResult<IngestSummary> {
        let merge_at = self.options.merge_at_bytes;
        self.write(move |connection| {
            write::ingest_stream(connection, workspace, merge_at, messages)
        })
        .await
    }

    async fn report_stats(
        &self,
        workspace: WorkspaceId,
        query: ReportStatsQuery,
    ) -> StoreResult<Page<ReportStat>> {
        let positions = Arc::clone(&self.positions);
        self.read(move |connection| read::report_stats(connection, &positions, workspace, query))
            .await
    }

    async fn reports(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<ReportRow>> {
        let positions = Arc::clone(&self.positions);
        self.read(move |connection| read::reports(connection, &positions, workspace, page, filter))
            .await
    }

    async fn spaces(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<SpaceRow>> {
        self.read(move |connection| read::spaces(connection, workspace, page, filter))
            .await
    }

    async fn members(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> StoreResult<Page<MemberRow>> {
        self.read(move |connection| read::members(connection, workspace, page))
            .await
    }

    async fn read_log(
        &self,
        workspace: WorkspaceId,
        from: Option<&LogCursor>,
        limit: usize,
    ) -> StoreResult<LogPage> {
        let from = from.cloned();
        self.read(move |connection| read::read_log(connection, workspace, from.as_ref(), limit))
            .await
    }

    async fn schema_version(&self) -> StoreResult<u32> {
        self.read(|connection| {
            Ok(connection.pragma_query_value(None, "user_version", |row| row.get(0))?)
        })
        .await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|connection| Ok(connection.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    fn connection_use(&self) -> super::ConnectionUse {
        // A connection is busy while its mutex is held. A free one is held
        // here for an instant only, and a scrape comes every few seconds.
        let busy = |connection: &Mutex<Connection>| {
            usize::from(matches!(
                connection.try_lock(),
                Err(std::sync::TryLockError::WouldBlock)
            ))
        };
        let readers = &self.inner.readers;
        super::ConnectionUse {
            backend: "sqlite",
            pools: vec![
                super::PoolUse {
                    role: "reader",
                    open: readers.len(),
                    max: readers.len(),
                    busy: readers.iter().map(busy).sum(),
                },
                super::PoolUse {
                    role: "writer",
                    open: 1,
                    max: 1,
                    busy: busy(&self.inner.writer),
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::listings::reports_page_sql;
    use crate::storage::report_stats::{self as sql, sqlite_form};

    /// Every step of a listing's plan that reads `reports` goes through a
    /// narrow live index, never a range of the primary key, which holds
    /// whole rows (see [`sqlite_form`]); a count reads the index alone.
    #[test]
    fn listings_read_reports_through_the_live_indexes() {
        let directory = tempfile::tempdir().unwrap();
        let mut connection = Connection::open(directory.path().join("plans.db")).unwrap();
        migrate(&mut connection).unwrap();
        let queries = [
            sql::COUNT_SQL.to_owned(),
            sql::page_sql(),
            sql::listed_ids_sql(),
            reports_page_sql(),
        ];
        for query in queries {
            let mut statement = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {}", sqlite_form(&query)))
                .unwrap();
            let unbound = std::iter::repeat_n(rusqlite::types::Null, statement.parameter_count());
            let plan: Vec<String> = statement
                .query_map(rusqlite::params_from_iter(unbound), |row| row.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let reads: Vec<&String> = plan
                .iter()
                .filter(|step| matches!(step.split_whitespace().nth(1), Some("r" | "reports")))
                .collect();
            assert!(!reads.is_empty(), "{plan:?}");
            for step in reads {
                assert!(step.contains("INDEX reports_live"), "{query}\n{plan:?}");
                if query == sql::COUNT_SQL {
                    assert!(step.contains("COVERING INDEX"), "{query}\n{plan:?}");
                }
            }
        }
    }
}
