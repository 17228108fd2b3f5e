//! The model checker's side: run a test under a seeded scheduler, and check that an operation
//! synchronised through this crate.

use shuttle::scheduler::PctScheduler;
use shuttle::{Config, FailurePersistence, Runner};

/// Threads inside a model-checked test: `thread::spawn`, `JoinHandle`, `yield_now`, with the
/// same API as `std::thread`. A thread spawned with `std::thread` inside a model escapes it.
pub use shuttle::thread;

/// Each model thread's stack. shuttle's default (32 KiB) is too small for a store that formats
/// paths and opens files inside a task.
const STACK_SIZE: usize = 1 << 20;

/// Whether the calling code runs inside a model-checked test (a [`check`] execution).
///
/// This is what the wrappers of this crate look at when they are created: inside, they are the
/// model checker's primitives; outside, `std`'s.
pub fn active() -> bool {
    shuttle::current::try_get_current_task().is_some()
}

/// Runs `test` `iterations` times, each time under another thread schedule chosen by the PCT
/// scheduler (probabilistic concurrency testing, Burckhardt et al., ASPLOS 2010) from `seed`,
/// with up to `depth - 1` forced preemptions per run: a bug that needs `depth` ordering
/// constraints between threads is found in each run with probability at least `1/(n·k^(depth-1))`
/// (`n` threads, `k` steps). The same seed gives the same schedules on every run and machine, so
/// a test that fails, fails every time.
///
/// Inside `test`, spawn threads with [`thread::spawn`] and create the code under test there:
/// only primitives created inside an execution are scheduled. A panic (a failed assertion) in
/// any thread fails the test; shuttle prints the schedule that led to it.
pub fn check<F>(seed: u64, depth: usize, iterations: usize, test: F)
where
    F: Fn() + Send + Sync + 'static,
{
    let mut config = Config::new();
    config.stack_size = STACK_SIZE;
    // The failing schedule is a function of the seed: the test's name and seed replay it, so
    // there is no need to write schedule files into the learner's folder.
    config.failure_persistence = FailurePersistence::Print;
    let scheduler = PctScheduler::new_from_seed(seed, depth, iterations);
    Runner::new(scheduler, config).run(test);
}

/// How many scheduling points (lock, unlock, atomic access, spawn, join) the current model
/// execution has passed so far, in all its threads.
///
/// # Panics
/// Outside a model execution ([`active`] is false).
pub fn sync_points() -> usize {
    shuttle::current::context_switches()
}

/// Runs `operation` (one call into the code under test, named `name` in the message) and fails
/// the test if it passed no scheduling point of the model checker.
///
/// An operation on shared state that synchronises through this crate always passes one (a lock,
/// an atomic access). One that passes none either needs no synchronisation at all (a read of
/// immutable data: do not wrap it), or synchronises through `std::sync` (or another crate)
/// directly, which the model checker cannot see: its races would pass the model by luck. The
/// message says how to fix that.
///
/// Exact even with other threads running: a thread that passes no scheduling point is never
/// preempted, so no other thread's points can be counted in between.
///
/// # Panics
/// When `operation` passed no scheduling point, or outside a model execution.
#[allow(
    clippy::panic,
    reason = "a failed check of a test helper is a test failure"
)]
pub fn synchronised<R>(name: &str, operation: impl FnOnce() -> R) -> R {
    let before = sync_points();
    let result = operation();
    if sync_points() == before {
        panic!(
            "`{name}` changed shared state without any lock or atomic from `katas_sync`, so the \
             model checker cannot see its synchronisation (and cannot test it). Import the locks \
             and atomics your crate shares between threads from `katas_sync` instead of \
             `std::sync`: `use katas_sync::{{Arc, Mutex, RwLock}};` and \
             `use katas_sync::atomic::{{AtomicU64, Ordering}};` (same types, same API)"
        );
    }
    result
}
