//! The Socratic hint engine: it picks the ladder of questions that fits the failure in front of
//! the learner, opens one rung at a time (the next only after a new attempt, or when the learner
//! says they are stuck), and records what was shown.

mod catalog;
mod engine;
mod lint;
mod lints;

pub use catalog::{CATALOG, CodeLadder, fill, fill_place, lookup, named_item};
pub use engine::{
    Confirm, Decision, Ladder, LadderKey, LintFound, RunSummary, choose, decide, lint_ladder,
    record, shown_rungs,
};
pub use lint::lint_stage;
pub use lints::{
    LINT_CATALOG, LintLadder, catalog_problems, lint_args, lint_lookup, strict_lint_args,
};
