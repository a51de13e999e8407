//! The domain: what reportstats knows about, and its rules. No I/O here.

pub mod api_key;
pub mod canonical;
pub mod clock;
pub mod event;
pub mod listings;
pub mod names;
pub mod signature_token;
pub mod state;
pub mod stats;
pub mod timestamp;
pub mod usage;

pub use event::{Event, EventError, EventKind, Position};
pub use names::{Email, EventId, ReportId, Token, WorkspaceName};
pub use timestamp::{Timestamp, UtcDay};
