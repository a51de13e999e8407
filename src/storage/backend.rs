//! What a backend provides, and [`Store`] written once over it.
//!
//! A backend runs [`Work`] on its connections ([`Backend::run`]), keeps the
//! positions of its listings, and stores batches and reads its event log
//! its own way (their formats differ). Everything else a [`Store`] does is
//! SQL shared by both databases ([`super::records`], the pages of
//! [`super::report_stats`] and [`super::listings`]), so it is written here,
//! once, and every [`Backend`] is a [`Store`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::dashboard;
use super::listing_version::PositionCache;
use super::records;
use super::report_usage::{self, UsageQuery};
use super::session::{Access, Statement, Work, work};
use super::sessions;
use super::usage_daily::{self, DailyQuery};
use super::usage_windows;
use super::{
    ApiKeyRecord, ConnectionUse, EventChunk, IngestMessage, IngestSummary, LogCursor, LogPage,
    Page, PageRequest, ReportStatsQuery, SignatureTokenRecord, Store, StoreResult, StoredApiKey,
    StoredSignatureToken, Workspace, WorkspaceId, listings, report_stats,
};
use crate::domain::listings::{ChartRow, MemberRow, QueryRow, ReportRow, SpaceRow};
use crate::domain::stats::{ReportStat, SpaceFilter};
use crate::domain::timestamp::UtcDay;
use crate::domain::usage::{ReportUsage, UsageSeries};
use crate::domain::{Timestamp, WorkspaceName};

/// A database the service can run on.
pub trait Backend: Send + Sync + 'static {
    /// Runs `work` on a session of the kind `access` names, to its end:
    /// committed if it asked to write and succeeded, rolled back otherwise.
    fn run<T: Send + 'static>(
        &self,
        access: Access,
        work: Work<T>,
    ) -> impl Future<Output = StoreResult<T>> + Send;

    /// The positions of this store's listings, shared by its readers.
    fn positions(&self) -> &Arc<PositionCache>;

    /// Stores a stream of events in one transaction (see [`IngestMessage`]).
    fn store_events(
        &self,
        workspace: WorkspaceId,
        messages: mpsc::Receiver<IngestMessage>,
    ) -> impl Future<Output = StoreResult<IngestSummary>> + Send;

    /// Stores one batch, all or nothing, in a group commit with the
    /// batches that arrive meanwhile (see [`super::group_commit`]).
    fn store_batch(
        &self,
        workspace: WorkspaceId,
        chunk: EventChunk,
    ) -> impl Future<Output = StoreResult<IngestSummary>> + Send;

    /// Reads about `limit` events of the log from `from` on, on
    /// [`Access::Statements`] (see [`Store::read_log`]).
    fn log_work(workspace: WorkspaceId, from: Option<LogCursor>, limit: usize) -> Work<LogPage>;

    /// Rebuilds the sums of the usage tables of `workspace` if it is still
    /// marked, in one write transaction (see [`super::usage_sums`]).
    fn rebuild_usage_sums(
        &self,
        workspace: WorkspaceId,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// How many schema migrations have run: one row, one integer.
    fn schema_version_statement() -> &'static Statement;

    /// How many of its connections are open and busy (see
    /// [`Store::connection_use`]).
    fn connection_use(&self) -> ConnectionUse;
}

/// Whether a token from a request can name a stored one. Nothing stored
/// holds a NUL (every string stored is parsed, and refuses it), and
/// PostgreSQL refuses to bind one at all, an error rather than a miss: so a
/// token with a NUL names nothing, on either backend.
fn can_be_stored(token: &str) -> bool {
    !token.contains('\0')
}

/// Revokes a live key or token with `statement`; whether there was one.
async fn revoke<B: Backend>(
    backend: &B,
    statement: &'static Statement,
    workspace: WorkspaceId,
    token: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    if !can_be_stored(token) {
        return Ok(false);
    }
    let token = token.to_owned();
    let write =
        work(move |session| Box::pin(records::revoke(session, statement, workspace, token, now)));
    backend.run(Access::Write, write).await
}

#[async_trait]
impl<B: Backend> Store for B {
    async fn create_workspace(
        &self,
        name: &WorkspaceName,
        key: &ApiKeyRecord,
        now: Timestamp,
    ) -> StoreResult<Workspace> {
        let (name, key) = (name.clone(), key.clone());
        let write =
            work(move |session| Box::pin(records::create_workspace(session, name, key, now)));
        self.run(Access::Write, write).await
    }

    async fn workspace(&self, name: &WorkspaceName) -> StoreResult<Option<Workspace>> {
        let name = name.clone();
        let lookup = work(move |session| Box::pin(records::workspace(session, name)));
        self.run(Access::Statements, lookup).await
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        let lookup = work(move |session| Box::pin(records::workspaces(session)));
        self.run(Access::Statements, lookup).await
    }

    async fn insert_api_key(&self, workspace: WorkspaceId, key: &ApiKeyRecord) -> StoreResult<()> {
        let key = key.clone();
        let write = work(move |session| Box::pin(records::insert_api_key(session, workspace, key)));
        self.run(Access::Write, write).await
    }

    async fn api_keys(&self, workspace: WorkspaceId) -> StoreResult<Vec<ApiKeyRecord>> {
        let lookup = work(move |session| Box::pin(records::api_keys(session, workspace)));
        self.run(Access::Statements, lookup).await
    }

    async fn api_key(&self, token: &str) -> StoreResult<Option<StoredApiKey>> {
        if !can_be_stored(token) {
            return Ok(None);
        }
        let token = token.to_owned();
        let lookup = work(move |session| Box::pin(records::api_key(session, token)));
        self.run(Access::Statements, lookup).await
    }

    async fn revoke_api_key(
        &self,
        workspace: WorkspaceId,
        token: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        revoke(self, &records::REVOKE_API_KEY, workspace, token, now).await
    }

    async fn create_signature_token(
        &self,
        workspace: WorkspaceId,
        record: &SignatureTokenRecord,
    ) -> StoreResult<()> {
        let record = record.clone();
        let write = work(move |session| {
            Box::pin(records::create_signature_token(session, workspace, record))
        });
        self.run(Access::Write, write).await
    }

    async fn signature_tokens(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<SignatureTokenRecord>> {
        let lookup = work(move |session| Box::pin(records::signature_tokens(session, workspace)));
        self.run(Access::Statements, lookup).await
    }

    async fn signature_token(&self, token: &str) -> StoreResult<Option<StoredSignatureToken>> {
        if !can_be_stored(token) {
            return Ok(None);
        }
        let token = token.to_owned();
        let lookup = work(move |session| Box::pin(records::signature_token(session, token)));
        self.run(Access::Statements, lookup).await
    }

    async fn revoke_signature_token(
        &self,
        workspace: WorkspaceId,
        token: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        revoke(
            self,
            &records::REVOKE_SIGNATURE_TOKEN,
            workspace,
            token,
            now,
        )
        .await
    }

    async fn open_session(
        &self,
        session: &sessions::SessionRecord,
        expired_before: Timestamp,
    ) -> StoreResult<()> {
        let record = session.clone();
        let write = work(move |session| Box::pin(sessions::open(session, record, expired_before)));
        self.run(Access::Write, write).await
    }

    async fn session(&self, key: [u8; 32]) -> StoreResult<Option<sessions::StoredSession>> {
        let lookup = work(move |session| Box::pin(sessions::find(session, key)));
        self.run(Access::Statements, lookup).await
    }

    async fn close_session(&self, key: [u8; 32]) -> StoreResult<()> {
        let write = work(move |session| Box::pin(sessions::close(session, key)));
        self.run(Access::Write, write).await
    }

    async fn ingest_stream(
        &self,
        workspace: WorkspaceId,
        messages: mpsc::Receiver<IngestMessage>,
    ) -> StoreResult<IngestSummary> {
        self.store_events(workspace, messages).await
    }

    async fn ingest_batch(
        &self,
        workspace: WorkspaceId,
        chunk: EventChunk,
    ) -> StoreResult<IngestSummary> {
        self.store_batch(workspace, chunk).await
    }

    async fn report_stats(
        &self,
        workspace: WorkspaceId,
        query: ReportStatsQuery,
    ) -> StoreResult<Page<ReportStat>> {
        let positions = Arc::clone(self.positions());
        let page = work(move |session| {
            Box::pin(async move { report_stats::page(session, &positions, workspace, query).await })
        });
        self.run(Access::Snapshot, page).await
    }

    async fn reports(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<ReportRow>> {
        let positions = Arc::clone(self.positions());
        let page = work(move |session| {
            Box::pin(async move {
                listings::reports(session, &positions, workspace, page, filter).await
            })
        });
        self.run(Access::Snapshot, page).await
    }

    async fn spaces(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<SpaceRow>> {
        let page =
            work(move |session| Box::pin(listings::spaces(session, workspace, page, filter)));
        self.run(Access::Snapshot, page).await
    }

    async fn members(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
    ) -> StoreResult<Page<MemberRow>> {
        let page = work(move |session| Box::pin(listings::members(session, workspace, page)));
        self.run(Access::Snapshot, page).await
    }

    async fn queries(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<QueryRow>> {
        let positions = Arc::clone(self.positions());
        let page = work(move |session| {
            Box::pin(async move {
                listings::queries(session, &positions, workspace, page, filter).await
            })
        });
        self.run(Access::Snapshot, page).await
    }

    async fn charts(
        &self,
        workspace: WorkspaceId,
        page: PageRequest,
        filter: SpaceFilter,
    ) -> StoreResult<Page<ChartRow>> {
        let positions = Arc::clone(self.positions());
        let page = work(move |session| {
            Box::pin(
                async move { listings::charts(session, &positions, workspace, page, filter).await },
            )
        });
        self.run(Access::Snapshot, page).await
    }

    async fn report_usage(
        &self,
        workspace: WorkspaceId,
        query: UsageQuery,
    ) -> StoreResult<Page<ReportUsage>> {
        let page = work(move |session| {
            Box::pin(async move { report_usage::page(session, workspace, &query).await })
        });
        self.run(Access::Snapshot, page).await
    }

    async fn report_usage_rows(
        &self,
        workspace: WorkspaceId,
        query: UsageQuery,
    ) -> StoreResult<Vec<ReportUsage>> {
        let rows = work(move |session| {
            Box::pin(async move { report_usage::rows(session, workspace, &query).await })
        });
        self.run(Access::Snapshot, rows).await
    }

    async fn usage_daily(
        &self,
        workspace: WorkspaceId,
        query: DailyQuery,
    ) -> StoreResult<Option<UsageSeries>> {
        let days = work(move |session| Box::pin(usage_daily::daily(session, workspace, query)));
        self.run(Access::Snapshot, days).await
    }

    async fn roll_usage_windows(&self, workspace: WorkspaceId, today: UtcDay) -> StoreResult<bool> {
        // A reader first: nearly always they already end on today, and the
        // writer is not needed to see it.
        let ends_on = work(move |session| Box::pin(usage_windows::ends_on(session, workspace)));
        if self.run(Access::Statements, ends_on).await? == Some(today) {
            return Ok(false);
        }
        let roll = work(move |session| Box::pin(usage_windows::roll(session, workspace, today)));
        self.run(Access::Write, roll).await
    }

    async fn usage_summary(
        &self,
        workspace: WorkspaceId,
        today: UtcDay,
        filter: SpaceFilter,
    ) -> StoreResult<dashboard::UsageSummary> {
        let summary =
            work(move |session| Box::pin(dashboard::summary(session, workspace, today, filter)));
        self.run(Access::Snapshot, summary).await
    }

    async fn space_names(
        &self,
        workspace: WorkspaceId,
        tokens: Vec<String>,
    ) -> StoreResult<HashMap<String, String>> {
        let names = work(move |session| {
            Box::pin(async move { listings::space_names(session, workspace, &tokens).await })
        });
        self.run(Access::Snapshot, names).await
    }

    async fn space_usage(
        &self,
        workspace: WorkspaceId,
        today: UtcDay,
        filter: SpaceFilter,
    ) -> StoreResult<Vec<dashboard::SpaceUsage>> {
        let spaces =
            work(move |session| Box::pin(dashboard::spaces(session, workspace, today, filter)));
        self.run(Access::Snapshot, spaces).await
    }

    async fn report_detail(
        &self,
        workspace: WorkspaceId,
        token: &str,
        today: UtcDay,
        recent_since: Timestamp,
    ) -> StoreResult<Option<dashboard::ReportDetail>> {
        let token = token.to_owned();
        let detail = work(move |session| {
            Box::pin(async move {
                dashboard::report(session, workspace, &token, today, recent_since).await
            })
        });
        self.run(Access::Snapshot, detail).await
    }

    async fn member_activity(
        &self,
        workspace: WorkspaceId,
        query: dashboard::MembersQuery,
    ) -> StoreResult<dashboard::MemberActivity> {
        let members = work(move |session| Box::pin(dashboard::members(session, workspace, query)));
        self.run(Access::Snapshot, members).await
    }

    async fn report(&self, workspace: WorkspaceId, token: &str) -> StoreResult<Option<ReportRow>> {
        let token = token.to_owned();
        let lookup = work(move |session| {
            Box::pin(async move { listings::report(session, workspace, &token).await })
        });
        self.run(Access::Statements, lookup).await
    }

    async fn space(&self, workspace: WorkspaceId, token: &str) -> StoreResult<Option<SpaceRow>> {
        let token = token.to_owned();
        let lookup = work(move |session| {
            Box::pin(async move { listings::space(session, workspace, &token).await })
        });
        self.run(Access::Statements, lookup).await
    }

    async fn member(&self, workspace: WorkspaceId, handle: &str) -> StoreResult<Option<MemberRow>> {
        let handle = handle.to_owned();
        let lookup = work(move |session| {
            Box::pin(async move { listings::member(session, workspace, &handle).await })
        });
        self.run(Access::Snapshot, lookup).await
    }

    async fn read_log(
        &self,
        workspace: WorkspaceId,
        from: Option<&LogCursor>,
        limit: usize,
    ) -> StoreResult<LogPage> {
        let read = B::log_work(workspace, from.cloned(), limit);
        self.run(Access::Statements, read).await
    }

    async fn schema_version(&self) -> StoreResult<u32> {
        let lookup = work(|session| Box::pin(session.one(B::schema_version_statement().with(&[]))));
        let version: i64 = self.run(Access::Statements, lookup).await?;
        Ok(u32::try_from(version).unwrap_or(u32::MAX))
    }

    async fn ping(&self) -> StoreResult<()> {
        static PING: LazyLock<Statement> = LazyLock::new(|| Statement::new("SELECT 1"));
        let lookup = work(|session| Box::pin(session.each(PING.with(&[]), |_| Ok(()))));
        self.run(Access::Statements, lookup).await
    }

    fn connection_use(&self) -> ConnectionUse {
        Backend::connection_use(self)
    }
}
