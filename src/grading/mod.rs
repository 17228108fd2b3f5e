//! Grading from trusted parts: what `katas verify` builds and runs, and how it learns which
//! tests passed, so that a `passed` means the trusted tests ran against the learner's code and
//! passed, whatever the learner's repository holds.
//!
//! - [`workdir`]: the grader's own folder, outside the learner's tree, for scratch crates,
//!   build output and the trusted copy of the course;
//! - [`toolchain`]: the Rust toolchain, pinned by absolute path, never chosen by learner files;
//! - [`assembly`]: the graded crate: the trusted manifest, lock file, tests and course crates,
//!   plus the learner's `src/` and nothing else;
//! - [`witness`]: the results channel: each trusted test records that it ran to its end, on a
//!   channel the learner's code cannot reach.

pub mod assembly;
pub mod toolchain;
pub mod witness;
pub mod workdir;
