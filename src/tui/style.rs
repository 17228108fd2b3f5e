//! The Result pane's lines about style after a pass: what clippy found (each lint the catalog
//! knows is a question in the hint pane; the others are clippy's own message), whether rustfmt
//! would format the code, and on a strict stage, that the pass waits for clippy.

use ratatui::text::{Line, Span};

use super::model::{Model, Style};
use super::result::count;
use super::theme::Theme;
use crate::hints::lint_lookup;
use crate::runner::ClippyEnd;

/// How many lints the pane lists; the hint pane asks about them one at a time anyway.
const LISTED: usize = 8;

/// Whether a strict stage's pass still waits for a clean clippy (checking, or lints found).
pub(super) fn strict_pending(model: &Model) -> bool {
    model.snapshot.strict
        && match &model.style {
            Style::Checked { report, .. } => !report.is_clean(),
            Style::Checking | Style::Unchecked => !model.snapshot.passed,
        }
}

/// The style lines for the verdict on screen; empty when clippy did not run for it.
pub(super) fn style_lines(model: &Model, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if strict_pending(model) {
        lines.push(Line::from(Span::styled(
            "The tests pass, but this stage is strict: it passes when clippy finds nothing too.",
            theme.fail,
        )));
    }
    match &model.style {
        Style::Unchecked => {}
        Style::Checking => lines.push(Line::from(Span::styled(
            "clippy: looking at your code...",
            theme.dim,
        ))),
        Style::Checked { report, fmt_clean } => {
            lint_lines(report, theme, &mut lines);
            if *fmt_clean == Some(false) {
                lines.push(Line::from(vec![
                    Span::raw("your code is not formatted as rustfmt would: press "),
                    Span::styled("f", theme.key),
                    Span::raw(" to format"),
                ]));
            }
        }
    }
    if !lines.is_empty() {
        lines.push(Line::default());
    }
    lines
}

fn lint_lines(report: &crate::runner::ClippyReport, theme: &Theme, lines: &mut Vec<Line<'static>>) {
    match &report.end {
        ClippyEnd::Finished if report.lints.is_empty() => lines.push(Line::from(Span::styled(
            "clippy: nothing to question under the course's lint set.",
            theme.pass,
        ))),
        ClippyEnd::Finished => {
            lines.push(Line::from(format!(
                "clippy questions your code in {}:",
                count(report.lints.len(), "place")
            )));
            for lint in report.lints.iter().take(LISTED) {
                let place = match (&lint.file, lint.line) {
                    (Some(file), Some(line)) => format!(" at {file}:{line}"),
                    (Some(file), None) => format!(" at {file}"),
                    _ => String::new(),
                };
                let mut spans = vec![
                    Span::raw("  "),
                    Span::styled(format!("clippy::{}", lint.lint), theme.code_inline),
                    Span::raw(place),
                ];
                if lint_lookup(&lint.lint).is_some() {
                    spans.push(Span::styled(
                        " (a question below; h asks the next)",
                        theme.dim,
                    ));
                } else {
                    spans.push(Span::raw(format!(": {}", lint.message)));
                }
                lines.push(Line::from(spans));
            }
            if report.lints.len() > LISTED {
                lines.push(Line::from(Span::styled(
                    format!("  and {} more", report.lints.len() - LISTED),
                    theme.dim,
                )));
            }
        }
        ClippyEnd::Cancelled => {}
        ClippyEnd::TimedOut => lines.push(Line::from(Span::styled(
            "clippy: stopped at its time limit.",
            theme.dim,
        ))),
        ClippyEnd::Failed(why) => lines.push(Line::from(Span::styled(
            format!(
                "clippy could not check the crate: {}",
                why.lines().next().unwrap_or("no reason given")
            ),
            theme.dim,
        ))),
    }
}
