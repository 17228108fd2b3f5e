//! Text for the terminal: outcomes, lists, hints. Pure functions from data to strings, so the
//! command line's output is tested without running anything.

use std::fmt::Write;

use crate::course::{Course, Stage};
use crate::hints::{Confirm, Decision};
use crate::progress::{Progress, StageStatus};
use crate::runner::{RunOutcome, TestStatus, Verdict};
use crate::session::HintAnswer;

/// Test output made safe for a terminal: colours (SGR) kept, every other escape sequence (a
/// window title, a cleared screen, a moved cursor) and control character dropped, as the watch
/// screen drops them. A test's output is the learner's code's, not katas' to obey.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters, then one final byte; only colours (`m`) are kept.
                Some('[') => {
                    let mut sequence = String::from("\u{1b}[");
                    for c in chars.by_ref() {
                        sequence.push(c);
                        if ('\u{40}'..='\u{7e}').contains(&c) {
                            break;
                        }
                    }
                    if sequence.ends_with('m') {
                        out.push_str(&sequence);
                    }
                }
                // OSC, DCS, APC, PM, SOS: a string ended by BEL or ESC \\.
                Some(']' | 'P' | '_' | '^' | 'X') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                // Any other escape: ESC and the one character after it.
                _ => {}
            },
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The one-line verdict, e.g. "4 of 7 tests pass - stage 2 of 3: commands (Commands and errors)".
pub fn summary(outcome: &RunOutcome, stage: &Stage, number: usize, of: usize) -> String {
    let which = format!("stage {number} of {of}: {} ({})", stage.id, stage.title);
    let total = outcome
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Ignored)
        .count();
    match outcome.verdict {
        Verdict::Passed if total == 1 => format!("the 1 test passes - {which}"),
        Verdict::Passed => format!("all {total} tests pass - {which}"),
        Verdict::Failed if total == 1 => format!("the 1 test fails - {which}"),
        Verdict::Failed => format!("{} of {total} tests pass - {which}", outcome.passed_count()),
        Verdict::CompileError => {
            let errors = outcome.errors().count();
            format!(
                "{errors} compile error{} - {which}",
                if errors == 1 { "" } else { "s" }
            )
        }
        Verdict::BuildError => format!("cargo could not build the crate - {which}"),
        Verdict::TimedOut => format!(
            "the run passed its time limit of {}s and was stopped - {which}",
            outcome.time_limit.as_secs()
        ),
        Verdict::Cancelled => format!("cancelled - {which}"),
    }
}

/// The details a learner needs to act: compiler errors, or the failing tests and their output.
pub fn details(outcome: &RunOutcome) -> String {
    let mut out = String::new();
    match outcome.verdict {
        Verdict::CompileError => {
            for error in outcome.errors().take(5) {
                let _ = writeln!(out, "{}", error.rendered.trim_end());
            }
            let more = outcome.errors().count().saturating_sub(5);
            if more > 0 {
                let _ = writeln!(
                    out,
                    "... and {more} more: fix the first ones first, later errors often follow from them"
                );
            }
        }
        Verdict::BuildError => {
            let _ = writeln!(out, "{}", terminal_safe(outcome.build_output.trim_end()));
        }
        _ => {
            for test in &outcome.tests {
                let mark = match test.status {
                    TestStatus::Passed => "ok  ",
                    TestStatus::Failed => "FAIL",
                    TestStatus::Ignored => "skip",
                    TestStatus::DidNotFinish => "STOP",
                };
                let _ = writeln!(out, "  {mark} {}", test.name);
            }
            for test in outcome.failed() {
                let _ = writeln!(out, "\n---- {} ----", test.name);
                if test.status == TestStatus::DidNotFinish {
                    let _ = writeln!(out, "did not finish: {}", outcome.unfinished_reason());
                }
                if !test.output.is_empty() {
                    let _ = writeln!(out, "{}", terminal_safe(&test.output));
                }
            }
            if !outcome.test_output.trim().is_empty() && outcome.verdict != Verdict::Passed {
                let _ = writeln!(out, "\n{}", terminal_safe(outcome.test_output.trim_end()));
            }
        }
    }
    out
}

/// `katas list` as text.
pub fn list(course: &Course, progress: &Progress, working_track: usize) -> String {
    let mut out = format!("{}\n", course.name);
    for (index, track) in course.tracks.iter().enumerate() {
        let passed = (0..track.stages.len())
            .filter(|&i| progress.status(track, i) == StageStatus::Passed)
            .count();
        let marker = if index == working_track { ">" } else { " " };
        let _ = writeln!(
            out,
            "\n{marker} {} - {} ({passed}/{} passed)",
            track.id,
            track.title,
            track.stages.len()
        );
        for (i, stage) in track.stages.iter().enumerate() {
            let status = match progress.status(track, i) {
                StageStatus::Passed => "passed ",
                StageStatus::Current => "current",
                StageStatus::Locked => "locked ",
            };
            let _ = writeln!(
                out,
                "    {:>2}. [{status}] {}/{} - {}",
                i + 1,
                track.id,
                stage.id,
                stage.title
            );
        }
    }
    out
}

/// The reflection questions shown when a stage passes.
pub fn reflection(stage: &Stage) -> String {
    let mut out = String::from("Before you move on, think about what you built:\n");
    for (i, question) in stage.reflection.iter().enumerate() {
        let _ = writeln!(out, "  {}. {question}", i + 1);
    }
    out
}

/// The rungs already shown of a ladder, then what happens now.
pub fn hint(answer: &HintAnswer) -> String {
    let mut out = format!("Help for {}:\n", answer.ladder.about);
    for (i, rung) in answer
        .ladder
        .rungs
        .iter()
        .take(answer.shown_before)
        .enumerate()
    {
        let _ = writeln!(out, "  {}. {rung}", i + 1);
    }
    match &answer.decision {
        Decision::Wait { shown } => {
            let _ = writeln!(
                out,
                "\nThink about question {shown} first: change something and run again, and the next \
                 question opens.\nTruly stuck? `katas hint --stuck` opens it now."
            );
        }
        Decision::Exhausted => {
            let _ = writeln!(
                out,
                "\nThat was the whole ladder. If you are still stuck, re-read the brief's Code \
                 section, or - on purpose - `katas reset` this stage to start from the previous \
                 stage's reference solution (your files are kept aside)."
            );
        }
        Decision::Show { .. } => {}
    }
    out
}

/// What clippy and rustfmt said after a pass, in a few lines: the lints are questions (shown
/// by the hint ladder), not clippy's own text.
pub fn style(report: &crate::runner::ClippyReport, fmt_clean: Option<bool>) -> String {
    use crate::runner::ClippyEnd;
    let mut out = String::new();
    match (&report.end, report.lints.len()) {
        (ClippyEnd::Finished, 0) => {
            let _ = writeln!(
                out,
                "\nclippy: nothing to question under the course's lint set."
            );
        }
        (ClippyEnd::Finished, n) => {
            let _ = writeln!(
                out,
                "\nclippy questions your code in {n} place{} (advice, not a failure):",
                if n == 1 { "" } else { "s" }
            );
            for lint in report.lints.iter().take(5) {
                let place = match (&lint.file, lint.line) {
                    (Some(file), Some(line)) => format!("{file}:{line}"),
                    _ => "the crate".to_owned(),
                };
                let _ = writeln!(out, "  clippy::{} at {place}", lint.lint);
            }
        }
        (ClippyEnd::Cancelled, _) => {
            let _ = writeln!(out, "\nclippy: cancelled.");
        }
        (ClippyEnd::TimedOut, _) => {
            let _ = writeln!(out, "\nclippy: stopped at its time limit.");
        }
        (ClippyEnd::Failed(why), _) => {
            let first = why.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let _ = writeln!(
                out,
                "\nclippy could not check the crate: {first}\n(is clippy installed? `rustup component add clippy`; an `allow` of one of the course's lints is refused on a strict stage)"
            );
        }
    }
    if fmt_clean == Some(false) {
        let _ = writeln!(
            out,
            "your code is not formatted as rustfmt would: run `cargo fmt`"
        );
    }
    out
}

/// Why a strict stage whose tests pass has not passed.
pub fn strict_failure(report: &crate::runner::ClippyReport) -> String {
    let mut out = String::from(
        "This stage is strict: it passes when the tests pass and clippy finds nothing under the \
         course's lint set.",
    );
    out.push_str(
        &style(report, None).replace("(advice, not a failure)", "(this stage needs none)"),
    );
    out.push_str("Not passed yet.");
    out
}

/// The question asked before a rung that needs a confirmation.
pub fn confirmation(confirm: &[Confirm]) -> String {
    if confirm.contains(&Confirm::FinalNudge) {
        "The next hint is the last one: a concrete nudge, close to the answer. Show it?".to_owned()
    } else {
        "You have not tried anything since the last question. Open the next one anyway?".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::TestResult;
    use std::time::Duration;

    fn stage() -> Stage {
        Stage {
            id: "commands".into(),
            title: "Commands and errors".into(),
            brief: String::new(),
            tests: String::new(),
            test_names: vec![],
            concepts: vec![],
            time_limit: Duration::from_secs(30),
            memory_limit_mib: 2048,
            test_threads: None,
            features: Vec::new(),
            strict: false,
            hints: vec![],
            test_hints: vec![],
            reflection: vec!["What if the log is cut?".into()],
        }
    }

    fn outcome(statuses: &[TestStatus], verdict: Verdict) -> RunOutcome {
        RunOutcome {
            verdict,
            diagnostics: vec![],
            tests: statuses
                .iter()
                .enumerate()
                .map(|(i, s)| TestResult {
                    name: format!("commands::t{i}"),
                    status: *s,
                    output: format!("out {i}"),
                })
                .collect(),
            build_output: String::new(),
            test_output: String::new(),
            truncated: false,
            build_time: Duration::ZERO,
            test_time: Duration::ZERO,
            time_limit: Duration::from_secs(30),
            witnessed: None,
            units: vec![],
            early_end: None,
            notes: vec![],
        }
    }

    #[test]
    fn the_summary_counts_passing_tests_and_names_the_stage() {
        use TestStatus::*;
        let o = outcome(
            &[Passed, Failed, Passed, DidNotFinish, Ignored],
            Verdict::Failed,
        );
        assert_eq!(
            summary(&o, &stage(), 2, 9),
            "2 of 4 tests pass - stage 2 of 9: commands (Commands and errors)"
        );
    }

    #[test]
    fn details_show_failures_with_their_output_and_unfinished_tests() {
        use TestStatus::*;
        let text = details(&outcome(&[Passed, Failed, DidNotFinish], Verdict::TimedOut));
        assert!(
            text.contains("FAIL commands::t1") && text.contains("out 1"),
            "{text}"
        );
        assert!(
            text.contains("STOP commands::t2") && text.contains("did not finish"),
            "{text}"
        );
        assert!(
            !text.contains("out 0"),
            "passing tests' output is not shown: {text}"
        );
    }

    #[test]
    fn a_tests_terminal_escapes_are_dropped_and_colours_kept() {
        let raw = "a\u{1b}]0;pwned title\u{7}b\u{1b}[2J\u{1b}[H\u{1b}[31mred\u{1b}[0m\r\u{8}c\u{1b}]2;t\u{1b}\\d\u{1b}c\n";
        assert_eq!(terminal_safe(raw), "ab\u{1b}[31mred\u{1b}[0mcd\n");
    }

    #[test]
    fn an_early_end_is_named_instead_of_a_guess() {
        use crate::runner::EarlyEnd;
        let mut o = outcome(
            &[TestStatus::Passed, TestStatus::DidNotFinish],
            Verdict::Failed,
        );
        o.early_end = Some(EarlyEnd::Signal {
            number: 6,
            name: "SIGABRT".into(),
        });
        let text = details(&o);
        assert!(text.contains("killed by SIGABRT"), "{text}");
        assert!(!text.contains("endless loop"), "{text}");
        o.early_end = Some(EarlyEnd::Exited(0));
        assert!(details(&o).contains("exited with status 0"));
        o.early_end = Some(EarlyEnd::MemoryLimit { mib: 64 });
        assert!(details(&o).contains("memory limit of 64 MiB"));
    }
}
