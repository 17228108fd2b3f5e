//! Stage 5, `async_acquire`: waiting for tokens in FIFO order, cancel safe, on tokio's paused
//! clock (every test runs instantly and deterministically: time only moves when all tasks wait).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rate_limiter::{AcquireError, AsyncLimiter};
use tokio::time::Instant;

type Waiter = Pin<Box<dyn Future<Output = ()> + Send>>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Polls a future once, right now, without waiting: this is the moment it joins the queue.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// A boxed `acquire()` future on a shared limiter, polled once so that it has joined the queue.
fn queued(limiter: &Arc<AsyncLimiter>, who: &str) -> Waiter {
    let limiter = Arc::clone(limiter);
    let mut waiter: Waiter = Box::pin(async move { limiter.acquire().await });
    assert!(
        poll_once(&mut waiter).is_pending(),
        "{who}'s acquire() completed at once although the bucket is empty"
    );
    waiter
}

/// Runs each waiter to completion in its own task; returns, per waiter, how long after `start`
/// it completed.
async fn finish_times(start: Instant, waiters: Vec<Waiter>) -> Vec<Duration> {
    let tasks: Vec<_> = waiters
        .into_iter()
        .map(|waiter| {
            tokio::spawn(async move {
                waiter.await;
                start.elapsed()
            })
        })
        .collect();
    let mut times = Vec::new();
    for task in tasks {
        times.push(task.await.expect("a waiting task panicked"));
    }
    times
}

/// A limiter of `capacity` with every token already taken.
async fn drained(capacity: u64, refill_every: Duration) -> Arc<AsyncLimiter> {
    let limiter = Arc::new(AsyncLimiter::new(capacity, refill_every));
    for _ in 0..capacity {
        limiter.acquire().await;
    }
    limiter
}

#[tokio::test(start_paused = true)]
async fn acquire_returns_at_once_while_tokens_remain() {
    let start = Instant::now();
    let limiter = AsyncLimiter::new(3, Duration::from_secs(1));
    for _ in 0..3 {
        limiter.acquire().await;
    }
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "3 acquires on a full bucket of 3 should not wait at all"
    );
    assert!(
        !limiter.try_acquire(),
        "after 3 acquires a bucket of 3 is empty, yet try_acquire succeeded"
    );
}

#[tokio::test(start_paused = true)]
async fn acquire_waits_exactly_until_the_next_token() {
    let start = Instant::now();
    let limiter = drained(1, ms(100)).await;
    limiter.acquire().await;
    assert_eq!(
        start.elapsed(),
        ms(100),
        "with 1 token per 100ms, acquire() on an empty bucket should return exactly 100ms later"
    );
    limiter.acquire().await;
    assert_eq!(
        start.elapsed(),
        ms(200),
        "the next acquire() should return exactly 100ms after the previous one"
    );
}

#[tokio::test(start_paused = true)]
async fn a_waiter_arriving_mid_interval_waits_only_for_the_rest_of_it() {
    let start = Instant::now();
    let limiter = drained(1, ms(100)).await;
    tokio::time::sleep(ms(30)).await;
    limiter.acquire().await;
    assert_eq!(
        start.elapsed(),
        ms(100),
        "the bucket was drained at 0ms (1 token per 100ms) and acquire() was called at 30ms: the \
         token is due at 100ms, so it should return then, after 70ms of waiting, not at {:?}. Do \
         you sleep a whole interval instead of the retry_after the bucket announces?",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_fifo_order() {
    let start = Instant::now();
    let limiter = drained(1, ms(10)).await;
    let waiters: Vec<Waiter> = ["w0", "w1", "w2", "w3", "w4"]
        .iter()
        .map(|who| queued(&limiter, who))
        .collect();
    let times = finish_times(start, waiters).await;
    assert_eq!(
        times,
        [ms(10), ms(20), ms(30), ms(40), ms(50)],
        "5 waiters queued in order w0..w4 on 1 token per 10ms should finish at 10, 20, 30, 40 and \
         50ms, in that order (first come, first served), but finished at {times:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiter_gives_its_place_back() {
    let start = Instant::now();
    let limiter = drained(1, ms(10)).await;
    let first = queued(&limiter, "first");
    let second = queued(&limiter, "second");
    let third = queued(&limiter, "third");
    drop(second);
    let times = finish_times(start, vec![first, third]).await;
    assert_eq!(
        times,
        [ms(10), ms(20)],
        "the second of 3 waiters was cancelled (its future dropped); the first should finish at \
         10ms and the third at 20ms, but they finished at {times:?}: does a dropped waiter keep \
         its place or its reserved token?"
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_head_waiter_hands_its_tokens_on() {
    let start = Instant::now();
    let limiter = drained(1, ms(10)).await;
    let head = queued(&limiter, "head");
    let next = queued(&limiter, "next");
    tokio::time::advance(ms(10)).await;
    // The head's token is due now, but it is cancelled before it runs again.
    drop(head);
    next.await;
    assert_eq!(
        start.elapsed(),
        ms(10),
        "the head waiter was cancelled when its token was due (10ms); the next waiter should get \
         that token at once, at 10ms, but finished after {:?}: were the head's tokens taken \
         before it finished waiting, and lost when it was dropped?",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_large_request_takes_nothing() {
    let start = Instant::now();
    let limiter = drained(3, ms(10)).await;
    let big = {
        let limiter = Arc::clone(&limiter);
        tokio::spawn(async move { limiter.acquire_n(3).await })
    };
    // The large request waits through the tokens due at 10ms and 20ms, then is cancelled.
    tokio::time::sleep(ms(25)).await;
    big.abort();
    assert!(
        big.await.is_err_and(|error| error.is_cancelled()),
        "acquire_n(3) on an empty bucket of 3 (1 token per 10ms) finished before 30ms"
    );
    limiter
        .acquire_n(3)
        .await
        .expect("acquire_n(3) on a bucket of 3 failed");
    assert_eq!(
        start.elapsed(),
        ms(30),
        "a request for 3 tokens was cancelled at 25ms, having waited through the tokens due at \
         10ms and 20ms; a new request for 3 should then get those 2 and the one due at 30ms, and \
         finish at 30ms, not at {:?}: did the cancelled request take tokens while it waited, and \
         lose them when it was dropped?",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn cancelled_waiters_no_longer_count_as_waiting() {
    let limiter = drained(1, ms(10)).await;
    // One waiter cancelled while queued behind another, then the head cancelled while it waits.
    let head = queued(&limiter, "head");
    let behind = queued(&limiter, "behind");
    drop(behind);
    tokio::time::advance(ms(5)).await;
    drop(head);
    tokio::time::advance(ms(5)).await;
    assert!(
        limiter.try_acquire(),
        "both waiters were cancelled (dropped) and a token is due at 10ms, yet try_acquire \
         refused: nobody is waiting any more. If you count waiters, is the count decremented when \
         a waiting future is dropped (a guard with Drop), not only when it completes?"
    );
}

#[tokio::test(start_paused = true)]
async fn a_large_request_at_the_head_is_not_overtaken() {
    let start = Instant::now();
    let limiter = drained(3, ms(10)).await;
    let mut big = {
        let limiter = Arc::clone(&limiter);
        Box::pin(async move { limiter.acquire_n(3).await })
    };
    assert!(
        poll_once(&mut big).is_pending(),
        "acquire_n(3) on an empty bucket completed at once"
    );
    let small = queued(&limiter, "small");
    let big = tokio::spawn(async move {
        big.await.expect("acquire_n(3) on a bucket of 3 failed");
        start.elapsed()
    });
    let small_done = finish_times(start, vec![small]).await;
    let big_done = big.await.expect("the large request's task panicked");
    assert_eq!(
        (big_done, small_done[0]),
        (ms(30), ms(40)),
        "acquire_n(3) queued before acquire() (1 token per 10ms): the 3 tokens are due at 30ms, \
         then the small request's at 40ms; expected (30ms, 40ms), got ({big_done:?}, {:?}): a \
         small request behind a large one must not take tokens first, or the large one could \
         starve",
        small_done[0]
    );
}

#[tokio::test(start_paused = true)]
async fn try_acquire_does_not_jump_the_queue() {
    let limiter = drained(1, ms(10)).await;
    let mut waiter = queued(&limiter, "waiter");
    tokio::time::advance(ms(10)).await;
    assert!(
        !limiter.try_acquire(),
        "a token is due at 10ms and a waiter has been queued for it since 0ms, yet try_acquire \
         took it: try_acquire must not jump the queue"
    );
    assert!(
        poll_once(&mut waiter).is_ready(),
        "the queued waiter should get the token due at 10ms"
    );
    tokio::time::advance(ms(10)).await;
    assert!(
        limiter.try_acquire(),
        "with nobody waiting and a token due, try_acquire should succeed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_above_capacity_fails_at_once() {
    let limiter = drained(2, ms(10)).await;
    let waiter = queued(&limiter, "waiter");
    let mut too_big = Box::pin(limiter.acquire_n(3));
    assert_eq!(
        poll_once(&mut too_big),
        Poll::Ready(Err(AcquireError::ExceedsCapacity {
            requested: 3,
            capacity: 2
        })),
        "acquire_n(3) on a bucket of 2 can never succeed: it must fail at once, without waiting \
         behind the queue"
    );
    drop(too_big);
    let start = Instant::now();
    waiter.await;
    assert_eq!(
        start.elapsed(),
        ms(10),
        "the queued waiter should still get its token at 10ms"
    );
}

#[tokio::test(start_paused = true)]
async fn many_tasks_get_exactly_the_rate() {
    let start = Instant::now();
    let limiter = Arc::new(AsyncLimiter::new(5, ms(10)));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let limiter = Arc::clone(&limiter);
            tokio::spawn(async move {
                limiter.acquire().await;
                start.elapsed()
            })
        })
        .collect();
    let mut times = Vec::new();
    for task in tasks {
        times.push(task.await.expect("an acquiring task panicked"));
    }
    times.sort();
    let expected: Vec<Duration> = (0..50_u64).map(|i| ms(10 * i.saturating_sub(4))).collect();
    assert_eq!(
        times, expected,
        "50 tasks on a full bucket of 5 with 1 token per 10ms: 5 should pass at 0ms, then exactly \
         one every 10ms until 450ms"
    );
}
