//! The Socratic hint engine: it picks the ladder of questions that fits the failure in front of
//! the learner, opens one rung at a time (the next only after a new attempt, or when the learner
//! says they are stuck), and records what was shown.

mod catalog;
mod choose;
mod engine;
mod failure;
mod lint;
mod lints;
mod summary;

pub use catalog::{CATALOG, CodeLadder, Slots, fill, fill_place, lookup, named_item};
pub use choose::{Ladder, LadderKey, choose, lint_ladder};
pub use engine::{Confirm, Decision, decide, record, shown_rungs};
pub use failure::{Failure, failure_of};
pub use lint::lint_stage;
pub use lints::{
    LINT_CATALOG, LintLadder, catalog_problems, lint_args, lint_lookup, strict_lint_args,
};
pub use summary::{LintFound, RunSummary};
