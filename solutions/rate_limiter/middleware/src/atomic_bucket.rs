//! The token bucket without a lock: GCRA on one atomic word.

use std::time::{Duration, Instant};

use katas_sync::atomic::{AtomicU64, Ordering};

use crate::clock::{Clock, SystemClock};
use crate::error::AcquireError;
use crate::token_bucket::nanos_to_duration;

/// A token bucket shared by threads through one `AtomicU64`, with the same decisions as
/// [`TokenBucket`](crate::TokenBucket) while the clock moves forward.
///
/// The state is GCRA's *theoretical arrival time* (TAT): the instant at which the bucket would
/// be full again, in nanoseconds since the bucket was created. A request for `n` tokens at `now`
/// fits if `max(tat, now) + n * interval - now <= capacity * interval`; taking them moves the TAT
/// to `max(tat, now) + n * interval`. One number means one compare-and-swap per decision: a
/// thread computes the new TAT from the value it read and installs it only if nobody changed it
/// meanwhile, retrying otherwise. No thread ever waits for another, and no two threads can spend
/// the same token.
///
/// Time is tracked in `u64` nanoseconds since creation (584 years); beyond that it saturates.
#[derive(Debug)]
pub struct AtomicTokenBucket<C = SystemClock> {
    clock: C,
    capacity: u64,
    /// Nanoseconds per token.
    interval: u128,
    /// `clock.now()` at creation: time zero for `tat`.
    epoch: Instant,
    /// Theoretical arrival time, in nanoseconds since `epoch`. Starts at 0: full.
    tat: AtomicU64,
}

impl AtomicTokenBucket<SystemClock> {
    /// A full bucket of `capacity` tokens, one more every `refill_every`, on the machine's clock.
    ///
    /// # Panics
    /// If `refill_every` is zero.
    pub fn new(capacity: u64, refill_every: Duration) -> Self {
        Self::with_clock(capacity, refill_every, SystemClock)
    }
}

impl<C: Clock> AtomicTokenBucket<C> {
    /// A full bucket of `capacity` tokens, one more every `refill_every`, reading `clock`.
    ///
    /// # Panics
    /// If `refill_every` is zero.
    pub fn with_clock(capacity: u64, refill_every: Duration, clock: C) -> Self {
        assert!(
            !refill_every.is_zero(),
            "a refill interval must not be zero"
        );
        let epoch = clock.now();
        Self {
            clock,
            capacity,
            interval: refill_every.as_nanos(),
            epoch,
            tat: AtomicU64::new(0),
        }
    }

    /// Takes one token if there is one.
    pub fn try_acquire(&self) -> bool {
        self.try_acquire_n(1).is_ok()
    }

    /// Takes `n` tokens if there are at least `n`; otherwise takes nothing and says how long to
    /// wait, or that the request can never succeed.
    pub fn try_acquire_n(&self, n: u64) -> Result<(), AcquireError> {
        if n > self.capacity {
            return Err(AcquireError::ExceedsCapacity {
                requested: n,
                capacity: self.capacity,
            });
        }
        let now = self.nanos_since_epoch();
        let cost = self.interval.saturating_mul(u128::from(n));
        let burst = self.interval.saturating_mul(u128::from(self.capacity));
        // Relaxed is enough: the TAT is the only shared state, and read-modify-write operations
        // on one atomic always see its latest value, so two CASes can never both succeed from
        // the same TAT. Nothing else is published through this word.
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let start = u128::from(tat.max(now));
            let new_tat = start.saturating_add(cost);
            let ahead = new_tat - u128::from(now);
            if ahead > burst {
                return Err(AcquireError::RateLimited {
                    retry_after: nanos_to_duration(ahead - burst),
                });
            }
            let new_tat = u64::try_from(new_tat).unwrap_or(u64::MAX);
            match self
                .tat
                .compare_exchange_weak(tat, new_tat, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(current) => tat = current,
            }
        }
    }

    /// The most tokens the bucket can hold.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    fn nanos_since_epoch(&self) -> u64 {
        let elapsed = self.clock.now().saturating_duration_since(self.epoch);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }
}
