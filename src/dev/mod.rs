//! Course authoring: proving a course sound (`dev check`).

mod check;

pub use check::{CheckOptions, CheckReport, StageCheck, check};
