//! katas: an interactive kata platform for learning distributed systems in Rust.
//!
//! The library holds every part of the tool; `main.rs` only wires the command line to it. The
//! parts, each with one job:
//! - [`course`]: the course model and the loading and validation of `info.toml` and stage files;
//! - [`progress`]: the learner's state on disk, versioned and written atomically;
//! - [`layout`]: the learner's crate on disk: installing stage tests, scratch copies, backups;
//! - [`runner`]: building and testing a track crate with cargo, with limits and cancellation;
//! - [`hints`]: the Socratic engine that picks and escalates question ladders;
//! - [`session`]: the learner's actions (run, hint, next, reset) on top of the parts above;
//! - [`classroom`]: grading (`verify`) and tamper checks;
//! - [`dev`]: course authoring (`dev check`);
//! - [`cli`]: the command line.

pub mod bundled;
pub mod classroom;
pub mod cli;
pub mod course;
pub mod dev;
pub mod exit_codes;
pub mod fsutil;
pub mod grading;
pub mod hints;
pub mod layout;
pub mod progress;
pub mod runner;
pub mod sandbox;
pub mod session;
pub mod trace;
pub mod tui;
pub mod watch;
