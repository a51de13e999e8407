//! Token buckets, one per key, refilled continuously: the per-credential rate
//! limit, and the failure budgets of [`auth_failures`](super::auth_failures).
//!
//! The rate limit protects the database from one runaway client, so it
//! counts authenticated requests per credential, not per address: many
//! clients behind one proxy do not share a budget, and one key used from
//! many hosts does. Buckets live in this process only; with several servers
//! behind a load balancer each enforces the limit on its own share of the
//! traffic.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Past this many tracked keys, full buckets are forgotten (a full bucket is
/// the same as no bucket) and, if that is not enough, the fuller half: a
/// client cannot make the map grow without bound by inventing keys.
const MAX_TRACKED: usize = 10_000;

/// A token bucket per key: `per_minute` tokens a minute, which is also the
/// most a bucket holds.
#[derive(Debug)]
pub struct RateLimiter<K = String> {
    /// Tokens per minute and the burst; 0 turns the limit off.
    per_minute: u32,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `key`'s budget, or says how long to wait for
    /// the next one.
    pub fn check<Q>(&self, key: &Q) -> Result<(), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.check_at(key, Instant::now())
    }

    /// How long until `key` has a token again, or `None` if it has one now.
    /// Takes nothing.
    pub fn wait<Q>(&self, key: &Q) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.wait_at(key, Instant::now())
    }

    /// Takes one token from `key` if it has one, and says how long until it
    /// has one again (`None`: it still has one).
    pub fn spend<Q>(&self, key: &Q) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.spend_at(key, Instant::now())
    }

    /// Takes `amount` tokens from `key`'s budget if it has any token left,
    /// or says how long to wait for one. What the bucket lacks of `amount`
    /// it owes, and refills before it allows anything again: so a batch is
    /// never refused for its size alone (the batch limit does that), and
    /// a credential sending large ones is held to the rate all the same.
    pub fn take<Q>(&self, key: &Q, amount: u32) -> Result<(), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.take_at(key, amount, Instant::now())
    }

    fn take_at<Q>(&self, key: &Q, amount: u32, now: Instant) -> Result<(), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.with_bucket(key, now, |bucket, limits| {
            if bucket.tokens >= 1.0 {
                bucket.tokens -= f64::from(amount);
                Ok(())
            } else {
                Err(limits.wait(bucket.tokens))
            }
        })
        .unwrap_or(Ok(()))
    }

    /// Empties `key`'s bucket, and says how long until it has a token again.
    pub fn drain<Q>(&self, key: &Q) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.with_bucket(key, Instant::now(), |bucket, limits| {
            bucket.tokens = 0.0;
            limits.wait(bucket.tokens)
        })
    }

    fn check_at<Q>(&self, key: &Q, now: Instant) -> Result<(), Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.with_bucket(key, now, |bucket, limits| {
            if bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                Ok(())
            } else {
                Err(limits.wait(bucket.tokens))
            }
        })
        .unwrap_or(Ok(()))
    }

    fn wait_at<Q>(&self, key: &Q, now: Instant) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if self.per_minute == 0 {
            return None;
        }
        let limits = Limits::of(self.per_minute);
        let buckets = self.lock();
        let bucket = buckets.get(key)?;
        let tokens = limits.refilled(bucket, now);
        (tokens < 1.0).then(|| limits.wait(tokens))
    }

    fn spend_at<Q>(&self, key: &Q, now: Instant) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.with_bucket(key, now, |bucket, limits| {
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
            (bucket.tokens < 1.0).then(|| limits.wait(bucket.tokens))
        })
        .flatten()
    }

    /// Runs `change` on `key`'s bucket, refilled to `now` (and made if there
    /// was none); `None` when the limit is off.
    fn with_bucket<Q, R>(
        &self,
        key: &Q,
        now: Instant,
        change: impl FnOnce(&mut Bucket, Limits) -> R,
    ) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if self.per_minute == 0 {
            return None;
        }
        let limits = Limits::of(self.per_minute);
        let mut buckets = self.lock();
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(key) {
            forget_some(&mut buckets, limits, now);
        }
        let bucket = match buckets.get_mut(key) {
            Some(bucket) => bucket,
            None => buckets.entry(key.to_owned()).or_insert(Bucket {
                tokens: limits.capacity,
                updated: now,
            }),
        };
        bucket.tokens = limits.refilled(bucket, now);
        bucket.updated = now;
        Some(change(bucket, limits))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Bucket>> {
        // A panic while holding the lock leaves at worst one bucket stale.
        self.buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Forgets full buckets and, if that does not free a good part of the map,
/// the fuller half of the rest: those that matter least.
fn forget_some<K: Hash + Eq + Clone>(
    buckets: &mut HashMap<K, Bucket>,
    limits: Limits,
    now: Instant,
) {
    buckets.retain(|_, bucket| limits.refilled(bucket, now) < limits.capacity);
    if buckets.len() < MAX_TRACKED * 3 / 4 {
        return;
    }
    let mut levels: Vec<(f64, K)> = buckets
        .iter()
        .map(|(key, bucket)| (limits.refilled(bucket, now), key.clone()))
        .collect();
    let kept = levels.len() / 2;
    levels.select_nth_unstable_by(kept, |a, b| a.0.total_cmp(&b.0));
    for (_, key) in &levels[kept..] {
        buckets.remove(key);
    }
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    capacity: f64,
    per_second: f64,
}

impl Limits {
    fn of(per_minute: u32) -> Self {
        let capacity = f64::from(per_minute);
        Limits {
            capacity,
            per_second: capacity / 60.0,
        }
    }

    fn refilled(self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.capacity)
    }

    /// How long until a bucket holding `tokens` has one.
    fn wait(self, tokens: f64) -> Duration {
        Duration::from_secs_f64((1.0 - tokens).max(0.0) / self.per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_up_to_the_limit_passes_and_the_next_request_waits() {
        let limiter = RateLimiter::<String>::new(60);
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
        let limiter = RateLimiter::<String>::new(0);
        for _ in 0..10_000 {
            assert!(limiter.check("key").is_ok());
            assert_eq!(limiter.spend("key"), None);
            assert_eq!(limiter.wait("key"), None);
        }
        assert_eq!(limiter.drain("key"), None);
    }

    #[test]
    fn a_large_amount_goes_through_and_is_owed() {
        // 60 a minute: one a second.
        let limiter = RateLimiter::<String>::new(60);
        let start = Instant::now();
        assert_eq!(limiter.take_at("key", 100, start), Ok(()));
        // 40 owed: 41 s until the bucket holds one again.
        let wait = limiter.take_at("key", 1, start).unwrap_err();
        assert!((wait.as_secs_f64() - 41.0).abs() < 0.01, "{wait:?}");
        assert_eq!(
            limiter.take_at("key", 1, start + Duration::from_secs(42)),
            Ok(())
        );
        assert_eq!(
            limiter.take_at("other", 1, start),
            Ok(()),
            "budgets are per key"
        );
        assert_eq!(
            RateLimiter::<String>::new(0).take_at("key", u32::MAX, start),
            Ok(())
        );
    }

    #[test]
    fn waiting_takes_nothing_and_spending_says_when_the_budget_is_gone() {
        let limiter = RateLimiter::<String>::new(3);
        let start = Instant::now();
        assert_eq!(limiter.wait_at("key", start), None);
        assert_eq!(limiter.spend_at("key", start), None);
        assert_eq!(limiter.spend_at("key", start), None);
        assert_eq!(limiter.wait_at("key", start), None);
        // The last token: from now on the key must wait, 20 s for 3 a minute.
        let wait = limiter.spend_at("key", start).unwrap();
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20));
        assert!(limiter.wait_at("key", start).is_some());
        // Spending past empty stays at empty.
        assert!(limiter.spend_at("key", start).is_some());
        assert_eq!(
            limiter.wait_at("key", start + Duration::from_secs(20)),
            None
        );
    }

    #[test]
    fn draining_empties_a_bucket_at_once() {
        let limiter = RateLimiter::<u32>::new(30);
        let wait = limiter.drain(&7).unwrap();
        assert!(wait > Duration::from_millis(1_900) && wait <= Duration::from_secs(2));
        assert!(limiter.check(&7).is_err());
        assert!(limiter.check(&8).is_ok());
    }

    #[test]
    fn inventing_keys_does_not_grow_the_map_without_bound() {
        let limiter = RateLimiter::<u32>::new(10);
        let now = Instant::now();
        for key in 0..(3 * MAX_TRACKED as u32) {
            // None of these buckets is full: each has been spent from.
            limiter.spend_at(&key, now);
        }
        assert!(limiter.lock().len() <= MAX_TRACKED);
    }
}
