//! A key-value store, grown one stage at a time.
//!
//! So far:
//! - [`KvStore`], an in-memory store;
//! - a small text protocol to drive it: a line such as `SET greeting hello world` parses into a
//!   [`Command`], which the store executes into a [`Reply`], or is rejected with a
//!   [`CommandError`] that says why;
//! - [`LogStore`], a durable store in the style of Bitcask: every change is appended to a log
//!   before the call returns, an in-memory index (the keydir) says where each value lies on disk,
//!   and stale records are compacted away; checksums tell a torn tail from damage; a cheap
//!   handle that many threads share;
//! - [`KvsEngine`], the interface both stores implement, so code can be written once for any
//!   engine, chosen at compile time (generics) or at run time ([`open_engine`]);
//! - [`serve`], a tokio TCP server that speaks enough of the Redis protocol (PING, GET, SET, DEL)
//!   for real Redis clients, answering pipelined requests in batches, with graceful shutdown;
//! - [`Client`], which talks to it, one command at a time or many in a pipeline;
//! - [`frame`], the server's zero-copy request parser: frames borrow from the connection's buffer.

mod client;
mod command;
mod engine;
mod error;
pub mod frame;
mod fsutil;
mod log;
mod options;
mod record;
mod resp;
mod server;
mod store;

pub use client::Client;
pub use command::{Command, CommandError, Reply};
pub use engine::{EngineKind, KvsEngine, open_engine};
pub use error::{KvError, Result};
pub use log::LogStore;
pub use options::{Options, SyncPolicy};
pub use server::serve;
pub use store::KvStore;
