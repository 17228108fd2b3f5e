//! # katas-sync: `std::sync` for learners' crates, model-checked in their tests
//!
//! A track crate imports its locks and atomics from here instead of from `std::sync`:
//!
//! ```
//! use katas_sync::atomic::{AtomicU64, Ordering};
//! use katas_sync::{Arc, Mutex};
//!
//! let hits = Arc::new(Mutex::new(0_u64));
//! *hits.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) += 1;
//! let word = AtomicU64::new(7);
//! assert_eq!(word.fetch_add(1, Ordering::Relaxed), 7);
//! ```
//!
//! In a normal build (`cargo build`, `cargo run`, a release) every name here *is* the `std` one,
//! re-exported: same type, same API, zero cost. With the `model` feature, which a track crate turns
//! on for its tests only (a dev-dependency, so `cargo test` builds the library with it), each type
//! is a thin wrapper that is the `std` primitive when it is created on an ordinary thread, and
//! [shuttle](https://docs.rs/shuttle)'s when it is created inside a model-checked test
//! ([`model::check`]). There, every lock, unlock and atomic access is a point where shuttle's
//! scheduler may switch threads, in an order chosen from a fixed seed: a race that real threads
//! hit once in a million runs is hit in the same schedule on every run, so a test that kills it
//! kills it deterministically. Ordinary tests in the same binary keep running on real threads.
//!
//! This is how tokio tests its own synchronisation with loom: its code imports from a
//! `crate::loom` module that is `std` in normal builds and loom's model types under `cfg(loom)`.
//!
//! Not provided: `Condvar`, `Barrier`, `Once`, `mpsc` (no stage needs them yet), and `const`
//! constructors in model builds (a wrapper decides at run time which primitive it is).

pub use std::sync::{Arc, LockResult, PoisonError, TryLockError, TryLockResult, Weak};
#[cfg(not(feature = "model"))]
pub use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Atomic integers and booleans: `std::sync::atomic` in normal builds.
#[cfg(not(feature = "model"))]
pub mod atomic {
    pub use std::sync::atomic::*;
}

#[cfg(feature = "model")]
pub mod atomic;
#[cfg(feature = "model")]
pub mod model;
#[cfg(feature = "model")]
mod mutex;
#[cfg(feature = "model")]
mod rwlock;

#[cfg(feature = "model")]
pub use mutex::{Mutex, MutexGuard};
#[cfg(feature = "model")]
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
