//! A rate limiter, grown one stage at a time.
//!
//! Stage 1 (`fixed_window`): a clock you can inject, a manual clock for tests, and a fixed-window
//! limiter. Replace every `todo!()`; add fields, helper functions and modules as you see fit, but
//! keep the public names and signatures: the tests call them.

use std::time::{Duration, Instant};

/// A source of the current time.
///
/// Limiters never call `Instant::now()` themselves: they ask their clock. In production the clock
/// is [`SystemClock`]; in tests it is a [`ManualClock`] that only moves when the test says so.
pub trait Clock {
    /// The current instant. Successive calls should not go backwards (but see stage 3).
    fn now(&self) -> Instant;
}

/// The real, monotonic clock of the machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        todo!("read the machine's monotonic clock")
    }
}

/// A clock that stands still until it is told to move.
///
/// Clones share one time: a test keeps one clone and hands another to a limiter, then calls
/// [`ManualClock::advance`] on its own clone and the limiter sees the new time. It must be
/// `Clone + Send + Sync` (later stages share it between threads).
#[derive(Clone, Debug)]
pub struct ManualClock {
    // Your fields here.
}

impl ManualClock {
    /// A clock that reads the machine's current instant, then stands still.
    pub fn new() -> Self {
        todo!()
    }

    /// Moves the time of this clock and of all its clones forward by `by`.
    pub fn advance(&self, by: Duration) {
        let _ = by;
        todo!()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        todo!()
    }
}

/// Allows at most `limit` requests in each window of time.
///
/// Windows are aligned on the instant the limiter was created, `t0`: window `k` covers the
/// half-open interval `[t0 + k * window, t0 + (k + 1) * window)`.
#[derive(Debug)]
pub struct FixedWindow<C = SystemClock> {
    clock: C,
    // Your other fields here.
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
        let _ = (limit, window);
        todo!("create the limiter; its first window starts at clock.now()")
    }

    /// Records one request and says whether it is allowed: `true` while the current window has
    /// allowed fewer than `limit` requests, `false` after. A refused request does not count.
    pub fn try_acquire(&mut self) -> bool {
        let _ = &self.clock;
        todo!()
    }
}
