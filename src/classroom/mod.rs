//! The classroom: grading a learner's crate against the course's own tests, and noticing when
//! the learner edited those tests.

mod junit;
mod reference;
mod verify;

pub use junit::to_junit;
pub use reference::Reference;
pub use verify::{
    StageStatus, StageVerdict, VerifyOptions, VerifyReport, strip as strip_ansi, verify,
};
