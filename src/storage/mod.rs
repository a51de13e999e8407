//! Storage: the event log and the state maintained from it.
//!
//! One small trait, [`Store`] (`store.rs`), with one module per backend
//! ([`sqlite`], [`postgres`]), chosen from the database URL at start
//! ([`open`], `opening.rs`). Both keep the same tables: the event log (the
//! source of truth, deduplicated by event id per workspace; read back by
//! [`parse_stored_event`]) and per-entity state merged from each batch's
//! [`Changes`](crate::domain::state::Changes) with the rules of
//! [`crate::domain::state`], written as SQL upserts ([`sql`], fed by
//! [`rows`]). Every table is keyed by workspace first. This module holds
//! the types the trait speaks in.
//!
//! The read path is written once: the pages ([`report_stats`],
//! [`listings`], [`report_usage`], [`dashboard`]), workspaces and
//! credentials ([`records`]) and the dashboard's sessions ([`sessions`])
//! are shared SQL run on a [`session::Session`], and [`backend`] makes a
//! [`Store`] of any backend that can run them; where the pages of a listing
//! start, and when that changes, is [`listing_version`]. The backends
//! execute statements, store batches and read their event logs.

pub mod backend;
pub mod dashboard;
pub mod group_commit;
pub mod instrumented;
pub mod listing_version;
pub mod listings;
mod opening;
pub mod pending;
pub mod postgres;
pub mod records;
pub mod report_stats;
pub mod report_usage;
pub mod rows;
pub mod schema;
pub mod session;
pub mod sessions;
pub mod sql;
pub mod sqlite;
mod store;
mod stored_event;
pub mod usage_daily;
pub mod usage_fill;
pub mod usage_sums;
pub mod usage_windows;

use serde::Serialize;

use crate::domain::api_key::SecretHash;
use crate::domain::stats::SpaceFilter;
use crate::domain::{Event, Timestamp, WorkspaceName};

/// The database's own key for a workspace.
pub type WorkspaceId = i64;

/// The default database: one SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://reportstats.db";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: WorkspaceName,
}

/// A workspace API key as stored: never the secret, only its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub token: String,
    pub secret_hash: SecretHash,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl ApiKeyRecord {
    /// The record of a key made just now.
    pub fn new(key: &crate::domain::api_key::NewApiKey, now: Timestamp) -> Self {
        ApiKeyRecord {
            token: key.token.clone(),
            secret_hash: key.secret_hash(),
            created_at: now,
            revoked_at: None,
        }
    }
}

/// A signature token as stored: its access key and secret only as hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureTokenRecord {
    pub token: String,
    pub name: String,
    pub access_key_hash: SecretHash,
    pub access_secret_hash: SecretHash,
    pub authentication_for: String,
    pub authorization_type: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A signature token found by its token, with its workspace.
#[derive(Clone, Debug)]
pub struct StoredSignatureToken {
    pub workspace: Workspace,
    pub record: SignatureTokenRecord,
    /// The workspace's version, read with the token: a number bumped in the
    /// same transaction as every batch that stores an event. A request that
    /// authenticates gets it without a second query, and a page cached at
    /// this version is current.
    pub workspace_version: i64,
}

/// A stored workspace API key, found by its token.
#[derive(Clone, Debug)]
pub struct StoredApiKey {
    pub workspace: Workspace,
    pub secret_hash: SecretHash,
    /// As in [`StoredSignatureToken::workspace_version`].
    pub workspace_version: i64,
}

/// What a batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestSummary {
    /// Events stored by this batch.
    pub accepted: u64,
    /// Events whose id was already stored (or repeated within the batch).
    pub duplicates: u64,
}

/// The stream a writer consumes: chunks of events, then `Commit`. A stream
/// that ends without `Commit` is rolled back whole.
#[derive(Debug)]
pub enum IngestMessage {
    Events(EventChunk),
    Commit,
}

/// Events with their canonical JSON (what the log stores), made by the
/// producer: the writer is the bottleneck of an import, and serialising on
/// the reading side keeps that work off it.
///
/// The bodies share one buffer, each followed by a newline, rather than a
/// string each: an import allocated and freed one per event, which showed
/// in its profiles, and a chunk whose events are all new is already the
/// text of its log block.
#[derive(Debug, Default)]
pub struct EventChunk {
    pub events: Vec<Event>,
    text: String,
}

impl EventChunk {
    pub fn new(events: Vec<Event>) -> Self {
        let mut chunk = EventChunk::with_capacity(events.len(), 0);
        for event in events {
            let body = event.to_json();
            chunk.push(event, &body);
        }
        chunk
    }

    /// A chunk with room for `events` events whose bodies take `bytes`
    /// bytes: grown as bodies arrive, the text was copied over and over.
    pub fn with_capacity(events: usize, bytes: usize) -> Self {
        EventChunk {
            events: Vec::with_capacity(events),
            text: String::with_capacity(bytes),
        }
    }

    /// The length of [`EventChunk::text`], for sizing the next chunk.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Adds an event with the body the log keeps for it (one line of JSON).
    pub fn push(&mut self, event: Event, body: &str) {
        debug_assert!(!body.contains('\n'), "a body is one line");
        self.events.push(event);
        self.text.push_str(body);
        self.text.push('\n');
    }

    /// The bodies, in the events' order.
    pub fn bodies(&self) -> impl Iterator<Item = &str> {
        // No body holds a newline, so the lines of the text are the bodies;
        // `take` leaves out the one empty line of an empty chunk.
        self.text().split('\n').take(self.events.len())
    }

    /// All the bodies, one per line, with no newline after the last.
    pub fn text(&self) -> &str {
        self.text.strip_suffix('\n').unwrap_or(&self.text)
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Where a walk of the event log goes on from. Each backend writes its own
/// form (an event id, a block and line); callers only hand back what
/// [`Store::read_log`] gave them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogCursor(pub(crate) String);

/// A stretch of the event log, and where the next one starts (`None` once
/// the walk has reached the end).
#[derive(Debug, Default)]
pub struct LogPage {
    pub events: Vec<Event>,
    pub next: Option<LogCursor>,
}

/// A page of a listing: `page` is 1-based, `per_page` already checked to be
/// 1–1000 by the HTTP layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub page: u64,
    pub per_page: u64,
}

impl PageRequest {
    pub fn offset(self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// One page of rows and the number of rows in all pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub total_count: u64,
    pub items: Vec<T>,
    /// `report_stats` only: the oldest manual run that put an email on this
    /// page's `recent_manual_run_creators_emails`. When it leaves the recent
    /// window the page changes, though no event arrived.
    pub oldest_recent_run: Option<Timestamp>,
}

impl<T> Page<T> {
    pub fn new(total_count: u64, items: Vec<T>) -> Self {
        Page {
            total_count,
            items,
            oldest_recent_run: None,
        }
    }
}

/// A `report_stats` request as storage sees it.
#[derive(Clone, Copy, Debug)]
pub struct ReportStatsQuery {
    pub page: PageRequest,
    pub filter: SpaceFilter,
    /// Manual runs at or after this instant are recent.
    pub recent_since: Timestamp,
}

/// What a backend's connections are doing right now, for the metrics
/// endpoint (see [`instrumented`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionUse {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    pub pools: Vec<PoolUse>,
}

/// One set of connections of a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// `reader` or `writer` (SQLite); `pool` (PostgreSQL's one pool).
    pub role: &'static str,
    /// Connections open now, at most `max`.
    pub open: usize,
    pub max: usize,
    /// Connections held by a request or a batch.
    pub busy: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the input ended before it was complete; nothing was stored")]
    Aborted,
    /// Another writer held the database for longer than the busy timeout
    /// (e.g. a long `reportstats import` in another process). Retrying later
    /// succeeds.
    #[error("the database is busy with another writer; retry shortly")]
    Busy,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

pub use opening::{StoreOptions, open, open_with, redacted};
pub use store::{Store, ingest, ingest_chunk};
pub use stored_event::parse_stored_event;
