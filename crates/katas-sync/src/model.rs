//! The model checker's side: run a test under a seeded scheduler, and check that an operation
//! synchronised through this crate.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use shuttle::current::TaskId;
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
    Runner::new(scheduler, config).run(move || {
        // A failed execution may end with other tasks' operations unfinished: each execution
        // starts with none.
        with_operations(Vec::clear);
        test();
    });
}

/// How many scheduling points (lock, unlock, atomic access, spawn, join) the current model
/// execution has passed so far, in all its threads.
///
/// # Panics
/// Outside a model execution ([`active`] is false).
pub fn sync_points() -> usize {
    shuttle::current::context_switches()
}

/// The order in which this crate's primitives were created inside model executions: a lock or
/// atomic with a lower serial existed before one with a higher serial.
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(0);

std::thread_local! {
    /// The [`synchronised`] operations under way in the model execution on this OS thread, in all
    /// its tasks (a task may nest them). shuttle runs every task of an execution on the thread
    /// that called [`check`], one at a time, while other tests run their own executions on other
    /// threads: task ids repeat between executions, so the record must be the thread's own.
    static OPERATIONS: RefCell<Vec<Operation>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's record of operations.
fn with_operations<R>(f: impl FnOnce(&mut Vec<Operation>) -> R) -> R {
    OPERATIONS.with(|operations| f(&mut operations.borrow_mut()))
}

/// One [`synchronised`] operation under way.
struct Operation {
    task: TaskId,
    /// Primitives with a serial below this one existed when the operation began.
    existing_below: u64,
    /// Lock acquisitions and atomic accesses of those primitives, by this operation's task.
    shared_points: usize,
}

/// A model primitive's creation serial; see [`synchronised`] for why it matters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Serial(u64);

impl Serial {
    /// The serial of a primitive created now.
    pub(crate) fn next() -> Self {
        Self(NEXT_SERIAL.fetch_add(1, Ordering::Relaxed))
    }

    /// The primitive was locked or accessed by the current task: a shared point for each
    /// operation of that task that began after the primitive was created.
    pub(crate) fn touch(self) {
        let Some(task) = shuttle::current::try_get_current_task() else {
            return;
        };
        with_operations(|operations| {
            for operation in operations
                .iter_mut()
                .filter(|op| op.task == task && self.0 < op.existing_below)
            {
                operation.shared_points += 1;
            }
        });
    }
}

/// Ends an operation's record, also when the operation panics.
struct Recording {
    task: TaskId,
    existing_below: u64,
    ended: bool,
}

impl Recording {
    fn begin() -> Self {
        let task = shuttle::current::me();
        let existing_below = NEXT_SERIAL.load(Ordering::Relaxed);
        with_operations(|operations| {
            operations.push(Operation {
                task,
                existing_below,
                shared_points: 0,
            });
        });
        Self {
            task,
            existing_below,
            ended: false,
        }
    }

    /// Removes the record and returns its shared points.
    fn end(&mut self) -> usize {
        self.ended = true;
        with_operations(|operations| {
            let position = operations
                .iter()
                .rposition(|op| op.task == self.task && op.existing_below == self.existing_below);
            position.map_or(0, |at| operations.remove(at).shared_points)
        })
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if !self.ended {
            self.end();
        }
    }
}

/// Runs `operation` (one call into the code under test, named `name` in the message) and fails
/// the test unless it locked or accessed, through this crate, a lock or atomic that existed before
/// it began: shared state.
///
/// An operation on shared state that synchronises through this crate always does (the store's
/// lock, a counter's atomic). One that does not either needs no synchronisation at all (a read of
/// immutable data: do not wrap it), or synchronises through `std::sync` (or another crate)
/// directly, which the model checker cannot see: its races would pass the model by luck. The
/// message says how to fix that.
///
/// Only primitives older than the operation count. A lock or atomic created inside it is nobody
/// else's, and neither it nor a bare `thread::yield_now` makes the model see what `std::sync`
/// hides: touching a throwaway atomic must not pass for synchronisation. (A primitive the code
/// under test keeps for no other purpose than to be touched is beyond what this check can tell
/// from a real one; the stage's tests on real threads still run.)
///
/// Exact with other model threads running (points are counted per task) and with other tests
/// running model executions at the same time (each on its own OS thread, with its own record).
///
/// # Panics
/// When `operation` touched no shared primitive, or outside a model execution.
#[allow(
    clippy::panic,
    reason = "a failed check of a test helper is a test failure"
)]
pub fn synchronised<R>(name: &str, operation: impl FnOnce() -> R) -> R {
    let mut recording = Recording::begin();
    let result = operation();
    let shared_points = recording.end();
    if shared_points == 0 {
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
