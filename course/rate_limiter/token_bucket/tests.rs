//! Stage 3, `token_bucket`: lazy refill in integer arithmetic, bursts, errors, a clock that
//! goes backwards.

use std::time::Duration;

use rate_limiter::{AcquireError, Clock, ManualClock, TokenBucket};

const SECOND: Duration = Duration::from_secs(1);
const NANO: Duration = Duration::from_nanos(1);
const HOUR: Duration = Duration::from_secs(3_600);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Makes `attempts` one-token requests at the current instant; returns how many were allowed.
fn burst<C: Clock>(bucket: &mut TokenBucket<C>, attempts: u64) -> u64 {
    (0..attempts).map(|_| u64::from(bucket.try_acquire())).sum()
}

#[test]
fn manual_clock_can_go_backwards() {
    let clock = ManualClock::new();
    let start = clock.now();
    clock.advance(SECOND);
    clock.rewind(ms(300));
    assert_eq!(
        clock.now().duration_since(start),
        ms(700),
        "advance(1s) then rewind(300ms) should leave the clock 700ms after its start"
    );
    clock.rewind(SECOND);
    assert_eq!(
        start.duration_since(clock.now()),
        ms(300),
        "rewind(1s) from +700ms should leave the clock 300ms before its start"
    );
}

#[test]
fn starts_full_and_allows_a_burst_of_its_capacity() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(5, SECOND, clock.clone());
    let answers: Vec<bool> = (0..7).map(|_| bucket.try_acquire()).collect();
    assert_eq!(
        answers,
        [true, true, true, true, true, false, false],
        "a fresh bucket of capacity 5 starts full: 5 requests at once pass, then none"
    );
}

#[test]
fn refills_one_token_per_interval_exactly() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(3, ms(100), clock.clone());
    assert_eq!(
        burst(&mut bucket, 3),
        3,
        "a fresh bucket of 3 should allow 3"
    );
    clock.advance(ms(100) - NANO);
    assert_eq!(
        burst(&mut bucket, 3),
        0,
        "1ns before one refill interval has passed, a token was handed out"
    );
    clock.advance(NANO);
    assert_eq!(
        burst(&mut bucket, 3),
        1,
        "exactly one refill interval after draining, exactly 1 token should be back"
    );
    clock.advance(ms(250));
    assert_eq!(
        burst(&mut bucket, 3),
        2,
        "250ms later (at 350ms), 2 more tokens (due at 200ms and 300ms) should be back"
    );
    clock.advance(ms(50));
    assert_eq!(
        burst(&mut bucket, 3),
        1,
        "at 400ms the next token is due: the 50ms left over from the previous call must not be \
         lost"
    );
}

#[test]
fn polling_often_loses_no_refill() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(1, SECOND, clock.clone());
    assert!(bucket.try_acquire(), "a fresh bucket of 1 should allow 1");
    for tenth in 1..10 {
        clock.advance(ms(100));
        assert!(
            !bucket.try_acquire(),
            "{tenth}00ms after draining a bucket that refills once per second, a token was \
             handed out"
        );
    }
    clock.advance(ms(100));
    assert!(
        bucket.try_acquire(),
        "after ten polls 100ms apart (1s in total) the token should be back, but was refused: \
         adding 0.1 token ten times in floating point gives 0.9999999999999999, and rounding the \
         earned tokens down at every call while resetting the refill instant loses them all. \
         Count whole intervals and keep the remainder."
    );
}

#[test]
fn refill_does_not_drift_under_steady_polling() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(5, ms(100), clock.clone());
    assert_eq!(
        burst(&mut bucket, 5),
        5,
        "a fresh bucket of 5 should allow 5"
    );
    // One attempt every 7ms for ~10s. The bucket never fills up, so tokens must arrive exactly
    // every 100ms after draining: at 100ms, 200ms, ..., 9900ms (the last poll is at 9996ms).
    let mut allowed = 0;
    for _ in 0..1_428 {
        clock.advance(ms(7));
        allowed += u64::from(bucket.try_acquire());
    }
    assert_eq!(
        allowed, 99,
        "polling every 7ms for 9996ms should collect the 99 tokens due at 100ms, 200ms, ..., \
         9900ms, but got {allowed}: if each token is counted from the poll that took it (or \
         the partial interval is dropped at each refill), the refill drifts later and later"
    );
}

#[test]
fn never_refills_beyond_its_capacity() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(5, SECOND, clock.clone());
    clock.advance(HOUR + ms(500));
    let allowed = burst(&mut bucket, 20);
    assert_eq!(
        allowed, 5,
        "after an idle hour a bucket of capacity 5 should hold exactly 5 tokens, but {allowed} \
         requests at one instant passed"
    );
    clock.advance(ms(500));
    assert_eq!(
        burst(&mut bucket, 5),
        0,
        "0.5s after draining a full bucket (1 token per second), a token was handed out: the \
         time a bucket spends full must not be saved up as a head start"
    );
    clock.advance(ms(500));
    assert_eq!(
        burst(&mut bucket, 5),
        1,
        "1s after draining, exactly 1 token should be back"
    );
}

#[test]
fn a_bucket_refilled_exactly_to_full_saves_no_time() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(3, ms(100), clock.clone());
    assert!(
        bucket.try_acquire(),
        "a fresh bucket of 3 should allow a request"
    );
    // The missing token is back at 100ms; at 150ms the bucket has been full for 50ms.
    clock.advance(ms(150));
    assert_eq!(
        burst(&mut bucket, 5),
        3,
        "150ms after taking 1 of 3 tokens (1 per 100ms) the bucket is full again: 3 should pass"
    );
    clock.advance(ms(50));
    assert_eq!(
        burst(&mut bucket, 5),
        0,
        "50ms after draining a full bucket (1 token per 100ms) a token was handed out: the \
         bucket refilled to exactly full at 100ms, and the 50ms it then spent full must not count \
         towards the next token. Does the case `earned == room` keep the leftover time as if \
         the bucket were still below capacity?"
    );
    clock.advance(ms(50));
    assert_eq!(
        burst(&mut bucket, 5),
        1,
        "100ms after draining, exactly 1 token should be back"
    );
}

#[test]
fn a_refused_request_takes_nothing() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(5, SECOND, clock.clone());
    assert_eq!(
        bucket.try_acquire_n(3),
        Ok(()),
        "3 tokens from a full bucket of 5"
    );
    assert!(
        matches!(
            bucket.try_acquire_n(3),
            Err(AcquireError::RateLimited { .. })
        ),
        "3 tokens when only 2 are left should be refused with RateLimited"
    );
    assert_eq!(
        bucket.try_acquire_n(2),
        Ok(()),
        "after a refused request for 3, the 2 remaining tokens should still be there: a refused \
         request must take nothing"
    );
}

#[test]
fn a_request_larger_than_the_capacity_is_an_error() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(5, SECOND, clock.clone());
    assert_eq!(
        bucket.try_acquire_n(6),
        Err(AcquireError::ExceedsCapacity {
            requested: 6,
            capacity: 5
        }),
        "6 tokens from a bucket that can hold 5 can never succeed: that is ExceedsCapacity, not \
         a wait"
    );
    assert_eq!(
        bucket.try_acquire_n(5),
        Ok(()),
        "after refusing 6, the full bucket should still give 5"
    );
    assert!(
        matches!(
            bucket.try_acquire_n(5),
            Err(AcquireError::RateLimited { .. })
        ),
        "5 tokens from an empty bucket of 5 is a wait (RateLimited), not ExceedsCapacity"
    );
}

#[test]
fn retry_after_is_the_exact_wait() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(4, ms(250), clock.clone());
    assert_eq!(
        bucket.try_acquire_n(4),
        Ok(()),
        "4 tokens from a full bucket"
    );
    clock.advance(ms(100));
    assert_eq!(
        bucket.try_acquire_n(2),
        Err(AcquireError::RateLimited {
            retry_after: ms(400)
        }),
        "100ms after draining (1 token per 250ms), 2 tokens are due at 250ms and 500ms: the \
         wait is 400ms"
    );
    clock.advance(ms(400) - NANO);
    assert_eq!(
        bucket.try_acquire_n(2),
        Err(AcquireError::RateLimited { retry_after: NANO }),
        "1ns before the announced time the request must still be refused, 1ns from success"
    );
    clock.advance(NANO);
    assert_eq!(
        bucket.try_acquire_n(2),
        Ok(()),
        "at exactly the announced retry time the same request must succeed"
    );
}

#[test]
fn a_clock_that_goes_backwards_adds_no_tokens() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(5, SECOND, clock.clone());
    clock.advance(10 * SECOND);
    assert_eq!(
        burst(&mut bucket, 5),
        5,
        "a full bucket of 5 should allow 5"
    );
    clock.rewind(10 * SECOND);
    assert_eq!(
        burst(&mut bucket, 5),
        0,
        "after the clock stepped back 10s, the drained bucket handed out a token: going back in \
         time must earn nothing (did an unsigned subtraction wrap around?)"
    );
    clock.advance(10 * SECOND);
    assert_eq!(
        burst(&mut bucket, 5),
        0,
        "the clock is back where the bucket was drained, yet a token was handed out: the 10s \
         it regained were paid for already (does your refill instant move backwards with the \
         clock?)"
    );
    clock.advance(SECOND);
    assert_eq!(
        burst(&mut bucket, 5),
        1,
        "1s of new time after draining should give back exactly 1 token"
    );
}

#[test]
fn retry_after_counts_the_time_the_clock_is_behind() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(5, SECOND, clock.clone());
    clock.advance(10 * SECOND);
    assert_eq!(
        burst(&mut bucket, 5),
        5,
        "a full bucket of 5 should allow 5"
    );
    clock.rewind(10 * SECOND);
    assert_eq!(
        bucket.try_acquire_n(1),
        Err(AcquireError::RateLimited {
            retry_after: 11 * SECOND
        }),
        "the bucket was drained at +10s and its next token is due at +11s; the clock then stepped \
         back to +0s, so the wait is 11s, not 1s: does retry_after add the time the clock is \
         behind the instant your refill counts from?"
    );
    clock.advance(11 * SECOND - NANO);
    assert_eq!(
        bucket.try_acquire_n(1),
        Err(AcquireError::RateLimited { retry_after: NANO }),
        "1ns before the announced time the request must still be refused, 1ns from success"
    );
    clock.advance(NANO);
    assert_eq!(
        bucket.try_acquire_n(1),
        Ok(()),
        "at exactly the announced retry time the request must succeed"
    );
}

#[test]
fn huge_values_do_not_overflow() {
    let clock = ManualClock::new();
    let mut bucket = TokenBucket::with_clock(u64::MAX, NANO, clock.clone());
    assert_eq!(
        bucket.try_acquire_n(u64::MAX),
        Ok(()),
        "a full bucket of u64::MAX tokens should give them all at once"
    );
    assert_eq!(
        bucket.try_acquire_n(u64::MAX),
        Err(AcquireError::RateLimited {
            retry_after: Duration::from_nanos(u64::MAX)
        }),
        "refilling u64::MAX tokens at 1 per ns takes u64::MAX ns"
    );
    clock.advance(Duration::from_secs(1_000 * 365 * 24 * 3_600));
    assert_eq!(
        bucket.try_acquire_n(u64::MAX),
        Ok(()),
        "after 1000 years at 1 token per ns (more than u64::MAX ns) the bucket should be full \
         again: does the elapsed time or the token count overflow?"
    );
}

#[test]
fn new_uses_the_system_clock() {
    let mut bucket = TokenBucket::new(2, HOUR);
    let answers: Vec<bool> = (0..3).map(|_| bucket.try_acquire()).collect();
    assert_eq!(
        answers,
        [true, true, false],
        "TokenBucket::new(2, 1 hour) should allow 2 requests and refuse the third"
    );
}
