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
        hints_lint: false,
        lib_path: "exercises/counter/src/lib.rs".into(),
        strict: false,
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
        witnessed: None,
        units: vec![],
        early_end: None,
        notes: vec![],
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
        matches!(
            effects.as_slice(),
            [Effect::Record { .. }, Effect::CheckStyle { id: 2 }]
        ),
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

fn special(code: KeyCode) -> Message {
    Message::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// A stage with 45 tests, one failing with an assertion, the way libtest captures it.
fn many_tests() -> Box<RunOutcome> {
    let mut tests: Vec<TestResult> = (0..44)
        .map(|i| TestResult {
            name: format!("count::passing_test_number_{i:02}"),
            status: TestStatus::Passed,
            output: String::new(),
        })
        .collect();
    tests.insert(
        30,
        TestResult {
            name: "count::set_overwrites_the_previous_value".into(),
            status: TestStatus::Failed,
            output: "some printing\nthread 'count::set_overwrites_the_previous_value' panicked at tests/stages/count.rs:50:5:\nassertion `left == right` failed: set replaces the value\n  left: Some(\"1\")\n right: Some(\"2\")\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n".into(),
        },
    );
    let mut outcome = outcome(Verdict::Failed);
    outcome.tests = tests;
    outcome
}

fn finished(m: &mut Model, outcome: Box<RunOutcome>) {
    update(m, Message::SourcesChanged);
    let id = m.run_id;
    update(m, Message::RunFinished { id, outcome });
}

#[test]
fn the_result_pane_leads_with_the_failing_test_and_counts_the_passing_ones() {
    let mut m = model(false);
    finished(&mut m, many_tests());
    let screen = draw(&m, 120, 30);
    for expected in [
        "44 of 45 tests pass",
        "✗ count::set_overwrites_the_previous_value",
        "at tests/stages/count.rs:50:5",
        "assertion `left == right` failed: set replaces the value",
        "right: Some(\"2\")",
        "✓ 44 tests passing (p lists them)",
    ] {
        assert!(
            screen.contains(expected),
            "{expected:?} is not on screen:\n{screen}"
        );
    }
    assert!(!screen.contains("passing_test_number_"), "{screen}");

    update(&mut m, key('p'));
    let screen = draw(&m, 120, 30);
    assert!(
        screen.contains("✓ count::passing_test_number_00"),
        "{screen}"
    );
}

#[test]
fn the_focused_pane_shows_without_colour() {
    let mut m = Model::new(WatchKind::Events, true);
    update(&mut m, Message::Snapshot(snapshot(false)));
    let screen = draw(&m, 120, 30);
    assert!(screen.contains("▶ Result"), "{screen}");
    assert!(screen.contains('┏'), "a thick border: {screen}");
    assert!(!screen.contains("▶ Brief"), "{screen}");
    update(&mut m, special(KeyCode::Tab));
    let screen = draw(&m, 120, 30);
    assert!(
        screen.contains("▶ Brief") && !screen.contains("▶ Result"),
        "{screen}"
    );
}

#[test]
fn scrolling_stops_at_the_end() {
    let mut m = model(false);
    update(
        &mut m,
        Message::Resize {
            width: 80,
            height: 24,
        },
    );
    finished(&mut m, many_tests());
    update(&mut m, key('p'));
    let (_, limit) = scroll_limits(&m);
    assert!(limit > 0 && limit < 200, "the result overflows: {limit}");
    for _ in 0..50 {
        update(&mut m, special(KeyCode::PageDown));
    }
    assert_eq!(m.result_scroll, limit, "stopped at the last line");
    update(&mut m, special(KeyCode::Up));
    assert_eq!(m.result_scroll, limit - 1, "one key up moves at once");
    // The brief is short: it scrolls only as far as its last line.
    let (brief_limit, _) = scroll_limits(&m);
    update(&mut m, special(KeyCode::Tab));
    for _ in 0..5 {
        update(&mut m, special(KeyCode::PageDown));
    }
    assert_eq!(m.brief_scroll, brief_limit);
    assert!(brief_limit < 10);
}

#[test]
fn the_brief_opens_over_the_whole_screen_without_fence_labels() {
    let mut m = model(false);
    update(&mut m, key('b'));
    assert!(matches!(m.mode, Mode::Detail { .. }));
    let screen = draw(&m, 100, 30);
    assert!(screen.contains("Brief: count (Counting)"), "{screen}");
    assert!(screen.contains("c.bump();"), "{screen}");
    assert!(
        !screen
            .lines()
            .any(|l| l.trim_matches(|c: char| c == '│' || c == ' ') == "rust"),
        "the code fence's label is not shown: {screen}"
    );
    update(&mut m, special(KeyCode::Esc));
    assert_eq!(m.mode, Mode::Main);
}

#[test]
fn the_hint_panel_closes_on_a_pass_and_on_c() {
    let mut m = model(false);
    finished(&mut m, outcome(Verdict::Failed));
    assert!(draw(&m, 80, 24).contains("How many bumps?"));
    update(&mut m, key('c'));
    assert!(!draw(&m, 80, 24).contains("How many bumps?"), "c closes it");
    update(
        &mut m,
        Message::Hint(answer(1, Decision::Wait { shown: 1 })),
    );
    assert!(
        draw(&m, 80, 24).contains("How many bumps?"),
        "asking again opens it"
    );

    // The stage passes; the snapshot still holds the rungs shown for the failure.
    update(&mut m, Message::Snapshot(snapshot(true)));
    finished(&mut m, outcome(Verdict::Passed));
    let screen = draw(&m, 80, 24);
    assert!(screen.contains("Stage passed!"), "{screen}");
    assert!(!screen.contains("How many bumps?"), "{screen}");
}

#[test]
fn the_first_screen_names_the_file_to_edit() {
    let m = model(false);
    let screen = draw(&m, 120, 30);
    assert!(
        screen.contains("Edit exercises/counter/src/lib.rs and save"),
        "{screen}"
    );
}

#[test]
fn the_build_estimate_is_never_below_the_count() {
    let mut m = model(false);
    update(&mut m, Message::SourcesChanged);
    update(
        &mut m,
        Message::RunProgress {
            id: 1,
            event: RunEvent::Building {
                done: 84,
                total: Some(75),
                unit: None,
            },
        },
    );
    let screen = draw(&m, 80, 24);
    assert!(screen.contains("building 84 of ~84 crates"), "{screen}");
}

#[test]
fn counts_are_proper_plurals() {
    let mut m = model(false);
    let mut error = outcome(Verdict::CompileError);
    error.tests.clear();
    error.diagnostics = vec![katas::runner::Diagnostic {
        severity: katas::runner::Severity::Error,
        code: Some("E0425".into()),
        message: "cannot find value `x` in this scope".into(),
        rendered: "error[E0425]: cannot find value `x` in this scope".into(),
        file: Some("src/lib.rs".into()),
        line: Some(3),
        label: None,
        related: vec![],
    }];
    finished(&mut m, error);
    let screen = draw(&m, 80, 24);
    assert!(screen.contains("1 compile error - count"), "{screen}");
    assert!(!screen.contains("(s)"), "{screen}");

    update(&mut m, Message::SourcesChanged);
    let id = m.run_id;
    update(
        &mut m,
        Message::RunProgress {
            id,
            event: RunEvent::Testing { tests: 1 },
        },
    );
    let screen = draw(&m, 80, 24);
    assert!(
        screen.contains("running 1 test ") || screen.contains("running 1 test│"),
        "{screen}"
    );
    assert!(!screen.contains("1 tests"), "{screen}");
}

/// A failed replication test: the violation at tick 130 of 200 events, near the start.
fn replication_failure() -> Box<RunOutcome> {
    let mut output = String::from(
        "thread 'broadcast::values_spread' panicked at tests/stages/broadcast.rs:40:5:\n\n✗ every value reaches every node (seed 7, tick 130)\n  n2 never saw 5\n\n   tick │ n0           │ n1           │ n2           │ clients\n",
    );
    for tick in 0..200u64 {
        let event = if tick == 13 {
            "read → [] VIOLATION"
        } else {
            "send 5 → n1"
        };
        output.push_str(&format!(
            "{:>7} │ {event:<12} │              │              │ {}\n",
            tick * 10,
            "a very long client column that goes past the right edge of an eighty column terminal"
        ));
    }
    let mut outcome = outcome(Verdict::Failed);
    outcome.tests = vec![TestResult {
        name: "broadcast::values_spread".into(),
        status: TestStatus::Failed,
        output,
    }];
    outcome
}

#[test]
fn the_timeline_opens_full_width_at_the_violation_and_scrolls_within_it() {
    let mut m = model(false);
    update(
        &mut m,
        Message::Resize {
            width: 80,
            height: 24,
        },
    );
    finished(&mut m, replication_failure());
    assert!(draw(&m, 80, 24).contains("press t for its timeline"));
    update(&mut m, key('t'));
    let Mode::Timeline { scroll, .. } = m.mode else {
        panic!("t opens the timeline: {:?}", m.mode);
    };
    let screen = draw(&m, 80, 24);
    assert!(
        screen.contains("VIOLATION"),
        "the violation's row is on screen:\n{screen}"
    );
    assert!(
        screen.contains("tick │ n0"),
        "the header row stays:\n{screen}"
    );
    assert!(
        screen
            .lines()
            .all(|l| !l.trim_start().starts_with("│ a very")),
        "rows are not wrapped:\n{screen}"
    );
    assert!(scroll > 0, "it opened at the violation, not the top");
    for _ in 0..100 {
        update(&mut m, special(KeyCode::PageDown));
    }
    let Mode::Timeline { scroll: end, .. } = m.mode else {
        panic!()
    };
    assert_eq!(end, 200 - (24 - 3), "stopped at the last row");
    update(&mut m, key('v'));
    assert_eq!(
        m.mode,
        Mode::Timeline { scroll, column: 0 },
        "v jumps back to the violation"
    );
    for _ in 0..6 {
        update(&mut m, special(KeyCode::Right));
    }
    let screen = draw(&m, 80, 24);
    assert!(
        screen.contains("column that goes past"),
        "scrolled right:\n{screen}"
    );
    assert!(
        screen.contains("    130 │"),
        "the tick column stays:\n{screen}"
    );
    update(&mut m, special(KeyCode::Esc));
    assert_eq!(m.mode, Mode::Main);
}

#[test]
fn timeline_rows_in_the_result_pane_are_one_line_each() {
    let mut m = model(false);
    update(
        &mut m,
        Message::Resize {
            width: 120,
            height: 40,
        },
    );
    finished(&mut m, replication_failure());
    for _ in 0..3 {
        update(&mut m, special(KeyCode::PageDown));
    }
    let screen = draw(&m, 120, 40);
    let rows: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains(" │ send 5 → n1"))
        .collect();
    assert!(!rows.is_empty(), "{screen}");
    assert!(
        rows.iter().all(|r| r.contains('…')),
        "each row is cut to the pane, marked with an ellipsis:\n{screen}"
    );
    assert!(
        !screen
            .lines()
            .any(|l| l.contains("right edge of an eighty")),
        "no row wraps onto a second line:\n{screen}"
    );
}

fn lint(name: &str, line: usize, message: &str) -> katas::runner::Lint {
    katas::runner::Lint {
        lint: name.into(),
        message: message.into(),
        file: Some("src/lib.rs".into()),
        line: Some(line),
        rendered: String::new(),
    }
}

fn style_checked(id: u64, lints: Vec<katas::runner::Lint>, fmt_clean: Option<bool>) -> Message {
    Message::StyleChecked {
        id,
        report: Box::new(katas::runner::ClippyReport {
            end: katas::runner::ClippyEnd::Finished,
            lints,
            elapsed: Duration::ZERO,
        }),
        fmt_clean,
    }
}

/// A run `id` that passed, finished in `m`; returns its effects.
fn pass(m: &mut Model) -> Vec<Effect> {
    let effects = update(m, Message::SourcesChanged);
    let Effect::StartRun { id } = effects[0] else {
        panic!("{effects:?}")
    };
    update(
        m,
        Message::RunFinished {
            id,
            outcome: outcome(Verdict::Passed),
        },
    )
}

#[test]
fn after_a_pass_clippy_checks_in_the_background_and_a_save_drops_its_stale_result() {
    let mut m = model(false);
    let effects = pass(&mut m);
    assert!(matches!(effects[0], Effect::Record { .. }), "{effects:?}");
    assert_eq!(effects[1..], [Effect::CheckStyle { id: 1 }]);
    assert_eq!(m.style, Style::Checking);
    update(&mut m, Message::Snapshot(snapshot(true)));
    let screen = draw(&m, 120, 40);
    assert!(
        screen.contains("all 2 tests pass") && screen.contains("clippy: looking at your code"),
        "the verdict is on screen while clippy runs:\n{screen}"
    );
    // A save: what clippy says now is about the code before it.
    assert_eq!(
        update(&mut m, Message::SourcesChanged),
        [Effect::StartRun { id: 2 }]
    );
    assert_eq!(m.style, Style::Unchecked);
    let stale = style_checked(1, vec![lint("clone_on_copy", 22, "using `clone`")], None);
    assert_eq!(update(&mut m, stale), []);
    assert_eq!(m.style, Style::Unchecked);
    assert!(!draw(&m, 120, 40).contains("clone_on_copy"));
}

#[test]
fn no_clippy_skips_the_check_except_on_a_strict_stage() {
    let mut m = model(false);
    m.clippy = false;
    let effects = pass(&mut m);
    assert_eq!(effects.len(), 1, "only the record: {effects:?}");
    assert_eq!(m.style, Style::Unchecked);
    let mut strict = snapshot(false);
    strict.strict = true;
    update(&mut m, Message::Snapshot(strict));
    let effects = pass(&mut m);
    assert_eq!(
        effects[1..],
        [Effect::CheckStyle { id: 2 }],
        "its verdict needs clippy"
    );
}

#[test]
fn a_strict_stage_with_a_lint_has_not_passed_and_says_why() {
    let mut m = model(false);
    let mut strict = snapshot(false);
    strict.strict = true;
    update(&mut m, Message::Snapshot(strict.clone()));
    pass(&mut m);
    let effects = update(
        &mut m,
        style_checked(
            1,
            vec![lint("clone_on_copy", 22, "using `clone` on type `u64`")],
            Some(true),
        ),
    );
    assert!(
        matches!(effects[..], [Effect::RecordStyle { .. }]),
        "{effects:?}"
    );
    let screen = draw(&m, 160, 40);
    assert!(screen.contains("this stage is strict"), "{screen}");
    assert!(
        screen.contains("clippy::clone_on_copy at src/lib.rs:22"),
        "{screen}"
    );
    assert!(!screen.contains("Stage passed!"), "{screen}");
    assert_eq!(
        update(&mut m, key('n')),
        [],
        "the next stage waits for a clean clippy"
    );
    // Clean: the session records the pass, and its snapshot says so.
    pass(&mut m);
    update(&mut m, style_checked(2, vec![], Some(true)));
    strict.passed = true;
    update(&mut m, Message::Snapshot(strict));
    let screen = draw(&m, 160, 40);
    assert!(screen.contains("Stage passed!"), "{screen}");
    assert!(screen.contains("clippy: nothing to question"), "{screen}");
}

#[test]
fn lints_outside_the_catalog_show_clippys_message_and_f_formats() {
    let mut m = model(false);
    pass(&mut m);
    update(&mut m, Message::Snapshot(snapshot(true)));
    update(
        &mut m,
        style_checked(
            1,
            vec![
                lint("clone_on_copy", 22, "using `clone` on type `u64`"),
                lint("needless_return", 9, "unneeded `return` statement"),
            ],
            Some(false),
        ),
    );
    let screen = draw(&m, 200, 40);
    assert!(
        screen.contains("clippy questions your code in 2 places"),
        "{screen}"
    );
    assert!(
        screen.contains("clippy::needless_return at src/lib.rs:9: unneeded `return` statement"),
        "{screen}"
    );
    assert!(
        screen.contains("clippy::clone_on_copy at src/lib.rs:22 (a question below"),
        "a catalog lint is a question, not clippy's text: {screen}"
    );
    assert!(
        screen.contains("your code is not formatted as rustfmt would: press f to format"),
        "{screen}"
    );
    assert!(
        screen.contains(" f  format"),
        "the footer offers f: {screen}"
    );
    assert_eq!(update(&mut m, key('f')), [Effect::Format]);
}

#[test]
fn a_lints_question_shows_in_the_hint_pane_while_its_verdict_is_on_screen() {
    let mut m = model(false);
    pass(&mut m);
    let mut lint_snapshot = snapshot(true);
    lint_snapshot.hints = vec!["Is the value cloned at line 22 of a `Copy` type?".into()];
    lint_snapshot.hints_about = "clippy::clone_on_copy at src/lib.rs:22 (ownership)".into();
    lint_snapshot.hints_lint = true;
    update(&mut m, Message::Snapshot(lint_snapshot));
    update(
        &mut m,
        style_checked(1, vec![lint("clone_on_copy", 22, "using `clone`")], None),
    );
    let screen = draw(&m, 160, 40);
    assert!(
        screen.contains("Questions about clippy::clone_on_copy"),
        "{screen}"
    );
    assert!(
        screen.contains("1. Is the value cloned at line 22"),
        "{screen}"
    );
    // After a save the question is about code that may be gone: hidden until clippy speaks.
    update(&mut m, Message::SourcesChanged);
    assert!(!draw(&m, 160, 40).contains("Questions about clippy"));
}
