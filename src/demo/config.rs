//! What to generate: [`ActivityConfig`], the demo's configuration, and the
//! configurations that cannot be generated.

use std::io;

use super::time::MS_PER_DAY;
use crate::domain::Timestamp;

/// The seed of `reportstats demo`: fixed so that every demo shows the same
/// workspace and a second run only re-sends events already stored.
const DEMO_SEED: u64 = 20_240_917;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityConfig {
    /// Same seed, same output, byte for byte.
    pub seed: u64,
    /// Reports created; about 3% of them are deleted again. Each gets about
    /// two queries, most of which get charts.
    pub reports: usize,
    /// Members; a few are removed late in the period.
    pub members: usize,
    /// Team spaces, besides every member's personal space.
    pub shared_spaces: usize,
    /// `report_viewed` events; manual runs and explorations scale with it.
    pub views: usize,
    /// The newest possible `occurred_at`: the demo's "now", so that the data
    /// looks current when served right away.
    pub end: Timestamp,
    /// Length of the period, ending at `end`, over which activity is spread.
    pub days: u32,
    /// Members' emails are `first.last@{company_domain}`.
    pub company_domain: String,
    /// Fraction of lines written a second time, verbatim, a few lines later:
    /// retries that ingestion must treat as duplicates.
    pub duplicate_fraction: f64,
}

impl ActivityConfig {
    /// The `reportstats demo` workspace: big enough for several pages of
    /// `report_stats`, small enough to generate and import in seconds, and
    /// long enough (180 days) that the default 90-day recent window cuts
    /// through it.
    pub fn demo(end: Timestamp) -> Self {
        ActivityConfig {
            seed: DEMO_SEED,
            reports: 400,
            members: 60,
            shared_spaces: 10,
            views: 25_000,
            end,
            days: 180,
            company_domain: "example.com".to_owned(),
            duplicate_fraction: 0.0,
        }
    }

    pub(crate) fn validate(&self) -> io::Result<()> {
        let invalid = |message: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        if self.days == 0 {
            return invalid("the period must be at least one day");
        }
        if self.end.as_micros() / 1_000 < i64::from(self.days) * MS_PER_DAY {
            return invalid("the period must not start before 1970");
        }
        if self.members == 0 {
            return invalid("at least one member is needed to create reports and spaces");
        }
        if self.reports == 0 && self.views > 0 {
            return invalid("views need at least one report");
        }
        if !(0.0..=1.0).contains(&self.duplicate_fraction) {
            return invalid("the duplicate fraction must be between 0 and 1");
        }
        let domain = &self.company_domain;
        if domain.is_empty()
            || domain.len() > 200
            || domain.contains('@')
            || domain.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return invalid("the company domain must look like example.com");
        }
        Ok(())
    }
}
