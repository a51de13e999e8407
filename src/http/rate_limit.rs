//! A per-credential rate limit: a token bucket for each credential that
//! made a request, refilled continuously.
//!
//! The limit protects the database from one runaway client, so it counts
//! authenticated requests per credential, not per address: many clients
//! behind one proxy do not share a budget, and one key used from many hosts
//! does. Buckets live in this process only; with several servers behind a
//! load balancer each enforces the limit on its own share of the traffic.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Past this many tracked credentials, full buckets are forgotten: a full
/// bucket is the same as no bucket.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    /// Requests allowed per minute, which is also the burst; 0 turns the
    /// limit off.
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `credential`'s budget, or says how long to
    /// wait for the next one.
    pub fn check(&self, credential: &str) -> Result<(), Duration> {
        self.check_at(credential, Instant::now())
    }

    fn check_at(&self, credential: &str, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(credential) {
            buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_second
                    < capacity
            });
        }
        let bucket = buckets.entry(credential.to_owned()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let refilled =
            bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_second;
        bucket.tokens = refilled.min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_up_to_the_limit_passes_and_the_next_request_waits() {
        let limiter = RateLimiter::new(60);
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at("key", start).is_ok());
        }
        let wait = limiter.check_at("key", start).unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another credential has its own budget.
        assert!(limiter.check_at("other", start).is_ok());
        // A second later one request's worth has come back.
        assert!(
            limiter
                .check_at("key", start + Duration::from_secs(1))
                .is_ok()
        );
        assert!(
            limiter
                .check_at("key", start + Duration::from_secs(1))
                .is_err()
        );
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = RateLimiter::new(0);
        for _ in 0..10_000 {
            assert!(limiter.check("key").is_ok());
        }
    }
}
