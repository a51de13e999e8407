//! The generator's random tools: popularity that follows a Zipf law, seeds
//! mixed into unrelated ones, Mode-like tokens, and uniform and weighted
//! draws.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Draws indexes in proportion to `1 / rank^exponent`: a few items get most
/// of the attention, as reports and active users do in real workspaces.
/// Ranks are shuffled so that popularity does not follow creation order.
pub(crate) struct Zipf {
    cumulative: Vec<f64>,
    by_rank: Vec<usize>,
}

impl Zipf {
    pub(crate) fn new(len: usize, exponent: f64, rng: &mut StdRng) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=len)
            .map(|rank| {
                total += (rank as f64).powf(-exponent);
                total
            })
            .collect();
        let mut by_rank: Vec<usize> = (0..len).collect();
        by_rank.shuffle(rng);
        Zipf {
            cumulative,
            by_rank,
        }
    }

    /// Draws among the `top` most popular items only (all when `top` is the
    /// length). Must not be called when empty.
    pub(crate) fn sample(&self, rng: &mut StdRng, top: usize) -> usize {
        let top = top.clamp(1, self.cumulative.len());
        let point = rng.random::<f64>() * self.cumulative[top - 1];
        let rank = self
            .cumulative
            .partition_point(|&c| c <= point)
            .min(top - 1);
        self.by_rank[rank]
    }
}

/// A time drawn uniformly from `[from, until)`, or none when that is empty.
pub(crate) fn between(rng: &mut StdRng, from: i64, until: i64) -> Option<i64> {
    (from < until).then(|| rng.random_range(from..until))
}

/// SplitMix64's finaliser: turns related seeds into unrelated ones.
pub(crate) fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 12-hex-digit token like Mode's. Each step is a bijection on 48 bits
/// (xor with a key, multiplication by an odd number, an xorshift), so tokens
/// look random yet two serials never share one.
pub(crate) fn token(key: u64, serial: u64) -> String {
    const MASK: u64 = (1 << 48) - 1;
    let mut x = (serial ^ key) & MASK;
    for _ in 0..3 {
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MASK;
        x ^= x >> 21;
    }
    format!("{x:012x}")
}

/// One of `items`, each as often as its weight says. Weights must not all
/// be zero.
pub(crate) fn weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, weight)| weight).sum();
    let mut point = rng.random_range(0..total);
    for (item, weight) in items {
        if point < *weight {
            return *item;
        }
        point -= weight;
    }
    items[items.len() - 1].0
}

/// One of `items`, uniformly.
pub(crate) fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::token;

    #[test]
    fn tokens_never_collide_within_a_kind() {
        let tokens: HashSet<String> = (0..100_000)
            .map(|serial| token(0xDEAD_BEEF, serial))
            .collect();
        assert_eq!(tokens.len(), 100_000);
        assert!(tokens.iter().all(|token| token.len() == 12));
    }
}
