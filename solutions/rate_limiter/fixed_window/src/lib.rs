//! A rate limiter, grown one stage at a time.
//!
//! Every limiter reads the time from an injected [`Clock`], so tests drive time with a
//! [`ManualClock`] instead of sleeping.

mod clock;
mod fixed_window;

pub use clock::{Clock, ManualClock, SystemClock};
pub use fixed_window::FixedWindow;
