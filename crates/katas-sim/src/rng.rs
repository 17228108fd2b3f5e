//! A tiny, documented, seeded pseudo-random number generator.
//!
//! The simulator must replay a run event for event from one seed, on every platform and with every
//! version of every crate. So it owns its generator instead of depending on one: SplitMix64
//! (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014), the
//! generator Java's `SplittableRandom` uses and the one commonly used to seed xoshiro. It is not
//! cryptographic, it is fast, has a 2^64 period and passes BigCrush, which is plenty for choosing
//! message delays and election timeouts.
//!
//! Every source of randomness in a simulation (each link, each node, each client, the nemesis)
//! gets its own stream, derived from the seed and the stream's name. A node that sends to its
//! peers in a different order therefore does not change the delays the other links draw.

use std::ops::{Bound, RangeBounds};

/// The SplitMix64 increment: the golden ratio in 64-bit fixed point.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A seeded pseudo-random number generator (SplitMix64). Same seed, same numbers.
///
/// ```
/// use katas_sim::Rng;
/// let mut a = Rng::new(7);
/// let mut b = Rng::new(7);
/// assert_eq!(a.range(150..300), b.range(150..300));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

/// The SplitMix64 output function: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// An independent stream derived from `seed` and a stream name made of numbers, e.g.
    /// `[LINK, from, to]`. Different names give unrelated streams.
    pub fn stream(seed: u64, name: &[u64]) -> Self {
        let mut state = mix(seed ^ GAMMA);
        for &part in name {
            state = mix(state ^ mix(part.wrapping_add(GAMMA)));
        }
        Rng { state }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// A uniform number in `0..n`; `0` when `n == 0`.
    ///
    /// Uses Lemire's multiply-and-reject method, so there is no modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            // The low 64 bits decide rejection; the high 64 bits are the result.
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// A uniform number in `range` (`a..b` or `a..=b`). An empty range yields its start.
    ///
    /// ```
    /// let mut rng = katas_sim::Rng::new(1);
    /// let timeout = rng.range(150..=300);
    /// assert!((150..=300).contains(&timeout));
    /// ```
    pub fn range(&mut self, range: impl RangeBounds<u64>) -> u64 {
        let lo = match range.start_bound() {
            Bound::Included(&x) => x,
            Bound::Excluded(&x) => x.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let hi = match range.end_bound() {
            Bound::Included(&x) => x,
            Bound::Excluded(&x) => x.saturating_sub(1),
            Bound::Unbounded => u64::MAX,
        };
        if hi < lo {
            return lo;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// `true` with probability `p` (clamped to `0.0..=1.0`).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        // 53 random bits make a uniform f64 in [0, 1).
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }

    /// A uniformly chosen element of `items`, or `None` if it is empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let i = self.below(items.len() as u64) as usize;
        items.get(i)
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let a: Vec<u64> = (0..5).map(|_| Rng::new(3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut s1 = Rng::stream(3, &[1, 2]);
        let mut s2 = Rng::stream(3, &[2, 1]);
        assert_ne!(s1.next_u64(), s2.next_u64());
    }

    #[test]
    fn range_stays_in_bounds_and_covers_them() {
        let mut rng = Rng::new(9);
        let mut seen = [false; 4];
        for _ in 0..1000 {
            let x = rng.range(10..=13);
            assert!((10..=13).contains(&x), "{x} out of 10..=13");
            seen[(x - 10) as usize] = true;
        }
        assert!(
            seen.iter().all(|&s| s),
            "every value of 10..=13 should appear"
        );
        assert_eq!(rng.range(5..5), 5, "an empty range yields its start");
    }

    #[test]
    fn chance_is_roughly_right() {
        let mut rng = Rng::new(11);
        let hits = (0..10_000).filter(|_| rng.chance(0.25)).count();
        assert!(
            (2_200..2_800).contains(&hits),
            "{hits} hits of 10000 at p=0.25"
        );
        assert!(!rng.chance(0.0));
        assert!(rng.chance(1.0));
    }
}
