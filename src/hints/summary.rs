//! The facts of the latest run that hints need, kept on disk (`.katas/last-run.json`) between
//! commands: the first compiler error, which tests failed and passed, and what the failures said.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::failure::{Failure, failure_of};
use crate::runner::{RunOutcome, TestStatus, Verdict};

/// The latest run, reduced. New fields are `#[serde(default)]`: a summary written by an older
/// katas still reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    pub track: String,
    pub stage: String,
    pub verdict: Option<Verdict>,
    /// The first compiler error: code, message, file, line.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_file: Option<String>,
    pub error_line: Option<usize>,
    /// The first error's other labelled lines, e.g. (18, "value moved here").
    #[serde(default)]
    pub error_related: Vec<(usize, String)>,
    /// Failing tests, full names (`stage::test`), earlier stages first.
    pub failing_tests: Vec<String>,
    /// Passing tests, full names.
    #[serde(default)]
    pub passing_tests: Vec<String>,
    /// What each failing test that panicked said, by full name.
    #[serde(default)]
    pub failures: BTreeMap<String, Failure>,
    /// The clippy lints found after the tests passed, in clippy's order (empty: none, or
    /// clippy did not run).
    #[serde(default)]
    pub lints: Vec<LintFound>,
    /// Whether `cargo fmt --check` found the crate formatted; `None`: not checked.
    #[serde(default)]
    pub fmt_clean: Option<bool>,
}

/// A clippy lint on the learner's code, as hints need it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintFound {
    /// Without the `clippy::` prefix.
    pub lint: String,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
}

impl From<&crate::runner::Lint> for LintFound {
    fn from(lint: &crate::runner::Lint) -> Self {
        Self {
            lint: lint.lint.clone(),
            message: lint.message.clone(),
            file: lint.file.clone(),
            line: lint.line,
        }
    }
}

impl RunSummary {
    pub fn from_outcome(
        track: &str,
        stage: &str,
        outcome: &RunOutcome,
        stage_order: &[&str],
    ) -> Self {
        let first_error = outcome.errors().next();
        let mut failing: Vec<String> = outcome.failed().map(|t| t.name.clone()).collect();
        let rank = |name: &str| {
            let module = name.split("::").next().unwrap_or_default();
            stage_order
                .iter()
                .position(|s| *s == module)
                .unwrap_or(usize::MAX)
        };
        failing.sort_by_key(|name| rank(name));
        let failures = outcome
            .failed()
            .filter_map(|t| Some((t.name.clone(), failure_of(&t.output)?)))
            .collect();
        Self {
            track: track.to_owned(),
            stage: stage.to_owned(),
            verdict: Some(outcome.verdict),
            error_code: first_error.and_then(|e| e.code.clone()),
            error_message: first_error.map(|e| e.message.clone()),
            error_file: first_error.and_then(|e| e.file.clone()),
            error_line: first_error.and_then(|e| e.line),
            error_related: first_error.map(|e| e.related.clone()).unwrap_or_default(),
            failing_tests: failing,
            passing_tests: outcome
                .tests
                .iter()
                .filter(|t| t.status == TestStatus::Passed)
                .map(|t| t.name.clone())
                .collect(),
            failures,
            lints: Vec::new(),
            fmt_clean: None,
        }
    }

    /// The line the first error's labels say something was moved at.
    pub fn moved_line(&self) -> Option<usize> {
        self.error_related
            .iter()
            .find(|(_, label)| label.contains("moved"))
            .map(|(line, _)| *line)
    }
}
