//! The [`Store`] trait: everything the service asks of a database, which
//! [`backend`](super::backend) implements once for every backend and
//! [`instrumented`](super::instrumented) wraps with metrics.

use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{
    ApiKeyRecord, ConnectionUse, EventChunk, IngestMessage, IngestSummary, LogCursor, LogPage,
    Page, PageRequest, ReportStatsQuery, SignatureTokenRecord, StoreResult, StoredApiKey,
    StoredSignatureToken, Workspace, WorkspaceId, dashboard, report_usage, sessions, usage_daily,
};
use crate::domain::listings::{ChartRow, MemberRow, QueryRow, ReportRow, SpaceRow};
use crate::domain::stats::{ReportStat, SpaceFilter};
use crate::domain::timestamp::UtcDay;
use crate::domain::{Event, Timestamp, WorkspaceName};

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

    /// Stores one batch, all or nothing; a server's batches are committed
    /// in groups (see [`super::group_commit`]).
    async fn ingest_batch(
        &self,
        workspace: WorkspaceId,
        chunk: EventChunk,
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

    /// The rows of a `report_usage` page without counting the listing: an
    /// export's pages, each after the last row of the one before
    /// ([`report_usage::UsageQuery::after`]).
    async fn report_usage_rows(
        &self,
        workspace: WorkspaceId,
        query: report_usage::UsageQuery,
    ) -> StoreResult<Vec<crate::domain::usage::ReportUsage>>;

    /// The days of `usage_daily` (SPEC section 8), zeros included, and the
    /// distinct viewers over them; `None` when asked for one report that is
    /// not live.
    async fn usage_daily(
        &self,
        workspace: WorkspaceId,
        query: usage_daily::DailyQuery,
    ) -> StoreResult<Option<crate::domain::usage::UsageSeries>>;

    /// Moves the workspace's kept window counts to end on `today` (see
    /// [`crate::storage::usage_windows`]): what makes `report_usage` pages
    /// for that date read them. Answers are the same before and after.
    /// Whether they moved (they may end on `today` already).
    async fn roll_usage_windows(&self, workspace: WorkspaceId, today: UtcDay) -> StoreResult<bool>;

    /// The dashboard's headline numbers (see [`dashboard::summary`]).
    async fn usage_summary(
        &self,
        workspace: WorkspaceId,
        today: UtcDay,
        filter: SpaceFilter,
    ) -> StoreResult<dashboard::UsageSummary>;

    /// The names of the spaces with these tokens (see
    /// [`listings::space_names`](super::listings::space_names)).
    async fn space_names(
        &self,
        workspace: WorkspaceId,
        tokens: Vec<String>,
    ) -> StoreResult<HashMap<String, String>>;

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
    store.ingest_batch(workspace, chunk).await
}
