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

#[test]
#[should_panic(expected = "without any lock or atomic from `katas_sync`")]
fn an_operation_synchronised_only_through_std_is_reported() {
    model::check(1, 2, 1, || {
        let hidden = StdCounter::new(0);
        model::synchronised("bump", || {
            hidden.fetch_add(1, Ordering::SeqCst);
        });
    });
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
