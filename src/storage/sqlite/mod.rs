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
mod sliced_batches;
mod sums;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use anyhow::Context;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use tokio::sync::mpsc;

use super::backend::Backend;
use super::group_commit::{self, GroupQueue};
use super::listing_version::PositionCache;
use super::session::{Access, Statement, Work};
use super::{
    EventChunk, IngestMessage, IngestSummary, LogCursor, LogPage, StoreError, StoreOptions,
    StoreResult, WorkspaceId,
};
use crate::domain::listings::derived_id;
use crate::domain::usage::fold_case;

/// Migrations in order; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_signature_tokens.sql"),
    include_str!("migrations/0003_event_blocks.sql"),
    include_str!("migrations/0004_listing_version.sql"),
    include_str!("migrations/0005_reports_without_rowid.sql"),
    include_str!("migrations/0006_compressed_event_blocks.sql"),
    include_str!("migrations/0007_event_ids_id_first.sql"),
    include_str!("migrations/0008_queries_charts_member_activity.sql"),
    include_str!("migrations/0009_queries_in_id_order.sql"),
    include_str!("migrations/0010_report_usage.sql"),
    include_str!("migrations/0011_dashboard_sessions.sql"),
    include_str!("migrations/0012_space_usage.sql"),
    include_str!("migrations/0013_report_windows.sql"),
    include_str!("migrations/0014_scope_days.sql"),
    include_str!("migrations/0015_sliced_batches.sql"),
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
    /// Batches waiting for the writer (see [`group_commit`]).
    batches: GroupQueue,
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
/// Where the writer keeps its temporary data: in memory. Each multi-row
/// upsert that may fail midway copies every page it changes (its statement
/// journal, see `write.rs`), and beyond 64 KiB, four of these pages, a
/// `FILE` store spills the copies to a temporary file it creates, writes
/// and removes for that one statement: on a live server, a file for every
/// group. In memory, one-event batches went 16% faster at 16 connections
/// (BENCHMARKS.md, "Statement journals on the live path"). The writer
/// sorts nothing large in SQL.
const WRITER_TEMP_STORE: &str = "MEMORY";
/// Readers' sorts that outgrow memory spill to temporary files (which the
/// kernel caches) rather than growing the heap: a deep page in a computed
/// order sorts the rows before it. (The import's rebuild of the usage sums
/// sorted the whole workspace's day rows on the writer until it moved to
/// Rust, `sums.rs`: with files, the last of ten imports into a
/// million-report workspace peaked at 424 MB rather than 655 MB,
/// BENCHMARKS.md.)
const READER_TEMP_STORE: &str = "FILE";
/// How much of the database file each reader maps (address space, not
/// memory: the kernel's page cache backs it).
const READER_MMAP_BYTES: i64 = 1 << 32;

fn configure(connection: &Connection, cache_kib: i64, temp_store: &str) -> rusqlite::Result<()> {
    // FULL: a batch is on disk (the WAL is fsynced) before it is acknowledged.
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "OFF")?;
    connection.pragma_update(None, "temp_store", temp_store)?;
    // A negative size is in KiB.
    connection.pragma_update(None, "cache_size", -cache_kib)?;
    // Once checkpointed, a WAL grown by a large import is cut back to this.
    connection.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    connection.busy_timeout(std::time::Duration::from_secs(30))?;
    // SQLite's own `lower` folds ASCII letters only; `report_usage`'s name
    // search folds as the domain does (see `domain::usage::fold_case`).
    connection.create_scalar_function(
        "reportstats_lower",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |context| {
            Ok(context
                .get::<Option<String>>(0)?
                .map(|text| fold_case(&text)))
        },
    )?;
    Ok(())
}

fn migrate(connection: &mut Connection) -> anyhow::Result<()> {
    // Migrations that add a derived id compute it as the server does.
    connection.create_scalar_function(
        "reportstats_derived_id",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |context| Ok(derived_id(&context.get::<String>(0)?)),
    )?;
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
        let store =
            tokio::task::spawn_blocking(move || Self::open_blocking(&path, options)).await??;
        crate::storage::usage_fill::fill(&store)
            .await
            .context("filling the usage tables from the event log")?;
        crate::storage::usage_sums::rebuild_pending(&store)
            .await
            .context("rebuilding the sums of the usage tables")?;
        Ok(store)
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
        configure(&writer, WRITER_CACHE_KIB, WRITER_TEMP_STORE)?;
        // Merges prepare one statement per shape of row (see `write.rs`):
        // some dozens, more than rusqlite keeps by default.
        writer.set_prepared_statement_cache_capacity(256);
        migrate(&mut writer)?;
        sliced_batches::finish_cut_off(&mut writer)?;
        let readers = (0..READER_CONNECTIONS)
            .map(|_| {
                let reader = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )?;
                configure(&reader, READER_CACHE_KIB, READER_TEMP_STORE)?;
                // Every commit of the writer empties a reader's page cache,
                // so a page read after a batch fetches its pages again:
                // mapped, they are read in place instead of copied (a sorted
                // `report_usage` page at 100,000 reports: 170 ms → 104 ms
                // from a cold cache, BENCHMARKS.md).
                reader.pragma_update(None, "mmap_size", READER_MMAP_BYTES)?;
                // Every statement a reader runs stays prepared (some two
                // dozen; rusqlite keeps 16 by default).
                reader.set_prepared_statement_cache_capacity(64);
                Ok(Mutex::new(reader))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(SqliteStore {
            inner: Arc::new(Connections {
                readers,
                writer: Mutex::new(writer),
                next_reader: AtomicUsize::new(0),
                batches: GroupQueue::default(),
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

impl Backend for SqliteStore {
    async fn run<T: Send + 'static>(&self, access: Access, work: Work<T>) -> StoreResult<T> {
        let run = move |connection: &mut Connection| read::run(connection, access, work);
        match access {
            Access::Write => self.write(run).await,
            Access::Statements | Access::Snapshot => self.read(run).await,
        }
    }

    fn positions(&self) -> &Arc<PositionCache> {
        &self.positions
    }

    async fn store_events(
        &self,
        workspace: WorkspaceId,
        messages: mpsc::Receiver<IngestMessage>,
    ) -> StoreResult<IngestSummary> {
        // The options are copied into the writer's closure, which outlives
        // this borrow of the store.
        let options = self.options;
        self.write(move |connection| {
            write::ingest_stream(connection, workspace, options.merge_at_bytes, messages)
        })
        .await
    }

    async fn store_batch(
        &self,
        workspace: WorkspaceId,
        chunk: EventChunk,
    ) -> StoreResult<IngestSummary> {
        let slice_events = self.options.slice_events;
        let queued = if chunk.len() > slice_events {
            // Cut and compressed here, off the writer's thread.
            let (cut, bodies) = tokio::task::spawn_blocking(move || {
                let cut = group_commit::Cut::new(chunk, slice_events);
                let bodies = log::compress_text(&cut.text());
                (cut, bodies)
            })
            .await
            .map_err(|error| StoreError::Other(error.into()))?;
            let bodies = bodies.map_err(|error| {
                StoreError::Other(anyhow::Error::new(error).context("compressing a sliced batch"))
            })?;
            self.inner
                .batches
                .push_sliced(workspace, cut, bodies.unwrap_or_default())
        } else {
            self.inner.batches.push(workspace, chunk)
        };
        if queued.lead {
            let inner = Arc::clone(&self.inner);
            // The leader runs apart from this request, so a client that
            // goes away cannot cut a group's transaction short. It takes the
            // writer group by group: an import or another write may go
            // between two groups.
            tokio::task::spawn_blocking(move || {
                group_commit::lead_blocking(&inner.batches, |group| {
                    write::store_group(&mut lock(&inner.writer), &group.parts())
                });
            });
        }
        group_commit::outcome(queued.outcome).await
    }

    fn log_work(workspace: WorkspaceId, from: Option<LogCursor>, limit: usize) -> Work<LogPage> {
        read::log_work(workspace, from, limit)
    }

    async fn rebuild_usage_sums(&self, workspace: WorkspaceId) -> StoreResult<()> {
        self.write(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let pending: i64 = transaction
                .prepare_cached(crate::storage::usage_sums::CLAIM.sqlite())?
                .query_row([workspace], |row| row.get(0))?;
            if pending == 1 {
                sums::rebuild(&transaction, workspace)?;
            }
            transaction.commit()?;
            Ok(())
        })
        .await
    }

    fn schema_version_statement() -> &'static Statement {
        static USER_VERSION: LazyLock<Statement> =
            LazyLock::new(|| Statement::new("PRAGMA user_version"));
        &USER_VERSION
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
    use crate::domain::{Timestamp, WorkspaceName};
    use crate::storage::listing_version::{COUNT, LISTED_IDS};
    use crate::storage::listings::REPORTS_PAGE;
    use crate::storage::report_stats::PAGE;
    use crate::storage::{ApiKeyRecord, Store};

    /// Every step of a listing's plan that reads `reports` goes through a
    /// narrow live index, never a range of the primary key, which holds
    /// whole rows (see [`sqlite_form`](crate::storage::session::sqlite_form));
    /// a count reads the index alone.
    #[test]
    fn listings_read_reports_through_the_live_indexes() {
        let directory = tempfile::tempdir().unwrap();
        let mut connection = Connection::open(directory.path().join("plans.db")).unwrap();
        migrate(&mut connection).unwrap();
        let queries = [&*COUNT, &*PAGE, &*LISTED_IDS, &*REPORTS_PAGE];
        for statement in queries {
            let query = statement.sqlite();
            let mut statement = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
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
                if query == COUNT.sqlite() {
                    assert!(step.contains("COVERING INDEX"), "{query}\n{plan:?}");
                }
            }
        }
    }

    /// A walk of the queries or charts listing (its count, its positions)
    /// reads indexes only, in the listing's order; a page starts at its
    /// remembered id. Plans chosen otherwise made a walk of 200,000
    /// queries read every row, and a page of charts scan every report per
    /// chart (BENCHMARKS.md, part 5).
    #[test]
    fn catalog_walks_read_indexes_only() {
        use crate::storage::listings::{
            CHARTS_COUNT, CHARTS_PAGE, LISTED_CHART_IDS, LISTED_QUERY_IDS, QUERIES_COUNT,
            QUERIES_PAGE,
        };
        let directory = tempfile::tempdir().unwrap();
        let mut connection = Connection::open(directory.path().join("plans.db")).unwrap();
        migrate(&mut connection).unwrap();
        let plan_of = |statement: &Statement| -> Vec<String> {
            let mut statement = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {}", statement.sqlite()))
                .unwrap();
            let unbound = std::iter::repeat_n(rusqlite::types::Null, statement.parameter_count());
            statement
                .query_map(rusqlite::params_from_iter(unbound), |row| row.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let walks = [
            (&*QUERIES_COUNT, "queries_by_id"),
            (&*LISTED_QUERY_IDS, "queries_by_id"),
            (&*CHARTS_COUNT, "charts_by_id"),
            (&*LISTED_CHART_IDS, "charts_by_id"),
        ];
        for (statement, first) in walks {
            let plan = plan_of(statement);
            assert!(plan[0].contains(first), "{plan:?}");
            for step in plan.iter().filter(|step| !step.contains(" s ")) {
                assert!(step.contains("COVERING INDEX"), "{plan:?}");
            }
        }
        for (statement, first) in [(&*QUERIES_PAGE, "q USING"), (&*CHARTS_PAGE, "c USING")] {
            let plan = plan_of(statement);
            assert!(
                plan[0].contains(first) && plan[0].contains("_id>?"),
                "{plan:?}"
            );
            assert!(plan.iter().all(|step| step.contains("=?")), "{plan:?}");
        }
        // A queries page reads its rows from the table, in id order, and
        // of each report only the live reports' index.
        let plan = plan_of(&QUERIES_PAGE);
        assert!(plan[0].contains("q USING PRIMARY KEY"), "{plan:?}");
        assert!(
            plan[1].contains("r USING COVERING INDEX reports_live"),
            "{plan:?}"
        );
    }

    fn key(token: &str, now: Timestamp) -> ApiKeyRecord {
        ApiKeyRecord {
            token: token.to_owned(),
            secret_hash: [7; 32],
            created_at: now,
            revoked_at: None,
        }
    }

    /// The unique constraints decide conflicts, and a write that fails half
    /// way leaves nothing behind.
    #[tokio::test]
    async fn a_taken_name_or_token_is_a_conflict_and_changes_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(directory.path().join("conflicts.db"))
            .await
            .unwrap();
        let now = Timestamp::from_micros(1_000_000);
        let acme = WorkspaceName::parse("acme").unwrap();
        let workspace = store
            .create_workspace(&acme, &key("first", now), now)
            .await
            .unwrap();

        let again = store
            .create_workspace(&acme, &key("second", now), now)
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        // The workspace is new, its key's token is not: rolled back whole.
        let other = WorkspaceName::parse("other").unwrap();
        let taken = store
            .create_workspace(&other, &key("first", now), now)
            .await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
        assert_eq!(store.workspaces().await.unwrap(), vec![workspace.clone()]);
        let taken = store.insert_api_key(workspace.id, &key("first", now)).await;
        assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
        let keys = store.api_keys(workspace.id).await.unwrap();
        assert_eq!(keys, [key("first", now)]);

        assert!(
            store
                .revoke_api_key(workspace.id, "first", now)
                .await
                .unwrap()
        );
        assert!(
            !store
                .revoke_api_key(workspace.id, "first", now)
                .await
                .unwrap()
        );
        assert!(store.api_key("first").await.unwrap().is_none());
    }

    /// A process stopped between two slices of a batch leaves its journal:
    /// the next opening stores the rest of the batch, once, and removes it.
    #[tokio::test]
    async fn a_batch_cut_off_between_two_slices_is_finished_when_the_database_opens() {
        use crate::domain::{Event, Position};
        use crate::storage::group_commit::{Journal, Part};

        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("sliced.db");
        let now = Timestamp::parse("2024-06-01T00:00:00Z").unwrap();
        let store = SqliteStore::open(&path).await.unwrap();
        let workspace = store
            .create_workspace(&WorkspaceName::parse("acme").unwrap(), &key("k", now), now)
            .await
            .unwrap()
            .id;
        let mut lines = vec![
            r#"{"id":"created","type":"report_created","report_id":1,"report_token":"rep1","space_token":"team","occurred_at":"2024-04-01T12:00:00Z","email":"ana@example.com","name":"Report 1"}"#.to_owned(),
        ];
        lines.extend((1..5).map(|view| {
            format!(r#"{{"id":"view-{view}","type":"report_viewed","report_id":1,"occurred_at":"2024-05-0{view}T12:00:00Z","email":"ana@example.com"}}"#)
        }));
        let events: Vec<Event> = lines
            .iter()
            .map(|line| Event::parse(line, Position::Line(1), now).unwrap())
            .collect();
        let cut = group_commit::Cut::new(EventChunk::new(events.clone()), 2);
        let bodies = log::compress_text(&cut.text()).unwrap().unwrap();
        let slices = cut.slices;
        // The first slice's transaction, as a server writes it; then the
        // process stops.
        let first = Part {
            workspace,
            chunk: &slices[0],
            journal: Journal::Begin {
                id: 7,
                bodies: &bodies,
                written: 2,
            },
        };
        write::store_group(&mut lock(&store.inner.writer), &[first]).unwrap();
        assert_eq!(store.event_log(workspace).await.unwrap().len(), 2);
        drop(store);

        let store = SqliteStore::open(&path).await.unwrap();
        let logged: Vec<String> = store
            .event_log(workspace)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.id.as_str().to_owned())
            .collect();
        assert_eq!(logged, ["created", "view-1", "view-2", "view-3", "view-4"]);
        let journals: i64 = lock(&store.inner.writer)
            .query_row("SELECT count(*) FROM sliced_batches", [], |row| row.get(0))
            .unwrap();
        assert_eq!(journals, 0);
        let again = crate::storage::ingest(&store, workspace, events)
            .await
            .unwrap();
        assert_eq!((again.accepted, again.duplicates), (0, 5));
        drop(store);
        // Opened once more, nothing is stored twice.
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(store.event_log(workspace).await.unwrap().len(), 5);
    }
}
