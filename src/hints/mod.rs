//! The Socratic hint engine: it picks the ladder of questions that fits the failure in front of
//! the learner, opens one rung at a time (the next only after a new attempt, or when the learner
//! says they are stuck), and records what was shown.

mod catalog;
mod choose;
mod engine;
mod failure;
mod lint;
mod summary;

pub use catalog::{CATALOG, CodeLadder, Slots, fill, lookup, named_item};
pub use choose::{Ladder, LadderKey, choose};
pub use engine::{Confirm, Decision, decide, record, shown_rungs};
pub use failure::{Failure, failure_of};
pub use lint::lint_stage;
pub use summary::RunSummary;
