//! Waiting for tokens without blocking a thread: `acquire().await`, first come, first served.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::error::AcquireError;
use crate::token_bucket::TokenBucket;

/// The clock of the tokio runtime: `tokio::time::Instant::now()`.
///
/// Under `#[tokio::test(start_paused = true)]` it only moves when every task is waiting on a
/// timer (or when the test calls `tokio::time::advance`), so the same clock drives both the
/// bucket's refill and the `sleep` that waits for it: tests that wait minutes finish instantly.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// A token bucket that tasks wait on, served strictly in the order they started waiting.
///
/// The bucket sits behind a fair (FIFO) `tokio::sync::Mutex`. A waiter holds the lock while it
/// sleeps until its tokens are due and only then takes them, so:
///
/// - order: tasks get tokens in the order their `acquire` futures were first polled, and a large
///   request at the head is not overtaken by smaller ones behind it (no starvation);
/// - cancellation: dropping a waiting future either leaves the queue (still waiting for the lock)
///   or releases the lock before taking anything (sleeping at the head); either way its place and
///   its tokens go to the next waiter at once.
#[derive(Debug)]
pub struct AsyncLimiter {
    capacity: u64,
    bucket: Mutex<TokenBucket<TokioClock>>,
}

impl AsyncLimiter {
    /// A full bucket of `capacity` tokens, one more every `refill_every`, on tokio's clock.
    ///
    /// # Panics
    /// If `refill_every` is zero.
    pub fn new(capacity: u64, refill_every: Duration) -> Self {
        Self {
            capacity,
            bucket: Mutex::new(TokenBucket::with_clock(capacity, refill_every, TokioClock)),
        }
    }

    /// Waits for one token, then takes it.
    pub async fn acquire(&self) {
        // One token never exceeds the capacity, except for a bucket of capacity 0, which can
        // never hand one out: waiting forever is the honest answer there.
        if self.acquire_n(1).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Waits until `n` tokens are available to this waiter, then takes them. Fails at once,
    /// without queueing, with [`AcquireError::ExceedsCapacity`] if `n` is more than the bucket
    /// can ever hold; never returns `RateLimited`.
    ///
    /// Cancel safe: dropping the future before it completes takes no tokens and gives its place
    /// in the queue to the next waiter.
    pub async fn acquire_n(&self, n: u64) -> Result<(), AcquireError> {
        if n > self.capacity {
            return Err(AcquireError::ExceedsCapacity {
                requested: n,
                capacity: self.capacity,
            });
        }
        let mut bucket = self.bucket.lock().await;
        loop {
            match bucket.try_acquire_n(n) {
                Err(AcquireError::RateLimited { retry_after }) => {
                    tokio::time::sleep(retry_after).await;
                }
                decision => return decision,
            }
        }
    }

    /// Takes one token if there is one *and* nobody is waiting: it never jumps the queue.
    pub fn try_acquire(&self) -> bool {
        match self.bucket.try_lock() {
            Ok(mut bucket) => bucket.try_acquire(),
            Err(_) => false,
        }
    }
}
