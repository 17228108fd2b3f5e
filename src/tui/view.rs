//! Drawing the model: a pure function of `&Model` into a frame. Nothing here changes state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Borders, Gauge, Paragraph, Wrap};

use super::markdown;
use super::model::{Activity, Focus, Mode, Model, Style};
use super::popups::{draw_confirm, draw_help, draw_list, draw_solution, draw_timeline, popup};
use super::result::result_text;
use super::theme::Theme;
use crate::progress::StageStatus;
use crate::watch::WatchKind;

/// Where the parts of the main screen go.
struct Areas {
    header: Rect,
    brief: Rect,
    result: Rect,
    hints: Rect,
    notice: Rect,
    footer: Rect,
}

/// Whether the hint panel shows: there are rungs, the learner has not closed it, and they are
/// about what is on screen: a failure's, unless the stage has just passed (the failure is gone);
/// a lint's, while the verdict on screen has its lints (not after a save changed the code).
fn hints_shown(model: &Model) -> bool {
    let current = if model.snapshot.hints_lint {
        matches!(&model.style, Style::Checked { report, .. } if !report.lints.is_empty())
    } else {
        !model.passed()
    };
    !model.snapshot.hints.is_empty() && !model.hints_closed && current
}

/// The main screen's layout, or `None` when the terminal is too small for it.
fn areas(model: &Model, area: Rect) -> Option<Areas> {
    if area.width < 20 || area.height < 6 {
        return None;
    }
    let hints_height = if hints_shown(model) {
        (model.snapshot.hints.len() as u16 * 2 + 2)
            .min(area.height / 4)
            .max(3)
    } else {
        0
    };
    // A notice is an error with its causes and fix at times: it gets the lines it needs (the
    // cause, e.g. "No space left on device", is what the learner acts on), up to a few.
    let notice_height = match &model.notice {
        Some(notice) => u16::try_from(
            Paragraph::new(notice.as_str())
                .wrap(Wrap { trim: false })
                .line_count(area.width),
        )
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
    let direction = if body.width >= 120 {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let [brief, result] = Layout::default()
        .direction(direction)
        .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
        .areas(body);
    Some(Areas {
        header,
        brief,
        result,
        hints,
        notice,
        footer,
    })
}

/// How many lines `text` takes wrapped in a bordered pane, beyond what the pane shows: the
/// furthest it may scroll.
fn overflow(text: Text<'static>, pane: Rect, wrap: bool) -> u16 {
    let inner_height = pane.height.saturating_sub(2);
    let lines = if wrap {
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .line_count(pane.width.saturating_sub(2))
    } else {
        text.lines.len()
    };
    u16::try_from(lines)
        .unwrap_or(u16::MAX)
        .saturating_sub(inner_height)
}

/// The furthest the brief and the result pane may scroll, so scrolling stops at their end.
/// Unknown before the first size is known: then nothing is limited.
pub fn scroll_limits(model: &Model) -> (u16, u16) {
    let (width, height) = model.size;
    if (width, height) == (0, 0) {
        return (u16::MAX, u16::MAX);
    }
    let Some(areas) = areas(model, Rect::new(0, 0, width, height)) else {
        return (0, 0);
    };
    let theme = Theme::new(model.no_color);
    let result_pane = if model.running {
        // The bar takes the result pane's first line while a run goes on.
        Rect {
            height: areas.result.height.saturating_sub(1),
            ..areas.result
        }
    } else {
        areas.result
    };
    (
        overflow(
            markdown::render(&model.snapshot.brief, &theme),
            areas.brief,
            true,
        ),
        overflow(
            result_text(model, &theme, result_pane.width.saturating_sub(2)),
            result_pane,
            true,
        ),
    )
}

/// The rectangle of the full-screen overlays (solution, stage detail): the screen but a margin.
pub(super) fn overlay_area(area: Rect) -> Rect {
    Rect {
        x: area.x + 2,
        y: area.y + 1,
        width: area.width.saturating_sub(4),
        height: area.height.saturating_sub(2),
    }
}

/// The furthest an overlay's text may scroll (`wrap`: whether it is wrapped).
pub fn overlay_limit(model: &Model, text: Text<'static>, wrap: bool, full_width: bool) -> u16 {
    let (width, height) = model.size;
    if (width, height) == (0, 0) {
        return u16::MAX;
    }
    let area = Rect::new(0, 0, width, height);
    let pane = if full_width { area } else { overlay_area(area) };
    overflow(text, pane, wrap)
}

/// Draws the whole screen.
pub fn view(model: &Model, frame: &mut Frame<'_>) {
    let theme = Theme::new(model.no_color);
    let area = frame.area();
    let Some(areas) = areas(model, area) else {
        frame.render_widget(
            Paragraph::new("katas: the terminal is too small").wrap(Wrap { trim: true }),
            area,
        );
        return;
    };
    draw_header(model, &theme, frame, areas.header);
    draw_brief(model, &theme, frame, areas.brief);
    draw_result(model, &theme, frame, areas.result);
    if areas.hints.height > 0 {
        draw_hints(model, &theme, frame, areas.hints);
    }
    if areas.notice.height > 0 {
        draw_notice(model, &theme, frame, areas.notice);
    }
    draw_footer(model, &theme, frame, areas.footer);
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
        } => popup(
            frame,
            overlay_area(area),
            title,
            markdown::render(markdown, &theme),
            *scroll,
        ),
        Mode::Timeline { scroll, column } => {
            draw_timeline(model, &theme, frame, area, *scroll, *column);
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

/// A pane's frame. The focused pane (the one the arrow keys scroll) has a thick border and a
/// marked title, so it shows without colour too.
fn block(title: &str, focused: bool, theme: &Theme) -> Block<'static> {
    let block = Block::default().borders(Borders::ALL);
    if focused {
        block
            .title(format!("▶{title}· ↑↓ scroll "))
            .border_type(BorderType::Thick)
            .border_style(theme.border_focus)
    } else {
        block.title(title.to_owned())
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
            } if *total > 0 => {
                // The lockfile's count is an estimate (build scripts are units too): never
                // claim fewer than are already done.
                let total = (*total).max(*done);
                (
                    format!(
                        "building {done} of ~{total} crates {}",
                        unit.as_deref().unwrap_or_default()
                    ),
                    (*done as f64 / total as f64).clamp(0.0, 1.0),
                )
            }
            Activity::Building { .. } => ("building".to_owned(), 0.0),
            Activity::Testing { tests } => (
                format!("running {}", super::result::count(*tests, "test")),
                1.0,
            ),
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
        let previous = result_text(model, theme, rest.width);
        frame.render_widget(
            Paragraph::new(previous)
                .style(theme.dim)
                .wrap(Wrap { trim: false }),
            rest,
        );
        return;
    }
    let paragraph = Paragraph::new(result_text(model, theme, inner.width))
        .wrap(Wrap { trim: false })
        .scroll((model.result_scroll, 0));
    frame.render_widget(paragraph, inner);
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
                "You changed the tests of: {} - grading uses the course's own tests; delete the file in tests/stages/ to get them back.",
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
            ("h", "question"),
            ("f", "format"),
            ("l", "list"),
            ("s", "solution"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::Main => &[
            ("h", "hint"),
            ("r", "run"),
            ("e", "edit"),
            ("f", "format"),
            ("b", "brief"),
            ("tab", "pane"),
            ("l", "list"),
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
        Mode::Timeline { .. } => &[
            ("↑↓ ←→", "scroll"),
            ("v", "the violation"),
            ("esc", "close"),
        ],
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
