//! reportstats: self-hosted usage analytics for BI reports, serving Mode's
//! Discovery ("batch") API.
//!
//! # Layout
//!
//! - [`domain`]: what the service knows about and its rules, without I/O:
//!   parsed names and ids ([`domain::names`]), the [`Event`](domain::Event)
//!   format (`domain/event/`: its kinds, how a line is read — by a fast
//!   reader for flat lines where it can, by serde otherwise — and
//!   validated), the merge rules that make statistics independent of event
//!   order ([`domain::state`]), the statistics, listings and usage over
//!   time computed from scratch ([`domain::stats`], [`domain::listings`],
//!   [`domain::usage`], which also says how usage sorts and filters), the event log's JSON
//!   form ([`domain::canonical`]), API keys, signature tokens and the clock.
//! - [`ingest`]: request bodies and NDJSON files into validated events,
//!   all or nothing.
//! - [`storage`]: the [`Store`](storage::Store) trait, written once over a
//!   [`Backend`](storage::backend::Backend). Each state table is declared
//!   once in [`storage::schema`] (columns, types, merge rules, values), and
//!   its upserts ([`storage::sql`]) and rows ([`storage::rows`]) are
//!   derived from that; when a writer merges what it has folded is
//!   [`storage::pending`]; batches that arrive together are committed in
//!   one transaction, and on SQLite a large one a slice at a time, kept
//!   whole by a journal ([`storage::group_commit`]). Pages ([`storage::report_stats`],
//!   [`storage::listings`], [`storage::report_usage`], the series of
//!   [`storage::usage_daily`]) and workspaces and credentials
//!   ([`storage::records`]) are shared SQL run on a
//!   [`Session`](storage::session::Session); what makes a cached page or a
//!   deep page's start stale is [`storage::listing_version`]; filling the
//!   usage tables of a database from before them is
//!   [`storage::usage_fill`]; moving each report's kept window counts to
//!   another date is [`storage::usage_windows`] (triggers keep them, and the
//!   sums per space, as events arrive; a bulk write rebuilds the sums once,
//!   [`storage::usage_sums`]). One module per
//!   backend ([`storage::sqlite`], [`storage::postgres`]) opens, migrates,
//!   executes statements, writes batches, reads its event log and (SQLite)
//!   rebuilds the usage sums in Rust; metrics
//!   wrap the trait ([`storage::instrumented`]).
//! - [`http`]: the axum application: one module per resource (the batch
//!   listings, and beside each the REST path Mode's clients follow to one
//!   of its rows: `/api/{workspace}/reports/{token}` in [`http::reports`],
//!   usage over time in [`http::report_usage`],
//!   `/api/{workspace}/memberships` and `/api/{username}` in
//!   [`http::members`]), credentials
//!   ([`http::auth`], failures throttled in [`http::auth_failures`]),
//!   extractors that answer in the error format ([`http::extract`]),
//!   errors, rate limits, the page cache, the listings' exports as CSV
//!   and NDJSON ([`http::export`]) and the `ETag`s and 304s of every batch
//!   GET ([`http::conditional`]), OpenAPI, the accept loop with its
//!   header timeout and connection cap ([`http::server`]), and what wraps
//!   every request: the access log with its request id
//!   ([`http::access_log`]) and Prometheus metrics ([`http::metrics`]);
//!   the task that keeps every workspace's windows on today
//!   ([`http::usage_windows`]).
//! - [`dashboard`]: the pages for people at `/` (SPEC section 9): sign-in
//!   and sessions, one module per page, rendered from the templates in
//!   `templates/` (askama, compiled in) with SVG charts drawn on the server
//!   and the stylesheet of `assets/`; each page reads the store as the API
//!   does, plus [`storage::dashboard`]'s headline numbers, spaces, one
//!   report's profile and members in order.
//! - [`cli`]: the `reportstats` command line; `main.rs` only calls into it.
//! - [`demo`]: realistic generated activity for `reportstats demo` and
//!   `reportstats generate` (`demo/`: configuration, planning, streaming,
//!   rendering, word lists).
//! - `fuzzing` (hidden): the checks the fuzz targets in `fuzz/` run, and
//!   `tests/fuzz_corpus.rs` replays on their corpora.

#![forbid(unsafe_code)]

pub mod cli;
pub mod dashboard;
pub mod demo;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod ingest;
pub mod storage;
