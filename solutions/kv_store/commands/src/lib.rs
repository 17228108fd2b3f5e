//! A key-value store, grown one stage at a time.
//!
//! So far: an in-memory store ([`KvStore`]) and a small text protocol to drive it: a line such as
//! `SET greeting hello world` parses into a [`Command`], which the store executes into a
//! [`Reply`]. Lines that are not valid commands become a [`CommandError`] that says why.

mod command;
mod store;

pub use command::{Command, CommandError, Reply};
pub use store::KvStore;
