//! The overlays drawn over the main screen: help, the list of tracks, confirmations, a
//! reference solution, a passed stage revisited.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::model::{Model, Pending};
use super::theme::Theme;
use crate::progress::StageStatus;

/// A rectangle of at most `width` x `height` in the middle of `area`.
pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

pub(super) fn popup(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    text: Text<'static>,
    scroll: u16,
) {
    frame.render_widget(Clear, area);
    let paragraph = Paragraph::new(text)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(title.to_owned()),
        );
    frame.render_widget(paragraph, area);
}

pub(super) fn draw_help(theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let keys = [
        (
            "h",
            "a question about your latest failure, or after a pass about clippy's first lint (the next one opens after you try something)",
        ),
        (
            "H",
            "I'm stuck: the next question now, without a new attempt",
        ),
        ("r", "build and test now"),
        ("n", "the next stage, once this one passes"),
        ("l", "tracks and stages: switch track, see what is locked"),
        (
            "s",
            "the reference solution of the stage you passed last; `a` there adopts it",
        ),
        ("e", "open the crate in $VISUAL or $EDITOR"),
        (
            "f",
            "format your code with rustfmt (your sources, not the stage tests); the save reruns",
        ),
        ("b", "the brief over the whole screen"),
        ("p", "list the passing tests too (or only count them)"),
        (
            "t",
            "a failed replication test's timeline, full width, at the violation",
        ),
        ("c", "close the questions panel"),
        (
            "tab ↑ ↓",
            "choose and scroll a pane (the focused one has a thick border)",
        ),
        ("q, ctrl-c", "quit (your progress is saved)"),
    ];
    let mut lines = vec![
        Line::from("katas builds and tests your crate every time you save a file."),
        Line::default(),
    ];
    for (key, what) in keys {
        lines.push(Line::from(vec![
            Span::styled(format!("{key:>10}  "), theme.key),
            Span::raw(what),
        ]));
    }
    popup(
        frame,
        centered(area, 90, 19),
        " Keys ",
        Text::from(lines),
        0,
    );
}

pub(super) fn draw_list(
    model: &Model,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
    selected: usize,
) {
    let mut lines = Vec::new();
    for (row, (t, s)) in model.list_rows().into_iter().enumerate() {
        let track = &model.snapshot.tracks[t];
        let mut line = match s {
            None => Line::from(Span::styled(
                format!("{} - {}", track.id, track.title),
                theme.heading,
            )),
            Some(s) => {
                let (id, title, status) = &track.stages[s];
                let (mark, style) = match status {
                    StageStatus::Passed => ("✓", theme.pass),
                    StageStatus::Current => ("▶", theme.key),
                    StageStatus::Locked => ("🔒", theme.dim),
                };
                Line::from(vec![
                    Span::styled(format!("  {mark} "), style),
                    Span::raw(format!("{}. {id} - {title}", s + 1)),
                ])
            }
        };
        if row == selected {
            line = line.style(theme.selected);
        }
        lines.push(line);
    }
    let height = area.height.saturating_sub(4);
    let scroll = u16::try_from(selected)
        .unwrap_or(0)
        .saturating_sub(height.saturating_sub(3));
    popup(
        frame,
        centered(area, 90, height + 2),
        " Tracks and stages ",
        Text::from(lines),
        scroll,
    );
}

pub(super) fn draw_confirm(pending: &Pending, theme: &Theme, frame: &mut Frame<'_>, area: Rect) {
    let question = match pending {
        Pending::Hint { answer, index, .. } if index + 1 == answer.ladder.rungs.len() => {
            "The next hint is the last one: a concrete nudge, close to the answer. Show it?"
        }
        Pending::Hint { .. } => {
            "You have not tried anything since the last question. Open the next one anyway?"
        }
        Pending::Adopt => {
            "Replace your crate with the previous stage's reference solution? Your files are backed up first (.katas/backups)."
        }
    };
    let text = Text::from(vec![
        Line::from(question),
        Line::default(),
        Line::from(Span::styled("y / n", theme.key)),
    ]);
    popup(frame, centered(area, 64, 7), " Are you sure? ", text, 0);
}

pub(super) fn draw_solution(
    model: &Model,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
    scroll: u16,
) {
    let Some(solution) = &model.snapshot.solution else {
        return;
    };
    let mut lines = vec![Line::from(Span::styled(
        format!("Reference solution of `{}`", solution.stage),
        theme.heading,
    ))];
    if solution.adoptable {
        lines.push(Line::from(Span::styled(
            "Stuck on this stage? Press a to adopt it as your code (yours is backed up).",
            theme.dim,
        )));
    }
    lines.push(Line::default());
    lines.extend(
        solution
            .text
            .lines()
            .map(|l| Line::from(Span::styled(l.to_owned(), theme.code_block))),
    );
    let inner = Rect {
        x: area.x + 2,
        y: area.y + 1,
        width: area.width.saturating_sub(4),
        height: area.height.saturating_sub(2),
    };
    popup(frame, inner, " Solution ", Text::from(lines), scroll);
}

/// The failing test's timeline over the whole screen, unwrapped (a row per event, as the
/// simulator aligned it), the violation's row marked; the header row stays on top.
pub(super) fn draw_timeline(
    model: &Model,
    theme: &Theme,
    frame: &mut Frame<'_>,
    area: Rect,
    scroll: u16,
    column: u16,
) {
    let Some(timeline) = model.timeline() else {
        return;
    };
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title(format!(
        " Timeline of {} · row {} of {} · the violation at row {} ",
        timeline.test,
        usize::from(scroll) + 1,
        timeline.rows.len().saturating_sub(1),
        timeline.violation
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let [header, rows] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Length(1),
        ratatui::layout::Constraint::Min(0),
    ])
    .areas(inner);
    // The tick column stays put when the rest scrolls sideways.
    let shifted = |row: &str| -> String {
        let split = row.find('│').map_or(0, |i| i + '│'.len_utf8());
        let (tick, rest) = row.split_at(split);
        let rest: String = rest.chars().skip(usize::from(column)).collect();
        format!("{tick}{rest}")
    };
    let head = timeline
        .rows
        .first()
        .map(|r| shifted(r))
        .unwrap_or_default();
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(head, theme.heading))),
        header,
    );
    let lines: Vec<Line<'static>> = timeline
        .rows
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, row)| {
            let row = shifted(row);
            if i == timeline.violation {
                Line::from(Span::styled(
                    row,
                    theme.fail.add_modifier(ratatui::style::Modifier::REVERSED),
                ))
            } else {
                Line::from(row)
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), rows);
}
