//! The token bucket: a steady rate with a bounded burst, in exact integer arithmetic.

use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};
use crate::error::AcquireError;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// A bucket of at most `capacity` whole tokens, refilled by one token every `refill_every`.
///
/// It starts full. While it is below capacity it gains one token every `refill_every`, counted
/// from the instant it last dropped below capacity or last gained a token; a full bucket gains
/// nothing, and the time it spends full is not saved up. So in any span of length `d` at most
/// `capacity + d / refill_every` tokens are handed out.
///
/// Refill is lazy: nothing happens between calls; each call works out, from the clock, how many
/// whole intervals have passed since `refilled_at` and moves `refilled_at` forward by exactly that
/// many intervals, so the partial interval is kept for the next call and nothing drifts however
/// often the bucket is polled. Everything is counted in integer nanoseconds: no floating point.
#[derive(Debug)]
pub struct TokenBucket<C = SystemClock> {
    clock: C,
    capacity: u64,
    refill_every: Duration,
    tokens: u64,
    /// When the bucket is below capacity, the next token arrives at
    /// `refilled_at + refill_every`. Never moves backwards, even if the clock does.
    refilled_at: Instant,
}

impl TokenBucket<SystemClock> {
    /// A full bucket of `capacity` tokens, one more every `refill_every`, on the machine's clock.
    ///
    /// # Panics
    /// If `refill_every` is zero.
    pub fn new(capacity: u64, refill_every: Duration) -> Self {
        Self::with_clock(capacity, refill_every, SystemClock)
    }
}

impl<C: Clock> TokenBucket<C> {
    /// A full bucket of `capacity` tokens, one more every `refill_every`, reading `clock`.
    ///
    /// # Panics
    /// If `refill_every` is zero.
    pub fn with_clock(capacity: u64, refill_every: Duration, clock: C) -> Self {
        assert!(
            !refill_every.is_zero(),
            "a refill interval must not be zero"
        );
        let refilled_at = clock.now();
        Self {
            clock,
            capacity,
            refill_every,
            tokens: capacity,
            refilled_at,
        }
    }

    /// Takes one token if there is one.
    pub fn try_acquire(&mut self) -> bool {
        self.try_acquire_n(1).is_ok()
    }

    /// Takes `n` tokens if there are at least `n`; otherwise takes nothing and says how long to
    /// wait, or that the request can never succeed.
    pub fn try_acquire_n(&mut self, n: u64) -> Result<(), AcquireError> {
        if n > self.capacity {
            return Err(AcquireError::ExceedsCapacity {
                requested: n,
                capacity: self.capacity,
            });
        }
        let now = self.clock.now();
        self.refill(now);
        if self.tokens >= n {
            self.tokens -= n;
            Ok(())
        } else {
            Err(AcquireError::RateLimited {
                retry_after: self.wait_for(n - self.tokens, now),
            })
        }
    }

    /// The most tokens the bucket can hold.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Whether the bucket is full now, i.e. indistinguishable from a brand-new bucket.
    pub(crate) fn is_full(&mut self) -> bool {
        let now = self.clock.now();
        self.refill(now);
        self.tokens == self.capacity
    }

    /// Adds the tokens earned since `refilled_at`.
    fn refill(&mut self, now: Instant) {
        if now <= self.refilled_at {
            // No time has passed, or the clock went backwards: earn nothing, and keep
            // `refilled_at` where it is so the same span is never paid for twice.
            return;
        }
        let room = self.capacity - self.tokens;
        let elapsed = (now - self.refilled_at).as_nanos();
        let interval = self.refill_every.as_nanos();
        let earned = elapsed / interval;
        if earned >= u128::from(room) {
            // Full: the time spent full is not saved up.
            self.tokens = self.capacity;
            self.refilled_at = now;
        } else {
            // `earned < room <= u64::MAX`, so the conversion is lossless and the sum stays
            // within `capacity`.
            self.tokens += earned as u64;
            // Keep the partial interval: move to the instant the last earned token arrived.
            // `now - partial >= refilled_at`, so the subtraction cannot underflow.
            self.refilled_at = now - nanos_to_duration(elapsed % interval);
        }
    }

    /// How long until `missing` more tokens will have arrived, as seen from `now`.
    /// Called right after `refill`, so the bucket is below capacity.
    fn wait_for(&self, missing: u64, now: Instant) -> Duration {
        let ready_after = self
            .refill_every
            .as_nanos()
            .saturating_mul(u128::from(missing));
        let already = now.saturating_duration_since(self.refilled_at).as_nanos();
        let ahead = self.refilled_at.saturating_duration_since(now).as_nanos();
        nanos_to_duration(ready_after.saturating_sub(already).saturating_add(ahead))
    }
}

/// Converts a count of nanoseconds to a `Duration`, saturating at `Duration::MAX`.
pub(crate) fn nanos_to_duration(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    // The remainder is below 10^9, so it fits in a u32.
    let subsec = (nanos % NANOS_PER_SEC) as u32;
    if secs == u64::MAX {
        Duration::MAX
    } else {
        Duration::new(secs, subsec)
    }
}
