//! Stage 2, `sliding_window`: a sliding log and a sliding counter.

use std::time::Duration;

use rate_limiter::{Clock, ManualClock, SlidingCounter, SlidingLog};

const SECOND: Duration = Duration::from_secs(1);
const NANO: Duration = Duration::from_nanos(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Makes `attempts` requests at the log's current instant; returns how many were allowed.
fn log_burst<C: Clock>(log: &mut SlidingLog<C>, attempts: u64) -> u64 {
    (0..attempts).map(|_| u64::from(log.try_acquire())).sum()
}

/// Makes `attempts` requests at the counter's current instant; returns how many were allowed.
fn counter_burst<C: Clock>(counter: &mut SlidingCounter<C>, attempts: u64) -> u64 {
    (0..attempts)
        .map(|_| u64::from(counter.try_acquire()))
        .sum()
}

#[test]
fn sliding_log_allows_the_limit_within_any_window() {
    let clock = ManualClock::new();
    let mut log = SlidingLog::with_clock(3, SECOND, clock.clone());
    // (advance by, attempts, expected allowed, why)
    let script = [
        (ms(0), 1, 1, "t=0: the log is empty"),
        (ms(400), 1, 1, "t=0.4s: 1 request in the last second"),
        (ms(400), 1, 1, "t=0.8s: 2 requests in the last second"),
        (
            ms(100),
            5,
            0,
            "t=0.9s: 3 requests (t=0, 0.4, 0.8) in the last second",
        ),
        (
            ms(100),
            5,
            1,
            "t=1.0s: the request of t=0 has just left the window",
        ),
        (
            ms(300),
            5,
            0,
            "t=1.3s: requests at 0.4, 0.8 and 1.0 are inside",
        ),
        (ms(100), 5, 1, "t=1.4s: the request of t=0.4 has just left"),
    ];
    for (step, (by, attempts, expected, why)) in script.into_iter().enumerate() {
        clock.advance(by);
        let allowed = log_burst(&mut log, attempts);
        assert_eq!(
            allowed, expected,
            "step {step} ({why}): {attempts} attempts under a limit of 3 per sliding second \
             should allow {expected}, but {allowed} were allowed"
        );
    }
}

#[test]
fn sliding_log_forgets_a_request_exactly_one_window_later() {
    let clock = ManualClock::new();
    let mut log = SlidingLog::with_clock(1, SECOND, clock.clone());
    assert!(
        log.try_acquire(),
        "a fresh log of limit 1 refused its first request"
    );
    clock.advance(SECOND - NANO);
    assert!(
        !log.try_acquire(),
        "1ns less than a window after the first request, a second one was allowed: the first \
         still counts until exactly one window has passed"
    );
    clock.advance(NANO);
    assert!(
        log.try_acquire(),
        "exactly one window after the first request, a new one was refused: a request allowed at \
         s stops counting at s + window (it counts while now - s < window; is your comparison \
         <= instead of <?)"
    );
}

#[test]
fn sliding_log_windows_need_not_be_whole_milliseconds() {
    let clock = ManualClock::new();
    let window = Duration::from_micros(2_500);
    let mut log = SlidingLog::with_clock(1, window, clock.clone());
    assert!(
        log.try_acquire(),
        "a fresh log of limit 1 refused its first request"
    );
    clock.advance(window - NANO);
    assert!(
        !log.try_acquire(),
        "with a window of 2.5ms, a second request 2.499999ms after the first was allowed: the \
         first still counts until exactly 2.5ms have passed. Do you compare the age of a request \
         with the window in whole milliseconds? Compare Durations (or whole nanoseconds)"
    );
    clock.advance(NANO);
    assert!(
        log.try_acquire(),
        "with a window of 2.5ms, a request exactly 2.5ms after the first was refused"
    );
}

#[test]
fn sliding_log_has_no_boundary_burst() {
    let clock = ManualClock::new();
    let mut log = SlidingLog::with_clock(10, SECOND, clock.clone());
    clock.advance(ms(999));
    assert_eq!(
        log_burst(&mut log, 10),
        10,
        "10 attempts at t=0.999s should all pass"
    );
    clock.advance(ms(1));
    let allowed = log_burst(&mut log, 10);
    assert_eq!(
        allowed, 0,
        "at t=1s, {allowed} more requests passed although 10 passed 1ms ago: a sliding log \
         counts the last second, whatever the window boundaries"
    );
    clock.advance(ms(998));
    assert_eq!(
        log_burst(&mut log, 10),
        0,
        "at t=1.998s the 10 requests of t=0.999s are less than 1s old and still count"
    );
    clock.advance(ms(1));
    assert_eq!(
        log_burst(&mut log, 10),
        10,
        "at t=1.999s the 10 requests of t=0.999s are exactly 1s old and no longer count"
    );
}

#[test]
fn sliding_log_does_not_remember_refused_requests() {
    let clock = ManualClock::new();
    let mut log = SlidingLog::with_clock(2, SECOND, clock.clone());
    assert_eq!(
        log_burst(&mut log, 2),
        2,
        "a fresh log of limit 2 should allow 2"
    );
    clock.advance(ms(500));
    assert_eq!(
        log_burst(&mut log, 100),
        0,
        "at t=0.5s the limit is used up"
    );
    clock.advance(ms(500));
    let allowed = log_burst(&mut log, 5);
    assert_eq!(
        allowed, 2,
        "at t=1s the 2 allowed requests of t=0 have left the window, so 2 should pass, but \
         {allowed} did: are refused requests (t=0.5s) stored in the log and counted?"
    );
}

#[test]
fn sliding_log_memory_is_bounded_by_the_limit() {
    let clock = ManualClock::new();
    let mut log = SlidingLog::with_clock(50, SECOND, clock.clone());
    assert!(log.is_empty(), "a fresh log should hold no timestamps");
    let mut allowed = 0;
    // 20 seconds of traffic, 5 attempts every millisecond: 100,000 attempts.
    for step in 0..20_000 {
        allowed += log_burst(&mut log, 5);
        let held = log.len();
        assert!(
            held <= 50,
            "after {step}ms of heavy traffic the log holds {held} timestamps, more than the limit \
             of 50: memory must stay bounded whatever the traffic (does it keep refused requests, \
             or never drop expired ones?)"
        );
        clock.advance(ms(1));
    }
    assert_eq!(
        allowed, 1_000,
        "over 20s under a limit of 50 per sliding second, with attempts every millisecond, \
         exactly 20 x 50 = 1000 requests should pass, but {allowed} did"
    );
}

#[test]
fn sliding_counter_counts_the_current_window() {
    let clock = ManualClock::new();
    let mut counter = SlidingCounter::with_clock(4, SECOND, clock.clone());
    clock.advance(ms(500));
    let answers: Vec<bool> = (0..6).map(|_| counter.try_acquire()).collect();
    assert_eq!(
        answers,
        [true, true, true, true, false, false],
        "in the first window (no previous window yet) a limit of 4 should allow exactly 4"
    );
}

#[test]
fn sliding_counter_weights_the_previous_window() {
    let clock = ManualClock::new();
    let mut counter = SlidingCounter::with_clock(10, SECOND, clock.clone());
    clock.advance(ms(200));
    assert_eq!(
        counter_burst(&mut counter, 10),
        10,
        "a fresh counter of 10 should allow 10"
    );
    clock.advance(ms(1_300));
    let allowed = counter_burst(&mut counter, 20);
    assert_eq!(
        allowed, 5,
        "at t=1.5s the previous window (10 requests) weighs (1 - 0.5) x 10 = 5, so exactly 5 \
         more requests fit under 10 (allowed while current + weighted < limit), but {allowed} \
         were allowed"
    );
}

#[test]
fn sliding_counter_does_not_round_the_weight_up() {
    let clock = ManualClock::new();
    let mut counter = SlidingCounter::with_clock(10, SECOND, clock.clone());
    assert_eq!(
        counter_burst(&mut counter, 10),
        10,
        "a fresh counter of 10 should allow 10"
    );
    clock.advance(ms(1_250));
    let allowed = counter_burst(&mut counter, 20);
    assert_eq!(
        allowed, 3,
        "at t=1.25s the previous window weighs 0.75 x 10 = 7.5; requests pass while \
         current + 7.5 < 10, i.e. for current = 0, 1, 2: 3 requests, but {allowed} were allowed \
         (rounding 7.5 up to 8 gives 2)"
    );
    clock.advance(ms(500));
    let allowed = counter_burst(&mut counter, 20);
    assert_eq!(
        allowed, 5,
        "at t=1.75s the previous window weighs 0.25 x 10 = 2.5 and the current one holds 3: \
         requests pass while current + 2.5 < 10, up to current = 7, so 5 more, but {allowed} \
         were allowed"
    );
}

#[test]
fn sliding_counter_weighs_the_previous_window_to_the_nanosecond() {
    let clock = ManualClock::new();
    let mut counter = SlidingCounter::with_clock(10, SECOND, clock.clone());
    assert_eq!(
        counter_burst(&mut counter, 10),
        10,
        "a fresh counter of 10 should allow 10"
    );
    clock.advance(ms(1_500) + NANO);
    let allowed = counter_burst(&mut counter, 20);
    assert_eq!(
        allowed, 6,
        "at t=1.500000001s the previous window weighs 10 x 0.499999999 = 4.99999999, so requests \
         pass while current + 4.99999999 < 10, i.e. for current = 0..=5: 6 requests, but \
         {allowed} were allowed. Is the time into the window rounded to milliseconds (or \
         microseconds) before it is weighed? Weigh with whole nanoseconds"
    );
}

#[test]
fn sliding_counter_windows_need_not_be_whole_milliseconds() {
    let clock = ManualClock::new();
    let window = Duration::from_micros(2_500);
    let mut counter = SlidingCounter::with_clock(4, window, clock.clone());
    assert_eq!(
        counter_burst(&mut counter, 4),
        4,
        "a fresh counter of 4 should allow 4"
    );
    clock.advance(Duration::from_micros(3_125));
    let allowed = counter_burst(&mut counter, 10);
    assert_eq!(
        allowed, 1,
        "with windows of 2.5ms, t=3.125ms is 0.625ms (a quarter) into window 1: window 0's 4 \
         requests weigh 4 x 0.75 = 3, so 1 request fits under 4, but {allowed} passed. Are your \
         windows (or the time into them) computed in whole milliseconds?"
    );
    clock.advance(Duration::from_micros(1_875));
    let allowed = counter_burst(&mut counter, 10);
    assert_eq!(
        allowed, 3,
        "at t=5ms window 2 begins and window 1's single request weighs fully, so 3 fit under 4, \
         but {allowed} passed"
    );
}

#[test]
fn sliding_counter_has_no_boundary_burst() {
    let clock = ManualClock::new();
    let mut counter = SlidingCounter::with_clock(10, SECOND, clock.clone());
    clock.advance(ms(999));
    assert_eq!(
        counter_burst(&mut counter, 10),
        10,
        "10 attempts at t=0.999s should all pass"
    );
    clock.advance(ms(1));
    let allowed = counter_burst(&mut counter, 10);
    assert_eq!(
        allowed, 0,
        "at t=1s (the start of window 1) the previous window weighs fully, 10, so nothing fits, \
         but {allowed} requests passed: the boundary burst is back"
    );
}

#[test]
fn sliding_counter_forgets_a_window_that_is_not_the_previous_one() {
    let clock = ManualClock::new();
    let mut counter = SlidingCounter::with_clock(10, SECOND, clock.clone());
    assert_eq!(
        counter_burst(&mut counter, 10),
        10,
        "a fresh counter of 10 should allow 10"
    );
    clock.advance(ms(2_100));
    let allowed = counter_burst(&mut counter, 20);
    assert_eq!(
        allowed, 10,
        "at t=2.1s the previous window is window 1, which saw no requests, so 10 should pass, but \
         {allowed} did: after a gap of more than one window, is window 0's count still treated as \
         the previous window's?"
    );
}

#[test]
fn sliding_counter_does_not_count_refused_requests() {
    let clock = ManualClock::new();
    let mut counter = SlidingCounter::with_clock(10, SECOND, clock.clone());
    clock.advance(ms(500));
    assert_eq!(
        counter_burst(&mut counter, 100),
        10,
        "100 attempts under a limit of 10 should let exactly 10 through"
    );
    clock.advance(SECOND);
    let allowed = counter_burst(&mut counter, 20);
    assert_eq!(
        allowed, 5,
        "at t=1.5s the previous window allowed 10 (and refused 90), so it weighs 0.5 x 10 = 5 and \
         5 more fit, but {allowed} did: are refused requests counted?"
    );
}
