//! Where limiters get the time from.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A source of the current time.
///
/// Limiters never call `Instant::now()` themselves: they ask their clock. In production the clock
/// is [`SystemClock`]; in tests it is a [`ManualClock`] that only moves when the test says so,
/// which makes time-dependent behaviour deterministic and instant to test.
pub trait Clock {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real, monotonic clock of the machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that stands still until it is told to move.
///
/// Clones share one time (an `Arc` around the current instant): a test keeps one clone, hands
/// another to a limiter and moves time with [`ManualClock::advance`]. The `Mutex` makes it
/// `Send + Sync`, so threads can share it too.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<Mutex<Instant>>,
}

impl ManualClock {
    /// A clock that reads the machine's current instant, then stands still.
    pub fn new() -> Self {
        Self {
            now: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Moves the time of this clock and of all its clones forward by `by`.
    ///
    /// # Panics
    /// Like `Instant + Duration`, if the result cannot be represented.
    pub fn advance(&self, by: Duration) {
        *self.lock() += by;
    }

    /// Moves the time of this clock and of all its clones backward by `by`, the way a badly
    /// behaved clock source might. Limiters must survive it.
    ///
    /// # Panics
    /// Like `Instant - Duration`, if the result cannot be represented.
    pub fn rewind(&self, by: Duration) {
        *self.lock() -= by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Instant> {
        // A panic while the lock is held cannot leave a half-written `Instant` behind (it is
        // replaced whole), so a poisoned lock still holds a valid time: use it.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.lock()
    }
}
