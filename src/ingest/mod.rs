//! The ingestion path: request bodies and files into validated events, handed
//! to storage all or nothing.

pub mod batch;
pub mod import;

pub use batch::{BatchError, parse_batch};
pub use import::{ImportError, ImportProgress, import_ndjson};
