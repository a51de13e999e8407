//! reportstats: self-hosted usage analytics for BI reports, serving Mode's
//! Discovery ("batch") API.
//!
//! # Layout
//!
//! - [`domain`]: what the service knows about and its rules, without I/O:
//!   parsed names and ids, the [`Event`](domain::Event) format (with a fast
//!   reader for its common flat lines, `domain/event/flat_json.rs`), the merge
//!   rules that make statistics independent of event order
//!   ([`domain::state`]), the statistics and listings computed from scratch
//!   ([`domain::stats`], [`domain::listings`]), the event log's JSON form
//!   ([`domain::canonical`]), API keys, signature tokens and the clock.
//! - [`ingest`]: request bodies and NDJSON files into validated events,
//!   all or nothing.
//! - [`storage`]: the [`Store`](storage::Store) trait; what the backends
//!   share (the merge rules as SQL upserts in [`storage::sql`], the mapping
//!   of changes to rows in [`storage::rows`], the page queries in
//!   [`storage::report_stats`] and [`storage::listings`], where deep pages
//!   start in [`storage::positions`]); one module per backend
//!   ([`storage::sqlite`], [`storage::postgres`]).
//! - [`http`]: the axum application: one module per resource, credentials
//!   ([`http::auth`]), errors, rate limits, the page cache, OpenAPI.
//! - [`cli`]: the `reportstats` command line; `main.rs` only calls into it.
//! - [`demo`]: realistic generated activity for `reportstats demo` and
//!   `reportstats generate`.

#![forbid(unsafe_code)]

pub mod cli;
pub mod demo;
pub mod domain;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod ingest;
pub mod storage;
