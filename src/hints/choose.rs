//! Choosing the ladder that fits the failure in front of the learner.
//!
//! In order: a compiler error about a name the stage introduces gets the "new in this stage"
//! ladder (write it, from the brief's Code section), any other compiler error its catalog entry;
//! when every test of the stage fails, nothing works yet and the stage's own ladder (Plan first)
//! helps most; otherwise the failing test that says most about the bug - the first in the
//! author's order of `[[test_hints]]` (most basic behaviour first: a `set` that keeps the first
//! value also fails the `remove` tests), failed assertions before unwritten `todo!()`s - and
//! when no failing test has a ladder, questions about the most telling failing test itself.

use super::catalog::{Slots, fill, fill_place, lookup, named_item};
use super::failure::Failure;
use super::lints::lint_lookup;
use super::summary::{LintFound, RunSummary};
use crate::course::Stage;

/// Which ladder a hint comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LadderKey {
    Stage,
    /// An author's ladder for one test.
    Test(String),
    /// A catalog ladder for a compiler error.
    Error(String),
    /// A name the stage introduces and the learner has not declared yet.
    NewInStage(String),
    /// Questions about a failing test without a ladder of its own (full name).
    Failing(String),
    /// A clippy lint's ladder, by lint name (after a pass).
    Lint(String),
}

impl LadderKey {
    /// The key as it is recorded in progress: `stage`, `test:<name>`, `error:<key>`,
    /// `new:<name>`, `failing:<stage::test>`.
    pub fn as_record(&self) -> String {
        match self {
            LadderKey::Stage => "stage".to_owned(),
            LadderKey::Test(name) => format!("test:{name}"),
            LadderKey::Error(key) => format!("error:{key}"),
            LadderKey::NewInStage(name) => format!("new:{name}"),
            LadderKey::Lint(lint) => format!("lint:{lint}"),
            LadderKey::Failing(name) => format!("failing:{name}"),
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
    /// The failure it was chosen for, in a line (recorded with every rung shown, so a class
    /// report can tell which failures hints did not help with); `None` before any run.
    pub failure: Option<String>,
}

/// Compiler errors about a name that does not exist (yet).
const MISSING_NAME_CODES: &[&str] = &["E0412", "E0422", "E0425", "E0432", "E0433", "E0599"];

/// The ladder for the latest run of `stage`; `earlier` are the track's stages before it.
pub fn choose(stage: &Stage, earlier: &[Stage], last: Option<&RunSummary>) -> Ladder {
    let Some(last) = last.filter(|l| l.stage == stage.id) else {
        return stage_ladder(stage, None);
    };
    if let Some(message) = &last.error_message {
        let failure = Some(describe_error(last, message));
        if let Some(name) = introduced_name(stage, earlier, last, message) {
            return new_in_stage(&name, failure);
        }
        if let Some(entry) = lookup(last.error_code.as_deref(), message) {
            let slots = Slots {
                name: named_item(message),
                line: last.error_line,
                moved: last.moved_line(),
                file: None,
            };
            let about = match &last.error_code {
                Some(code) => format!("compiler error {code} ({})", entry.concept),
                None => format!("a compiler error ({})", entry.concept),
            };
            return Ladder {
                key: LadderKey::Error(entry.key.to_owned()),
                about,
                rungs: entry.rungs.iter().map(|r| fill(r, &slots)).collect(),
                failure,
            };
        }
        return stage_ladder(stage, failure);
    }
    let own = |name: &&String| name.split("::").next() == Some(stage.id.as_str());
    let failing_own: Vec<&String> = last.failing_tests.iter().filter(own).collect();
    if !failing_own.is_empty() && !last.passing_tests.iter().any(|t| own(&t)) {
        let failure = Some(format!(
            "every test of `{}` fails ({})",
            stage.id,
            failing_own.len()
        ));
        return stage_ladder(stage, failure);
    }
    let unwritten = |name: &str| last.failures.get(name).is_some_and(Failure::is_unwritten);
    let full = |test: &str| format!("{}::{test}", stage.id);
    let mut authored: Vec<_> = stage
        .test_hints
        .iter()
        .filter(|l| failing_own.contains(&&full(&l.test)))
        .collect();
    // Stable: the author's order stays within each kind of failure.
    authored.sort_by_key(|l| unwritten(&full(&l.test)));
    if let Some(ladder) = authored.first() {
        let name = full(&ladder.test);
        return Ladder {
            key: LadderKey::Test(ladder.test.clone()),
            about: format!("test `{}`", ladder.test),
            rungs: ladder.rungs.iter().map(|r| r.text.clone()).collect(),
            failure: Some(describe_test(&name, last.failures.get(&name))),
        };
    }
    // Earlier stages' tests come first in `failing_tests`: a broken old behaviour explains
    // more than a new one not working yet.
    let mut failing: Vec<&String> = last.failing_tests.iter().collect();
    failing.sort_by_key(|name| unwritten(name));
    match failing.first() {
        Some(name) => failing_test(stage, name, last.failures.get(name.as_str())),
        // Every test passed: the first lint the catalog knows, if clippy found one.
        None => lint_ladder(&last.lints).unwrap_or_else(|| stage_ladder(stage, None)),
    }
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
            failure: Some(format!("clippy::{}{place}: {}", entry.lint, found.message)),
        })
    })
}

fn stage_ladder(stage: &Stage, failure: Option<String>) -> Ladder {
    Ladder {
        key: LadderKey::Stage,
        about: format!("stage `{}` ({})", stage.id, stage.title),
        rungs: stage.hints.iter().map(|r| r.text.clone()).collect(),
        failure,
    }
}

/// "E0382 at src/lib.rs:19: use of moved value: `entry`".
fn describe_error(last: &RunSummary, message: &str) -> String {
    let code = last.error_code.as_deref().unwrap_or("error");
    match (&last.error_file, last.error_line) {
        (Some(file), Some(line)) => format!("{code} at {file}:{line}: {message}"),
        _ => format!("{code}: {message}"),
    }
}

/// "memory::set_overwrites: assertion `left == right` failed".
fn describe_test(name: &str, failure: Option<&Failure>) -> String {
    match failure.map(Failure::headline).filter(|h| !h.is_empty()) {
        Some(headline) => format!("{name}: {headline}"),
        None => format!("{name}: did not finish"),
    }
}

/// The missing name of a "cannot find" error, when the stage introduces it: its tests or its
/// brief's Code section use it, and no earlier stage's tests do.
fn introduced_name(
    stage: &Stage,
    earlier: &[Stage],
    last: &RunSummary,
    message: &str,
) -> Option<String> {
    let code = last.error_code.as_deref()?;
    if !MISSING_NAME_CODES.contains(&code) {
        return None;
    }
    let name = named_item(message)?.rsplit("::").next()?.to_owned();
    let introduced = mentions(&stage.tests, &name) || mentions(code_section(&stage.brief), &name);
    let known_before = earlier.iter().any(|s| mentions(&s.tests, &name));
    (introduced && !known_before).then_some(name)
}

/// The brief's `## Code` section (empty when it has none).
fn code_section(brief: &str) -> &str {
    let Some(start) = brief.find("\n## Code") else {
        return "";
    };
    let rest = &brief[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// Whether `text` uses `name` as a whole identifier.
fn mentions(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

fn new_in_stage(name: &str, failure: Option<String>) -> Ladder {
    Ladder {
        key: LadderKey::NewInStage(name.to_owned()),
        about: format!("`{name}`, new in this stage"),
        rungs: vec![
            format!(
                "`{name}` is new in this stage: the tests use it, and nothing in your crate declares it yet. What does the brief's Code section say it is - a type, a function, a method - and what does it take and give back?"
            ),
            "Which of the stage's new items do the tests need first? Declare only its signature, with `todo!()` as the body, and save: what does the compiler ask for next?".to_owned(),
            format!(
                "Nudge: copy the signatures of `{name}` and the other new items from the brief's Code section into `src/lib.rs`, `pub` and with `todo!()` bodies; once it compiles, make the tests pass one at a time."
            ),
        ],
        failure,
    }
}

/// Questions about a failing test that has no ladder of its own.
fn failing_test(stage: &Stage, name: &str, failure: Option<&Failure>) -> Ladder {
    let (module, function) = name.rsplit_once("::").unwrap_or((&stage.id, name));
    let file = format!("tests/stages/{module}.rs");
    let place = failure
        .and_then(|f| f.location.as_deref())
        .and_then(|l| l.split(':').nth(1))
        .map(|line| format!(" (it stops at line {line})"))
        .unwrap_or_default();
    let first = if module == stage.id {
        format!(
            "Read `{function}` in `{file}`{place}: what does it do, step by step, and what does it expect at the end?"
        )
    } else {
        format!(
            "`{function}` is a test of an earlier stage, `{module}`, and it passed then. What did you change since that it depends on? Read it in `{file}`{place}."
        )
    };
    let second = match failure.map(Failure::headline).filter(|h| !h.is_empty()) {
        Some(headline) if !failure.is_some_and(Failure::is_unwritten) => format!(
            "It says: \"{headline}\". What did your code give instead, and which of your functions produced that?"
        ),
        Some(_) => "It stops at a `todo!()`: which of your functions does it call that you have not written yet?".to_owned(),
        None => "It did not finish in time: which loop or lock could keep it waiting forever?".to_owned(),
    };
    Ladder {
        key: LadderKey::Failing(name.to_owned()),
        about: format!("test `{function}`"),
        rungs: vec![
            first,
            second,
            format!(
                "Nudge: put `dbg!(…)` around what your code returns at each step of `{function}` and save - katas shows what a failing test printed - and compare each value with what the test expects."
            ),
        ],
        failure: Some(describe_test(name, failure)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::{Rung, TestLadder};
    use std::time::Duration;

    fn rung(text: &str) -> Rung {
        Rung {
            text: text.to_owned(),
            line: 1,
        }
    }

    fn ladder_for(test: &str) -> TestLadder {
        TestLadder {
            test: test.into(),
            rungs: vec![rung(&format!("About {test}?")), rung("Nudge.")],
            line: 1,
        }
    }

    /// A stage `log` after a stage `memory`; its tests use `Log`, its brief's Code section
    /// names `compact`.
    fn stage() -> Stage {
        Stage {
            id: "log".into(),
            title: "An append-only log".into(),
            brief: "# Log\n\n## Plan\n\nThink about `Store`.\n\n## Code\n\n- `Log::compact(&mut self)`\n\n## Tests\n".into(),
            tests: "use kv::{Log, Store};\n#[test]\nfn survives_reopen() { Log::open(); }\n".into(),
            test_names: vec![
                "survives_reopen".into(),
                "removes_replayed".into(),
                "overwrites_replayed".into(),
            ],
            concepts: vec![],
            time_limit: Duration::from_secs(10),
            memory_limit_mib: 2048,
            test_threads: None,
            features: Vec::new(),
            strict: false,
            hints: vec![
                rung("Plan?"),
                rung("Concept?"),
                rung("Code?"),
                rung("Nudge."),
            ],
            // The author's order: the basic behaviour first.
            test_hints: vec![ladder_for("overwrites_replayed"), ladder_for("removes_replayed")],
            reflection: vec![],
        }
    }

    fn memory() -> Stage {
        Stage {
            id: "memory".into(),
            tests: "use kv::Store;\n".into(),
            ..stage()
        }
    }

    fn summary() -> RunSummary {
        RunSummary {
            track: "kv".into(),
            stage: "log".into(),
            ..RunSummary::default()
        }
    }

    fn error(code: &str, message: &str) -> RunSummary {
        RunSummary {
            error_code: Some(code.into()),
            error_message: Some(message.into()),
            error_file: Some("src/lib.rs".into()),
            error_line: Some(42),
            ..summary()
        }
    }

    fn failed(message: &str) -> Failure {
        Failure {
            location: Some("tests/stages/log.rs:50:5".into()),
            message: message.into(),
        }
    }

    fn tests(failing: &[&str], passing: &[&str]) -> RunSummary {
        RunSummary {
            failing_tests: failing.iter().map(|&t| t.to_owned()).collect(),
            passing_tests: passing.iter().map(|&t| t.to_owned()).collect(),
            failures: failing
                .iter()
                .map(|&t| (t.to_owned(), failed("assertion `left == right` failed")))
                .collect(),
            ..summary()
        }
    }

    #[test]
    fn a_compile_error_picks_the_catalog_ladder_with_the_diagnostics_names() {
        let last = error("E0382", "borrow of moved value: `entry`");
        let ladder = choose(&stage(), &[], Some(&last));
        assert_eq!(ladder.key, LadderKey::Error("E0382".into()));
        assert!(
            ladder.rungs[0].contains("`entry`") && ladder.rungs[0].contains("line 42"),
            "{}",
            ladder.rungs[0]
        );
        assert_eq!(
            ladder.failure.as_deref(),
            Some("E0382 at src/lib.rs:42: borrow of moved value: `entry`")
        );
    }

    #[test]
    fn placeholders_are_filled_from_a_real_recorded_diagnostic() {
        // cargo's own JSON for a use-after-move of `entry` (see runner/testdata): moved on
        // line 4, used again on line 5.
        let log = crate::runner::BuildLog::parse(
            include_str!("../runner/testdata/e0382.jsonl").as_bytes(),
            "stages",
        );
        let error = log.errors().next().unwrap();
        let last = RunSummary {
            error_code: error.code.clone(),
            error_message: Some(error.message.clone()),
            error_line: error.line,
            error_related: error.related.clone(),
            ..summary()
        };
        let ladder = choose(&stage(), &[], Some(&last));
        assert_eq!(ladder.about, "compiler error E0382 (ownership)");
        let used = format!("at line {}", error.line.unwrap());
        assert!(
            ladder.rungs[0].contains("`entry`")
                && ladder.rungs[0].contains("after line 4")
                && ladder.rungs[0].contains(&used),
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
    fn a_missing_name_the_stage_introduces_points_to_the_briefs_code_section() {
        for (code, message, name) in [
            ("E0432", "unresolved import `kv::Log`", "Log"),
            (
                "E0433",
                "failed to resolve: use of undeclared type `Log`",
                "Log",
            ),
            ("E0412", "cannot find type `Log` in this scope", "Log"),
            (
                "E0599",
                "no method named `compact` found for struct `Log` in the current scope",
                "compact",
            ),
        ] {
            let ladder = choose(&stage(), &[memory()], Some(&error(code, message)));
            assert_eq!(ladder.key, LadderKey::NewInStage(name.into()), "{code}");
            assert!(
                ladder.rungs[0].contains("Code section"),
                "{}",
                ladder.rungs[0]
            );
        }
    }

    #[test]
    fn a_missing_name_known_before_or_not_in_the_stage_gets_the_catalog_ladder() {
        // `Store` is in this stage's tests, but the first stage's tests used it already.
        let known = error("E0432", "unresolved import `kv::Store`");
        assert_eq!(
            choose(&stage(), &[memory()], Some(&known)).key,
            LadderKey::Error("E0432".into())
        );
        // `Logg` is a typo: nothing in the stage names it. `Lo` is only part of a name.
        for typo in ["Logg", "Lo"] {
            let typo = error("E0412", &format!("cannot find type `{typo}` in this scope"));
            assert_eq!(
                choose(&stage(), &[memory()], Some(&typo)).key,
                LadderKey::Error("E0412".into())
            );
        }
    }

    #[test]
    fn when_every_test_of_the_stage_fails_the_plan_comes_first() {
        let last = tests(
            &[
                "log::overwrites_replayed",
                "log::removes_replayed",
                "log::survives_reopen",
            ],
            &["memory::get_returns_what_set_stored"],
        );
        let ladder = choose(&stage(), &[memory()], Some(&last));
        assert_eq!(ladder.key, LadderKey::Stage);
        assert_eq!(ladder.rungs[0], "Plan?");
        assert_eq!(
            ladder.failure.as_deref(),
            Some("every test of `log` fails (3)")
        );
    }

    #[test]
    fn the_authors_order_picks_the_basic_failure_over_the_first_in_the_run() {
        // libtest runs in name order: `removes_replayed` fails first, because overwriting is
        // broken, which `overwrites_replayed` (first in stage.toml) says directly.
        let last = tests(
            &["log::overwrites_replayed", "log::removes_replayed"],
            &["log::survives_reopen"],
        );
        let mut reordered = last.clone();
        reordered.failing_tests.reverse();
        for last in [last, reordered] {
            let ladder = choose(&stage(), &[], Some(&last));
            assert_eq!(ladder.key, LadderKey::Test("overwrites_replayed".into()));
            assert_eq!(
                ladder.failure.as_deref(),
                Some("log::overwrites_replayed: assertion `left == right` failed")
            );
        }
    }

    #[test]
    fn a_failed_assertion_says_more_than_unwritten_code() {
        let mut last = tests(
            &["log::overwrites_replayed", "log::removes_replayed"],
            &["log::survives_reopen"],
        );
        last.failures.insert(
            "log::overwrites_replayed".into(),
            failed("not yet implemented"),
        );
        assert_eq!(
            choose(&stage(), &[], Some(&last)).key,
            LadderKey::Test("removes_replayed".into())
        );
    }

    #[test]
    fn a_failing_test_without_a_ladder_gets_questions_about_itself_not_the_plan() {
        let mut last = tests(&["log::survives_reopen"], &["log::removes_replayed"]);
        last.failures.insert(
            "log::survives_reopen".into(),
            failed("assertion `left == right` failed: DEL removes the key"),
        );
        let ladder = choose(&stage(), &[], Some(&last));
        assert_eq!(
            ladder.key,
            LadderKey::Failing("log::survives_reopen".into())
        );
        assert!(
            ladder.rungs[0].contains("`survives_reopen`")
                && ladder.rungs[0].contains("tests/stages/log.rs")
                && ladder.rungs[0].contains("line 50"),
            "{}",
            ladder.rungs[0]
        );
        assert!(
            ladder.rungs[1].contains("DEL removes the key"),
            "{}",
            ladder.rungs[1]
        );
        assert!(!ladder.rungs.iter().any(|r| r.starts_with("Plan")));
    }

    #[test]
    fn a_broken_earlier_stage_is_named_as_such() {
        let last = tests(
            &["memory::get_returns_what_set_stored"],
            &["log::survives_reopen"],
        );
        let ladder = choose(&stage(), &[memory()], Some(&last));
        assert_eq!(
            ladder.key,
            LadderKey::Failing("memory::get_returns_what_set_stored".into())
        );
        assert!(
            ladder.rungs[0].contains("earlier stage, `memory`"),
            "{}",
            ladder.rungs[0]
        );
    }

    #[test]
    fn otherwise_the_stage_ladder() {
        assert_eq!(choose(&stage(), &[], None).key, LadderKey::Stage);
        assert_eq!(choose(&stage(), &[], None).failure, None);
        let other_stage = RunSummary {
            stage: "memory".into(),
            ..error("E0382", "borrow of moved value: `entry`")
        };
        assert_eq!(
            choose(&stage(), &[], Some(&other_stage)).key,
            LadderKey::Stage,
            "a run of another stage is stale"
        );
    }

    #[test]
    fn an_unknown_error_code_falls_back_to_the_stage() {
        let last = error("E9999", "something new");
        assert_eq!(choose(&stage(), &[], Some(&last)).key, LadderKey::Stage);
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
            verdict: Some(crate::runner::Verdict::Passed),
            lints: recorded_lints(),
            ..summary()
        };
        let ladder = choose(&stage(), &[], Some(&last));
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
        let ladder = choose(&stage(), &[], Some(&last));
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
        assert_ne!(
            std::mem::discriminant(&choose(&stage(), &[], Some(&last)).key),
            std::mem::discriminant(&LadderKey::Lint(String::new()))
        );
    }
}
