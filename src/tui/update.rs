//! `update`: how each message changes the model, and which effects it asks for. Pure: no
//! terminal, file system or clock.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::markdown;
use super::model::{Activity, Effect, Focus, Message, Mode, Model, Pending, Style};
use super::theme::Theme;
use super::view::{overlay_limit, scroll_limits};
use crate::course::StageRef;
use crate::hints::{Confirm, Decision};
use crate::progress::StageStatus;
use crate::runner::{RunEvent, Verdict};
use crate::session::HintAnswer;

/// Applies a message to the model and says what the loop must do.
pub fn update(model: &mut Model, message: Message) -> Vec<Effect> {
    match message {
        Message::Key(key) => on_key(model, key),
        Message::Resize { width, height } => {
            model.size = (width, height);
            Vec::new()
        }
        Message::SourcesChanged => {
            model.notice = None;
            vec![model.start_run()]
        }
        Message::Snapshot(snapshot) => {
            if snapshot.at != model.snapshot.at {
                model.brief_scroll = 0;
                model.result_scroll = 0;
            }
            model.snapshot = snapshot;
            Vec::new()
        }
        Message::RunProgress { id, event } if id == model.run_id => {
            model.activity = match event {
                RunEvent::Building { done, total, unit } => {
                    Activity::Building { done, total, unit }
                }
                RunEvent::Testing { tests } => Activity::Testing { tests },
                RunEvent::WaitingForLock => Activity::WaitingForLock,
            };
            Vec::new()
        }
        Message::RunFinished { id, outcome } if id == model.run_id => {
            model.running = false;
            model.activity = Activity::Idle;
            model.result_scroll = 0;
            if outcome.verdict == Verdict::Cancelled {
                return Vec::new();
            }
            let passed = outcome.verdict == Verdict::Passed;
            model.outcome = Some((*outcome).clone());
            let mut effects = vec![Effect::Record { outcome }];
            // After a pass, clippy: in the background, the verdict is on screen first. A strict
            // stage needs it for its verdict, `--no-clippy` or not.
            if passed && (model.clippy || model.snapshot.strict) {
                model.style = Style::Checking;
                effects.push(Effect::CheckStyle { id });
            }
            effects
        }
        Message::StyleChecked {
            id,
            report,
            fmt_clean,
        } if id == model.run_id && !model.running => {
            model.style = Style::Checked {
                report: report.clone(),
                fmt_clean,
            };
            vec![Effect::RecordStyle { report, fmt_clean }]
        }
        // A check of code that a save has replaced since: its lints are about old code.
        Message::StyleChecked { .. } => Vec::new(),
        Message::RunFailed { id, error } if id == model.run_id => {
            model.running = false;
            model.activity = Activity::Idle;
            model.notice = Some(error);
            Vec::new()
        }
        Message::RunProgress { .. } | Message::RunFinished { .. } | Message::RunFailed { .. } => {
            Vec::new()
        }
        Message::Hint(answer) => {
            model.hints_closed = false;
            on_hint(model, answer)
        }
        Message::StageDetail { title, markdown } => {
            model.mode = Mode::Detail {
                title,
                markdown,
                scroll: 0,
            };
            Vec::new()
        }
        Message::Notice(text) => {
            model.notice = Some(text);
            Vec::new()
        }
        Message::Terminate => {
            model.quit = true;
            vec![Effect::Quit]
        }
    }
}

fn on_hint(model: &mut Model, answer: HintAnswer) -> Vec<Effect> {
    match &answer.decision {
        Decision::Show { index, confirm } if confirm.is_empty() => {
            let index = *index;
            vec![Effect::ShowHint {
                answer,
                index,
                forced: false,
            }]
        }
        Decision::Show { index, confirm } => {
            let (index, forced) = (*index, confirm.contains(&Confirm::Stuck));
            model.mode = Mode::Confirm(Pending::Hint {
                answer,
                index,
                forced,
            });
            Vec::new()
        }
        Decision::Wait { shown } => {
            model.notice = Some(format!(
                "Think about question {shown} first: change something and save, and the next one opens. Truly stuck? Press H."
            ));
            Vec::new()
        }
        Decision::Exhausted => {
            model.notice = Some("That was the whole ladder. Re-read the brief's Code section, or press s for the previous stage's reference.".to_owned());
            Vec::new()
        }
    }
}

fn on_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c');
    if ctrl_c {
        model.quit = true;
        return vec![Effect::Quit];
    }
    match model.mode.clone() {
        Mode::Main => on_main_key(model, key),
        Mode::Help => {
            model.mode = Mode::Main;
            Vec::new()
        }
        Mode::List { selected } => on_list_key(model, key, selected),
        Mode::Confirm(pending) => {
            model.mode = Mode::Main;
            match key.code {
                KeyCode::Char('y' | 'Y') => match pending {
                    Pending::Hint {
                        answer,
                        index,
                        forced,
                    } => vec![Effect::ShowHint {
                        answer,
                        index,
                        forced,
                    }],
                    Pending::Adopt => vec![Effect::Adopt],
                },
                _ => {
                    model.notice =
                        Some("Not now - keep going, you may be closer than you think.".to_owned());
                    Vec::new()
                }
            }
        }
        Mode::Detail {
            title,
            markdown,
            scroll,
        } => {
            let Some(by) = scroll_step(key.code) else {
                model.mode = Mode::Main;
                return Vec::new();
            };
            let text = markdown::render(&markdown, &Theme::new(model.no_color));
            let limit = overlay_limit(model, text, true, false);
            model.mode = Mode::Detail {
                title,
                markdown,
                scroll: scrolled(scroll, by, limit),
            };
            Vec::new()
        }
        Mode::Timeline { scroll, column } => on_timeline_key(model, key, scroll, column),
        Mode::Solution { scroll } => match key.code {
            code if scroll_step(code).is_some() => {
                let text = model
                    .snapshot
                    .solution
                    .as_ref()
                    .map(|s| format!("\n\n\n{}", s.text))
                    .unwrap_or_default();
                let limit = overlay_limit(model, ratatui::text::Text::from(text), true, false);
                model.mode = Mode::Solution {
                    scroll: scrolled(scroll, scroll_step(code).unwrap_or(0), limit),
                };
                Vec::new()
            }
            KeyCode::Char('a')
                if model
                    .snapshot
                    .solution
                    .as_ref()
                    .is_some_and(|s| s.adoptable) =>
            {
                model.mode = Mode::Confirm(Pending::Adopt);
                Vec::new()
            }
            _ => {
                model.mode = Mode::Main;
                Vec::new()
            }
        },
    }
}

fn on_main_key(model: &mut Model, key: KeyEvent) -> Vec<Effect> {
    model.notice = None;
    match key.code {
        KeyCode::Char('q') => {
            model.quit = true;
            vec![Effect::Quit]
        }
        KeyCode::Char('r') => vec![model.start_run()],
        KeyCode::Char('h') => vec![Effect::AskHint { stuck: false }],
        KeyCode::Char('H') => vec![Effect::AskHint { stuck: true }],
        KeyCode::Char('n') if model.passed() => vec![Effect::Advance],
        KeyCode::Char('n') => {
            model.notice = Some("The next stage opens once this one passes.".to_owned());
            Vec::new()
        }
        KeyCode::Char('l') => {
            let selected = model
                .list_rows()
                .iter()
                .position(|&(t, s)| {
                    Some(StageRef {
                        track: t,
                        stage: s.unwrap_or(0),
                    }) == model.snapshot.at
                        && s.is_some()
                })
                .unwrap_or(0);
            model.mode = Mode::List { selected };
            Vec::new()
        }
        KeyCode::Char('s') if model.snapshot.solution.is_some() => {
            model.mode = Mode::Solution { scroll: 0 };
            Vec::new()
        }
        KeyCode::Char('s') => {
            model.notice = Some("Reference solutions open for stages you have passed.".to_owned());
            Vec::new()
        }
        KeyCode::Char('e') => vec![Effect::OpenEditor],
        KeyCode::Char('f') => {
            model.notice = Some("Formatting your code with rustfmt...".to_owned());
            vec![Effect::Format]
        }
        KeyCode::Char('b') => {
            model.mode = Mode::Detail {
                title: format!(
                    " Brief: {} ({}) ",
                    model.snapshot.stage_id, model.snapshot.stage_title
                ),
                markdown: model.snapshot.brief.clone(),
                scroll: 0,
            };
            Vec::new()
        }
        KeyCode::Char('p') => {
            model.show_passing = !model.show_passing;
            Vec::new()
        }
        KeyCode::Char('c') if !model.snapshot.hints.is_empty() && !model.hints_closed => {
            model.hints_closed = true;
            Vec::new()
        }
        KeyCode::Char('t') => match model.timeline() {
            Some(timeline) => {
                model.mode = Mode::Timeline {
                    scroll: violation_scroll(model, &timeline),
                    column: 0,
                };
                Vec::new()
            }
            None => {
                model.notice = Some(
                    "No timeline in this run: replication tests print one when they fail."
                        .to_owned(),
                );
                Vec::new()
            }
        },
        KeyCode::Char('?') => {
            model.mode = Mode::Help;
            Vec::new()
        }
        KeyCode::Tab => {
            model.focus = if model.focus == Focus::Brief {
                Focus::Result
            } else {
                Focus::Brief
            };
            Vec::new()
        }
        KeyCode::Down | KeyCode::Char('j') => scroll(model, 1),
        KeyCode::Up | KeyCode::Char('k') => scroll(model, -1),
        KeyCode::PageDown | KeyCode::Char(' ') => scroll(model, 10),
        KeyCode::PageUp => scroll(model, -10),
        _ => Vec::new(),
    }
}

/// Scrolls the focused pane, never past its last line.
fn scroll(model: &mut Model, by: i32) -> Vec<Effect> {
    let (brief_limit, result_limit) = scroll_limits(model);
    let (target, limit) = match model.focus {
        Focus::Brief => (&mut model.brief_scroll, brief_limit),
        Focus::Result => (&mut model.result_scroll, result_limit),
    };
    *target = scrolled(*target, by, limit);
    Vec::new()
}

/// How far a scrolling key moves, in lines; `None` for any other key.
fn scroll_step(code: KeyCode) -> Option<i32> {
    match code {
        KeyCode::Down | KeyCode::Char('j') => Some(1),
        KeyCode::Up | KeyCode::Char('k') => Some(-1),
        KeyCode::PageDown | KeyCode::Char(' ') => Some(10),
        KeyCode::PageUp => Some(-10),
        _ => None,
    }
}

/// `at` moved by `by`, within `0..=limit`.
fn scrolled(at: u16, by: i32, limit: u16) -> u16 {
    u16::try_from((i32::from(at) + by).clamp(0, i32::from(limit))).unwrap_or(limit)
}

/// The timeline's rows that fit on screen under its border and header row.
fn timeline_visible(model: &Model) -> u16 {
    model.size.1.saturating_sub(3).max(1)
}

/// The furthest the timeline may scroll.
fn timeline_limit(model: &Model, rows: usize) -> u16 {
    let events = u16::try_from(rows.saturating_sub(1)).unwrap_or(u16::MAX);
    if model.size == (0, 0) {
        return events;
    }
    events.saturating_sub(timeline_visible(model))
}

/// Where the timeline opens: the violation's row a third of the way down, so the crashes and
/// partitions before it show too.
fn violation_scroll(model: &Model, timeline: &super::timeline::Timeline) -> u16 {
    let row = u16::try_from(timeline.violation.saturating_sub(1)).unwrap_or(u16::MAX);
    row.saturating_sub(timeline_visible(model) / 3)
        .min(timeline_limit(model, timeline.rows.len()))
}

fn on_timeline_key(model: &mut Model, key: KeyEvent, scroll: u16, column: u16) -> Vec<Effect> {
    let Some(timeline) = model.timeline() else {
        model.mode = Mode::Main;
        return Vec::new();
    };
    let limit = timeline_limit(model, timeline.rows.len());
    let widest = timeline
        .rows
        .iter()
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(0);
    let column_limit = u16::try_from(widest)
        .unwrap_or(u16::MAX)
        .saturating_sub(model.size.0.saturating_sub(2));
    let (scroll, column) = match key.code {
        code if scroll_step(code).is_some() => (
            scrolled(scroll, scroll_step(code).unwrap_or(0), limit),
            column,
        ),
        KeyCode::Right | KeyCode::Char('l') => (scroll, scrolled(column, 8, column_limit)),
        KeyCode::Left | KeyCode::Char('h') => (scroll, scrolled(column, -8, column_limit)),
        KeyCode::Home => (0, column),
        KeyCode::End => (limit, column),
        KeyCode::Char('v') => (violation_scroll(model, &timeline), column),
        _ => {
            model.mode = Mode::Main;
            return Vec::new();
        }
    };
    model.mode = Mode::Timeline { scroll, column };
    Vec::new()
}

fn on_list_key(model: &mut Model, key: KeyEvent, selected: usize) -> Vec<Effect> {
    let rows = model.list_rows();
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => {
            model.mode = Mode::List {
                selected: (selected + 1).min(rows.len().saturating_sub(1)),
            };
            Vec::new()
        }
        KeyCode::Up | KeyCode::Char('k') => {
            model.mode = Mode::List {
                selected: selected.saturating_sub(1),
            };
            Vec::new()
        }
        KeyCode::Enter => {
            model.mode = Mode::Main;
            let Some(&(track, stage)) = rows.get(selected) else {
                return Vec::new();
            };
            let status = stage
                .and_then(|s| model.snapshot.tracks[track].stages.get(s))
                .map(|s| s.2);
            if status == Some(StageStatus::Locked) {
                model.notice =
                    Some("That stage is locked: pass the ones before it first.".to_owned());
                return Vec::new();
            }
            let working = model.snapshot.at;
            match stage {
                Some(stage)
                    if status == Some(StageStatus::Passed)
                        && working != Some(StageRef { track, stage }) =>
                {
                    vec![Effect::ShowStage(StageRef { track, stage })]
                }
                _ if working.is_some_and(|at| at.track == track) => Vec::new(),
                _ => vec![Effect::SwitchTrack(track)],
            }
        }
        _ => {
            model.mode = Mode::Main;
            Vec::new()
        }
    }
}
