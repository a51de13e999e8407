//! Failure budgets: failed authentication is throttled per client address
//! and per token, without locking out the holder of the credential.
//!
//! Only failures spend, that is credentials that are wrong (an unknown
//! token, a wrong secret, a revoked signature token); a missing or malformed
//! header costs nothing to refuse and is not counted, nor is an expired
//! signature token, whose secret was right. Each client address and each
//! presented token has a budget of `--auth-failures-per-minute` failures
//! a minute, which is also the burst (a token bucket of the same kind as the
//! per-credential [`RateLimiter`]). The rules:
//!
//! 1. A request from an address over its budget gets 429 at once, whatever
//!    credential it carries, and without it being looked up.
//! 2. Otherwise the credential is checked, and a right one works, whatever
//!    the state of its token's budget: the key holder is not locked out by
//!    others failing against their token.
//! 3. A wrong one spends one failure of its address and one of its token:
//!    401. Once the token is over its budget, a wrong credential for it
//!    spends its address's whole budget instead, and is answered 429. So
//!    guesses spread over many addresses get one each per refill instead of
//!    a whole burst each.
//!
//! IPv6 clients are counted per /64, the block one host usually gets. The
//! address is the TCP peer's: behind a reverse proxy every client shares
//! the proxy's budget (headers such as `X-Forwarded-For` are not trusted,
//! since any client can send them). Requests that reach the router without
//! a socket (`oneshot` in tests) have no address and only the per-token
//! budget applies.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use super::rate_limit::RateLimiter;

/// Presented tokens longer than this are counted by their first this many
/// bytes: no real token is as long, and a budget's key stays small.
const MAX_TOKEN_KEY_BYTES: usize = 128;

#[derive(Debug)]
pub struct AuthFailures {
    by_address: RateLimiter<IpAddr>,
    by_token: RateLimiter<String>,
}

impl AuthFailures {
    /// `per_minute` failures a minute per address and per token, also the
    /// burst; 0 turns the throttle off.
    pub fn new(per_minute: u32) -> Self {
        AuthFailures {
            by_address: RateLimiter::new(per_minute),
            by_token: RateLimiter::new(per_minute),
        }
    }

    /// Before a credential is checked: `Err` (how long to wait) when the
    /// address is over its budget (rule 1).
    pub fn admit(&self, address: Option<IpAddr>) -> Result<(), Duration> {
        match address.and_then(|address| self.by_address.wait(&network(address))) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// After a wrong credential: spends the budgets (rule 3), and says
    /// whether to answer 401 (`Ok`) or 429 (`Err`, how long to wait).
    pub fn record_failure(&self, address: Option<IpAddr>, token: &str) -> Result<(), Duration> {
        let address = address.map(network);
        match self.by_token.check(token_key(token)) {
            Ok(()) => {
                if let Some(address) = address {
                    self.by_address.spend(&address);
                }
                Ok(())
            }
            Err(token_wait) => {
                let address_wait = address.and_then(|address| self.by_address.drain(&address));
                Err(address_wait.unwrap_or(token_wait))
            }
        }
    }
}

/// The key an address is counted under: an IPv4 address (also when mapped
/// into IPv6), or an IPv6 address's /64.
fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !((1u128 << 64) - 1))),
        },
    }
}

fn token_key(token: &str) -> &str {
    if token.len() <= MAX_TOKEN_KEY_BYTES {
        return token;
    }
    let mut end = MAX_TOKEN_KEY_BYTES;
    while !token.is_char_boundary(end) {
        end -= 1;
    }
    &token[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn an_address_over_its_budget_is_refused_before_any_check() {
        let failures = AuthFailures::new(3);
        for token in ["a", "b", "c"] {
            assert!(failures.admit(ip("192.0.2.1")).is_ok());
            assert!(failures.record_failure(ip("192.0.2.1"), token).is_ok());
        }
        let wait = failures.admit(ip("192.0.2.1")).unwrap_err();
        assert!(wait > Duration::from_secs(19) && wait <= Duration::from_secs(20));
        // Its neighbour has a budget of its own.
        assert!(failures.admit(ip("192.0.2.2")).is_ok());
    }

    #[test]
    fn a_token_over_its_budget_costs_each_new_address_its_whole_budget() {
        let failures = AuthFailures::new(3);
        for address in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
            assert!(failures.record_failure(ip(address), "victim").is_ok());
        }
        // The token's budget is spent: the next guess, from anywhere, is a
        // 429 and uses up its address.
        assert!(failures.admit(ip("192.0.2.4")).is_ok());
        assert!(failures.record_failure(ip("192.0.2.4"), "victim").is_err());
        assert!(failures.admit(ip("192.0.2.4")).is_err());
        // An address that has never failed is still admitted (rule 2: a
        // right credential from it works).
        assert!(failures.admit(ip("192.0.2.5")).is_ok());
        // Without an address, only the token's budget counts.
        assert!(failures.record_failure(None, "victim").is_err());
        assert!(failures.record_failure(None, "another").is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() {
        let failures = AuthFailures::new(1);
        assert!(failures.record_failure(ip("2001:db8:1:2::1"), "a").is_ok());
        assert!(failures.admit(ip("2001:db8:1:2:ffff::9")).is_err());
        assert!(failures.admit(ip("2001:db8:1:3::1")).is_ok());
        assert!(failures.record_failure(ip("::ffff:192.0.2.7"), "b").is_ok());
        assert!(failures.admit(ip("192.0.2.7")).is_err());
    }

    #[test]
    fn long_tokens_share_the_budget_of_their_first_bytes() {
        let failures = AuthFailures::new(1);
        let long = "é".repeat(200);
        assert!(failures.record_failure(None, &long).is_ok());
        assert!(
            failures
                .record_failure(None, &format!("{long}tail"))
                .is_err()
        );
    }

    #[test]
    fn zero_turns_the_throttle_off() {
        let failures = AuthFailures::new(0);
        for _ in 0..1_000 {
            assert!(failures.admit(ip("192.0.2.1")).is_ok());
            assert!(failures.record_failure(ip("192.0.2.1"), "a").is_ok());
        }
    }
}
