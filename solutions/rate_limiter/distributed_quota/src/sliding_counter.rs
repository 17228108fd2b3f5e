//! The sliding counter: a fixed window that remembers the previous one.

use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};

/// Approximates a sliding window with two fixed-window counters.
///
/// Windows sit on the grid of the creation instant `t0`, like [`FixedWindow`]'s. At an instant
/// `elapsed` into the current window, the previous window is assumed to have spread its requests
/// evenly, so the part of it that still overlaps the sliding window weighs
/// `previous * (window - elapsed) / window`. A request is allowed while
/// `current + previous * (window - elapsed) / window < limit`, computed exactly in integers:
/// flooring the weighted term gives the same answer for an integer `current` and `limit`.
///
/// [`FixedWindow`]: crate::FixedWindow
#[derive(Debug)]
pub struct SlidingCounter<C = SystemClock> {
    clock: C,
    limit: u64,
    window: Duration,
    origin: Instant,
    /// Index of the current window on the grid.
    index: u128,
    /// Requests allowed in the current window.
    current: u64,
    /// Requests allowed in the window just before the current one.
    previous: u64,
}

impl SlidingCounter<SystemClock> {
    /// A counter of `limit` requests per sliding `window` on the machine's clock.
    ///
    /// # Panics
    /// If `window` is zero.
    pub fn new(limit: u64, window: Duration) -> Self {
        Self::with_clock(limit, window, SystemClock)
    }
}

impl<C: Clock> SlidingCounter<C> {
    /// A counter of `limit` requests per sliding `window`, reading the time from `clock`.
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
            index: 0,
            current: 0,
            previous: 0,
        }
    }

    /// Records one request and says whether it is allowed. A refused request does not count.
    pub fn try_acquire(&mut self) -> bool {
        let elapsed = self
            .clock
            .now()
            .saturating_duration_since(self.origin)
            .as_nanos();
        let window = self.window.as_nanos();
        self.roll_to(elapsed / window);
        let into_window = elapsed % window;
        // `into_window < window`, so the product fits easily in a u128 and the quotient is at
        // most `previous`.
        let weighted = u128::from(self.previous) * (window - into_window) / window;
        if u128::from(self.current) + weighted < u128::from(self.limit) {
            self.current += 1;
            true
        } else {
            false
        }
    }

    /// Moves the counters to window `index`. The current count becomes the previous one only if
    /// `index` is the very next window; after a longer gap, the window before `index` was empty.
    fn roll_to(&mut self, index: u128) {
        if index <= self.index {
            // Same window (or a clock that stepped back): keep counting where we are.
            return;
        }
        self.previous = if index == self.index + 1 {
            self.current
        } else {
            0
        };
        self.current = 0;
        self.index = index;
    }
}
