//! The wrappers under the model checker: races found on a fixed seed, correct code accepted,
//! `std` synchronisation reported, and the same types still `std` on ordinary threads.

use std::sync::atomic::AtomicUsize as StdCounter;

use katas_sync::atomic::{AtomicU64, Ordering};
use katas_sync::model::{self, thread};
use katas_sync::{Arc, Mutex, PoisonError, RwLock};

/// Two threads add 1 to a shared counter with `add`; returns the final value.
fn two_increments(add: fn(&AtomicU64)) -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let other = Arc::clone(&counter);
    let worker = thread::spawn(move || add(&other));
    add(&counter);
    let _ = worker.join();
    counter.load(Ordering::SeqCst)
}

#[test]
#[should_panic(expected = "an increment was lost")]
fn a_lost_update_is_found_on_a_fixed_seed() {
    model::check(1, 2, 50, || {
        let total = two_increments(|counter| {
            let seen = counter.load(Ordering::SeqCst);
            counter.store(seen + 1, Ordering::SeqCst);
        });
        assert_eq!(total, 2, "an increment was lost");
    });
}

#[test]
fn an_atomic_increment_passes_every_schedule() {
    model::check(1, 3, 200, || {
        let total = two_increments(|counter| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(total, 2);
    });
}

#[test]
fn locks_serialise_model_threads() {
    model::check(7, 3, 200, || {
        let map = Arc::new(RwLock::new(Vec::new()));
        let count = Arc::new(Mutex::new(0_u32));
        let (map2, count2) = (Arc::clone(&map), Arc::clone(&count));
        let worker = thread::spawn(move || {
            model::synchronised("push", || {
                map2.write().unwrap_or_else(PoisonError::into_inner).push(1);
                *count2.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            });
        });
        model::synchronised("push", || {
            map.write().unwrap_or_else(PoisonError::into_inner).push(2);
            *count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        });
        let _ = worker.join();
        assert_eq!(map.read().unwrap_or_else(PoisonError::into_inner).len(), 2);
        assert_eq!(*count.lock().unwrap_or_else(PoisonError::into_inner), 2);
    });
}

/// Runs `bump` as a checked operation on a counter only `std` synchronises: the model checker
/// must report it whatever else of this crate's `bump` touches on its own.
fn check_bump(bump: fn(&StdCounter)) {
    model::check(1, 2, 1, move || {
        let hidden = StdCounter::new(0);
        model::synchronised("bump", || bump(&hidden));
    });
}

#[test]
#[should_panic(expected = "without any lock or atomic from `katas_sync`")]
fn an_operation_synchronised_only_through_std_is_reported() {
    check_bump(|hidden| {
        hidden.fetch_add(1, Ordering::SeqCst);
    });
}

// Forges of the check above: a learner whose store synchronises through `std::sync` (its races
// invisible to the model) touches something of this crate's in each operation, to be let through.

#[test]
#[should_panic(expected = "without any lock or atomic from `katas_sync`")]
fn a_throwaway_atomic_touched_inside_the_operation_is_not_synchronisation() {
    check_bump(|hidden| {
        hidden.fetch_add(1, Ordering::SeqCst);
        let decoy = AtomicU64::new(0);
        decoy.fetch_add(1, Ordering::SeqCst);
    });
}

#[test]
#[should_panic(expected = "without any lock or atomic from `katas_sync`")]
fn a_throwaway_lock_taken_inside_the_operation_is_not_synchronisation() {
    check_bump(|hidden| {
        let decoy = Mutex::new(());
        let _held = decoy.lock().unwrap_or_else(PoisonError::into_inner);
        hidden.fetch_add(1, Ordering::SeqCst);
    });
}

#[test]
#[should_panic(expected = "without any lock or atomic from `katas_sync`")]
fn a_bare_yield_is_not_synchronisation() {
    check_bump(|hidden| {
        hidden.fetch_add(1, Ordering::SeqCst);
        thread::yield_now();
    });
}

#[test]
fn an_operation_that_creates_state_under_a_shared_lock_passes() {
    // A map of per-key locks, each created on first use: the new key's lock is the operation's
    // own, the map's lock is shared, and that is what counts.
    model::check(5, 3, 100, || {
        let keys: Arc<Mutex<Vec<Arc<Mutex<u64>>>>> = Arc::new(Mutex::new(Vec::new()));
        let other = Arc::clone(&keys);
        let add_key = |keys: &Mutex<Vec<Arc<Mutex<u64>>>>| {
            model::synchronised("add_key", || {
                let fresh = Arc::new(Mutex::new(0));
                *fresh.lock().unwrap_or_else(PoisonError::into_inner) += 1;
                keys.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(fresh);
            });
        };
        let worker = thread::spawn(move || add_key(&other));
        add_key(&keys);
        let _ = worker.join();
        assert_eq!(keys.lock().unwrap_or_else(PoisonError::into_inner).len(), 2);
    });
}

#[test]
fn nested_operations_each_count_their_own_points() {
    model::check(2, 2, 10, || {
        let shared = Arc::new(AtomicU64::new(0));
        let other = Arc::clone(&shared);
        let worker = thread::spawn(move || {
            model::synchronised("worker", || other.fetch_add(1, Ordering::SeqCst));
        });
        model::synchronised("outer", || {
            model::synchronised("inner", || shared.fetch_add(1, Ordering::SeqCst));
        });
        let _ = worker.join();
        assert_eq!(shared.load(Ordering::SeqCst), 2);
    });
}

/// Two threads, each changing `shared` in a [`model::synchronised`] operation, many times.
fn honest_increments() {
    model::check(3, 2, 400, || {
        let shared = Arc::new(AtomicU64::new(0));
        let other = Arc::clone(&shared);
        let worker = thread::spawn(move || {
            for _ in 0..5 {
                model::synchronised("worker", || other.fetch_add(1, Ordering::SeqCst));
            }
        });
        for _ in 0..5 {
            model::synchronised("main", || shared.fetch_add(1, Ordering::SeqCst));
        }
        let _ = worker.join();
    });
}

#[test]
fn model_checks_running_at_once_in_one_process_keep_their_counts_apart() {
    // The test harness runs tests on several OS threads, each with its own model executions and
    // the same task ids: one test's points must never count for, or end, another's operations.
    let runs: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(honest_increments))
        .collect();
    for run in runs {
        assert!(
            run.join().is_ok(),
            "an honest model check failed beside others"
        );
    }
}

#[test]
fn outside_a_model_the_types_are_std_and_work_on_real_threads() {
    assert!(!model::active(), "a plain test is not a model execution");
    let counter = Arc::new(AtomicU64::new(0));
    let lock = Arc::new(Mutex::new(0_u64));
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..1_000 {
                    counter.fetch_add(1, Ordering::Relaxed);
                    *lock.lock().unwrap_or_else(PoisonError::into_inner) += 1;
                }
            });
        }
    });
    assert_eq!(counter.load(Ordering::Relaxed), 4_000);
    assert_eq!(*lock.lock().unwrap_or_else(PoisonError::into_inner), 4_000);
}
