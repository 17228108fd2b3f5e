//! A rate limiter, grown one stage at a time.
//!
//! Every limiter reads the time from an injected [`Clock`], so tests drive time with a
//! [`ManualClock`] instead of sleeping.
//!
//! - [`FixedWindow`]: one counter per window; constant memory, but bursts of twice the limit
//!   across a boundary.
//! - [`SlidingLog`]: the exact answer, at the cost of one timestamp per allowed request.
//! - [`SlidingCounter`]: an approximation of the log with two counters.
//! - [`TokenBucket`]: a steady rate with a bounded burst, requests of several tokens, and the
//!   exact time to wait when refused.
//! - [`KeyedLimiter`]: one bucket per key (user, IP, API key), shared by threads, idle keys
//!   evicted.
//! - [`AtomicTokenBucket`]: the token bucket without a lock, as one atomic word (GCRA).
//! - [`AsyncLimiter`]: `acquire().await` for tasks, first come first served, cancel safe.
//! - [`RateLimitLayer`]: a tower middleware that answers `429 Too Many Requests` with
//!   `Retry-After` in front of any HTTP service.
//! - [`QuotaNode`]: one quota shared by a cluster of nodes that gossip their counts over the
//!   katas-sim network, with an overshoot bounded by a configured slack and a [`FailMode`] for
//!   partitions.

mod async_limiter;
mod atomic_bucket;
mod clock;
mod error;
mod fixed_window;
mod keyed;
mod middleware;
mod quota;
mod sliding_counter;
mod sliding_log;
mod token_bucket;

pub use async_limiter::{AsyncLimiter, TokioClock};
pub use atomic_bucket::AtomicTokenBucket;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::AcquireError;
pub use fixed_window::FixedWindow;
pub use keyed::KeyedLimiter;
pub use middleware::{RateLimit, RateLimitLayer, ResponseFuture};
pub use quota::{
    FailMode, GossipTick, QuotaConfig, QuotaGossip, QuotaNode, QuotaRequest, QuotaResponse,
    QuotaSettings,
};
pub use sliding_counter::SlidingCounter;
pub use sliding_log::SlidingLog;
pub use token_bucket::TokenBucket;
