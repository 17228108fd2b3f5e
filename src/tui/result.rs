//! The Result pane's text: the verdict, then the failure that matters first - its test, where
//! it stopped and what it asserted - with passing tests collapsed to a count, and the failing
//! tests' whole output below. A learner at a stage with 45 tests sees the assertion without
//! scrolling.

use ansi_to_tui::IntoText as _;
use ratatui::text::{Line, Span, Text};

use super::model::Model;
use super::theme::Theme;
use crate::hints::failure_of;
use crate::runner::{RunOutcome, TestResult, TestStatus, Verdict};

/// "1 test", "2 tests".
pub(super) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The failing tests, the one to read first first: earlier stages' (a broken old behaviour
/// explains more), then failed assertions before unwritten `todo!()`s, then the run's order.
pub(super) fn failing_in_order<'a>(
    outcome: &'a RunOutcome,
    stages: &[String],
) -> Vec<&'a TestResult> {
    let mut failing: Vec<&TestResult> = outcome.failed().collect();
    failing.sort_by_key(|t| {
        let stage = stages
            .iter()
            .position(|s| s == t.stage())
            .unwrap_or(usize::MAX);
        let unwritten = failure_of(&t.output).is_some_and(|f| f.is_unwritten());
        (stage, unwritten)
    });
    failing
}

/// The verdict, then what the learner needs to act on it; `width` is the pane's inside, to
/// which timeline rows are cut rather than wrapped.
pub(super) fn result_text(model: &Model, theme: &Theme, width: u16) -> Text<'static> {
    let Some(outcome) = &model.outcome else {
        let file = if model.snapshot.lib_path.is_empty() {
            "your crate".to_owned()
        } else {
            model.snapshot.lib_path.clone()
        };
        return Text::from(vec![
            Line::from(vec![
                Span::raw("Edit "),
                Span::styled(file, theme.code_inline),
                Span::raw(" and save: katas builds and tests on every save."),
            ]),
            Line::from(Span::styled("(or press r to run now)", theme.dim)),
        ]);
    };
    let mut lines: Vec<Line<'static>> = Vec::new();
    let total = outcome
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Ignored)
        .count();
    let stage = format!(
        "{} ({})",
        model.snapshot.stage_id, model.snapshot.stage_title
    );
    let (summary, style) = match outcome.verdict {
        Verdict::Passed if total == 1 => (format!("the 1 test passes - {stage}"), theme.pass),
        Verdict::Passed => (format!("all {total} tests pass - {stage}"), theme.pass),
        Verdict::Failed => (
            format!(
                "{} of {} pass - {stage}",
                outcome.passed_count(),
                count(total, "test")
            ),
            theme.fail,
        ),
        Verdict::CompileError => (
            format!(
                "{} - {stage}",
                count(outcome.errors().count(), "compile error")
            ),
            theme.fail,
        ),
        Verdict::BuildError => (
            format!("cargo could not build the crate - {stage}"),
            theme.fail,
        ),
        Verdict::TimedOut => (
            format!(
                "stopped at the time limit of {}s - {stage}",
                outcome.time_limit.as_secs()
            ),
            theme.fail,
        ),
        Verdict::Cancelled => (format!("cancelled - {stage}"), theme.dim),
    };
    lines.push(Line::from(Span::styled(summary, style)));
    lines.push(Line::default());
    if outcome.verdict == Verdict::Passed {
        lines.extend(super::style::style_lines(model, theme));
    }
    if outcome.verdict == Verdict::Passed
        && model.snapshot.passed
        && !super::style::strict_pending(model)
    {
        lines.push(Line::from(Span::styled(
            "Stage passed! Before you move on, think about what you built:",
            theme.pass,
        )));
        for (i, question) in model.snapshot.reflection.iter().enumerate() {
            lines.push(Line::from(format!("{}. {question}", i + 1)));
        }
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::raw("Press "),
            Span::styled("n", theme.key),
            Span::raw(" for the next stage."),
        ]));
        return Text::from(lines);
    }
    match outcome.verdict {
        Verdict::CompileError => {
            for error in outcome.errors().take(5) {
                lines.extend(ansi(&error.rendered, model.no_color).lines);
            }
        }
        Verdict::BuildError => lines.extend(
            outcome
                .build_output
                .lines()
                .map(|l| Line::from(l.to_owned())),
        ),
        _ => tests_text(model, outcome, theme, width, &mut lines),
    }
    Text::from(lines)
}

fn tests_text(
    model: &Model,
    outcome: &RunOutcome,
    theme: &Theme,
    width: u16,
    lines: &mut Vec<Line<'static>>,
) {
    let stages: Vec<String> = model
        .snapshot
        .tracks
        .get(model.snapshot.at.map_or(0, |at| at.track))
        .map(|t| t.stages.iter().map(|s| s.0.clone()).collect())
        .unwrap_or_default();
    let failing = failing_in_order(outcome, &stages);
    if let Some(first) = failing.first() {
        lead(outcome, first, theme, lines);
        lines.push(Line::default());
    }
    for test in failing.iter().skip(1) {
        lines.push(mark_line(test, theme));
    }
    let passing: Vec<&TestResult> = outcome
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .collect();
    if model.show_passing {
        lines.extend(passing.iter().map(|t| mark_line(t, theme)));
    } else if !passing.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("✓ ", theme.pass),
            Span::raw(format!("{} passing ", count(passing.len(), "test"))),
            Span::styled("(p lists them)", theme.dim),
        ]));
    }
    let ignored = outcome
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Ignored)
        .count();
    if ignored > 0 {
        lines.push(Line::from(Span::styled(
            format!("- {} ignored", count(ignored, "test")),
            theme.dim,
        )));
    }
    for test in &failing {
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            format!("---- {} ----", test.name),
            theme.heading,
        )));
        if test.status == TestStatus::DidNotFinish {
            lines.push(Line::from(format!(
                "did not finish: {}",
                outcome.unfinished_reason()
            )));
        }
        lines.extend(test.output.lines().map(|l| Line::from(fit_row(l, width))));
    }
    if !outcome.test_output.trim().is_empty() {
        lines.push(Line::default());
        lines.extend(
            outcome
                .test_output
                .lines()
                .map(|l| Line::from(l.to_owned())),
        );
    }
}

/// A timeline row (`    130 │ …`) cut to `width` with an ellipsis, so each event stays one
/// line (`t` shows the rows whole); any other line as it is, to be wrapped.
fn fit_row(line: &str, width: u16) -> String {
    let is_row = line.split_once('│').is_some_and(|(tick, _)| {
        let tick = tick.trim();
        tick == "tick" || tick == "…" || tick.parse::<u64>().is_ok()
    });
    let width = usize::from(width.max(2));
    if !is_row || line.chars().count() <= width {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// The first failing test: its name, where it stopped, and what it said.
fn lead(outcome: &RunOutcome, test: &TestResult, theme: &Theme, lines: &mut Vec<Line<'static>>) {
    lines.push(mark_line(test, theme));
    if test.status == TestStatus::DidNotFinish {
        lines.push(Line::from(format!(
            "  did not finish: {}",
            outcome.unfinished_reason()
        )));
        return;
    }
    let Some(failure) = failure_of(&test.output) else {
        return;
    };
    if let Some(location) = &failure.location {
        lines.push(Line::from(Span::styled(
            format!("  at {location}"),
            theme.dim,
        )));
    }
    for line in failure.message.lines() {
        lines.push(Line::from(Span::styled(format!("  {line}"), theme.fail)));
    }
    if super::timeline::timeline_of(&test.name, &test.output).is_some() {
        lines.push(Line::from(vec![
            Span::raw("  press "),
            Span::styled("t", theme.key),
            Span::raw(" for its timeline, full width, at the violation"),
        ]));
    }
}

fn mark_line(test: &TestResult, theme: &Theme) -> Line<'static> {
    let (mark, style) = match test.status {
        TestStatus::Passed => ("✓", theme.pass),
        TestStatus::Failed => ("✗", theme.fail),
        TestStatus::Ignored => ("-", theme.dim),
        TestStatus::DidNotFinish => ("⏱", theme.fail),
    };
    Line::from(vec![
        Span::styled(format!("{mark} "), style),
        Span::raw(test.name.clone()),
    ])
}

/// The compiler's coloured output as styled text (or plain, under `NO_COLOR`).
fn ansi(rendered: &str, no_color: bool) -> Text<'static> {
    if no_color {
        return Text::from(crate::classroom::strip_ansi(rendered));
    }
    rendered
        .into_text()
        .unwrap_or_else(|_| Text::from(crate::classroom::strip_ansi(rendered)))
}
