//! Why a limiter refused a request.

use std::time::Duration;

/// Why a request for tokens was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AcquireError {
    /// Not enough tokens now. If nothing else takes tokens, the same request succeeds after
    /// `retry_after`, and not one nanosecond earlier.
    #[error("rate limited: retry in {retry_after:?}")]
    RateLimited {
        /// The shortest wait after which the same request would succeed.
        retry_after: Duration,
    },
    /// The request can never succeed: it asks for more tokens than the bucket can ever hold.
    /// Retrying is pointless; the caller must split the request or raise the capacity.
    #[error("{requested} tokens requested, but the bucket holds at most {capacity}")]
    ExceedsCapacity {
        /// Tokens asked for.
        requested: u64,
        /// The most the bucket can hold.
        capacity: u64,
    },
}
