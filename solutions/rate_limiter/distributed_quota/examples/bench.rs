//! Locked or lock-free? Measures one token bucket shared by 1, 2, 4 and 8 threads.
//!
//! Run it in release mode (debug builds measure the debugger, not the design):
//!
//! ```text
//! cargo run --release --example bench
//! ```

use std::hint::black_box;
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rate_limiter::{AtomicTokenBucket, TokenBucket};

/// Decisions each thread makes per measurement.
const OPS_PER_THREAD: u64 = 1_000_000;
/// A bucket that never runs dry within a run, so every decision does the full update.
const CAPACITY: u64 = u64::MAX / 2;
const REFILL: Duration = Duration::from_nanos(1);

/// Runs `op` `OPS_PER_THREAD` times on each of `threads` threads at once; returns the total
/// decisions per second and how many were allowed.
fn measure(threads: u64, op: &(dyn Fn() -> bool + Sync)) -> (f64, u64) {
    let start = Instant::now();
    let allowed: u64 = thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| (0..OPS_PER_THREAD).filter(|_| black_box(op())).count() as u64))
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or(0))
            .sum()
    });
    let total = (threads * OPS_PER_THREAD) as f64;
    (total / start.elapsed().as_secs_f64(), allowed)
}

fn main() {
    println!("{OPS_PER_THREAD} decisions per thread on one shared bucket");
    println!(
        "{:>8} {:>18} {:>18} {:>8}",
        "threads", "Mutex (ops/s)", "atomic (ops/s)", "ratio"
    );
    for threads in [1, 2, 4, 8] {
        let locked = Mutex::new(TokenBucket::new(CAPACITY, REFILL));
        let (locked_rate, _) = measure(threads, &|| {
            locked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .try_acquire()
        });
        let atomic = AtomicTokenBucket::new(CAPACITY, REFILL);
        let (atomic_rate, _) = measure(threads, &|| atomic.try_acquire());
        println!(
            "{threads:>8} {locked_rate:>18.0} {atomic_rate:>18.0} {:>7.2}x",
            atomic_rate / locked_rate
        );
    }
}
