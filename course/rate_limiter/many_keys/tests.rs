//! Stage 4, `many_keys`: per-key buckets shared by threads, idle keys evicted, and a lock-free
//! bucket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use katas_sync::model;
use rate_limiter::{
    AcquireError, AtomicTokenBucket, Clock, KeyedLimiter, ManualClock, TokenBucket,
};

const SECOND: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3_600);
const THREADS: usize = 8;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

type Hook = Box<dyn FnOnce() + Send>;

/// A clock that stands still and lets a test act *inside* a read of it: after
/// `arm(n, hook)`, the `n`-th read from then on first runs `hook` on the reading thread. Every
/// read is counted, so a hook can also wait until another thread reaches the clock. This is how
/// the tests below put a second decision exactly in the middle of a first one, every run, instead
/// of hoping that threads happen to interleave that way.
#[derive(Clone)]
struct HookClock {
    time: ManualClock,
    hook: Arc<Mutex<Option<(u64, Hook)>>>,
    reads: Arc<(Mutex<u64>, Condvar)>,
}

impl HookClock {
    fn new() -> Self {
        Self {
            time: ManualClock::new(),
            hook: Arc::new(Mutex::new(None)),
            reads: Arc::new((Mutex::new(0), Condvar::new())),
        }
    }

    /// Runs `hook` at the `nth` read from now (1 = the next one).
    fn arm(&self, nth: u64, hook: impl FnOnce() + Send + 'static) {
        let at = self.reads() + nth;
        *self.hook.lock().unwrap_or_else(PoisonError::into_inner) = Some((at, Box::new(hook)));
    }

    fn reads(&self) -> u64 {
        *self.reads.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the clock has been read more than `seen` times, for at most `patience`.
    fn read_again_within(&self, seen: u64, patience: Duration) -> bool {
        let (count, changed) = &*self.reads;
        let count = count.lock().unwrap_or_else(PoisonError::into_inner);
        let (count, _) = changed
            .wait_timeout_while(count, patience, |count| *count <= seen)
            .unwrap_or_else(PoisonError::into_inner);
        *count > seen
    }
}

impl Clock for HookClock {
    fn now(&self) -> Instant {
        let read = {
            let (count, changed) = &*self.reads;
            let mut count = count.lock().unwrap_or_else(PoisonError::into_inner);
            *count += 1;
            changed.notify_all();
            *count
        };
        let due = {
            let mut hook = self.hook.lock().unwrap_or_else(PoisonError::into_inner);
            match hook.take() {
                Some((at, hook)) if at == read => Some(hook),
                other => {
                    *hook = other;
                    None
                }
            }
        };
        if let Some(hook) = due {
            hook();
        }
        self.time.now()
    }
}

/// Runs `first` on this thread and, the moment `first` reads the clock, starts `second` on
/// another thread and lets it run to the end before `first` goes on. If `second` cannot even
/// reach the clock within half a second, it is waiting for a lock `first` holds (which is
/// right): `first` then goes on and `second` finishes after it. Returns both answers.
fn second_inside_first(
    clock: &HookClock,
    first: impl FnOnce() -> bool,
    second: impl FnOnce() -> bool + Send + 'static,
) -> (bool, bool) {
    let handle: Arc<Mutex<Option<JoinHandle<bool>>>> = Arc::new(Mutex::new(None));
    let (slot, hooked) = (Arc::clone(&handle), clock.clone());
    clock.arm(1, move || {
        let seen = hooked.reads();
        let (done, finished) = mpsc::channel();
        let worker = thread::spawn(move || {
            let answer = second();
            let _ = done.send(());
            answer
        });
        if hooked.read_again_within(seen, ms(500)) {
            // `second` got to the clock, so nothing `first` holds stops it: let it finish.
            let _ = finished.recv_timeout(Duration::from_secs(10));
        }
        *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(worker);
    });
    let first = first();
    let worker = handle
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .expect("the first decision never read the clock");
    (first, worker.join().expect("the second decision panicked"))
}

/// A clock without a lock, for hammering: a fixed base plus an atomic offset.
#[derive(Clone)]
struct FastClock {
    base: Instant,
    offset: Arc<AtomicU64>,
}

impl FastClock {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            offset: Arc::new(AtomicU64::new(0)),
        }
    }

    fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).expect("a short advance");
        self.offset.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for FastClock {
    fn now(&self) -> Instant {
        self.base + Duration::from_nanos(self.offset.load(Ordering::SeqCst))
    }
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
fn a_thread_stopped_while_creating_a_key_does_not_get_a_second_bucket() {
    let clock = HookClock::new();
    let limiter = Arc::new(KeyedLimiter::with_clock(1, HOUR, clock.clone()));
    let other = Arc::clone(&limiter);
    let (first, second) = second_inside_first(
        &clock,
        || limiter.try_acquire(&"new"),
        move || other.try_acquire(&"new"),
    );
    assert!(
        !(first && second),
        "a first request for a new key of capacity 1 was stopped at its first clock read (while \
         creating the key's bucket) and a second request for the same key ran to the end in the \
         meantime: both were allowed. Two buckets were created for one key: is the key looked up \
         under one lock and inserted under another? Look up and insert under the same lock (the \
         entry API)"
    );
    assert!(
        first || second,
        "neither of two requests for a new key of capacity 1 was allowed"
    );
    assert_eq!(
        limiter.len(),
        1,
        "one key was used, so one bucket should exist"
    );
}

#[test]
fn a_thread_stopped_while_deciding_does_not_lose_the_bucket() {
    let clock = HookClock::new();
    let limiter = Arc::new(KeyedLimiter::with_clock(2, HOUR, clock.clone()));
    assert!(
        limiter.try_acquire(&"k"),
        "a new key of capacity 2 gives its first token"
    );
    let other = Arc::clone(&limiter);
    let (first, second) = second_inside_first(
        &clock,
        || limiter.try_acquire(&"k"),
        move || other.try_acquire(&"k"),
    );
    assert_eq!(
        u8::from(first) + u8::from(second),
        1,
        "a key of capacity 2 had 1 token left; a request was stopped at its clock read and a \
         second one ran to the end in the meantime: exactly one may pass, but first = {first}, \
         second = {second}. Is the bucket read (or taken out of the map) under the lock and \
         written back after it was released?"
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
fn atomic_bucket_refuses_nothing_it_can_give_under_contention() {
    const PER_THREAD: usize = 25_000;
    let capacity = (THREADS * PER_THREAD) as u64;
    let clock = FastClock::new();
    let bucket = AtomicTokenBucket::with_clock(capacity, Duration::from_micros(1), clock.clone());
    // Twenty rounds, each on a bucket refilled to full: exactly as many attempts as tokens, so
    // every attempt must succeed.
    for round in 1..=20 {
        let allowed = hammer(PER_THREAD, &|| bucket.try_acquire());
        assert_eq!(
            allowed as u64, capacity,
            "round {round}: {THREADS} threads made {capacity} attempts on a full atomic bucket of \
             {capacity} (frozen clock) and only {allowed} passed: every token must go to \
             someone. When compare_exchange fails because another thread got there first, is \
             the request refused instead of retried with the value the CAS returned?"
        );
        clock.advance(Duration::from_micros(capacity));
    }
}

/// A clock that moves 1ns forward at every read, so that under contention every decision has
/// a refill to make.
#[derive(Clone)]
struct TickingClock {
    base: Instant,
    reads: Arc<AtomicU64>,
}

impl TickingClock {
    fn new() -> Self {
        Self {
            base: Instant::now(),
            reads: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How far the clock has moved since it was made.
    fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.reads.load(Ordering::SeqCst))
    }
}

impl Clock for TickingClock {
    fn now(&self) -> Instant {
        self.base + Duration::from_nanos(self.reads.fetch_add(1, Ordering::SeqCst) + 1)
    }
}

#[test]
fn atomic_bucket_never_refills_twice_under_contention() {
    const INTERVAL: u64 = 4;
    const CAPACITY: u64 = 10;
    let clock = TickingClock::new();
    let bucket =
        AtomicTokenBucket::with_clock(CAPACITY, Duration::from_nanos(INTERVAL), clock.clone());
    // Demand (one token per decision) far above supply (one token per 4 clock reads): the bucket
    // is almost always refilling, and every pair of threads deciding at once has the same refill
    // in front of it.
    let allowed = hammer(250_000, &|| bucket.try_acquire()) as u64;
    let elapsed = clock.elapsed();
    let most = CAPACITY + elapsed.as_nanos() as u64 / INTERVAL;
    assert!(
        allowed <= most,
        "{THREADS} threads hammered an atomic bucket of {CAPACITY} refilled every {INTERVAL}ns on a \
         clock that moved {elapsed:?} in all: at most {CAPACITY} + {elapsed:?} / {INTERVAL}ns = \
         {most} tokens exist, but {allowed} requests passed. If the refill updates two atomics \
         (the tokens and the refill instant) one after the other, two threads can both add the \
         same refill. Keep the whole state in one word and change it with one compare-and-swap"
    );
}

#[test]
fn atomic_bucket_survives_a_decision_inside_another() {
    // A second decision runs inside the first one's clock read: first at its first read, then at
    // its second, its third. Whatever the point, the two together must decide like two decisions
    // one after the other.
    for nth in 1..=3 {
        for capacity in [1, 2] {
            let clock = HookClock::new();
            let bucket = Arc::new(AtomicTokenBucket::with_clock(capacity, HOUR, clock.clone()));
            let inner_answer = Arc::new(Mutex::new(None));
            let (inner, answer) = (Arc::clone(&bucket), Arc::clone(&inner_answer));
            clock.arm(nth, move || {
                *answer.lock().unwrap_or_else(PoisonError::into_inner) = Some(inner.try_acquire());
            });
            let outer = bucket.try_acquire();
            let Some(inner) = *inner_answer.lock().unwrap_or_else(PoisonError::into_inner) else {
                // The decision read the clock fewer than `nth` times.
                continue;
            };
            let allowed = u64::from(outer) + u64::from(inner);
            assert_eq!(
                allowed, capacity,
                "an atomic bucket of capacity {capacity} (frozen clock) got a second decision \
                 in the middle of a first one (inside its clock read number {nth}): together they \
                 got {allowed} tokens instead of {capacity} (outer {outer}, inner {inner}). \
                 Does the decision read the state, then store or compare-and-swap it without \
                 retrying on the value another thread installed meanwhile?"
            );
        }
    }
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

// Model-checked tests. Each runs a few threads under `katas_sync`'s model checker: the threads run
// one at a time, and at every lock, unlock and atomic access of `katas_sync` a scheduler driven by
// a fixed seed decides which one goes on. Every run explores the same schedules, hundreds of them,
// each a different interleaving of the same few decisions: a race that real threads hit once in a
// million runs is in there every time, so these tests fail (or pass) the same way on every run.
// The limiters must be created inside the model (they are, below) and must synchronise through
// `katas_sync`, which the model checker sees, not `std::sync`, which it cannot.

/// The seed of every model-checked schedule in this file.
const MODEL_SEED: u64 = 0x6b61_7461_735f_6d6b;
/// PCT's depth: up to two forced preemptions per run, enough for every race of two decisions.
const MODEL_DEPTH: usize = 3;
/// Schedules explored per test.
const MODEL_RUNS: usize = 1_000;

/// A named decision to run on its own model thread: whether it was allowed.
type Decision = (&'static str, Box<dyn FnOnce() -> bool + Send>);

/// Runs `decisions` (each returns whether it was allowed) on as many model threads at once and
/// returns how many were allowed. Each decision must pass through `katas_sync` (see
/// `katas_sync::model::synchronised`): one that does not synchronises where the model checker
/// cannot see it, and fails with a message that says what to import.
fn allowed_in_model(decisions: Vec<Decision>) -> usize {
    let workers: Vec<_> = decisions
        .into_iter()
        .map(|(name, decide)| model::thread::spawn(move || model::synchronised(name, decide)))
        .collect();
    workers
        .into_iter()
        .map(|worker| worker.join().expect("a model thread panicked"))
        .filter(|allowed| *allowed)
        .count()
}

/// `threads` decisions of one token each on `bucket`, all at once in the model.
fn atomic_decisions(bucket: &Arc<AtomicTokenBucket<ManualClock>>, threads: usize) -> Vec<Decision> {
    (0..threads)
        .map(|_| {
            let bucket = Arc::clone(bucket);
            let decide: Box<dyn FnOnce() -> bool + Send> = Box::new(move || bucket.try_acquire());
            ("AtomicTokenBucket::try_acquire", decide)
        })
        .collect()
}

#[test]
fn model_atomic_bucket_never_gives_one_token_twice() {
    model::check(MODEL_SEED, MODEL_DEPTH, MODEL_RUNS, || {
        let bucket = Arc::new(AtomicTokenBucket::with_clock(1, HOUR, ManualClock::new()));
        let allowed = allowed_in_model(atomic_decisions(&bucket, 2));
        assert_eq!(
            allowed, 1,
            "two threads each asked an atomic bucket holding 1 token (frozen clock) for it, and \
             {allowed} got it, in one of the schedules the model checker tried: both read the \
             state before either wrote it. Does the decision load the state and then store the \
             new one? Between the two, another thread can decide from the same state: install \
             the new state with compare_exchange, which fails if the state changed"
        );
    });
}

#[test]
fn model_atomic_bucket_refuses_nothing_it_can_give() {
    model::check(MODEL_SEED, MODEL_DEPTH, MODEL_RUNS, || {
        let bucket = Arc::new(AtomicTokenBucket::with_clock(2, HOUR, ManualClock::new()));
        let allowed = allowed_in_model(atomic_decisions(&bucket, 2));
        assert_eq!(
            allowed, 2,
            "two threads each asked an atomic bucket holding 2 tokens (frozen clock) for one, \
             and only {allowed} got one, in one of the schedules the model checker tried. When a \
             compare-and-swap fails, another thread changed the state first, not necessarily by \
             taking the last token: is the request refused instead of decided again from the \
             value the failed compare_exchange returned?"
        );
    });
}

#[test]
fn model_atomic_bucket_adds_one_refill_once() {
    model::check(MODEL_SEED, MODEL_DEPTH, MODEL_RUNS, || {
        let clock = ManualClock::new();
        let bucket = Arc::new(AtomicTokenBucket::with_clock(2, SECOND, clock.clone()));
        assert_eq!(
            bucket.try_acquire_n(2),
            Ok(()),
            "a new atomic bucket of 2 gives its 2 tokens"
        );
        clock.advance(SECOND);
        let allowed = allowed_in_model(atomic_decisions(&bucket, 2));
        assert_eq!(
            allowed, 1,
            "an atomic bucket of 2 (1 token per second) was drained, then 1s passed: 1 token \
             came back, and two threads asking for one at once got {allowed}, in one of the \
             schedules the model checker tried. Did both add the same refill? A refill that \
             updates two atomics one after the other (the tokens and the refill instant) lets a \
             second thread see half of it. Keep the whole state in one word, changed by one \
             compare-and-swap"
        );
    });
}

#[test]
fn model_keyed_limiter_decides_one_key_like_one_bucket() {
    model::check(MODEL_SEED, MODEL_DEPTH, MODEL_RUNS, || {
        // A new key of capacity 1, then a known key with 1 token left: two threads at once.
        for warm in [false, true] {
            let limiter = Arc::new(KeyedLimiter::with_clock(
                1 + u64::from(warm),
                HOUR,
                ManualClock::new(),
            ));
            if warm {
                assert!(
                    limiter.try_acquire(&"k"),
                    "a new key of capacity 2 gives a token"
                );
            }
            let decisions = (0..2)
                .map(|_| {
                    let limiter = Arc::clone(&limiter);
                    let decide: Box<dyn FnOnce() -> bool + Send> =
                        Box::new(move || limiter.try_acquire(&"k"));
                    ("KeyedLimiter::try_acquire", decide)
                })
                .collect();
            let allowed = allowed_in_model(decisions);
            let state = if warm {
                "a known key with 1 token left"
            } else {
                "a new key of capacity 1"
            };
            assert_eq!(
                allowed, 1,
                "two threads asked {state} for a token at once and {allowed} got one, in one of \
                 the schedules the model checker tried: exactly one may. Are the lookup, the \
                 decision and the write-back (or the insertion of a new bucket) all under one \
                 lock?"
            );
            assert_eq!(
                limiter.len(),
                1,
                "one key was used, so one bucket should exist"
            );
        }
    });
}
