//! Stage 4, `many_keys`: per-key buckets shared by threads, idle keys evicted, and a lock-free
//! bucket.

use std::collections::HashMap;
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use rate_limiter::{AcquireError, AtomicTokenBucket, KeyedLimiter, ManualClock, TokenBucket};

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3_600);
const THREADS: usize = 8;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `attempt` `per_thread` times on each of `THREADS` threads, all released at once by a
/// barrier; returns how many attempts returned true in total.
fn hammer(per_thread: usize, attempt: &(dyn Fn() -> bool + Sync)) -> usize {
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    (0..per_thread).filter(|_| attempt()).count()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a hammering thread panicked"))
            .sum()
    })
}

#[test]
fn each_key_has_its_own_bucket() {
    let clock = ManualClock::new();
    let limiter = KeyedLimiter::with_clock(3, SECOND, clock.clone());
    let alice: Vec<bool> = (0..4).map(|_| limiter.try_acquire(&"alice")).collect();
    assert_eq!(
        alice,
        [true, true, true, false],
        "a new key starts with a full bucket of 3"
    );
    let bob: Vec<bool> = (0..4).map(|_| limiter.try_acquire(&"bob")).collect();
    assert_eq!(
        bob,
        [true, true, true, false],
        "bob's bucket should be full although alice drained hers: one bucket per key"
    );
    clock.advance(SECOND);
    assert!(
        limiter.try_acquire(&"alice"),
        "alice's bucket should have refilled one token after 1s"
    );
    assert_eq!(
        limiter.try_acquire_n(&"carol", 4),
        Err(AcquireError::ExceedsCapacity {
            requested: 4,
            capacity: 3
        }),
        "4 tokens from buckets of 3 is ExceedsCapacity"
    );
    assert_eq!(
        limiter.try_acquire_n(&"bob", 1),
        Ok(()),
        "bob drained his bucket 1s ago at 1 token per second, so 1 token should be back"
    );
    assert_eq!(
        limiter.try_acquire_n(&"bob", 1),
        Err(AcquireError::RateLimited {
            retry_after: SECOND
        }),
        "bob just took his only token: the next one is due in exactly 1s"
    );
}

#[test]
fn threads_hammering_one_key_never_overshoot() {
    let clock = ManualClock::new();
    let limiter = KeyedLimiter::with_clock(12_000, HOUR, clock.clone());
    let allowed = hammer(2_000, &|| limiter.try_acquire(&42_u64));
    assert_eq!(
        allowed, 12_000,
        "{THREADS} threads made 16,000 attempts on one key of capacity 12,000 with the clock \
         frozen; exactly 12,000 should pass but {allowed} did: two threads read the same token \
         count and both spent it (is the read-decide-write done under one lock?)"
    );
}

#[test]
fn a_new_key_gets_one_bucket_under_contention() {
    let clock = ManualClock::new();
    let limiter = KeyedLimiter::with_clock(1, HOUR, clock.clone());
    let barrier = Barrier::new(THREADS);
    // All threads race on each fresh key at the same moment.
    let allowed: usize = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    (0..500_u64)
                        .filter(|key| {
                            barrier.wait();
                            limiter.try_acquire(key)
                        })
                        .count()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("a racing thread panicked"))
            .sum()
    });
    assert_eq!(
        allowed, 500,
        "{THREADS} threads raced on each of 500 new keys of capacity 1; exactly 500 requests \
         should pass but {allowed} did: when two threads both find a key missing, do both create \
         a full bucket (look up and insert under the same lock, or use the entry API)?"
    );
}

#[test]
fn threads_on_many_keys_get_exactly_each_capacity() {
    let clock = ManualClock::new();
    let limiter = KeyedLimiter::with_clock(50, HOUR, clock.clone());
    let barrier = Barrier::new(THREADS);
    let per_key: HashMap<u64, usize> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS as u64)
            .map(|thread| {
                let (limiter, barrier) = (&limiter, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let mut mine = HashMap::new();
                    for attempt in 0..3_000_u64 {
                        let key = (attempt + thread) % 20;
                        if limiter.try_acquire(&key) {
                            *mine.entry(key).or_insert(0) += 1;
                        }
                    }
                    mine
                })
            })
            .collect();
        let mut total = HashMap::new();
        for worker in workers {
            for (key, count) in worker.join().expect("a hammering thread panicked") {
                *total.entry(key).or_insert(0) += count;
            }
        }
        total
    });
    for key in 0..20 {
        let got = per_key.get(&key).copied().unwrap_or(0);
        assert_eq!(
            got, 50,
            "key {key} let {got} requests through, not its capacity of 50, while {THREADS} \
             threads hammered 20 keys"
        );
    }
    assert_eq!(limiter.len(), 20, "20 keys were used, so 20 buckets exist");
}

#[test]
fn refill_under_contention_is_exact() {
    let clock = ManualClock::new();
    let limiter = KeyedLimiter::with_clock(10, ms(10), clock.clone());
    assert_eq!(
        hammer(5, &|| limiter.try_acquire(&"k")),
        10,
        "a full bucket of 10 hammered by {THREADS} threads should give exactly 10"
    );
    for round in 1..=20 {
        clock.advance(ms(30));
        let allowed = hammer(5, &|| limiter.try_acquire(&"k"));
        assert_eq!(
            allowed, 3,
            "round {round}: 30ms at 1 token per 10ms refills exactly 3 tokens, but {THREADS} \
             threads got {allowed}"
        );
    }
}

#[test]
fn evict_idle_forgets_exactly_the_full_buckets() {
    let clock = ManualClock::new();
    let limiter = KeyedLimiter::with_clock(10, SECOND, clock.clone());
    assert_eq!(
        limiter.try_acquire_n(&"drained", 10),
        Ok(()),
        "a new key gives its 10 tokens"
    );
    assert_eq!(
        limiter.try_acquire_n(&"sipped", 1),
        Ok(()),
        "a new key gives 1 token"
    );
    assert_eq!(limiter.len(), 2, "two keys were used");
    clock.advance(5 * SECOND);
    let evicted = limiter.evict_idle();
    assert_eq!(
        (evicted, limiter.len()),
        (1, 1),
        "5s later \"sipped\" is full again (it missed 1 token, back after 1s) and must be \
         evicted, while \"drained\" holds 5 of 10 and must stay: expected (evicted, len) = (1, 1)"
    );
    let allowed = (0..20).filter(|_| limiter.try_acquire(&"drained")).count();
    assert_eq!(
        allowed, 5,
        "\"drained\" held 5 tokens; {allowed} requests passed: was its bucket evicted and \
         recreated full? Forgetting a bucket that is not full lets a client reset its limit"
    );
    clock.advance(10 * SECOND);
    assert_eq!(
        limiter.evict_idle(),
        1,
        "10s later \"drained\" is full again and must be evicted"
    );
    assert!(
        limiter.is_empty(),
        "after evicting every key the limiter should be empty"
    );
}

#[test]
fn memory_stays_bounded_when_idle_keys_are_evicted() {
    let clock = ManualClock::new();
    let limiter = KeyedLimiter::with_clock(2, ms(5), clock.clone());
    // 50,000 one-off clients, 50 per millisecond; each bucket is full again 5ms after its use.
    for client in 0..50_000_u64 {
        assert!(
            limiter.try_acquire(&client),
            "client {client}'s first request was refused"
        );
        if client % 50 == 49 {
            clock.advance(ms(1));
        }
        if client % 1_000 == 999 {
            limiter.evict_idle();
            let held = limiter.len();
            assert!(
                held <= 300,
                "after {} clients and an eviction, {held} buckets are held: only clients of the \
                 last 5ms (about 250) can have a bucket that is not full",
                client + 1
            );
        }
    }
}

#[test]
fn atomic_bucket_decides_like_the_token_bucket() {
    let (clock_a, clock_b) = (ManualClock::new(), ManualClock::new());
    let mut reference = TokenBucket::with_clock(5, ms(100), clock_a.clone());
    let atomic = AtomicTokenBucket::with_clock(5, ms(100), clock_b.clone());
    // A fixed pseudo-random script (a linear congruential generator with a fixed seed).
    let mut state: u64 = 0x5eed;
    for step in 0..2_000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let advance = ms((state >> 33) % 120);
        let n = (state >> 20) % 7;
        clock_a.advance(advance);
        clock_b.advance(advance);
        let expected = reference.try_acquire_n(n);
        let got = atomic.try_acquire_n(n);
        assert_eq!(
            got, expected,
            "step {step}: after advancing {advance:?}, a request for {n} tokens from the atomic \
             bucket gave {got:?} where the token bucket gives {expected:?}: both must make the \
             same decisions (capacity 5, 1 token per 100ms)"
        );
    }
}

#[test]
fn atomic_bucket_never_overshoots_under_contention() {
    let clock = ManualClock::new();
    let bucket = AtomicTokenBucket::with_clock(120_000, HOUR, clock.clone());
    let allowed = hammer(20_000, &|| bucket.try_acquire());
    assert_eq!(
        allowed, 120_000,
        "{THREADS} threads made 160,000 attempts on an atomic bucket of 120,000 with the clock \
         frozen; exactly 120,000 should pass but {allowed} did: a load followed by a separate store \
         lets two threads spend the same token (use compare_exchange and retry on failure)"
    );
}

#[test]
fn atomic_bucket_refill_under_contention_is_exact() {
    let clock = ManualClock::new();
    let bucket = AtomicTokenBucket::with_clock(10, ms(10), clock.clone());
    assert_eq!(
        hammer(5, &|| bucket.try_acquire()),
        10,
        "a full atomic bucket of 10 should give exactly 10"
    );
    for round in 1..=20 {
        clock.advance(ms(30));
        let allowed = hammer(5, &|| bucket.try_acquire());
        assert_eq!(
            allowed, 3,
            "round {round}: 30ms at 1 token per 10ms refills exactly 3, but {allowed} passed"
        );
    }
    assert_eq!(bucket.capacity(), 10, "capacity() should report 10");
}

#[test]
fn limiters_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>(value: T) -> T {
        value
    }
    let keyed = shareable(KeyedLimiter::<String>::new(1, HOUR));
    let atomic = shareable(AtomicTokenBucket::new(1, HOUR));
    assert!(
        keyed.try_acquire(&"k".to_string()),
        "KeyedLimiter::new on the system clock should allow a first request"
    );
    assert!(
        atomic.try_acquire(),
        "AtomicTokenBucket::new on the system clock should allow a first request"
    );
    assert!(
        !atomic.try_acquire(),
        "an atomic bucket of 1 allowed a second request within the hour"
    );
}
