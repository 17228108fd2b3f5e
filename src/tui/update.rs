//! `update`: how each message changes the model, and which effects it asks for. Pure: no
//! terminal, file system or clock.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::model::{Activity, Effect, Focus, Message, Mode, Model, Pending};
use crate::course::StageRef;
use crate::hints::{Confirm, Decision};
use crate::progress::StageStatus;
use crate::runner::{RunEvent, Verdict};
use crate::session::HintAnswer;

/// Applies a message to the model and says what the loop must do.
pub fn update(model: &mut Model, message: Message) -> Vec<Effect> {
    match message {
        Message::Key(key) => on_key(model, key),
        Message::Resize => Vec::new(),
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
            model.outcome = Some((*outcome).clone());
            vec![Effect::Record { outcome }]
        }
        Message::RunFailed { id, error } if id == model.run_id => {
            model.running = false;
            model.activity = Activity::Idle;
            model.notice = Some(error);
            Vec::new()
        }
        Message::RunProgress { .. } | Message::RunFinished { .. } | Message::RunFailed { .. } => {
            Vec::new()
        }
        Message::Hint(answer) => on_hint(model, answer),
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
            let scroll = match key.code {
                KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1),
                KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(10),
                KeyCode::PageUp => scroll.saturating_sub(10),
                _ => {
                    model.mode = Mode::Main;
                    return Vec::new();
                }
            };
            model.mode = Mode::Detail {
                title,
                markdown,
                scroll,
            };
            Vec::new()
        }
        Mode::Solution { scroll } => match key.code {
            KeyCode::Down | KeyCode::Char('j') => {
                model.mode = Mode::Solution {
                    scroll: scroll.saturating_add(1),
                };
                Vec::new()
            }
            KeyCode::Up | KeyCode::Char('k') => {
                model.mode = Mode::Solution {
                    scroll: scroll.saturating_sub(1),
                };
                Vec::new()
            }
            KeyCode::PageDown => {
                model.mode = Mode::Solution {
                    scroll: scroll.saturating_add(10),
                };
                Vec::new()
            }
            KeyCode::PageUp => {
                model.mode = Mode::Solution {
                    scroll: scroll.saturating_sub(10),
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

fn scroll(model: &mut Model, by: i32) -> Vec<Effect> {
    let target = match model.focus {
        Focus::Brief => &mut model.brief_scroll,
        Focus::Result => &mut model.result_scroll,
    };
    *target = u16::try_from((i32::from(*target) + by).max(0)).unwrap_or(u16::MAX);
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
