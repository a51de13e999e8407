//! Storage metrics, by wrapping: [`InstrumentedStore`] is a [`Store`] that
//! forwards every call to another and records what batches did, so neither
//! the backends nor the handlers know that metrics exist.
//!
//! The calls go to the `metrics` facade, which does nothing until a recorder
//! is installed (`--metrics-listen`, see [`crate::http::metrics`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use tokio::sync::mpsc;

use super::dashboard;
use super::report_usage::UsageQuery;
use super::sessions;
use super::usage_daily::DailyQuery;
use super::{
    ApiKeyRecord, ConnectionUse, EventChunk, IngestMessage, IngestSummary, LogCursor, LogPage,
    Page, PageRequest, ReportStatsQuery, SignatureTokenRecord, Store, StoreResult, StoredApiKey,
    StoredSignatureToken, Workspace, WorkspaceId,
};
use crate::domain::listings::{ChartRow, MemberRow, QueryRow, ReportRow, SpaceRow};
use crate::domain::stats::{ReportStat, SpaceFilter};
use crate::domain::timestamp::UtcDay;
use crate::domain::usage::{ReportUsage, UsageSeries};
use crate::domain::{Event, Timestamp, WorkspaceName};

/// Events of committed batches, by `outcome`: `accepted` (stored) or
/// `duplicate` (already stored).
pub const EVENTS: &str = "reportstats_events_total";
/// Events per committed batch (accepted and duplicates).
pub const BATCH_EVENTS: &str = "reportstats_batch_events";
/// From a batch's first chunk to its commit, by `backend`.
pub const COMMIT_DURATION: &str = "reportstats_commit_duration_seconds";
/// Batches that stored nothing (invalid stream, busy or failing database).
pub const FAILED_BATCHES: &str = "reportstats_failed_batches_total";
/// Database connections by `backend` and `role`: open, at most, busy.
pub const CONNECTIONS_OPEN: &str = "reportstats_db_connections_open";
pub const CONNECTIONS_MAX: &str = "reportstats_db_connections_max";
pub const CONNECTIONS_BUSY: &str = "reportstats_db_connections_busy";

/// The `# HELP` lines of the metrics above.
pub fn describe_metrics() {
    describe_counter!(
        EVENTS,
        Unit::Count,
        "Events of committed batches, by outcome"
    );
    describe_histogram!(
        BATCH_EVENTS,
        Unit::Count,
        "Events per committed batch, duplicates included"
    );
    describe_histogram!(
        COMMIT_DURATION,
        Unit::Seconds,
        "Time from a batch's first events to its commit"
    );
    describe_counter!(FAILED_BATCHES, Unit::Count, "Batches rolled back");
    describe_histogram!(
        crate::storage::group_commit::GROUP_BATCHES,
        Unit::Count,
        "Batches committed together in one transaction"
    );
    describe_counter!(
        crate::storage::group_commit::SLICED_BATCHES,
        Unit::Count,
        "Batches written a slice at a time (SQLite)"
    );
    describe_gauge!(CONNECTIONS_OPEN, Unit::Count, "Database connections open");
    describe_gauge!(CONNECTIONS_MAX, Unit::Count, "Database connections allowed");
    describe_gauge!(
        CONNECTIONS_BUSY,
        Unit::Count,
        "Database connections in use by a request or a batch"
    );
}

/// Sets the connection gauges from what `store` reports now: called by each
/// scrape, so they are as fresh as the scrape.
pub fn record_connection_use(store: &dyn Store) {
    let ConnectionUse { backend, pools } = store.connection_use();
    for pool in pools {
        let labels = [("backend", backend), ("role", pool.role)];
        gauge!(CONNECTIONS_OPEN, &labels).set(pool.open as f64);
        gauge!(CONNECTIONS_MAX, &labels).set(pool.max as f64);
        gauge!(CONNECTIONS_BUSY, &labels).set(pool.busy as f64);
    }
}

/// A [`Store`] that records metrics of the one it wraps.
pub struct InstrumentedStore {
    inner: Arc<dyn Store>,
    /// The `backend` label, asked of the store once.
    backend: &'static str,
}

impl InstrumentedStore {
    pub fn wrap(inner: Arc<dyn Store>) -> Arc<dyn Store> {
        let backend = inner.connection_use().backend;
        Arc::new(InstrumentedStore { inner, backend })
    }

    /// The metrics of a batch or stream that began at `started`.
    fn record_batch(&self, started: Instant, result: &StoreResult<IngestSummary>) {
        match result {
            Ok(summary) => {
                histogram!(COMMIT_DURATION, "backend" => self.backend)
                    .record(started.elapsed().as_secs_f64());
                histogram!(BATCH_EVENTS).record((summary.accepted + summary.duplicates) as f64);
                counter!(EVENTS, "outcome" => "accepted").increment(summary.accepted);
                counter!(EVENTS, "outcome" => "duplicate").increment(summary.duplicates);
            }
            Err(_) => counter!(FAILED_BATCHES, "backend" => self.backend).increment(1),
        }
    }
}

#[async_trait]
impl Store for InstrumentedStore {
    async fn open_session(
        &self,
        session: &sessions::SessionRecord,
        expired_before: Timestamp,
    ) -> StoreResult<()> {
        self.inner.open_session(session, expired_before).await
    }

    async fn session(&self, key: [u8; 32]) -> StoreResult<Option<sessions::StoredSession>> {
        self.inner.session(key).await
    }

    async fn close_session(&self, key: [u8; 32]) -> StoreResult<()> {
        self.inner.close_session(key).await
    }

    async fn ingest_stream(
        &self,
        workspace: WorkspaceId,
        messages: mpsc::Receiver<IngestMessage>,
    ) -> StoreResult<IngestSummary> {
        let started = Instant::now();
        let result = self.inner.ingest_stream(workspace, messages).await;
        self.record_batch(started, &result);
        result
    }

    async fn ingest_batch(
        &self,
        workspace: WorkspaceId,
        chunk: EventChunk,
    ) -> StoreResult<IngestSummary> {
        let started = Instant::now();
        let result = self.inner.ingest_batch(workspace, chunk).await;
        self.record_batch(started, &result);
        result
    }

    fn connection_use(&self) -> ConnectionUse {
        self.inner.connection_use()
    }

    // The rest only forwards.

    async fn create_workspace(
        &self,
        name: &WorkspaceName,
        key: &ApiKeyRecord,
        now: Timestamp,
    ) -> StoreResult<Workspace> {
        self.inner.create_workspace(name, key, now).await
    }

    async fn workspace(&self, name: &WorkspaceName) -> StoreResult<Option<Workspace>> {
        self.inner.workspace(name).await
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.inner.workspaces().await
    }

    async fn insert_api_key(&self, workspace: WorkspaceId, key: &ApiKeyRecord) -> StoreResult<()> {
        self.inner.insert_api_key(workspace, key).await
    }

    async fn api_keys(&self, workspace: WorkspaceId) -> StoreResult<Vec<ApiKeyRecord>> {
        self.inner.api_keys(workspace).await
    }

    async fn api_key(&self, token: &str) -> StoreResult<Option<StoredApiKey>> {
        self.inner.api_key(token).await
    }

    async fn revoke_api_key(
        &self,
        workspace: WorkspaceId,
        token: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.inner.revoke_api_key(workspace, token, now).await
    }

    async fn create_signature_token(
        &self,
        workspace: WorkspaceId,
        record: &SignatureTokenRecord,
    ) -> StoreResult<()> {
        self.inner.create_signature_token(workspace, record).await
    }

    async fn signature_tokens(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<SignatureTokenRecord>> {
        self.inner.signature_tokens(workspace).await
    }

    async fn signature_token(&self, token: &str) -> StoreResult<Option<StoredSignatureToken>> {
        self.inner.signature_token(token).await
    }

    async fn revoke_signature_token(
        &self,
        workspace: WorkspaceId,
        token: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.inner
            .revoke_signature_token(workspace, token, now)
            .await
    }

    async fn report_stats(
        &self,
        workspace: WorkspaceId,
        query: ReportStatsQuery,
    ) -> StoreResult<Page<ReportStat>> {
        self.inner.report_stats(workspace, query).await
    }

    async fn reports(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<ReportRow>> {
        self.inner.reports(workspace, page, filter).await
    }

    async fn spaces(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<SpaceRow>> {
        self.inner.spaces(workspace, page, filter).await
    }

    async fn members(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> StoreResult<Page<MemberRow>> {
        self.inner.members(workspace, page).await
    }

    async fn queries(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<QueryRow>> {
        self.inner.queries(workspace, page, filter).await
    }

    async fn charts(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<ChartRow>> {
        self.inner.charts(workspace, page, filter).await
    }

    async fn report_usage(
        &self,
        workspace: WorkspaceId,
        query: UsageQuery,
    ) -> StoreResult<Page<ReportUsage>> {
        self.inner.report_usage(workspace, query).await
    }

    async fn report_usage_rows(
        &self,
        workspace: WorkspaceId,
        query: UsageQuery,
    ) -> StoreResult<Vec<ReportUsage>> {
        self.inner.report_usage_rows(workspace, query).await
    }

    async fn usage_daily(
        &self,
        workspace: WorkspaceId,
        query: DailyQuery,
    ) -> StoreResult<Option<UsageSeries>> {
        self.inner.usage_daily(workspace, query).await
    }

    async fn roll_usage_windows(&self, workspace: WorkspaceId, today: UtcDay) -> StoreResult<bool> {
        self.inner.roll_usage_windows(workspace, today).await
    }

    async fn usage_summary(
        &self,
        workspace: WorkspaceId,
        today: UtcDay,
        filter: SpaceFilter,
    ) -> StoreResult<dashboard::UsageSummary> {
        self.inner.usage_summary(workspace, today, filter).await
    }

    async fn space_names(
        &self,
        workspace: WorkspaceId,
        tokens: Vec<String>,
    ) -> StoreResult<HashMap<String, String>> {
        self.inner.space_names(workspace, tokens).await
    }

    async fn space_usage(
        &self,
        workspace: WorkspaceId,
        today: UtcDay,
        filter: SpaceFilter,
    ) -> StoreResult<Vec<dashboard::SpaceUsage>> {
        self.inner.space_usage(workspace, today, filter).await
    }

    async fn report_detail(
        &self,
        workspace: WorkspaceId,
        token: &str,
        today: UtcDay,
        recent_since: Timestamp,
    ) -> StoreResult<Option<dashboard::ReportDetail>> {
        self.inner
            .report_detail(workspace, token, today, recent_since)
            .await
    }

    async fn member_activity(
        &self,
        workspace: WorkspaceId,
        query: dashboard::MembersQuery,
    ) -> StoreResult<dashboard::MemberActivity> {
        self.inner.member_activity(workspace, query).await
    }

    async fn report(&self, workspace: WorkspaceId, token: &str) -> StoreResult<Option<ReportRow>> {
        self.inner.report(workspace, token).await
    }

    async fn space(&self, workspace: WorkspaceId, token: &str) -> StoreResult<Option<SpaceRow>> {
        self.inner.space(workspace, token).await
    }

    async fn member(&self, workspace: WorkspaceId, handle: &str) -> StoreResult<Option<MemberRow>> {
        self.inner.member(workspace, handle).await
    }

    async fn read_log(
        &self,
        workspace: WorkspaceId,
        from: Option<&LogCursor>,
        limit: usize,
    ) -> StoreResult<LogPage> {
        self.inner.read_log(workspace, from, limit).await
    }

    async fn event_log(&self, workspace: WorkspaceId) -> StoreResult<Vec<Event>> {
        self.inner.event_log(workspace).await
    }

    async fn schema_version(&self) -> StoreResult<u32> {
        self.inner.schema_version().await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}
