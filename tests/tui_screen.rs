//! The watch screen without a terminal: `update` on messages, and `view` drawn on ratatui's
//! `TestBackend`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use katas::course::StageRef;
use katas::hints::{Confirm, Decision, Ladder, LadderKey};
use katas::progress::StageStatus;
use katas::runner::{RunEvent, RunOutcome, TestResult, TestStatus, Verdict};
use katas::session::HintAnswer;
use katas::tui::*;
use katas::watch::WatchKind;

fn key(c: char) -> Message {
    Message::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn snapshot(passed: bool) -> Snapshot {
    Snapshot {
        course: "Mini course".into(),
        tracks: vec![
            TrackView {
                id: "counter".into(),
                title: "A counter".into(),
                stages: vec![
                    ("count".into(), "Counting".into(), if passed { StageStatus::Passed } else { StageStatus::Current }),
                    ("reset".into(), "Resetting".into(), if passed { StageStatus::Current } else { StageStatus::Locked }),
                ],
            },
            TrackView { id: "other".into(), title: "Other".into(), stages: vec![("one".into(), "One".into(), StageStatus::Current)] },
        ],
        at: Some(StageRef { track: 0, stage: 0 }),
        stage_id: "count".into(),
        stage_title: "Counting".into(),
        brief: "# Counting\n\n## Plan\n\nCount **every** event.\n\n## Code\n\n```rust\nc.bump();\n```\n".into(),
        reflection: vec!["What happens to the count on restart?".into()],
        passed,
        edited_tests: vec![],
        solution: Some(SolutionView { stage: "count".into(), text: "fn bump() {}".into(), adoptable: !passed }),
        hints: vec!["How many bumps?".into()],
        hints_about: "test `counts_each_bump`".into(),
    }
}

fn model(passed: bool) -> Model {
    let mut model = Model::new(WatchKind::Events, false);
    update(&mut model, Message::Snapshot(snapshot(passed)));
    model
}

fn outcome(verdict: Verdict) -> Box<RunOutcome> {
    Box::new(RunOutcome {
        verdict,
        diagnostics: vec![],
        tests: vec![
            TestResult {
                name: "count::starts_at_zero".into(),
                status: TestStatus::Passed,
                output: String::new(),
            },
            TestResult {
                name: "count::counts_each_bump".into(),
                status: if verdict == Verdict::Passed {
                    TestStatus::Passed
                } else {
                    TestStatus::Failed
                },
                output: "assertion failed: three bumps".into(),
            },
        ],
        build_output: String::new(),
        test_output: String::new(),
        truncated: false,
        build_time: Duration::ZERO,
        test_time: Duration::ZERO,
        time_limit: Duration::from_secs(10),
    })
}

fn answer(shown: usize, decision: Decision) -> HintAnswer {
    HintAnswer {
        ladder: Ladder {
            key: LadderKey::Stage,
            about: "stage".into(),
            rungs: vec!["a?".into(), "b?".into(), "nudge".into()],
            failure: None,
        },
        shown_before: shown,
        decision,
    }
}

#[test]
fn a_save_during_a_run_restarts_it_and_only_the_newest_verdict_counts() {
    let mut m = model(false);
    assert_eq!(
        update(&mut m, Message::SourcesChanged),
        [Effect::StartRun { id: 1 }]
    );
    update(
        &mut m,
        Message::RunProgress {
            id: 1,
            event: RunEvent::Building {
                done: 3,
                total: Some(9),
                unit: None,
            },
        },
    );
    assert_eq!(
        m.activity,
        Activity::Building {
            done: 3,
            total: Some(9),
            unit: None
        }
    );
    assert_eq!(
        update(&mut m, Message::SourcesChanged),
        [Effect::StartRun { id: 2 }],
        "the stale run is replaced"
    );
    assert_eq!(
        update(
            &mut m,
            Message::RunFinished {
                id: 1,
                outcome: outcome(Verdict::Failed)
            }
        ),
        []
    );
    assert!(
        m.running && m.outcome.is_none(),
        "a stale verdict is never shown"
    );
    let effects = update(
        &mut m,
        Message::RunFinished {
            id: 2,
            outcome: outcome(Verdict::Passed),
        },
    );
    assert!(
        matches!(effects.as_slice(), [Effect::Record { .. }]),
        "{effects:?}"
    );
    assert_eq!(m.outcome.as_ref().map(|o| o.verdict), Some(Verdict::Passed));
    assert!(!m.running);
}

#[test]
fn a_cancelled_run_is_not_recorded() {
    let mut m = model(false);
    update(&mut m, Message::SourcesChanged);
    assert_eq!(
        update(
            &mut m,
            Message::RunFinished {
                id: 1,
                outcome: outcome(Verdict::Cancelled)
            }
        ),
        []
    );
}

#[test]
fn next_waits_for_a_pass() {
    let mut m = model(false);
    assert_eq!(update(&mut m, key('n')), []);
    assert!(
        m.notice
            .as_deref()
            .unwrap_or_default()
            .contains("once this one passes")
    );
    let mut m = model(true);
    assert_eq!(update(&mut m, key('n')), [Effect::Advance]);
}

#[test]
fn hints_ask_the_engine_and_confirm_when_the_engine_says_so() {
    let mut m = model(false);
    assert_eq!(update(&mut m, key('h')), [Effect::AskHint { stuck: false }]);
    assert_eq!(update(&mut m, key('H')), [Effect::AskHint { stuck: true }]);
    let free = answer(
        0,
        Decision::Show {
            index: 0,
            confirm: vec![],
        },
    );
    assert_eq!(
        update(&mut m, Message::Hint(free.clone())),
        [Effect::ShowHint {
            answer: free,
            index: 0,
            forced: false
        }]
    );

    let stuck = answer(
        1,
        Decision::Show {
            index: 1,
            confirm: vec![Confirm::Stuck],
        },
    );
    assert_eq!(update(&mut m, Message::Hint(stuck.clone())), []);
    assert!(matches!(
        m.mode,
        Mode::Confirm(Pending::Hint {
            index: 1,
            forced: true,
            ..
        })
    ));
    assert_eq!(
        update(&mut m, key('y')),
        [Effect::ShowHint {
            answer: stuck.clone(),
            index: 1,
            forced: true
        }]
    );
    assert_eq!(m.mode, Mode::Main);

    update(&mut m, Message::Hint(stuck));
    assert_eq!(update(&mut m, key('n')), [], "anything but y declines");
    assert_eq!(m.mode, Mode::Main);

    update(
        &mut m,
        Message::Hint(answer(1, Decision::Wait { shown: 1 })),
    );
    assert!(
        m.notice
            .as_deref()
            .unwrap_or_default()
            .contains("Think about question 1 first")
    );
}

#[test]
fn quitting_by_key_ctrl_c_or_signal() {
    for message in [
        key('q'),
        Message::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Message::Terminate,
    ] {
        let mut m = model(false);
        assert_eq!(update(&mut m, message), [Effect::Quit]);
        assert!(m.quit);
    }
}

#[test]
fn the_list_switches_tracks_but_not_into_locked_stages() {
    let mut m = model(false);
    update(&mut m, key('l'));
    assert_eq!(
        m.mode,
        Mode::List { selected: 1 },
        "the working stage is selected"
    );
    update(
        &mut m,
        Message::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
    );
    assert_eq!(
        update(
            &mut m,
            Message::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
        ),
        []
    );
    assert!(m.notice.as_deref().unwrap_or_default().contains("locked"));

    update(&mut m, key('l'));
    for _ in 0..3 {
        update(
            &mut m,
            Message::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
        );
    }
    assert_eq!(
        update(
            &mut m,
            Message::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
        ),
        [Effect::SwitchTrack(1)]
    );
}

#[test]
fn a_passed_stage_can_be_revisited_from_the_list() {
    let mut m = model(true);
    m.snapshot.at = Some(StageRef { track: 0, stage: 1 });
    update(&mut m, key('l'));
    assert_eq!(m.mode, Mode::List { selected: 2 });
    update(
        &mut m,
        Message::Key(KeyEvent::new(KeyCode::Up, KeyModifiers::NONE)),
    );
    let effects = update(
        &mut m,
        Message::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert_eq!(
        effects,
        [Effect::ShowStage(StageRef { track: 0, stage: 0 })]
    );
    update(
        &mut m,
        Message::StageDetail {
            title: "count".into(),
            markdown: "## Plan".into(),
        },
    );
    assert!(matches!(m.mode, Mode::Detail { scroll: 0, .. }));
    assert!(draw(&m, 80, 24).contains("Plan"));
}

#[test]
fn adopting_a_solution_asks_first() {
    let mut m = model(false);
    update(&mut m, key('s'));
    assert_eq!(m.mode, Mode::Solution { scroll: 0 });
    update(&mut m, key('a'));
    assert_eq!(m.mode, Mode::Confirm(Pending::Adopt));
    assert_eq!(update(&mut m, key('y')), [Effect::Adopt]);
}

#[test]
fn a_stage_change_resets_the_scroll() {
    let mut m = model(false);
    update(
        &mut m,
        Message::Key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE)),
    );
    assert_eq!(m.result_scroll, 10);
    let mut next = snapshot(true);
    next.at = Some(StageRef { track: 0, stage: 1 });
    update(&mut m, Message::Snapshot(next));
    assert_eq!(m.result_scroll, 0);
}

fn draw(model: &Model, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(model, frame)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_screen_at_80_by_24_shows_stage_verdict_hints_and_keys() {
    let mut m = model(false);
    update(&mut m, Message::SourcesChanged);
    update(
        &mut m,
        Message::RunFinished {
            id: 1,
            outcome: outcome(Verdict::Failed),
        },
    );
    let screen = draw(&m, 80, 24);
    assert!(screen.contains("stage 1 of 2: Counting"), "{screen}");
    assert!(
        screen.contains("track 0/2") && screen.contains("course 0/3"),
        "{screen}"
    );
    assert!(
        screen.contains("1 of 2 tests pass - count (Counting)"),
        "{screen}"
    );
    assert!(screen.contains("✗ count::counts_each_bump"), "{screen}");
    assert!(screen.contains("1. How many bumps?"), "{screen}");
    assert!(screen.contains(" h  hint"), "{screen}");
}

#[test]
fn a_pass_shows_the_reflection_and_the_next_key() {
    let mut m = model(true);
    update(&mut m, Message::SourcesChanged);
    update(
        &mut m,
        Message::RunFinished {
            id: 1,
            outcome: outcome(Verdict::Passed),
        },
    );
    let screen = draw(&m, 100, 30);
    assert!(
        screen.contains("Stage passed!")
            && screen.contains("What happens to the count on restart?"),
        "{screen}"
    );
    assert!(screen.contains(" n  next stage"), "{screen}");
}

#[test]
fn a_build_in_progress_shows_how_far_it_is() {
    let mut m = model(false);
    update(&mut m, Message::SourcesChanged);
    update(
        &mut m,
        Message::RunProgress {
            id: 1,
            event: RunEvent::Building {
                done: 12,
                total: Some(40),
                unit: Some("tokio".into()),
            },
        },
    );
    let screen = draw(&m, 80, 24);
    assert!(
        screen.contains("building 12 of ~40 crates tokio"),
        "{screen}"
    );
}

#[test]
fn tiny_and_zero_areas_never_panic() {
    let mut m = model(false);
    update(&mut m, Message::SourcesChanged);
    update(
        &mut m,
        Message::RunFinished {
            id: 1,
            outcome: outcome(Verdict::Failed),
        },
    );
    for mode in [
        Mode::Main,
        Mode::Help,
        Mode::List { selected: 2 },
        Mode::Solution { scroll: 3 },
        Mode::Confirm(Pending::Adopt),
    ] {
        m.mode = mode;
        for (w, h) in [
            (0, 0),
            (1, 1),
            (5, 2),
            (19, 5),
            (20, 6),
            (30, 8),
            (80, 24),
            (200, 60),
        ] {
            draw(&m, w, h);
        }
    }
}

#[test]
fn no_color_draws_without_colours() {
    let mut m = Model::new(WatchKind::Events, true);
    update(&mut m, Message::Snapshot(snapshot(false)));
    update(&mut m, Message::SourcesChanged);
    update(
        &mut m,
        Message::RunFinished {
            id: 1,
            outcome: outcome(Verdict::Failed),
        },
    );
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|frame| view(&m, frame)).unwrap();
    let buffer = terminal.backend().buffer();
    for cell in &buffer.content {
        assert_eq!(
            cell.fg,
            ratatui::style::Color::Reset,
            "coloured cell {cell:?}"
        );
    }
}

#[test]
fn polling_is_said_on_screen() {
    let mut m = Model::new(
        WatchKind::Polling {
            reason: "NFS file system".into(),
        },
        false,
    );
    update(&mut m, Message::Snapshot(snapshot(false)));
    assert!(draw(&m, 100, 24).contains("Watching by polling (NFS file system)"));
}
