//! The sliding log: remember when each allowed request happened.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};

/// Allows at most `limit` requests in any interval of length `window`.
///
/// A request at `now` is allowed if fewer than `limit` allowed requests happened at instants `s`
/// with `now - s < window`. The log keeps the instants of allowed requests only, oldest first,
/// and drops those that have left the window; since it never holds more than `limit` of them,
/// memory is bounded by the limit however heavy the traffic.
#[derive(Debug)]
pub struct SlidingLog<C = SystemClock> {
    clock: C,
    limit: u64,
    window: Duration,
    /// Instants of the allowed requests still inside the window, oldest at the front.
    allowed: VecDeque<Instant>,
}

impl SlidingLog<SystemClock> {
    /// A log of `limit` requests per sliding `window` on the machine's clock.
    pub fn new(limit: u64, window: Duration) -> Self {
        Self::with_clock(limit, window, SystemClock)
    }
}

impl<C: Clock> SlidingLog<C> {
    /// A log of `limit` requests per sliding `window`, reading the time from `clock`.
    pub fn with_clock(limit: u64, window: Duration, clock: C) -> Self {
        Self {
            clock,
            limit,
            window,
            // Not `with_capacity(limit)`: a generous limit must not allocate up front.
            allowed: VecDeque::new(),
        }
    }

    /// Records one request and says whether it is allowed. Only allowed requests are logged.
    pub fn try_acquire(&mut self) -> bool {
        let now = self.clock.now();
        self.forget_expired(now);
        if (self.allowed.len() as u64) < self.limit {
            self.allowed.push_back(now);
            true
        } else {
            false
        }
    }

    /// How many timestamps the log holds now: never more than `limit`.
    pub fn len(&self) -> usize {
        self.allowed.len()
    }

    /// Whether the log holds no timestamps.
    pub fn is_empty(&self) -> bool {
        self.allowed.is_empty()
    }

    /// Drops the requests that happened a whole window or more before `now`. The log is sorted
    /// (the clock does not go backwards), so they are all at the front.
    fn forget_expired(&mut self, now: Instant) {
        while let Some(&oldest) = self.allowed.front() {
            if now.saturating_duration_since(oldest) < self.window {
                break;
            }
            self.allowed.pop_front();
        }
    }
}
