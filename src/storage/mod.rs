//! Storage: the event log and the state maintained from it.
//!
//! One small trait, [`Store`], with one module per backend ([`sqlite`],
//! [`postgres`]), chosen from the database URL at start ([`open`]). Both keep
//! the same tables: the event log (the source of truth, deduplicated by event
//! id per workspace) and per-entity state merged from each batch's
//! [`Changes`](crate::domain::state::Changes) with the rules of
//! [`crate::domain::state`], written as SQL upserts ([`sql`], fed by
//! [`rows`]). Every table is keyed by workspace first.
//!
//! The read path is written once: the pages ([`report_stats`],
//! [`listings`]), workspaces and credentials ([`records`]) are shared SQL
//! run on a [`session::Session`], and [`backend`] makes a [`Store`] of any
//! backend that can run them; where the pages of a listing start, and when
//! that changes, is [`listing_version`]. The backends execute statements,
//! store batches and read their event logs.

pub mod backend;
pub mod dashboard;
pub mod instrumented;
pub mod listing_version;
pub mod listings;
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
pub mod usage_fill;

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::domain::api_key::SecretHash;
use crate::domain::listings::{ChartRow, MemberRow, QueryRow, ReportRow, SpaceRow};
use crate::domain::stats::{ReportStat, SpaceFilter};
use crate::domain::timestamp::UtcDay;
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

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a workspace with its first API key. `Conflict` if the name is
    /// taken.
    async fn create_workspace(
        &self,
        name: &WorkspaceName,
        key: &ApiKeyRecord,
        now: Timestamp,
    ) -> StoreResult<Workspace>;

    async fn workspace(&self, name: &WorkspaceName) -> StoreResult<Option<Workspace>>;

    /// Every workspace, by name.
    async fn workspaces(&self) -> StoreResult<Vec<Workspace>>;

    /// Adds an API key to a workspace. `Conflict` if its token exists.
    async fn insert_api_key(&self, workspace: WorkspaceId, key: &ApiKeyRecord) -> StoreResult<()>;

    /// A workspace's API keys, revoked ones included, oldest first.
    async fn api_keys(&self, workspace: WorkspaceId) -> StoreResult<Vec<ApiKeyRecord>>;

    /// The key with this token, if it exists and is not revoked.
    async fn api_key(&self, token: &str) -> StoreResult<Option<StoredApiKey>>;

    /// Revokes a key at once; `false` if the workspace has no such live key.
    async fn revoke_api_key(
        &self,
        workspace: WorkspaceId,
        token: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;

    async fn create_signature_token(
        &self,
        workspace: WorkspaceId,
        record: &SignatureTokenRecord,
    ) -> StoreResult<()>;

    /// A workspace's signature tokens, revoked and expired ones included,
    /// oldest first.
    async fn signature_tokens(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<SignatureTokenRecord>>;

    /// The signature token with this token, if it exists and is not revoked
    /// (whether it has expired is for the caller's clock to say).
    async fn signature_token(&self, token: &str) -> StoreResult<Option<StoredSignatureToken>>;

    /// Revokes a signature token at once; `false` if the workspace has no
    /// such live token.
    async fn revoke_signature_token(
        &self,
        workspace: WorkspaceId,
        token: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Stores a dashboard session, removing those started before
    /// `expired_before` (see [`sessions`]).
    async fn open_session(
        &self,
        session: &sessions::SessionRecord,
        expired_before: Timestamp,
    ) -> StoreResult<()>;

    /// The dashboard session whose cookie hashes to `key`, if it is stored.
    async fn session(&self, key: [u8; 32]) -> StoreResult<Option<sessions::StoredSession>>;

    /// Ends the dashboard session whose cookie hashes to `key`.
    async fn close_session(&self, key: [u8; 32]) -> StoreResult<()>;

    /// Stores a stream of events in one transaction (see [`IngestMessage`]).
    async fn ingest_stream(
        &self,
        workspace: WorkspaceId,
        messages: mpsc::Receiver<IngestMessage>,
    ) -> StoreResult<IngestSummary>;

    async fn report_stats(
        &self,
        workspace: WorkspaceId,
        query: ReportStatsQuery,
    ) -> StoreResult<Page<ReportStat>>;

    /// A page of live reports, by id.
    async fn reports(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<ReportRow>>;

    /// A page of spaces (upserted, not deleted), by id.
    async fn spaces(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<SpaceRow>>;

    /// A page of present members, by id.
    async fn members(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> StoreResult<Page<MemberRow>>;

    /// A page of listed queries (created, not deleted, their report
    /// listed), by id.
    async fn queries(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<QueryRow>>;

    /// A page of listed charts (created, not deleted, their query listed),
    /// by id.
    async fn charts(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<ChartRow>>;

    /// A page of `report_usage` (SPEC section 8): listed reports that pass
    /// the filters, in the order asked for.
    async fn report_usage(
        &self,
        workspace: WorkspaceId,
        query: report_usage::UsageQuery,
    ) -> StoreResult<Page<crate::domain::usage::ReportUsage>>;

    /// The days of `usage_daily` (SPEC section 8), zeros included, and the
    /// distinct viewers over them; `None` when asked for one report that is
    /// not live.
    async fn usage_daily(
        &self,
        workspace: WorkspaceId,
        query: report_usage::DailyQuery,
    ) -> StoreResult<Option<crate::domain::usage::UsageSeries>>;

    /// The dashboard's headline numbers (see [`dashboard::summary`]).
    async fn usage_summary(
        &self,
        workspace: WorkspaceId,
        today: UtcDay,
        filter: SpaceFilter,
    ) -> StoreResult<dashboard::UsageSummary>;

    /// Every listed space with its usage (see [`dashboard::spaces`]).
    async fn space_usage(
        &self,
        workspace: WorkspaceId,
        today: UtcDay,
        filter: SpaceFilter,
    ) -> StoreResult<Vec<dashboard::SpaceUsage>>;

    /// Everything the dashboard shows of the live report with this token.
    async fn report_detail(
        &self,
        workspace: WorkspaceId,
        token: &str,
        today: UtcDay,
        recent_since: Timestamp,
    ) -> StoreResult<Option<dashboard::ReportDetail>>;

    /// A page of present members in an order people ask for.
    async fn member_activity(
        &self,
        workspace: WorkspaceId,
        query: dashboard::MembersQuery,
    ) -> StoreResult<dashboard::MemberActivity>;

    /// The live report (created, not deleted, in any space) with this token.
    async fn report(&self, workspace: WorkspaceId, token: &str) -> StoreResult<Option<ReportRow>>;

    /// The space with this token, if `/spaces?include_spaces=all` lists it.
    async fn space(&self, workspace: WorkspaceId, token: &str) -> StoreResult<Option<SpaceRow>>;

    /// The present member whose username, or else whose member token, is
    /// `handle` (Mode's `/api/{username}`).
    async fn member(&self, workspace: WorkspaceId, handle: &str) -> StoreResult<Option<MemberRow>>;

    /// About `limit` stored events of a workspace from `from` (the start
    /// when `None`) on, in the order the backend keeps them: the event log,
    /// a stretch at a time. Every event comes exactly once over a walk.
    async fn read_log(
        &self,
        workspace: WorkspaceId,
        from: Option<&LogCursor>,
        limit: usize,
    ) -> StoreResult<LogPage>;

    /// Every stored event of a workspace, in event id order.
    async fn event_log(&self, workspace: WorkspaceId) -> StoreResult<Vec<Event>> {
        let mut log = Vec::new();
        let mut from = None;
        loop {
            let page = self.read_log(workspace, from.as_ref(), 10_000).await?;
            log.extend(page.events);
            match page.next {
                Some(next) => from = Some(next),
                None => break,
            }
        }
        log.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok(log)
    }

    /// How many schema migrations the database has run.
    async fn schema_version(&self) -> StoreResult<u32>;

    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// How many connections are open and busy; cheap enough for every
    /// scrape of the metrics endpoint.
    fn connection_use(&self) -> ConnectionUse;
}

/// Stores one batch, all or nothing.
pub async fn ingest(
    store: &dyn Store,
    workspace: WorkspaceId,
    events: Vec<Event>,
) -> StoreResult<IngestSummary> {
    ingest_chunk(store, workspace, EventChunk::new(events)).await
}

/// Stores one batch already serialised for the log, all or nothing.
pub async fn ingest_chunk(
    store: &dyn Store,
    workspace: WorkspaceId,
    chunk: EventChunk,
) -> StoreResult<IngestSummary> {
    let (sender, receiver) = mpsc::channel(2);
    // The channel has room for both messages, so these sends cannot wait.
    let _ = sender.try_send(IngestMessage::Events(chunk));
    let _ = sender.try_send(IngestMessage::Commit);
    drop(sender);
    store.ingest_stream(workspace, receiver).await
}

/// How a store is tuned. The defaults serve every deployment; tests set
/// them small to reach what only large inputs reach otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// The memory of pending changes at which a writer merges them into
    /// the tables before its commit (see [`pending`]).
    pub merge_at_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            merge_at_bytes: pending::MERGE_AT_BYTES,
        }
    }
}

/// Opens (creating and migrating as needed) the database at `url`.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    open_with(url, StoreOptions::default()).await
}

/// [`open`], tuned by `options`. Errors name the database by its
/// [`redacted`] URL.
pub async fn open_with(url: &str, options: StoreOptions) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = sqlite::path_from_url(url) {
        let store = sqlite::SqliteStore::open_with(path, options)
            .await
            .with_context(|| format!("opening the database {}", redacted(url)))?;
        return Ok(Arc::new(store));
    }
    if postgres::is_postgres_url(url) {
        let store = postgres::PostgresStore::open_with(url, options)
            .await
            .with_context(|| format!("opening the database {}", redacted(url)))?;
        return Ok(Arc::new(store));
    }
    anyhow::bail!(
        "unsupported database URL `{}`: expected sqlite://PATH or postgres://...",
        redacted(url)
    )
}

/// `url` fit to show or log: a password in it (`user:password@`, or a
/// `password=` parameter) becomes `***`. Every message that names a
/// database URL shows it through this function.
///
/// ```
/// use reportstats::storage::redacted;
///
/// assert_eq!(
///     redacted("postgres://app:hunter2@db.internal:5432/stats?sslmode=require"),
///     "postgres://app:***@db.internal:5432/stats?sslmode=require"
/// );
/// assert_eq!(redacted("sqlite://reportstats.db"), "sqlite://reportstats.db");
/// ```
pub fn redacted(url: &str) -> String {
    const HIDDEN: &str = "***";
    // Whatever follows the scheme up to the path is the authority; a string
    // that is not quite a URL is treated as one without a scheme, so that a
    // typo in it does not leak its password either.
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(authority_end);
    let mut shown = String::from(scheme);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            match user_info.split_once(':') {
                Some((user, _password)) => shown.push_str(&format!("{user}:{HIDDEN}")),
                None => shown.push_str(user_info),
            }
            shown.push('@');
            shown.push_str(host);
        }
        None => shown.push_str(authority),
    }
    let (path, query) = after
        .split_once('?')
        .map_or((after, None), |(path, query)| (path, Some(query)));
    shown.push_str(path);
    if let Some(query) = query {
        let parameters: Vec<String> = query
            .split('&')
            .map(|parameter| match parameter.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                    format!("{key}={HIDDEN}")
                }
                _ => parameter.to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&parameters.join("&"));
    }
    shown
}

/// An event read back from the log. It passed validation when it arrived;
/// only the clock check must not apply again.
///
/// One rule changed since: descriptions could hold NUL characters, which
/// are now refused (see [`crate::domain::names::Description`]). An event
/// stored before is read without them, with a warning, so that its log
/// can still be read and copied (`reportstats copy` into PostgreSQL, which
/// cannot store a NUL) instead of failing on it.
///
/// `which` names the event in the error only, so it is formatted only then:
/// walking a log parses every event, and naming each one cost an allocation.
pub fn parse_stored_event(which: impl std::fmt::Display, body: &str) -> StoreResult<Event> {
    let far_future = Timestamp::from_micros(i64::MAX / 2);
    let parse = |body: &str| Event::parse(body, crate::domain::Position::Line(1), far_future);
    let error = match parse(body) {
        Ok(event) => return Ok(event),
        Err(error) => error,
    };
    // JSON text holds a NUL only as this escape.
    if body.contains("\\u0000") {
        if let Some(event) = without_nul_characters(body).and_then(|body| parse(&body).ok()) {
            tracing::warn!(
                event = %event.id,
                "stored event {which} holds NUL characters, which events may no longer hold; read without them"
            );
            return Ok(event);
        }
    }
    Err(StoreError::Other(anyhow::anyhow!(
        "stored event {which} does not parse: {error}"
    )))
}

/// `json` with every NUL character taken out of its strings, or `None` if
/// it is not JSON.
fn without_nul_characters(json: &str) -> Option<String> {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => text.retain(|c| c != '\0'),
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(json).ok()?;
    strip(&mut value);
    Some(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn redacted_urls_keep_everything_but_the_password() {
        for (url, shown) in [
            (
                "postgres://app:hunter2@db:5432/stats",
                "postgres://app:***@db:5432/stats",
            ),
            ("postgresql://app@db/stats", "postgresql://app@db/stats"),
            (
                "postgres://db/stats?user=app&password=hunter2&sslmode=require",
                "postgres://db/stats?user=app&password=***&sslmode=require",
            ),
            (
                "postgres://app:p%40ss:w@rd@db/stats",
                "postgres://app:***@db/stats",
            ),
            (
                "mysql://admin:hunter2@db.example/x",
                "mysql://admin:***@db.example/x",
            ),
            ("admin:hunter2@db.example", "admin:***@db.example"),
            ("sqlite://reportstats.db", "sqlite://reportstats.db"),
            (
                "sqlite:///var/lib/reportstats/data.db?mode=rwc",
                "sqlite:///var/lib/reportstats/data.db?mode=rwc",
            ),
            ("", ""),
        ] {
            assert_eq!(redacted(url), shown, "{url}");
        }
    }
}
