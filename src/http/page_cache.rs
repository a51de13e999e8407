//! Rendered pages of the batch listings, reused until they can differ.
//!
//! A page depends on its workspace's state and, for `report_stats`, on the
//! time (a manual run leaves the recent window). So an entry is keyed by the
//! request and stamped with the workspace's version (bumped in the same
//! transaction as every batch that stores an event) and, where it applies,
//! the instant until which it holds. A request reads the version in the same
//! query that checks its credential: an acknowledged batch has already bumped
//! it, so the very next request never gets a page from before the batch. With several servers over one
//! PostgreSQL each keeps its own cache; the version comes from the shared
//! database, so none serves a stale page.
//!
//! Each entry keeps the page's `ETag` (the hash of its bytes, see
//! [`conditional`](super::conditional)), so that a page answered from the
//! cache, or found unchanged by a client's `If-None-Match`, is not hashed
//! again.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use metrics::{Unit, counter, describe_counter};

use super::AppState;
use super::auth::ReadAccess;
use super::conditional::body_tag;
use super::error::ApiError;
use super::pagination::{Links, ListingParams, Pagination, paginate_keeping};
use crate::domain::Timestamp;
use crate::storage::{Page, WorkspaceId};

/// Pages answered from the cache, by `resource` (`report_stats`, `reports`,
/// `spaces`, `members`, `queries`, `charts`, `memberships`).
pub const HITS: &str = "reportstats_page_cache_hits_total";
/// Pages rendered because the cache had none current, by `resource`.
pub const MISSES: &str = "reportstats_page_cache_misses_total";

/// The `# HELP` lines of the metrics above.
pub fn describe_metrics() {
    describe_counter!(HITS, Unit::Count, "Pages answered from the page cache");
    describe_counter!(
        MISSES,
        Unit::Count,
        "Pages rendered because the cache held none current"
    );
}

/// Which page of which listing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PageKey {
    pub workspace: WorkspaceId,
    pub resource: &'static str,
    pub params: ListingParams,
    /// [`Selection::key`].
    pub selection: String,
}

/// What a listing's rows are beyond their paging (a sort, filters, the date
/// they are computed for), for the listings that have such parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Everything else that decides the rows: part of a cached page's key.
    pub key: String,
    /// The parameters as given, which the links repeat.
    pub kept: Vec<(&'static str, String)>,
}

struct Entry {
    version: i64,
    page: Rendered,
    last_used: u64,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<PageKey, Entry>,
    bytes: usize,
    uses: u64,
}

/// A byte-bounded cache of rendered pages; least recently used go first.
pub struct PageCache {
    budget_bytes: usize,
    entries: Mutex<Entries>,
}

impl PageCache {
    /// `budget_bytes` of 0 caches nothing.
    pub fn new(budget_bytes: usize) -> Self {
        PageCache {
            budget_bytes,
            entries: Mutex::new(Entries::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, key: &PageKey, version: i64, now: Timestamp) -> Option<Rendered> {
        let mut entries = self.lock();
        entries.uses += 1;
        let uses = entries.uses;
        let entry = entries.by_key.get_mut(key)?;
        let fresh =
            entry.version == version && entry.page.valid_until.is_none_or(|until| now <= until);
        if !fresh {
            return None;
        }
        entry.last_used = uses;
        Some(entry.page.clone())
    }

    fn insert(&self, key: PageKey, version: i64, page: Rendered) {
        if page.body.len() > self.budget_bytes {
            return;
        }
        let mut entries = self.lock();
        entries.uses += 1;
        let entry = Entry {
            version,
            last_used: entries.uses,
            page,
        };
        entries.bytes += entry.page.body.len();
        if let Some(replaced) = entries.by_key.insert(key, entry) {
            entries.bytes -= replaced.page.body.len();
        }
        while entries.bytes > self.budget_bytes {
            let Some(oldest) = entries
                .by_key
                .iter()
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            if let Some(evicted) = entries.by_key.remove(&oldest) {
                entries.bytes -= evicted.page.body.len();
            }
        }
    }
}

/// A page's answer. It varies with `Accept`, which can ask for an export
/// of the listing instead ([`export`](super::export)).
fn json(page: Rendered) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, page.etag),
            (header::VARY, HeaderValue::from_static("accept")),
        ],
        page.body,
    )
        .into_response()
}

/// A rendered page, its entity tag, and until when it holds regardless of
/// new events.
#[derive(Clone)]
struct Rendered {
    pub body: Bytes,
    pub etag: HeaderValue,
    pub valid_until: Option<Timestamp>,
}

/// Answers from the cache when the workspace has not changed since the page
/// was rendered, else renders it with `render` and keeps it. `version` is the
/// workspace's version read while authenticating this request.
async fn cached_page<F, Fut>(
    state: &AppState,
    key: PageKey,
    version: i64,
    render: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Rendered, ApiError>>,
{
    let cache = &state.page_cache;
    if cache.budget_bytes == 0 {
        return Ok(json(render().await?));
    }
    if let Some(page) = cache.get(&key, version, state.clock.now()) {
        counter!(HITS, "resource" => key.resource).increment(1);
        return Ok(json(page));
    }
    counter!(MISSES, "resource" => key.resource).increment(1);
    let rendered = render().await?;
    cache.insert(key, version, rendered.clone());
    Ok(json(rendered))
}

/// One page of a batch listing, end to end: its parameters, the cache, the
/// store, `pagination` and `_links`. `fetch` reads the rows and says until
/// when they hold regardless of new events; `body` shapes the answer.
pub async fn cached_listing<Row, Body, Fetch, Fut>(
    state: &AppState,
    access: &ReadAccess,
    query: &HashMap<String, String>,
    resource: &'static str,
    fetch: Fetch,
    body: impl FnOnce(Pagination, Vec<Row>, Links) -> Body,
) -> Result<Response, ApiError>
where
    Fetch: FnOnce(ListingParams) -> Fut,
    Fut: Future<Output = Result<(Page<Row>, Option<Timestamp>), ApiError>>,
    Body: serde::Serialize,
{
    let path = format!("/batch/{}/{resource}", access.workspace.name);
    let selected = (resource, path, Selection::default());
    cached_listing_at(state, access, query, selected, fetch, body).await
}

/// [`cached_listing`] of a listing served at `path` (its links point there),
/// cached under `resource`, its rows chosen by `selection` too.
pub async fn cached_listing_at<Row, Body, Fetch, Fut>(
    state: &AppState,
    access: &ReadAccess,
    query: &HashMap<String, String>,
    (resource, path, selection): (&'static str, String, Selection),
    fetch: Fetch,
    body: impl FnOnce(Pagination, Vec<Row>, Links) -> Body,
) -> Result<Response, ApiError>
where
    Fetch: FnOnce(ListingParams) -> Fut,
    Fut: Future<Output = Result<(Page<Row>, Option<Timestamp>), ApiError>>,
    Body: serde::Serialize,
{
    let params = ListingParams::parse(query)?;
    let key = PageKey {
        workspace: access.workspace.id,
        resource,
        params,
        selection: selection.key,
    };
    let kept = selection.kept;
    cached_page(state, key, access.workspace_version, || async move {
        let (page, valid_until) = fetch(params).await?;
        let (pagination, links) =
            paginate_keeping(&path, params, &kept, page.items.len(), page.total_count);
        render_json(&body(pagination, page.items, links), valid_until)
    })
    .await
}

/// A page as JSON bytes.
fn render_json(
    value: &impl serde::Serialize,
    valid_until: Option<Timestamp>,
) -> Result<Rendered, ApiError> {
    let body = serde_json::to_vec(value).map_err(|error| ApiError::Internal(error.into()))?;
    Ok(Rendered {
        etag: body_tag(&body),
        body: Bytes::from(body),
        valid_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stats::SpaceFilter;
    use crate::storage::PageRequest;

    fn key(page: u64) -> PageKey {
        PageKey {
            workspace: 1,
            resource: "report_stats",
            params: ListingParams::new(PageRequest { page, per_page: 10 }, SpaceFilter::All),
            selection: String::new(),
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_micros(seconds * 1_000_000)
    }

    fn page(body: &'static [u8], valid_until: Option<Timestamp>) -> Rendered {
        Rendered {
            body: Bytes::from_static(body),
            etag: body_tag(body),
            valid_until,
        }
    }

    fn body_of(page: Option<Rendered>) -> Option<Bytes> {
        page.map(|page| page.body)
    }

    #[test]
    fn a_page_is_reused_only_for_its_version_and_until_it_expires() {
        let cache = PageCache::new(1_000);
        cache.insert(key(1), 7, page(b"page one", Some(at(100))));
        assert_eq!(
            body_of(cache.get(&key(1), 7, at(50))).as_deref(),
            Some(&b"page one"[..])
        );
        assert_eq!(
            body_of(cache.get(&key(1), 7, at(100))).as_deref(),
            Some(&b"page one"[..])
        );
        assert_eq!(
            cache.get(&key(1), 7, at(100)).map(|page| page.etag),
            Some(body_tag(b"page one")),
            "the tag is kept with the page"
        );
        assert!(cache.get(&key(1), 7, at(101)).is_none(), "expired");
        assert!(
            cache.get(&key(1), 8, at(50)).is_none(),
            "the workspace changed"
        );
        assert!(cache.get(&key(2), 7, at(50)).is_none(), "another page");
    }

    #[test]
    fn the_least_recently_used_pages_go_when_over_budget() {
        let cache = PageCache::new(20);
        cache.insert(key(1), 1, page(b"aaaaaaaa", None));
        cache.insert(key(2), 1, page(b"bbbbbbbb", None));
        assert!(cache.get(&key(1), 1, at(0)).is_some());
        cache.insert(key(3), 1, page(b"cccccccc", None));
        assert!(
            cache.get(&key(2), 1, at(0)).is_none(),
            "least recently used"
        );
        assert!(cache.get(&key(1), 1, at(0)).is_some());
        assert!(cache.get(&key(3), 1, at(0)).is_some());
    }
}
