//! Drawing the model: a pure function of `&Model` into a frame. Nothing here changes state.

use ansi_to_tui::IntoText as _;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Gauge, Paragraph, Wrap};

use super::markdown;
use super::model::{Activity, Focus, Mode, Model};
use super::popups::{draw_confirm, draw_help, draw_list, draw_solution, popup};
use super::theme::Theme;
use crate::progress::StageStatus;
use crate::runner::{TestStatus, Verdict};
use crate::watch::WatchKind;

/// Draws the whole screen.
pub fn view(model: &Model, frame: &mut Frame<'_>) {
    let theme = Theme::new(model.no_color);
    let area = frame.area();
    if area.width < 20 || area.height < 6 {
        frame.render_widget(
            Paragraph::new("katas: the terminal is too small").wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let hints_height = if model.snapshot.hints.is_empty() {
        0
    } else {
        (model.snapshot.hints.len() as u16 * 2 + 2)
            .min(area.height / 4)
            .max(3)
    };
    // A notice is an error with its causes and fix at times: it gets the lines it needs (the
    // cause, e.g. "No space left on device", is what the learner acts on), up to a few.
    let notice_height = match &model.notice {
        Some(notice) => u16::try_from(notice_paragraph(notice, &theme).line_count(area.width))
            .unwrap_or(u16::MAX)
            .clamp(1, (area.height / 4).max(1)),
        None => u16::from(
            !model.snapshot.edited_tests.is_empty()
                || matches!(model.watch, WatchKind::Polling { .. }),
        ),
    };
    let [header, body, hints, notice, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(4),
        Constraint::Length(hints_height),
        Constraint::Length(notice_height),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(model, &theme, frame, header);
    let direction = if body.width >= 120 {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let [brief, result] = Layout::default()
        .direction(direction)
        .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
        .areas(body);
    draw_brief(model, &theme, frame, brief);
    draw_result(model, &theme, frame, result);
    if hints_height > 0 {
        draw_hints(model, &theme, frame, hints);
    }
    if notice_height > 0 {
        draw_notice(model, &theme, frame, notice);
    }
    draw_footer(model, &theme, frame, footer);
    match &model.mode {
        Mode::Main => {}
        Mode::Help => draw_help(&theme, frame, area),
        Mode::List { selected } => draw_list(model, &theme, frame, area, *selected),
        Mode::Confirm(pending) => draw_confirm(pending, &theme, frame, area),
        Mode::Solution { scroll } => draw_solution(model, &theme, frame, area, *scroll),
        Mode::Detail {
            title,
            markdown,
            scroll,
        } => {
            let inner = Rect {
                x: area.x + 2,
                y: area.y + 1,
                width: area.width.saturating_sub(4),
                height: area.height.saturating_sub(2),
            };
            popup(
                frame,
                inner,
                title,
                markdown::render(markdown, &theme),
                *scroll,
            );
        }
    }
}

fn draw_header(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let snapshot = &model.snapshot;
    let (track, stage_total) = snapshot
        .at
        .and_then(|at| snapshot.tracks.get(at.track))
        .map_or((String::new(), 0), |t| (t.title.clone(), t.stages.len()));
    let number = snapshot.at.map_or(0, |at| at.stage + 1);
    let stage = format!("stage {number} of {stage_total}: {}", snapshot.stage_title);
    // The course's name is the first thing to give up when the line is short: the stage matters.
    let full = format!("katas · {} · {track} · {stage}", snapshot.course);
    let context = if full.chars().count() <= usize::from(area.width) {
        format!(" · {} · {track} · ", snapshot.course)
    } else {
        format!(" · {track} · ")
    };
    let title = Line::from(vec![
        Span::styled("katas", theme.title),
        Span::raw(context),
        Span::styled(stage, theme.heading),
    ]);
    let [line, gauges] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(Paragraph::new(title), line);
    let passed = |stages: &[(String, String, StageStatus)]| {
        stages.iter().filter(|s| s.2 == StageStatus::Passed).count()
    };
    let track_done = snapshot
        .at
        .and_then(|at| snapshot.tracks.get(at.track))
        .map_or(0, |t| passed(&t.stages));
    let course_done: usize = snapshot.tracks.iter().map(|t| passed(&t.stages)).sum();
    let course_total: usize = snapshot.tracks.iter().map(|t| t.stages.len()).sum();
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(gauges);
    frame.render_widget(gauge("track", track_done, stage_total, theme), left);
    frame.render_widget(gauge("course", course_done, course_total, theme), right);
}

fn gauge<'a>(what: &str, done: usize, total: usize, theme: &Theme) -> Gauge<'a> {
    let ratio = if total == 0 {
        0.0
    } else {
        done as f64 / total as f64
    };
    Gauge::default()
        .gauge_style(theme.gauge)
        .ratio(ratio.clamp(0.0, 1.0))
        .label(format!("{what} {done}/{total}"))
}

fn block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    let block = Block::default().borders(Borders::ALL).title(title);
    if focused {
        block.border_style(theme.border_focus)
    } else {
        block
    }
}

fn draw_brief(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let text = markdown::render(&model.snapshot.brief, theme);
    let paragraph = Paragraph::new(text)
        .block(block(" Brief ", model.focus == Focus::Brief, theme))
        .wrap(Wrap { trim: false })
        .scroll((model.brief_scroll, 0));
    frame.render_widget(paragraph, area);
}

fn draw_result(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let outer = block(" Result ", model.focus == Focus::Result, theme);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if model.running {
        let [bar, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        let (label, ratio) = match &model.activity {
            Activity::Building {
                done,
                total: Some(total),
                unit,
            } if *total > 0 => (
                format!(
                    "building {done} of ~{total} crates {}",
                    unit.as_deref().unwrap_or_default()
                ),
                (*done as f64 / *total as f64).clamp(0.0, 1.0),
            ),
            Activity::Building { .. } => ("building".to_owned(), 0.0),
            Activity::Testing { tests } => (format!("running {tests} tests"), 1.0),
            Activity::WaitingForLock => (crate::runner::LOCK_WAIT_NOTE.to_owned(), 0.0),
            Activity::Idle => ("starting".to_owned(), 0.0),
        };
        frame.render_widget(
            Gauge::default()
                .gauge_style(theme.gauge)
                .ratio(ratio)
                .label(label),
            bar,
        );
        let previous = result_text(model, theme);
        frame.render_widget(
            Paragraph::new(previous)
                .style(theme.dim)
                .wrap(Wrap { trim: false }),
            rest,
        );
        return;
    }
    let paragraph = Paragraph::new(result_text(model, theme))
        .wrap(Wrap { trim: false })
        .scroll((model.result_scroll, 0));
    frame.render_widget(paragraph, inner);
}

/// The verdict, then what the learner needs to act on it.
fn result_text(model: &Model, theme: &Theme) -> Text<'static> {
    let Some(outcome) = &model.outcome else {
        return Text::from(vec![
            Line::from("Edit the crate and save: katas builds and tests on every save."),
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
        Verdict::Passed => (format!("all {total} tests pass - {stage}"), theme.pass),
        Verdict::Failed => (
            format!("{} of {total} tests pass - {stage}", outcome.passed_count()),
            theme.fail,
        ),
        Verdict::CompileError => (
            format!("{} compile error(s) - {stage}", outcome.errors().count()),
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
    if outcome.verdict == Verdict::Passed && model.snapshot.passed {
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
        _ => {
            for test in &outcome.tests {
                let (mark, style) = match test.status {
                    TestStatus::Passed => ("✓", theme.pass),
                    TestStatus::Failed => ("✗", theme.fail),
                    TestStatus::Ignored => ("-", theme.dim),
                    TestStatus::DidNotFinish => ("⏱", theme.fail),
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{mark} "), style),
                    Span::raw(test.name.clone()),
                ]));
            }
            for test in outcome.failed() {
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
                lines.extend(test.output.lines().map(|l| Line::from(l.to_owned())));
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
    }
    Text::from(lines)
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

fn draw_hints(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let title = format!(" Questions about {} ", model.snapshot.hints_about);
    let lines: Vec<Line<'static>> = model
        .snapshot
        .hints
        .iter()
        .enumerate()
        .map(|(i, rung)| {
            Line::from(vec![
                Span::styled(format!("{}. ", i + 1), theme.key),
                Span::raw(rung.clone()),
            ])
        })
        .collect();
    // Newest last, and the newest is what must be visible.
    let height = area.height.saturating_sub(2);
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    let total =
        u16::try_from(paragraph.line_count(area.width.saturating_sub(2))).unwrap_or(u16::MAX);
    let paragraph = paragraph.block(Block::default().borders(Borders::ALL).title(title));
    frame.render_widget(paragraph.scroll((total.saturating_sub(height), 0)), area);
}

fn notice_paragraph(notice: &str, theme: &Theme) -> Paragraph<'static> {
    Paragraph::new(Text::styled(notice.to_owned(), theme.warn)).wrap(Wrap { trim: false })
}

fn draw_notice(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    if let Some(notice) = &model.notice {
        frame.render_widget(notice_paragraph(notice, theme), area);
        return;
    }
    let text = if !model.snapshot.edited_tests.is_empty() {
        Span::styled(
            format!(
                "You changed the tests of: {} - grading uses the course's own tests.",
                model.snapshot.edited_tests.join(", ")
            ),
            theme.warn,
        )
    } else if let WatchKind::Polling { reason } = &model.watch {
        Span::styled(
            format!("Watching by polling ({reason}); press r to run at once."),
            theme.warn,
        )
    } else {
        Span::raw("")
    };
    frame.render_widget(Paragraph::new(Line::from(text)), area);
}

fn draw_footer(model: &Model, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let keys: &[(&str, &str)] = match &model.mode {
        Mode::Main if model.passed() => &[
            ("n", "next stage"),
            ("l", "list"),
            ("s", "solution"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::Main => &[
            ("h", "hint"),
            ("r", "run"),
            ("l", "list"),
            ("e", "edit"),
            ("tab", "scroll pane"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::List { .. } => &[
            ("↑↓", "select"),
            ("enter", "switch track / revisit a passed stage"),
            ("esc", "close"),
        ],
        Mode::Confirm(_) => &[("y", "yes"), ("n", "no")],
        Mode::Solution { .. } => &[
            ("↑↓", "scroll"),
            ("a", "adopt (when stuck)"),
            ("esc", "close"),
        ],
        Mode::Detail { .. } => &[("↑↓", "scroll"), ("esc", "close")],
        Mode::Help => &[("any key", "close")],
    };
    let mut spans = Vec::new();
    for (key, what) in keys {
        spans.push(Span::styled(
            format!(" {key} "),
            theme.key.add_modifier(Modifier::REVERSED),
        ));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
