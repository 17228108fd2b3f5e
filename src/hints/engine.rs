//! Choosing a ladder for the latest run, and deciding when its next rung may open.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::catalog::{fill, fill_place, lookup, named_item};
use super::lints::lint_lookup;
use crate::course::Stage;
use crate::progress::{HintRecord, Progress};
use crate::runner::{RunOutcome, Verdict};

/// The facts of the latest run that hints need, kept on disk between commands.
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
    /// Failing tests, full names (`stage::test`), earlier stages first.
    pub failing_tests: Vec<String>,
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
        Self {
            track: track.to_owned(),
            stage: stage.to_owned(),
            verdict: Some(outcome.verdict),
            error_code: first_error.and_then(|e| e.code.clone()),
            error_message: first_error.map(|e| e.message.clone()),
            error_file: first_error.and_then(|e| e.file.clone()),
            error_line: first_error.and_then(|e| e.line),
            failing_tests: failing,
            lints: Vec::new(),
            fmt_clean: None,
        }
    }
}

/// Which ladder a hint comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LadderKey {
    Stage,
    Test(String),
    Error(String),
    /// A clippy lint's ladder, by lint name.
    Lint(String),
}

impl LadderKey {
    /// The key as it is recorded in progress: `stage`, `test:<name>`, `error:<key>`.
    pub fn as_record(&self) -> String {
        match self {
            LadderKey::Stage => "stage".to_owned(),
            LadderKey::Test(name) => format!("test:{name}"),
            LadderKey::Error(key) => format!("error:{key}"),
            LadderKey::Lint(lint) => format!("lint:{lint}"),
        }
    }
}

/// A ladder ready to show: its rungs with placeholders filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    pub key: LadderKey,
    /// What the ladder is about, e.g. "compiler error E0382 (ownership)".
    pub about: String,
    pub rungs: Vec<String>,
}

/// The ladder for the latest run: the first compiler error's catalog entry; else the first
/// failing test that has a ladder of its own; else, when every test passed and clippy found
/// lints, the first lint the lint catalog has a ladder for; else the stage's ladder.
pub fn choose(stage: &Stage, last: Option<&RunSummary>) -> Ladder {
    let stage_ladder = || Ladder {
        key: LadderKey::Stage,
        about: format!("stage `{}` ({})", stage.id, stage.title),
        rungs: stage.hints.iter().map(|r| r.text.clone()).collect(),
    };
    let Some(last) = last.filter(|l| l.stage == stage.id) else {
        return stage_ladder();
    };
    if let Some(message) = &last.error_message
        && let Some(entry) = lookup(last.error_code.as_deref(), message)
    {
        let name = named_item(message);
        let about = match &last.error_code {
            Some(code) => format!("compiler error {code} ({})", entry.concept),
            None => format!("a compiler error ({})", entry.concept),
        };
        return Ladder {
            key: LadderKey::Error(entry.key.to_owned()),
            about,
            rungs: entry
                .rungs
                .iter()
                .map(|r| fill(r, name, last.error_line))
                .collect(),
        };
    }
    for name in &last.failing_tests {
        let (module, function) = name.rsplit_once("::").unwrap_or(("", name));
        if module != stage.id {
            continue;
        }
        if let Some(ladder) = stage.test_ladder(function) {
            return Ladder {
                key: LadderKey::Test(function.to_owned()),
                about: format!("test `{function}`"),
                rungs: ladder.rungs.iter().map(|r| r.text.clone()).collect(),
            };
        }
    }
    if last.failing_tests.is_empty()
        && let Some(ladder) = lint_ladder(&last.lints)
    {
        return ladder;
    }
    stage_ladder()
}

/// The ladder of the first lint the catalog knows, filled with its place in the learner's code.
pub fn lint_ladder(lints: &[LintFound]) -> Option<Ladder> {
    lints.iter().find_map(|found| {
        let entry = lint_lookup(&found.lint)?;
        // clippy's messages name types and methods as often as the learner's items (`clone`,
        // `Result`, `Default`): lint rungs take their place from the file and line only.
        let place = match (&found.file, found.line) {
            (Some(file), Some(line)) => format!(" at {file}:{line}"),
            (Some(file), None) => format!(" in {file}"),
            _ => String::new(),
        };
        Some(Ladder {
            key: LadderKey::Lint(entry.lint.to_owned()),
            about: format!("clippy::{}{place} ({})", entry.lint, entry.concept),
            rungs: entry
                .rungs
                .iter()
                .map(|r| fill_place(r, None, found.file.as_deref(), found.line))
                .collect(),
        })
    })
}

/// Why a rung asks for a confirmation before it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// The learner has not made a new attempt since the last rung, and says they are stuck.
    Stuck,
    /// The last rung is a concrete nudge: it always asks.
    FinalNudge,
}

/// What may happen on a request for help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Rung `index` (0-based) may be shown, after the confirmations listed (none, or some).
    Show { index: usize, confirm: Vec<Confirm> },
    /// The next rung waits for a new attempt: think, change something, run.
    Wait { shown: usize },
    /// Every rung has been shown.
    Exhausted,
}

/// The number of rungs of a ladder already shown in a stage, and the attempt of the last one.
pub fn shown_rungs(
    progress: &Progress,
    track: &str,
    stage: &str,
    key: &LadderKey,
) -> (usize, Option<u32>) {
    let record_key = key.as_record();
    let Some(stage) = progress.stage(track, stage) else {
        return (0, None);
    };
    let records: Vec<&HintRecord> = stage
        .hints
        .iter()
        .filter(|h| h.ladder == record_key)
        .collect();
    let shown = records.iter().map(|h| h.rung as usize).max().unwrap_or(0);
    (shown, records.last().map(|h| h.attempt))
}

/// Whether the next rung may open: the first always may; a later one after a new attempt, or
/// when the learner says they are stuck (with a confirmation); the last always asks.
pub fn decide(
    ladder: &Ladder,
    shown: usize,
    last_attempt: Option<u32>,
    attempts: u32,
    stuck: bool,
) -> Decision {
    if shown >= ladder.rungs.len() {
        return Decision::Exhausted;
    }
    let mut confirm = Vec::new();
    let new_attempt = last_attempt.is_none_or(|at| attempts > at);
    if shown > 0 && !new_attempt {
        if !stuck {
            return Decision::Wait { shown };
        }
        confirm.push(Confirm::Stuck);
    }
    if shown + 1 == ladder.rungs.len() {
        confirm.push(Confirm::FinalNudge);
    }
    Decision::Show {
        index: shown,
        confirm,
    }
}

/// Records that rung `index` of a ladder was shown.
pub fn record(
    progress: &mut Progress,
    track: &str,
    stage: &str,
    ladder: &Ladder,
    index: usize,
    forced: bool,
    now: Timestamp,
) {
    let record = progress.stage_mut(track, stage);
    let attempt = record.attempts;
    record.hints.push(HintRecord {
        ladder: ladder.key.as_record(),
        rung: u32::try_from(index + 1).unwrap_or(u32::MAX),
        at: now,
        attempt,
        forced,
        last: index + 1 == ladder.rungs.len(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::{Rung, TestLadder};
    use std::time::Duration;

    fn stage() -> Stage {
        let rung = |text: &str| Rung {
            text: text.to_owned(),
            line: 1,
        };
        Stage {
            id: "log".into(),
            title: "An append-only log".into(),
            brief: String::new(),
            tests: String::new(),
            test_names: vec!["survives_reopen".into(), "removes_replayed".into()],
            concepts: vec![],
            time_limit: Duration::from_secs(10),
            memory_limit_mib: 2048,
            strict: false,
            hints: vec![
                rung("Plan?"),
                rung("Concept?"),
                rung("Code?"),
                rung("Nudge."),
            ],
            test_hints: vec![TestLadder {
                test: "removes_replayed".into(),
                rungs: vec![
                    rung("After reopening, which of your writes are on disk?"),
                    rung("Nudge: log removes too."),
                ],
                line: 1,
            }],
            reflection: vec![],
        }
    }

    fn summary() -> RunSummary {
        RunSummary {
            track: "kv".into(),
            stage: "log".into(),
            ..RunSummary::default()
        }
    }

    #[test]
    fn a_compile_error_picks_the_catalog_ladder_with_the_diagnostics_names() {
        let last = RunSummary {
            error_code: Some("E0382".into()),
            error_message: Some("borrow of moved value: `entry`".into()),
            error_line: Some(42),
            failing_tests: vec!["log::removes_replayed".into()],
            ..summary()
        };
        let ladder = choose(&stage(), Some(&last));
        assert_eq!(ladder.key, LadderKey::Error("E0382".into()));
        assert!(
            ladder.rungs[0].contains("`entry`") && ladder.rungs[0].contains("line 42"),
            "{}",
            ladder.rungs[0]
        );
    }

    #[test]
    fn placeholders_are_filled_from_a_real_recorded_diagnostic() {
        // cargo's own JSON for a use-after-move of `entry` (see runner/testdata).
        let log = crate::runner::BuildLog::parse(
            include_str!("../runner/testdata/e0382.jsonl").as_bytes(),
            "stages",
        );
        let error = log.errors().next().unwrap();
        let last = RunSummary {
            error_code: error.code.clone(),
            error_message: Some(error.message.clone()),
            error_line: error.line,
            ..summary()
        };
        let ladder = choose(&stage(), Some(&last));
        assert_eq!(ladder.about, "compiler error E0382 (ownership)");
        let line = format!("line {}", error.line.unwrap());
        assert!(
            ladder.rungs[0].contains("`entry`") && ladder.rungs[0].contains(&line),
            "{}",
            ladder.rungs[0]
        );
        assert!(
            ladder.rungs.iter().all(|r| !r.contains('{')),
            "no placeholder is left: {:?}",
            ladder.rungs
        );
    }

    #[test]
    fn a_failing_test_with_a_ladder_picks_that_ladder() {
        let last = RunSummary {
            failing_tests: vec![
                "log::survives_reopen".into(),
                "log::removes_replayed".into(),
            ],
            ..summary()
        };
        let ladder = choose(&stage(), Some(&last));
        assert_eq!(ladder.key, LadderKey::Test("removes_replayed".into()));
        assert_eq!(ladder.rungs.len(), 2);
    }

    #[test]
    fn otherwise_the_stage_ladder() {
        let last = RunSummary {
            failing_tests: vec!["log::survives_reopen".into()],
            ..summary()
        };
        assert_eq!(choose(&stage(), Some(&last)).key, LadderKey::Stage);
        assert_eq!(choose(&stage(), None).key, LadderKey::Stage);
        let other_stage = RunSummary {
            stage: "memory".into(),
            error_code: Some("E0382".into()),
            ..summary()
        };
        assert_eq!(
            choose(&stage(), Some(&other_stage)).key,
            LadderKey::Stage,
            "a run of another stage is stale"
        );
    }

    #[test]
    fn an_unknown_error_code_falls_through_to_tests_and_stage() {
        let last = RunSummary {
            error_code: Some("E9999".into()),
            error_message: Some("something new".into()),
            ..summary()
        };
        assert_eq!(choose(&stage(), Some(&last)).key, LadderKey::Stage);
    }

    fn recorded_lints() -> Vec<LintFound> {
        // clippy's own JSON for a crate with four lints (see runner/testdata).
        let lints = crate::runner::clippy::parse_lints(
            include_str!("../runner/testdata/clippy.jsonl").as_bytes(),
        );
        lints.iter().map(LintFound::from).collect()
    }

    #[test]
    fn after_a_pass_the_first_recorded_lint_picks_its_ladder_with_its_place() {
        let last = RunSummary {
            verdict: Some(Verdict::Passed),
            lints: recorded_lints(),
            ..summary()
        };
        let ladder = choose(&stage(), Some(&last));
        assert_eq!(ladder.key, LadderKey::Lint("ptr_arg".into()));
        assert_eq!(ladder.about, "clippy::ptr_arg at src/lib.rs:3 (borrowing)");
        assert!(ladder.rungs.len() >= 2);
        let (nudge, questions) = ladder.rungs.split_last().unwrap();
        assert!(questions.iter().all(|q| q.ends_with('?')), "{questions:?}");
        assert!(nudge.starts_with("Nudge:"));
        assert!(ladder.rungs.iter().all(|r| !r.contains("{line|")));
        assert_eq!(ladder.key.as_record(), "lint:ptr_arg");
    }

    #[test]
    fn a_lint_the_catalog_lacks_gives_way_to_the_next_and_the_line_is_filled() {
        let mut lints = recorded_lints();
        lints[0].lint = "some_lint_of_the_future".into();
        let last = RunSummary { lints, ..summary() };
        let ladder = choose(&stage(), Some(&last));
        assert_eq!(ladder.key, LadderKey::Lint("needless_range_loop".into()));
        assert!(ladder.rungs[0].contains("line 5"), "{}", ladder.rungs[0]);
    }

    #[test]
    fn failing_tests_and_errors_come_before_lints() {
        let last = RunSummary {
            failing_tests: vec!["log::survives_reopen".into()],
            lints: recorded_lints(),
            ..summary()
        };
        assert_eq!(choose(&stage(), Some(&last)).key, LadderKey::Stage);
    }

    #[test]
    fn the_next_rung_waits_for_a_new_attempt() {
        let ladder = choose(&stage(), None);
        assert_eq!(
            decide(&ladder, 0, None, 3, false),
            Decision::Show {
                index: 0,
                confirm: vec![]
            }
        );
        assert_eq!(
            decide(&ladder, 1, Some(3), 3, false),
            Decision::Wait { shown: 1 }
        );
        assert_eq!(
            decide(&ladder, 1, Some(3), 4, false),
            Decision::Show {
                index: 1,
                confirm: vec![]
            }
        );
    }

    #[test]
    fn being_stuck_opens_it_with_a_confirmation() {
        let ladder = choose(&stage(), None);
        assert_eq!(
            decide(&ladder, 1, Some(3), 3, true),
            Decision::Show {
                index: 1,
                confirm: vec![Confirm::Stuck]
            }
        );
    }

    #[test]
    fn the_final_nudge_always_asks_and_then_the_ladder_is_done() {
        let ladder = choose(&stage(), None);
        assert_eq!(
            decide(&ladder, 3, Some(3), 9, false),
            Decision::Show {
                index: 3,
                confirm: vec![Confirm::FinalNudge]
            }
        );
        assert_eq!(
            decide(&ladder, 3, Some(3), 3, true),
            Decision::Show {
                index: 3,
                confirm: vec![Confirm::Stuck, Confirm::FinalNudge]
            }
        );
        assert_eq!(decide(&ladder, 4, Some(3), 9, true), Decision::Exhausted);
    }

    #[test]
    fn recorded_rungs_resume_where_they_were() {
        let mut progress = Progress::default();
        let ladder = choose(&stage(), None);
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        progress.record_run("kv", "log", "a", now);
        record(&mut progress, "kv", "log", &ladder, 0, false, now);
        progress.record_run("kv", "log", "b", now);
        record(&mut progress, "kv", "log", &ladder, 1, false, now);
        assert_eq!(
            shown_rungs(&progress, "kv", "log", &LadderKey::Stage),
            (2, Some(2))
        );
        assert_eq!(
            shown_rungs(&progress, "kv", "log", &LadderKey::Test("x".into())),
            (0, None)
        );
        let stored = toml::to_string(&progress).unwrap();
        let back: Progress = toml::from_str(&stored).unwrap();
        assert_eq!(
            shown_rungs(&back, "kv", "log", &LadderKey::Stage),
            (2, Some(2))
        );
    }
}
