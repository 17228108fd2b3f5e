//! Stage 1, `fixed_window`: an injected clock and a fixed-window limiter.

use std::thread;
use std::time::{Duration, Instant};

use rate_limiter::{Clock, FixedWindow, ManualClock, SystemClock};

const SECOND: Duration = Duration::from_secs(1);
const NANO: Duration = Duration::from_nanos(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Makes `attempts` requests at the clock's current instant; returns how many were allowed.
fn burst<C: Clock>(limiter: &mut FixedWindow<C>, attempts: u64) -> u64 {
    let mut allowed = 0;
    for _ in 0..attempts {
        if limiter.try_acquire() {
            allowed += 1;
        }
    }
    allowed
}

#[test]
fn system_clock_reads_the_machine_clock() {
    let before = Instant::now();
    let now = SystemClock.now();
    let after = Instant::now();
    assert!(
        before <= now && now <= after,
        "SystemClock::now() returned {now:?}, outside [{before:?}, {after:?}] read around it: \
         it should return Instant::now()"
    );
}

#[test]
fn manual_clock_stands_still_until_advanced() {
    let clock = ManualClock::new();
    let start = clock.now();
    let again = clock.now();
    assert_eq!(
        again, start,
        "two reads of a ManualClock nobody advanced differ: it must not move by itself"
    );
    clock.advance(ms(250));
    assert_eq!(
        clock.now().duration_since(start),
        ms(250),
        "after advance(250ms) the clock should read exactly 250ms later than before"
    );
    clock.advance(ms(750));
    assert_eq!(
        clock.now().duration_since(start),
        SECOND,
        "after advance(250ms) then advance(750ms) the clock should read 1s later: \
         does advance add to the current time or replace it?"
    );
}

#[test]
fn manual_clock_clones_share_one_time() {
    let clock = ManualClock::new();
    let clone = clock.clone();
    let start = clone.now();
    clock.advance(SECOND);
    assert_eq!(
        clone.now().duration_since(start),
        SECOND,
        "advancing a ManualClock did not move its clone: clones must share one time \
         (a limiter owns one clone, the test advances another)"
    );
    clone.advance(SECOND);
    assert_eq!(
        clock.now().duration_since(start),
        2 * SECOND,
        "advancing the clone did not move the original: the sharing must go both ways"
    );
}

#[test]
fn manual_clock_can_be_shared_between_threads() {
    fn shareable<T: Clone + Send + Sync + 'static>(value: T) -> T {
        value
    }
    let clock = shareable(ManualClock::new());
    let start = clock.now();
    let remote = clock.clone();
    thread::spawn(move || remote.advance(ms(40)))
        .join()
        .expect("the thread advancing the clock panicked");
    assert_eq!(
        clock.now().duration_since(start),
        ms(40),
        "a clone advanced on another thread did not move this clone"
    );
}

#[test]
fn allows_exactly_the_limit_in_one_window() {
    let clock = ManualClock::new();
    let mut limiter = FixedWindow::with_clock(3, SECOND, clock.clone());
    let answers: Vec<bool> = (0..6).map(|_| limiter.try_acquire()).collect();
    assert_eq!(
        answers,
        [true, true, true, false, false, false],
        "with a limit of 3 per window, the first 3 requests of a window should be allowed and \
         every later one refused"
    );
    clock.advance(ms(500));
    assert_eq!(
        burst(&mut limiter, 10),
        0,
        "500ms into the 1s window the limit is still used up, yet a request was allowed"
    );
}

#[test]
fn a_new_window_starts_exactly_at_the_boundary() {
    let clock = ManualClock::new();
    let mut limiter = FixedWindow::with_clock(2, SECOND, clock.clone());
    assert_eq!(
        burst(&mut limiter, 2),
        2,
        "a fresh limiter of 2 should allow 2"
    );
    clock.advance(SECOND - NANO);
    assert_eq!(
        burst(&mut limiter, 5),
        0,
        "1ns before the end of the first window a request was allowed: window 0 covers \
         [t0, t0 + 1s), so it is still used up (is your comparison off by one?)"
    );
    clock.advance(NANO);
    assert_eq!(
        burst(&mut limiter, 5),
        2,
        "at exactly t0 + 1s the second window begins and should allow exactly 2: windows are \
         half-open, [t0 + 1s, t0 + 2s)"
    );
}

#[test]
fn windows_are_aligned_on_creation_not_on_the_first_request() {
    let clock = ManualClock::new();
    let mut limiter = FixedWindow::with_clock(2, SECOND, clock.clone());
    clock.advance(ms(600));
    assert_eq!(
        burst(&mut limiter, 5),
        2,
        "600ms after creation, the first window should allow 2"
    );
    clock.advance(ms(500));
    let allowed = burst(&mut limiter, 5);
    assert_eq!(
        allowed, 2,
        "at t0 + 1.1s the window [t0 + 1s, t0 + 2s) has begun and should allow 2, but {allowed} \
         got through: are your windows aligned on the first request (t0 + 0.6s) instead of on \
         the creation of the limiter (t0)?"
    );
    clock.advance(ms(900));
    let allowed = burst(&mut limiter, 5);
    assert_eq!(
        allowed, 2,
        "at t0 + 2s the window [t0 + 2s, t0 + 3s) begins and should allow 2, but {allowed} got \
         through: does your window restart at the first request after it expired (t0 + 1.1s) \
         instead of staying on the grid t0 + k * window?"
    );
}

#[test]
fn windows_need_not_be_a_whole_number_of_seconds() {
    // 1.5s, 100ms (0.1 has no exact binary fraction) and 2.5ms, each over 30 boundaries.
    for window in [ms(1_500), ms(100), Duration::from_micros(2_500)] {
        let clock = ManualClock::new();
        let mut limiter = FixedWindow::with_clock(1, window, clock.clone());
        assert!(
            limiter.try_acquire(),
            "a fresh limiter of 1 per {window:?} refused its first request"
        );
        for k in 1..=30_u32 {
            clock.advance(window - NANO);
            assert!(
                !limiter.try_acquire(),
                "with a window of {window:?}, 1ns before boundary {k} (t0 + {:?}) a second \
                 request of window {} was allowed: do you compute the window index in whole \
                 seconds or milliseconds, or in floating point? Count whole nanoseconds",
                window * k - NANO,
                k - 1
            );
            clock.advance(NANO);
            assert!(
                limiter.try_acquire(),
                "with a window of {window:?}, the request at exactly t0 + {:?}, the start of \
                 window {k}, was refused: do you compute the window index in whole seconds or \
                 milliseconds, or in floating point (where 0.3 / 0.1 is 2.9999999999999996)? \
                 Count whole nanoseconds",
                window * k
            );
        }
    }
}

#[test]
fn idle_windows_are_skipped_in_one_step() {
    let clock = ManualClock::new();
    let mut limiter = FixedWindow::with_clock(2, SECOND, clock.clone());
    assert_eq!(
        burst(&mut limiter, 2),
        2,
        "a fresh limiter of 2 should allow 2"
    );
    clock.advance(ms(3_500));
    let allowed = burst(&mut limiter, 10);
    assert_eq!(
        allowed, 2,
        "after 3.5s of idleness, 10 requests at one instant got {allowed} through instead of 2: \
         the current window is [t0 + 3s, t0 + 4s); does your limiter move forward one window per \
         request instead of jumping to the window that contains now?"
    );
    clock.advance(ms(500));
    let allowed = burst(&mut limiter, 10);
    assert_eq!(
        allowed, 2,
        "at t0 + 4s a new window begins and should allow exactly 2, but {allowed} got through"
    );
}

#[test]
fn the_boundary_burst_lets_twice_the_limit_through() {
    let clock = ManualClock::new();
    let mut limiter = FixedWindow::with_clock(10, SECOND, clock.clone());
    clock.advance(ms(999));
    let before = burst(&mut limiter, 10);
    clock.advance(ms(1));
    let after = burst(&mut limiter, 10);
    assert_eq!(
        (before, after),
        (10, 10),
        "10 requests at t0 + 999ms and 10 at t0 + 1s should all be allowed: they fall in two \
         different windows. This is the weakness of fixed windows: 20 requests within 1ms under \
         a limit of 10 per second. Stage 2 fixes it."
    );
}

#[test]
fn a_limit_of_zero_refuses_everything() {
    let clock = ManualClock::new();
    let mut limiter = FixedWindow::with_clock(0, SECOND, clock.clone());
    assert_eq!(burst(&mut limiter, 3), 0, "a limit of 0 allowed a request");
    clock.advance(5 * SECOND);
    assert_eq!(
        burst(&mut limiter, 3),
        0,
        "a limit of 0 allowed a request in a later window"
    );
}

#[test]
fn new_uses_the_system_clock() {
    let mut limiter = FixedWindow::new(2, Duration::from_secs(3_600));
    let answers: Vec<bool> = (0..3).map(|_| limiter.try_acquire()).collect();
    assert_eq!(
        answers,
        [true, true, false],
        "FixedWindow::new(2, 1 hour) should allow 2 requests and refuse the third"
    );
}
