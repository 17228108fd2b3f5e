//! clippy as a teacher: after a pass, the lints on the learner's code become questions; a
//! strict stage passes only when clippy is clean. On the small fixture course.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{course, edit, output, solve_stage_one};

/// The fixture's stage-two reference, with one lint (`clippy::clone_on_copy`) put in.
fn reset_with_a_lint(root: &Path) {
    let solution = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mini/solutions/counter/reset/src/lib.rs");
    let lib = root.join("exercises/counter/src/lib.rs");
    std::fs::copy(solution, &lib).unwrap();
    edit(
        &lib,
        "std::mem::take(&mut self.count)",
        "let old = self.count.clone();\n        self.count = 0;\n        old",
    );
}

fn reach_stage_two(root: &Path) {
    output(root, &["run"]);
    solve_stage_one(root);
    let (code, stdout, stderr) = output(root, &["run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = output(root, &["next"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn after_a_pass_the_verdict_comes_first_then_the_lint_as_a_question() {
    let (_dir, root) = course("mini");
    reach_stage_two(&root);
    reset_with_a_lint(&root);
    let (code, stdout, stderr) = output(&root, &["run"]);
    assert_eq!(code, 0, "advice is not a gate: {stdout}{stderr}");
    let verdict = stdout.find("Stage passed!").expect(&stdout);
    let lint = stdout.find("clippy::clone_on_copy").expect(&stdout);
    assert!(verdict < lint, "the verdict is said first: {stdout}");
    assert!(
        stdout.contains("A question about clippy::clone_on_copy at src/lib.rs:")
            && stdout.contains("Is the value cloned at line 22 of a `Copy` type?"),
        "{stdout}"
    );
    let state = std::fs::read_to_string(root.join(".katas/state.toml")).unwrap();
    assert!(state.contains("lints_met = [\"clone_on_copy\"]"), "{state}");
    // `katas hint` goes on with the same ladder: its next rung is the nudge.
    let (_, stdout, _) = output(&root, &["hint", "--yes", "--stuck"]);
    assert!(
        stdout.contains("Help for clippy::clone_on_copy") && stdout.contains("2. Nudge:"),
        "{stdout}"
    );
}

/// Makes the fixture's stage two strict (and says so in its brief).
fn make_strict(root: &Path) {
    let stage = root.join("course/counter/reset");
    edit(
        &stage.join("stage.toml"),
        "title = \"Resetting\"",
        "title = \"Resetting\"\nstrict = true",
    );
    edit(
        &stage.join("brief.md"),
        "Implement `reset`.",
        "Implement `reset`.\n\nThis stage is strict: it passes when clippy is clean too.",
    );
}

#[test]
fn a_strict_stage_fails_with_a_lint_and_passes_without_it() {
    let (_dir, root) = course("mini");
    make_strict(&root);
    reach_stage_two(&root);
    reset_with_a_lint(&root);
    let (code, stdout, stderr) = output(&root, &["run"]);
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("This stage is strict")
            && stdout.contains("clippy::clone_on_copy")
            && stdout.contains("Not passed yet.")
            && !stdout.contains("Stage passed!"),
        "{stdout}"
    );
    let (code, _, _) = output(&root, &["next"]);
    assert_ne!(code, 0, "a strict stage with a lint has not passed");

    let solution = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mini/solutions/counter/reset/src/lib.rs");
    std::fs::copy(solution, root.join("exercises/counter/src/lib.rs")).unwrap();
    let (code, stdout, stderr) = output(&root, &["run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Stage passed!"), "{stdout}");
    assert!(stdout.contains("clippy: nothing to question"), "{stdout}");
}

#[test]
fn an_allow_in_the_learners_code_does_not_open_a_strict_stage() {
    let (_dir, root) = course("mini");
    make_strict(&root);
    reach_stage_two(&root);
    reset_with_a_lint(&root);
    let lib = root.join("exercises/counter/src/lib.rs");
    edit(
        &lib,
        "//! A counter.",
        "//! A counter.\n#![allow(clippy::all)]",
    );
    let (code, stdout, stderr) = output(&root, &["run"]);
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Not passed yet."), "{stdout}");
}

#[test]
fn verify_fails_a_strict_stage_with_a_lint_and_passes_it_clean() {
    let (_dir, root) = course("mini");
    let (_pristine_dir, pristine) = course("mini");
    make_strict(&root);
    make_strict(&pristine);
    let reference = pristine.to_str().unwrap();
    reach_stage_two(&root);
    reset_with_a_lint(&root);
    let verify = ["verify", "--format", "json", "--reference", reference];
    let (_, stdout, stderr) = output(&root, &verify);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect(&stderr);
    assert_eq!(json["stages"][0]["status"], "passed", "{stdout}");
    assert_eq!(json["stages"][1]["status"], "failed", "{stdout}");
    // The reason is in the text report (the JSON carries statuses and counts).
    let (_, text, _) = output(&root, &["verify", "--reference", reference]);
    assert!(
        text.contains("strict stage") && text.contains("clippy::clone_on_copy"),
        "{text}"
    );
    assert_eq!(
        json["stages"][1]["tests_failed"], 0,
        "the tests themselves pass"
    );

    let solution = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mini/solutions/counter/reset/src/lib.rs");
    std::fs::copy(solution, root.join("exercises/counter/src/lib.rs")).unwrap();
    let (code, stdout, stderr) = output(&root, &verify);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn dev_check_proves_a_strict_stages_reference_clean_and_refuses_one_with_a_lint() {
    let (_dir, root) = course("mini");
    make_strict(&root);
    let check = ["dev", "check", "--stage", "counter/reset"];
    let (code, stdout, stderr) = output(&root, &check);
    assert_eq!(code, 0, "{stdout}{stderr}");
    edit(
        &root.join("solutions/counter/reset/src/lib.rs"),
        "std::mem::take(&mut self.count)",
        "let old = self.count.clone();\n        self.count = 0;\n        old",
    );
    let (code, stdout, stderr) = output(&root, &check);
    assert_ne!(code, 0, "{stdout}{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("a strict stage") && all.contains("clone_on_copy"),
        "{all}"
    );
}
