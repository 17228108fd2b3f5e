//! A key-value store, grown one stage at a time.
//!
//! So far:
//! - [`KvStore`], an in-memory store;
//! - a small text protocol to drive it: a line such as `SET greeting hello world` parses into a
//!   [`Command`], which the store executes into a [`Reply`], or is rejected with a
//!   [`CommandError`] that says why;
//! - [`LogStore`], a durable store: every change is appended to a log file before the call
//!   returns, and opening the directory again replays the log;
//! - [`KvsEngine`], the interface both stores implement, so code can be written once for any
//!   engine, chosen at compile time (generics) or at run time ([`open_engine`]).

mod command;
mod engine;
mod error;
mod log;
mod store;

pub use command::{Command, CommandError, Reply};
pub use engine::{EngineKind, KvsEngine, open_engine};
pub use error::{KvError, Result};
pub use log::LogStore;
pub use store::KvStore;
