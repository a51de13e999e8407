//! Opening a store from its database URL, and showing that URL safely.

use std::sync::Arc;

use anyhow::Context;

use super::{Store, group_commit, pending, postgres, sqlite};

/// How a store is tuned. The defaults serve every deployment; tests set
/// them small to reach what only large inputs reach otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// The memory of pending changes at which a writer merges them into
    /// the tables before its commit (see [`pending`]).
    pub merge_at_bytes: usize,
    /// The events of a batch beyond which a SQLite server writes it a
    /// slice of this many at a time (see [`group_commit`]).
    pub slice_events: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            merge_at_bytes: pending::MERGE_AT_BYTES,
            slice_events: group_commit::SLICE_EVENTS,
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
