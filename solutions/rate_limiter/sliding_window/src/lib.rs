//! A rate limiter, grown one stage at a time.
//!
//! Every limiter reads the time from an injected [`Clock`], so tests drive time with a
//! [`ManualClock`] instead of sleeping.
//!
//! - [`FixedWindow`]: one counter per window; constant memory, but bursts of twice the limit
//!   across a boundary.
//! - [`SlidingLog`]: the exact answer, at the cost of one timestamp per allowed request.
//! - [`SlidingCounter`]: an approximation of the log with two counters.

mod clock;
mod fixed_window;
mod sliding_counter;
mod sliding_log;

pub use clock::{Clock, ManualClock, SystemClock};
pub use fixed_window::FixedWindow;
pub use sliding_counter::SlidingCounter;
pub use sliding_log::SlidingLog;
