//! The fixed-window limiter: a counter that resets at every window boundary.

use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};

/// Allows at most `limit` requests in each window of time.
///
/// Windows are aligned on the instant the limiter was created, `t0`: window `k` covers the
/// half-open interval `[t0 + k * window, t0 + (k + 1) * window)`. Only one counter is kept, so
/// memory is constant; the price is the boundary burst: up to `2 * limit` requests can pass in a
/// short span that straddles a boundary.
#[derive(Debug)]
pub struct FixedWindow<C = SystemClock> {
    clock: C,
    limit: u64,
    window: Duration,
    /// When the limiter was created: every window boundary is `origin + k * window`.
    origin: Instant,
    /// The index `k` of the window `count` belongs to.
    current: u128,
    /// Requests allowed in window `current`.
    count: u64,
}

impl FixedWindow<SystemClock> {
    /// A limiter of `limit` requests per `window` on the machine's clock.
    ///
    /// # Panics
    /// If `window` is zero.
    pub fn new(limit: u64, window: Duration) -> Self {
        Self::with_clock(limit, window, SystemClock)
    }
}

impl<C: Clock> FixedWindow<C> {
    /// A limiter of `limit` requests per `window`, reading the time from `clock`.
    ///
    /// # Panics
    /// If `window` is zero.
    pub fn with_clock(limit: u64, window: Duration, clock: C) -> Self {
        assert!(!window.is_zero(), "a rate-limit window must not be zero");
        let origin = clock.now();
        Self {
            clock,
            limit,
            window,
            origin,
            current: 0,
            count: 0,
        }
    }

    /// Records one request and says whether it is allowed: `true` while the current window has
    /// allowed fewer than `limit` requests, `false` after. A refused request does not count.
    pub fn try_acquire(&mut self) -> bool {
        let window = self.window_index(self.clock.now());
        if window > self.current {
            // Jump straight to the window that contains now: any idle windows in between had
            // nothing to remember. (A clock that stepped back into an older window keeps the
            // current count: forgetting it would let extra requests through.)
            self.current = window;
            self.count = 0;
        }
        if self.count < self.limit {
            self.count += 1;
            true
        } else {
            false
        }
    }

    /// The index of the window that contains `now`. A clock read before `origin` (which a
    /// monotonic clock never gives) counts as window 0.
    fn window_index(&self, now: Instant) -> u128 {
        now.saturating_duration_since(self.origin).as_nanos() / self.window.as_nanos()
    }
}
