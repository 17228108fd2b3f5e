//! Exit codes, named so that scripts and autograders can rely on them.
//!
//! They are part of the public interface (documented in the README): never renumber one.

/// Everything that was asked for succeeded (for `verify`: every verified stage passed).
pub const OK: u8 = 0;
/// The work was checked and did not pass: a failing test, a compile error, a stage not sound.
pub const FAILED: u8 = 1;
/// The command line itself was wrong (clap's own code for usage errors).
pub const USAGE: u8 = 2;
/// `verify` found a stage whose test files the learner changed.
pub const TAMPERED: u8 = 3;
/// The course is invalid or cannot be found (a broken `info.toml`, a missing stage file).
pub const COURSE_ERROR: u8 = 4;
/// katas itself could not do its job (cargo missing, an I/O error, a damaged progress file).
pub const KATAS_ERROR: u8 = 5;
