//! The author's lint for ladders and briefs, run by `katas dev check`.
//!
//! Loading a course only refuses what would break katas; this holds a course to the teaching
//! rules: ladders that ask before they tell, and briefs in the order Plan, Concept, Code.

use std::path::PathBuf;

use crate::course::{Problem, Rung, Stage, Track};

/// Rungs a stage ladder needs: Plan, Concept, Code, nudge.
const STAGE_RUNGS: usize = 4;
/// Rungs a test ladder needs: at least one question and the nudge.
const TEST_RUNGS: usize = 2;
/// Reflection questions a stage needs.
const REFLECTIONS: usize = 2;
/// The brief's sections, in order.
const BRIEF_SECTIONS: [&str; 3] = ["Plan", "Concept", "Code"];

/// Every teaching-rule problem of a stage; empty when it is sound.
pub fn lint_stage(track: &Track, stage: &Stage) -> Vec<Problem> {
    let dir = PathBuf::from("course").join(&track.id).join(&stage.id);
    let manifest = dir.join("stage.toml");
    let mut problems = Vec::new();
    let place = format!("{}/{}", track.id, stage.id);

    lint_ladder(
        &mut problems,
        &manifest,
        &format!("{place}: the stage ladder"),
        &stage.hints,
        STAGE_RUNGS,
    );
    for ladder in &stage.test_hints {
        let what = format!("{place}: the ladder of test `{}`", ladder.test);
        if !stage.test_names.contains(&ladder.test) {
            problems.push(Problem {
                file: manifest.clone(),
                line: Some(ladder.line),
                what: format!("{what} names a test that tests.rs does not have"),
                fix: format!("use one of: {}", stage.test_names.join(", ")),
            });
        }
        lint_ladder(&mut problems, &manifest, &what, &ladder.rungs, TEST_RUNGS);
    }
    if stage.reflection.len() < REFLECTIONS {
        problems.push(Problem {
            file: manifest.clone(),
            line: None,
            what: format!(
                "{place}: {} reflection question(s); a stage needs {REFLECTIONS}+",
                stage.reflection.len()
            ),
            fix: "ask about the trade-offs and failure scenarios of what was just built".to_owned(),
        });
    }
    if let Some(problem) = lint_brief(&stage.brief) {
        problems.push(Problem {
            file: dir.join("brief.md"),
            line: None,
            what: format!("{place}: {problem}"),
            fix: format!(
                "give the brief the sections `## {}`, `## {}`, `## {}`, in that order",
                BRIEF_SECTIONS[0], BRIEF_SECTIONS[1], BRIEF_SECTIONS[2]
            ),
        });
    }
    if stage.strict && !stage.brief.to_lowercase().contains("clippy") {
        problems.push(Problem {
            file: dir.join("brief.md"),
            line: None,
            what: format!(
                "{place}: the stage is strict (it passes only when clippy is clean) but its brief does not say so"
            ),
            fix: "say it in the brief, e.g. a line under `## Passing this stage`: \"This stage is strict: it passes when the tests pass and clippy finds nothing under the course's lint set.\"".to_owned(),
        });
    }
    if let Some((line, text)) = glob_import_of(&stage.tests, &track.id) {
        problems.push(Problem {
            file: dir.join("tests.rs"),
            line: Some(line),
            what: format!(
                "{place}: `{text}` imports everything of the learner's crate, macros included: a learner's `#[macro_export] macro_rules! assert_eq` would then replace the standard one in the trusted tests"
            ),
            fix: format!("import what the tests use by name, e.g. `use {}::{{KvStore, KvError}};`", track.id),
        });
    }
    problems
}

/// The first line of `tests` that glob-imports the track's crate (`use kv_store::*;`), if any.
fn glob_import_of(tests: &str, krate: &str) -> Option<(usize, String)> {
    tests.lines().enumerate().find_map(|(i, line)| {
        let line = line.trim();
        if line.starts_with("#[macro_use]") {
            return Some((i + 1, line.to_owned()));
        }
        let rest = line.strip_prefix("use ")?.strip_prefix(krate)?;
        let glob = rest.starts_with("::*") || (rest.starts_with("::{") && rest.contains('*'));
        glob.then(|| (i + 1, line.to_owned()))
    })
}

fn lint_ladder(
    problems: &mut Vec<Problem>,
    file: &std::path::Path,
    what: &str,
    rungs: &[Rung],
    min: usize,
) {
    let mut report = |line: Option<usize>, problem: String, fix: &str| {
        problems.push(Problem {
            file: file.to_path_buf(),
            line,
            what: format!("{what}{problem}"),
            fix: fix.to_owned(),
        });
    };
    if rungs.len() < min {
        report(
            rungs.first().map(|r| r.line),
            format!(" has {} rung(s); it needs {min}+", rungs.len()),
            "add rungs: questions that narrow step by step, then a concrete nudge",
        );
    }
    let last = rungs.len().saturating_sub(1);
    for (index, rung) in rungs.iter().enumerate() {
        let number = index + 1;
        if index < last && !rung.text.trim_end().ends_with('?') {
            report(
                Some(rung.line),
                format!(", rung {number}, is not a question"),
                "end it with `?`: only the last rung may tell",
            );
        }
        if index < last && rung.text.contains("```") {
            report(
                Some(rung.line),
                format!(", rung {number}, holds a code block"),
                "move the code to the last rung, or ask about it instead",
            );
        }
        if rungs[..index]
            .iter()
            .any(|earlier| earlier.text == rung.text)
        {
            report(
                Some(rung.line),
                format!(", rung {number}, repeats an earlier rung"),
                "make each rung narrow the one before",
            );
        }
    }
}

/// The brief's level-2 headings must start with Plan, Concept, Code, in that order.
fn lint_brief(brief: &str) -> Option<String> {
    let headings: Vec<&str> = brief
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| {
            h.split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or_default()
        })
        .collect();
    let mut wanted = BRIEF_SECTIONS.iter().peekable();
    for heading in &headings {
        if wanted
            .peek()
            .is_some_and(|w| w.eq_ignore_ascii_case(heading))
        {
            wanted.next();
        }
    }
    wanted.next().map(|missing| {
        format!(
            "the brief has no `## {missing}` section in the order Plan, Concept, Code (its sections: {})",
            headings.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_import_of_the_learners_crate_is_refused() {
        assert_eq!(
            glob_import_of("use std::fmt;\nuse counter::*;\n", "counter"),
            Some((2, "use counter::*;".to_owned()))
        );
        assert!(glob_import_of("use counter::{self, nested::*};", "counter").is_some());
        assert_eq!(
            glob_import_of("use counter::{Counter, Tally};\nuse std::*;", "counter"),
            None
        );
        assert_eq!(glob_import_of("use counterfeit::*;", "counter"), None);
        assert!(glob_import_of("#[macro_use]\nextern crate counter;", "counter").is_some());
    }
    use crate::course::TestLadder;
    use std::time::Duration;

    fn rungs(texts: &[&str]) -> Vec<Rung> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| Rung {
                text: (*t).to_owned(),
                line: i + 10,
            })
            .collect()
    }

    fn good_stage() -> (Track, Stage) {
        let stage = Stage {
            id: "log".into(),
            title: "Log".into(),
            brief: "# Log\n## Plan\nx\n## Concept\ny\n## Code\nz\n## Passing this stage\n".into(),
            tests: String::new(),
            test_names: vec!["reopen".into()],
            concepts: vec![],
            time_limit: Duration::from_secs(5),
            memory_limit_mib: 2048,
            test_threads: None,
            features: Vec::new(),
            strict: false,
            hints: rungs(&[
                "What must survive?",
                "Which file?",
                "Where do you flush?",
                "Nudge: `File::sync_all`.",
            ]),
            test_hints: vec![TestLadder {
                test: "reopen".into(),
                rungs: rungs(&["What is on disk?", "Nudge: replay removes."]),
                line: 3,
            }],
            reflection: vec!["What if?".into(), "And then?".into()],
        };
        let track = Track {
            id: "kv".into(),
            title: "KV".into(),
            summary: String::new(),
            stages: vec![stage.clone()],
        };
        (track, stage)
    }

    #[test]
    fn a_sound_stage_has_no_problems() {
        let (track, stage) = good_stage();
        assert_eq!(lint_stage(&track, &stage), []);
    }

    #[test]
    fn each_rule_is_enforced_with_stage_ladder_and_rung() {
        let (track, mut stage) = good_stage();
        stage.hints = rungs(&["A statement.", "```rust\nx\n```?", "A statement.", "Nudge."]);
        stage.test_hints[0].test = "no_such_test".into();
        stage.test_hints[0].rungs = rungs(&["Only one?"]);
        stage.reflection.truncate(1);
        stage.brief = "## Concept\n## Plan\n## Code\n".into();
        let problems: Vec<String> = lint_stage(&track, &stage)
            .iter()
            .map(ToString::to_string)
            .collect();
        let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
        assert!(
            has("kv/log: the stage ladder, rung 1, is not a question"),
            "{problems:#?}"
        );
        assert!(has("rung 2, holds a code block"), "{problems:#?}");
        assert!(has("rung 3, repeats an earlier rung"), "{problems:#?}");
        assert!(
            has("names a test that tests.rs does not have"),
            "{problems:#?}"
        );
        assert!(
            has("the ladder of test `no_such_test` has 1 rung(s); it needs 2+"),
            "{problems:#?}"
        );
        assert!(has("reflection question"), "{problems:#?}");
        assert!(
            has("no `## Concept` section") || has("no `## Code` section"),
            "{problems:#?}"
        );
        assert!(
            has("stage.toml:10:"),
            "problems name the line: {problems:#?}"
        );
    }

    #[test]
    fn a_strict_stage_must_say_so_in_its_brief() {
        let (track, mut stage) = good_stage();
        stage.strict = true;
        let problems: Vec<String> = lint_stage(&track, &stage)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            problems.iter().any(|p| p.contains("the stage is strict")),
            "{problems:#?}"
        );
        stage
            .brief
            .push_str("This stage is strict: clippy must be clean.\n");
        assert_eq!(lint_stage(&track, &stage), []);
    }

    #[test]
    fn a_short_stage_ladder_is_reported() {
        let (track, mut stage) = good_stage();
        stage.hints = rungs(&["Why?", "Nudge."]);
        let problems: Vec<String> = lint_stage(&track, &stage)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("has 2 rung(s); it needs 4+")),
            "{problems:#?}"
        );
    }
}
