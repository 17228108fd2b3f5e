//! clippy in `katas watch`, end to end in a pseudo-terminal: after a pass, clippy runs in the
//! background (the verdict is on screen first), a save cancels it, its lints become questions,
//! `f` formats the learner's code, and progress records the lints met and fixed.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::pty::{Screen, alive, atomic_save, wait_for_condition};

/// The fixture's stage-one reference.
fn solution() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mini/solutions/counter/count/src/lib.rs");
    std::fs::read_to_string(path).unwrap()
}

/// The reference with one lint the catalog knows (`clippy::clone_on_copy`) put in.
fn with_a_lint() -> String {
    let text = solution();
    assert!(text.contains("        self.count\n"));
    text.replacen("        self.count\n", "        self.count.clone()\n", 1)
}

/// A `cargo` that is the real one, except that `cargo clippy` writes its pid to `clippy.pids`,
/// starts a child of its own (its pid in `clippy.children`: what a kill of the process alone,
/// not of its group, would leave behind) and waits for a file `release` to appear before it
/// starts: a clippy as slow as the test wants, with no timing in it.
fn slow_clippy(root: &Path) -> PathBuf {
    let fake = root.join("fake-cargo");
    let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\n\
             if [ \"$1\" = clippy ]; then\n  \
               echo $$ >> '{dir}/clippy.pids'\n  \
               sleep 600 &\n  \
               echo $! >> '{dir}/clippy.children'\n  \
               while [ ! -e '{dir}/release' ]; do sleep 0.05; done\n  \
               kill $!\n\
             fi\n\
             exec '{real}' \"$@\"\n",
            dir = root.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    fake
}

/// The pids of the clippy runs the fake cargo started, in order.
fn clippy_pids(root: &Path) -> Vec<i32> {
    pids(root, "clippy.pids")
}

/// The pids of the children those runs started.
fn clippy_children(root: &Path) -> Vec<i32> {
    pids(root, "clippy.children")
}

fn pids(root: &Path, file: &str) -> Vec<i32> {
    std::fs::read_to_string(root.join(file))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[test]
fn the_verdict_shows_before_clippy_ends_and_a_save_cancels_clippy() {
    let (_dir, root) = common::course("mini");
    let fake = slow_clippy(&root);
    let mut screen = Screen::start_with(&root, &["watch"], &[("CARGO", fake.to_str().unwrap())]);
    screen.wait_for("1 of 2 tests pass - count");
    let lib = root.join("exercises/counter/src/lib.rs");

    atomic_save(&lib, &with_a_lint());
    wait_for_condition("clippy to start after the pass", || {
        clippy_pids(&root).len() == 1
    });
    // clippy cannot end until `release` exists: whatever is on screen now came before it.
    screen.wait_for("Stage passed!");
    screen.wait_for("clippy: looking at your code");
    let first = clippy_pids(&root)[0];
    assert!(alive(first), "clippy is still waiting");

    // A save while clippy runs: the new run cancels it (its process group is killed).
    atomic_save(&lib, &solution());
    wait_for_condition("the stale clippy to be killed", || !alive(first));
    wait_for_condition("the stale clippy's child to be killed with it", || {
        clippy_children(&root)
            .first()
            .is_some_and(|&child| !alive(child))
    });
    wait_for_condition("clippy to start after the second pass", || {
        clippy_pids(&root).len() == 2
    });
    std::fs::write(root.join("release"), "").unwrap();
    screen.wait_for("clippy: nothing to question");
    assert!(
        !screen.contents().contains("clone_on_copy"),
        "no question about the old code's lint:\n{}",
        screen.contents()
    );
    screen.press("q");
    assert!(screen.wait_exit());
}

#[test]
fn after_a_pass_the_lint_is_a_question_f_formats_and_progress_records_met_and_fixed() {
    let (_dir, root) = common::course("mini");
    let mut screen = Screen::start(&root);
    screen.wait_for("1 of 2 tests pass - count");
    let lib = root.join("exercises/counter/src/lib.rs");
    // A lint, and code rustfmt would write differently.
    let messy = with_a_lint().replacen(
        "pub fn count(&self) -> u64 {",
        "pub fn count(&self)->u64 {",
        1,
    );
    atomic_save(&lib, &messy);
    screen.wait_for("Stage passed!");
    screen.wait_for("clippy::clone_on_copy at src/lib.rs:");
    // The catalog's first rung, in the hint pane, tied to the line.
    screen.wait_for("Is the value cloned at line 22 of a `Copy` type?");
    screen.wait_for("your code is not formatted as rustfmt would: press f to format");

    screen.press("f");
    wait_for_condition("rustfmt to format the learner's file", || {
        std::fs::read_to_string(&lib)
            .unwrap()
            .contains("pub fn count(&self) -> u64 {")
    });
    // The save `f` made is tested and linted again: the lint stays, the format line goes.
    screen.wait_until("the lint again without the format line", |s| {
        s.contains("clippy::clone_on_copy") && !s.contains("not formatted as rustfmt")
    });
    let state = || std::fs::read_to_string(root.join(".katas/state.toml")).unwrap();
    assert!(
        state().contains("lints_met = [\"clone_on_copy\"]"),
        "{}",
        state()
    );

    atomic_save(&lib, &solution());
    screen.wait_for("clippy: nothing to question");
    wait_for_condition("the fix to be recorded", || {
        state().contains("lints_fixed = [\"clone_on_copy\"]")
    });
    screen.press("q");
    assert!(screen.wait_exit());

    let (code, stdout, stderr) = common::output(&root, &["report"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("clone_on_copy"),
        "the report names the lint: {stdout}"
    );
}

#[test]
fn a_strict_stage_passes_in_watch_only_once_clippy_is_clean() {
    let (_dir, root) = common::course("mini");
    let stage = root.join("course/counter/count");
    common::edit(
        &stage.join("stage.toml"),
        "title = \"Counting\"",
        "title = \"Counting\"\nstrict = true",
    );
    common::edit(
        &stage.join("brief.md"),
        "Implement `bump`.",
        "Implement `bump`. This stage is strict: clippy must be clean too.",
    );
    let mut screen = Screen::start(&root);
    screen.wait_for("1 of 2 tests pass - count");
    let lib = root.join("exercises/counter/src/lib.rs");
    let state = || std::fs::read_to_string(root.join(".katas/state.toml")).unwrap_or_default();

    atomic_save(&lib, &with_a_lint());
    screen.wait_for("clippy::clone_on_copy at src/lib.rs:");
    screen.wait_for("this stage is strict");
    assert!(
        !screen.contains_now("Stage passed!"),
        "{}",
        screen.contents()
    );
    assert!(!state().contains("passed_at"), "not passed: {}", state());

    atomic_save(&lib, &solution());
    screen.wait_for("Stage passed!");
    wait_for_condition("the pass to be recorded", || state().contains("passed_at"));
    screen.press("q");
    assert!(screen.wait_exit());
}

#[test]
fn quitting_while_clippy_runs_leaves_none_of_its_processes() {
    let (_dir, root) = common::course("mini");
    let fake = slow_clippy(&root);
    let mut screen = Screen::start_with(&root, &["watch"], &[("CARGO", fake.to_str().unwrap())]);
    screen.wait_for("1 of 2 tests pass - count");
    atomic_save(&root.join("exercises/counter/src/lib.rs"), &with_a_lint());
    wait_for_condition("clippy to start after the pass, and its child", || {
        clippy_pids(&root).len() == 1 && clippy_children(&root).len() == 1
    });
    screen.wait_for("clippy: looking at your code");
    let clippy = clippy_pids(&root)[0];
    screen.press("q");
    assert!(screen.wait_exit(), "q quits while clippy runs");
    // No waiting here: katas killed clippy's process group before it exited.
    assert!(!alive(clippy), "clippy's process {clippy} outlived katas");
    let child = clippy_children(&root)[0];
    assert!(!alive(child), "clippy's child {child} outlived katas");
}
