//! `katas watch` end to end, in a pseudo-terminal read through a terminal emulator (`vt100`): a
//! learner's session from a failing stage to the next one, and a save in the middle of a run.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::pty::{Screen, alive, atomic_save};

fn solution(stage: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mini/solutions/counter")
        .join(stage)
        .join("src/lib.rs");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_learner_goes_from_failure_to_the_next_stage_and_quits_cleanly() {
    let (_dir, root) = common::course("mini");
    let mut screen = Screen::start(&root);
    screen.wait_for("1 of 2 tests pass - count");
    screen.wait_for("✗ count::counts_each_bump");

    atomic_save(
        &root.join("exercises/counter/src/lib.rs"),
        &solution("count"),
    );
    screen.wait_for("Stage passed!");
    screen.wait_for("What happens to the count when the process restarts?");

    screen.press("n");
    screen.wait_for("stage 2 of 2: Resetting");
    screen.wait_for("compile error");

    screen.press("q");
    assert!(screen.wait_exit(), "katas watch exits with success on q");
    assert_restored(&screen);
}

#[test]
fn a_save_during_a_run_gives_one_verdict_for_the_newest_file() {
    let (_dir, root) = common::course("mini");
    let mut screen = Screen::start(&root);
    screen.wait_for("1 of 2 tests pass - count");
    let state = root.join(".katas/state.toml");
    let runs = || {
        let text = std::fs::read_to_string(&state).unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("runs = ").map(|n| n.parse::<u32>().unwrap()))
            .unwrap_or(0)
    };
    // The verdict is drawn first and recorded just after: wait for the record.
    let deadline = Instant::now() + Duration::from_secs(20);
    while runs() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = runs();
    assert_eq!(before, 1, "the first run was recorded");

    // A slow and wrong counter: its tests take seconds. Save it, and while it runs, save the
    // right one.
    let slow = solution("count").replace(
        "self.count += 1;",
        "std::thread::sleep(std::time::Duration::from_secs(4));",
    );
    let lib = root.join("exercises/counter/src/lib.rs");
    atomic_save(&lib, &slow);
    screen.wait_for("running 2 tests");
    atomic_save(&lib, &solution("count"));
    screen.wait_for("Stage passed!");
    assert_eq!(
        runs(),
        before + 1,
        "the slow run was cancelled, not recorded: one verdict, for the newest file"
    );
    screen.press("q");
    assert!(screen.wait_exit());
}

#[test]
fn a_course_update_of_the_tests_is_announced_on_the_screen() {
    let (_dir, root) = common::course("mini");
    let (code, _, stderr) = common::output(&root, &["run"]);
    assert_ne!(code, -1, "{stderr}");
    let course_tests = root.join("course/counter/count/tests.rs");
    let text = std::fs::read_to_string(&course_tests).unwrap();
    std::fs::write(&course_tests, format!("{text}\n// fixed by the teacher\n")).unwrap();

    // The notice must outlive the first run's start, which clears the notices before it.
    let mut screen = Screen::start(&root);
    screen.wait_for("1 of 2 tests pass - count");
    screen.wait_for("The course has changed the tests of: count");
    assert!(
        std::fs::read_to_string(root.join("exercises/counter/tests/stages/count.rs"))
            .unwrap()
            .ends_with("// fixed by the teacher\n")
    );
    screen.press("q");
    assert!(screen.wait_exit());
}

#[test]
fn the_editor_returns_to_the_watch_screen() {
    let (_dir, root) = common::course("mini");
    // An editor that asks the terminal something, as vim does, saves, and leaves before the
    // terminal answers: the answer arrives while katas takes the screen back.
    let editor = root.join("fake-editor");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf '\\033[c'\nprintf '// edited\\n' >> \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut screen = Screen::start_with(
        &root,
        &["watch"],
        &[("EDITOR", editor.to_str().unwrap()), ("VISUAL", "")],
    );
    screen.wait_for("1 of 2 tests pass - count");
    wait_for_runs(&root, 1);
    for round in 0..3 {
        screen.press("e");
        // The editor's save is seen, tested and recorded: katas is still watching.
        wait_for_runs(&root, round + 2);
        screen.wait_for("1 of 2 tests pass - count");
        assert!(
            screen.child.try_wait().unwrap().is_none(),
            "katas watch ended after the editor (round {round}); the screen shows:\n{}",
            screen.contents()
        );
    }
    screen.press("q");
    assert!(screen.wait_exit(), "katas watch exits with success on q");
    assert_restored(&screen);
}

#[test]
fn watch_poll_sees_a_save() {
    let (_dir, root) = common::course("mini");
    let mut screen = Screen::start_with(&root, &["watch", "--poll"], &[]);
    screen.wait_for("Watching by polling");
    screen.wait_for("1 of 2 tests pass - count");
    atomic_save(
        &root.join("exercises/counter/src/lib.rs"),
        &solution("count"),
    );
    screen.wait_for("Stage passed!");
    screen.press("q");
    assert!(screen.wait_exit());
}

/// The number of runs recorded in the progress file.
fn runs(root: &Path) -> u32 {
    let text = std::fs::read_to_string(root.join(".katas/state.toml")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("runs = ").map(|n| n.parse::<u32>().unwrap()))
        .unwrap_or(0)
}

/// Waits until `count` runs are recorded (the verdict is drawn first and recorded just after).
fn wait_for_runs(root: &Path, count: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while runs(root) < count && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(runs(root), count, "runs recorded");
}

fn assert_restored(screen: &Screen) {
    let parser = screen.parser.lock().unwrap();
    assert!(
        !parser.screen().alternate_screen(),
        "the alternate screen was left"
    );
    assert!(!parser.screen().hide_cursor(), "the cursor is shown again");
    drop(parser);
    let flags = screen
        .master
        .get_termios()
        .expect("termios of the pty")
        .local_flags
        .bits();
    assert_ne!(
        flags & libc::ICANON,
        0,
        "raw mode is off: canonical input is back"
    );
    assert_ne!(flags & libc::ECHO, 0, "raw mode is off: echo is back");
}

#[test]
fn ctrl_c_and_sigterm_restore_the_terminal() {
    let (_dir, root) = common::course("mini");
    let mut screen = Screen::start(&root);
    screen.wait_for("tests pass - count");
    screen.press("\u{3}");
    assert!(screen.wait_exit(), "Ctrl-C quits cleanly");
    assert_restored(&screen);

    for (signal, code) in [
        (nix::sys::signal::Signal::SIGTERM, 143),
        (nix::sys::signal::Signal::SIGHUP, 129),
    ] {
        let mut screen = Screen::start(&root);
        screen.wait_for("tests pass - count");
        let pid = screen.child.process_id().expect("a pid");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
            signal,
        )
        .unwrap();
        assert_eq!(
            screen.wait_exit_code(),
            code,
            "{signal} ends katas with the shell's code for it"
        );
        assert_restored(&screen);
    }
}

#[cfg(target_os = "linux")]
#[test]
fn quitting_during_a_run_leaves_none_of_its_processes() {
    let (_dir, root) = common::course("mini");
    // A first session creates the learner's crate.
    let mut screen = Screen::start(&root);
    screen.wait_for("tests pass - count");
    screen.press("q");
    assert!(screen.wait_exit());
    let pid_file = root.join("test.pid");
    common::edit(
        &root.join("exercises/counter/src/lib.rs"),
        "todo!(\"count one event\")",
        // The test starts a process of its own (in the run's group), records it, and hangs.
        &format!(
            "let child = std::process::Command::new(\"sleep\").arg(\"600\").spawn().unwrap();\n        \
             std::fs::write({:?}, child.id().to_string()).unwrap();\n        \
             std::thread::sleep(std::time::Duration::from_secs(600));",
            pid_file.display().to_string()
        ),
    );
    // Keys, then signals (SIGHUP is what closing the terminal's pane sends).
    for way in ["q", "\u{3}", "SIGTERM", "SIGHUP"] {
        let _ = std::fs::remove_file(&pid_file);
        let mut screen = Screen::start(&root);
        screen.wait_for("running 2 tests");
        let mut recorded = None;
        for _ in 0..6000 {
            recorded = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse().ok());
            if recorded.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let test: i32 = recorded.expect("the test never started its process");
        let expected = match way {
            "SIGTERM" | "SIGHUP" => {
                let signal: nix::sys::signal::Signal = way.parse().unwrap();
                let pid = screen.child.process_id().expect("a pid");
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
                    signal,
                )
                .unwrap();
                128 + signal as u32
            }
            key => {
                screen.press(key);
                0
            }
        };
        assert_eq!(screen.wait_exit_code(), expected, "{way:?}");
        // No waiting here: katas waited for its run to kill the test binary before it exited.
        assert!(
            !alive(test),
            "{way:?}: the test's process {test} outlived katas"
        );
    }
}

#[test]
fn a_failed_save_shows_its_cause_on_screen() {
    let (_dir, root) = common::course("mini");
    let mut screen = Screen::start(&root);
    screen.wait_for("tests pass - count");
    let state_dir = root.join(".katas");
    if !common::make_unwritable(&state_dir) {
        eprintln!("skipped: no way to make a folder unwritable here");
        return;
    }
    let lib = root.join("exercises/counter/src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    atomic_save(&lib, &format!("{text}\n// another attempt\n"));
    // Root is refused by the immutable attribute, a user by the folder's mode.
    let causes = ["Operation not permitted", "Permission denied"];
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut shown = false;
    while Instant::now() < deadline && !shown {
        // The notice wraps: read the screen's words, not its lines.
        let seen = screen
            .contents()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        shown = causes.iter().any(|c| seen.contains(c));
        std::thread::sleep(Duration::from_millis(50));
    }
    common::make_writable(&state_dir);
    assert!(
        shown,
        "the cause of the failed save is not on screen:\n{}",
        screen.contents()
    );
    assert!(screen.contents().contains("cannot save progress"));
    screen.press("q");
    assert!(screen.wait_exit());
}

/// After the first successful build, the rest of the lock file's packages are downloaded once in
/// the background (a later stage's optional dependencies), and the build folder says so.
#[test]
fn the_lock_files_packages_are_fetched_once_after_a_build() {
    use sha2::Digest;
    let (_dir, root) = common::course("mini");
    let screen = Screen::start(&root);
    screen.wait_for("1 of 2 tests pass - count");
    let marker = root.join(".katas/target/katas-fetched");
    common::pty::wait_for_condition("the fetch's marker", || marker.exists());
    let lock = std::fs::read(root.join("exercises/counter/Cargo.lock")).unwrap();
    let digest: String = sha2::Sha256::digest(&lock)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), digest);
}
