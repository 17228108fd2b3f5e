//! The `katas` binary on the fixture course `mini` (a `counter` track of two stages): what a
//! learner and a teacher see, and the exit codes scripts rely on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{course, output, solve_stage_one};
use katas::exit_codes;

#[test]
fn list_json_has_the_documented_shape() {
    let (_dir, root) = course("mini");
    let (code, stdout, stderr) = output(&root, &["list", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["course"], "Mini course");
    let stages = &json["tracks"][0]["stages"];
    assert_eq!(json["tracks"][0]["id"], "counter");
    assert_eq!(stages[0]["id"], "count");
    assert_eq!(stages[0]["status"], "current");
    assert_eq!(stages[1]["status"], "locked");
    assert_eq!(
        stages[0]["concepts"],
        serde_json::json!(["ownership", "borrowing"])
    );
    assert_eq!(stages[0]["hint_rungs"], 4);
    assert_eq!(stages[0]["test_ladders"], 1);
    assert_eq!(stages[0]["reflections"], 2);
}

#[test]
fn a_learner_fails_passes_and_moves_on() {
    let (_dir, root) = course("mini");
    let (code, stdout, _) = output(&root, &["run"]);
    assert_eq!(code, i32::from(exit_codes::FAILED));
    assert!(
        stdout.contains("1 of 2 tests pass - stage 1 of 2: count"),
        "{stdout}"
    );
    assert!(
        root.join("exercises/counter/tests/stages/count.rs")
            .exists(),
        "the crate was created with stage 1's tests"
    );
    assert!(
        !root
            .join("exercises/counter/tests/stages/reset.rs")
            .exists(),
        "stage 2's tests are not there yet"
    );

    let (code, _, _) = output(&root, &["next"]);
    assert_eq!(
        code,
        i32::from(exit_codes::FAILED),
        "no next stage before a pass"
    );

    solve_stage_one(&root);
    let (code, stdout, _) = output(&root, &["run"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("Stage passed!")
            && stdout.contains("What happens to the count when the process restarts?"),
        "{stdout}"
    );
    let state = fs::read_to_string(root.join(".katas/state.toml")).unwrap();
    assert!(state.contains("passed_at"), "{state}");

    let (code, stdout, _) = output(&root, &["next"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Stage 2 of 2: reset"), "{stdout}");
    let main_rs = fs::read_to_string(root.join("exercises/counter/tests/stages/main.rs")).unwrap();
    assert!(main_rs.contains("mod count;\nmod reset;"), "{main_rs}");

    let (code, stdout, _) = output(&root, &["run"]);
    assert_eq!(code, i32::from(exit_codes::FAILED));
    assert!(
        stdout.contains("E0599"),
        "the missing method is a compile error: {stdout}"
    );
    let (_, stdout, _) = output(&root, &["hint", "--yes"]);
    assert!(
        stdout.contains("`reset`, new in this stage") && stdout.contains("brief's Code section"),
        "the missing method is one the stage introduces: the hint says to write it: {stdout}"
    );
}

#[test]
fn hints_escalate_only_after_a_new_attempt() {
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    let (_, stdout, _) = output(&root, &["hint"]);
    assert!(
        stdout.contains("test `counts_each_bump`")
            && stdout.contains("1. How many times was `bump` called"),
        "{stdout}"
    );

    let (_, stdout, _) = output(&root, &["hint"]);
    assert!(
        stdout.contains("Think about question 1 first"),
        "no new rung without a new attempt: {stdout}"
    );
    assert!(!stdout.contains("2. "), "{stdout}");

    let (_, stdout, stderr) = output(&root, &["hint", "--stuck"]);
    assert!(
        stderr.contains("add --yes"),
        "the final nudge asks for a confirmation: {stderr}"
    );
    assert!(!stdout.contains("2. Nudge"), "{stdout}");
    assert!(
        stdout.contains("no terminal to ask on") && stdout.contains("`katas hint --stuck --yes`"),
        "without a terminal it says what to run, not that the learner declined: {stdout}"
    );
    assert!(!stdout.contains("Keep going"), "{stdout}");

    let lib = root.join("exercises/counter/src/lib.rs");
    common::edit(&lib, "todo!(\"count one event\")", "self.count += 2");
    output(&root, &["run"]);
    let (_, stdout, _) = output(&root, &["hint", "--yes"]);
    assert!(
        stdout.contains("2. Nudge: `self.count += 1`."),
        "a new attempt opens the next rung: {stdout}"
    );
    let state = fs::read_to_string(root.join(".katas/state.toml")).unwrap();
    assert_eq!(
        state.matches("ladder = \"test:counts_each_bump\"").count(),
        2,
        "{state}"
    );
}

#[test]
fn edited_tests_are_restored_by_deleting_them_not_by_git() {
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    let tests = root.join("exercises/counter/tests/stages/count.rs");
    let original = fs::read_to_string(&tests).unwrap();
    fs::write(&tests, format!("{original}\n// my change\n")).unwrap();
    let (_, _, stderr) = output(&root, &["run"]);
    assert!(
        stderr.contains("changed the tests of stage count")
            && stderr.contains("delete exercises/counter/tests/stages/count.rs"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("git checkout"),
        "katas writes these files, git may not track them: {stderr}"
    );
    assert!(!stderr.contains("stage(s)"), "{stderr}");

    fs::remove_file(&tests).unwrap();
    let (_, _, stderr) = output(&root, &["run"]);
    assert_eq!(
        fs::read_to_string(&tests).unwrap(),
        original,
        "the course's version is back"
    );
    assert!(!stderr.contains("changed the tests"), "{stderr}");
}

#[test]
fn a_course_update_of_a_stages_tests_reaches_an_untouched_copy_and_spares_an_edited_one() {
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    let installed = root.join("exercises/counter/tests/stages/count.rs");
    let course_tests = root.join("course/counter/count/tests.rs");
    let original = fs::read_to_string(&course_tests).unwrap();

    // The teacher fixes a test; the learner pulls. Their copy is still the one katas wrote.
    let fixed = format!("{original}\n// fixed by the teacher\n");
    fs::write(&course_tests, &fixed).unwrap();
    let (_, _, stderr) = output(&root, &["run"]);
    assert_eq!(fs::read_to_string(&installed).unwrap(), fixed);
    assert!(
        stderr.contains("The course has changed the tests of: count"),
        "{stderr}"
    );
    assert!(!stderr.contains("You changed the tests"), "{stderr}");
    assert!(
        !stderr.contains("changed the tests of stage count"),
        "{stderr}"
    );

    // The learner edits the new copy, then the course changes again: their edit stays.
    let mine = format!("{fixed}// my own test\n");
    fs::write(&installed, &mine).unwrap();
    fs::write(&course_tests, format!("{fixed}// fixed again\n")).unwrap();
    let (_, _, stderr) = output(&root, &["run"]);
    assert_eq!(
        fs::read_to_string(&installed).unwrap(),
        mine,
        "never overwritten"
    );
    assert!(
        stderr.contains("changed the tests of stage count"),
        "the learner hears their copy differs: {stderr}"
    );
    assert!(!stderr.contains("The course has changed"), "{stderr}");
}

#[test]
fn reset_restores_the_start_and_keeps_the_learners_files() {
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    let lib = root.join("exercises/counter/src/lib.rs");
    fs::write(&lib, "// my precious work\n").unwrap();
    let (code, stdout, stderr) = output(&root, &["reset", "counter/count", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    let start = fs::read_to_string(root.join("course/counter/start/src/lib.rs")).unwrap();
    assert_eq!(fs::read_to_string(&lib).unwrap(), start);
    let backup = stdout.trim().rsplit(' ').next().unwrap();
    assert_eq!(
        fs::read_to_string(std::path::Path::new(backup).join("src/lib.rs")).unwrap(),
        "// my precious work\n"
    );
}

#[test]
fn resetting_without_a_terminal_or_yes_changes_nothing() {
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    let lib = root.join("exercises/counter/src/lib.rs");
    fs::write(&lib, "// mine\n").unwrap();
    let (code, _, stderr) = output(&root, &["reset", "counter/count"]);
    assert_eq!(code, i32::from(exit_codes::FAILED));
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(fs::read_to_string(&lib).unwrap(), "// mine\n");
}

/// Runs git in `dir` with a fixed identity and no user or system configuration.
fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(["-c", "user.name=Teacher", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn tests_from_an_earlier_version_of_the_teachers_course_are_not_tampering() {
    let (_dir, root) = course("mini");
    let (_teacher_dir, teacher) = course("mini");
    git(&teacher, &["init", "-q"]);
    git(&teacher, &["add", "-A"]);
    git(&teacher, &["commit", "-q", "-m", "the course"]);
    output(&root, &["run"]);
    solve_stage_one(&root);
    // The teacher fixes a test after the learner copied the course; the learner has not pulled.
    let fixed = teacher.join("course/counter/count/tests.rs");
    let text = fs::read_to_string(&fixed).unwrap();
    fs::write(&fixed, format!("{text}\n// clearer now\n")).unwrap();
    git(&teacher, &["commit", "-q", "-am", "a clearer test"]);

    let reference = teacher.to_str().unwrap();
    let verify = |root: &Path| {
        output(
            root,
            &[
                "verify",
                "--stage",
                "counter/count",
                "--reference",
                reference,
            ],
        )
    };
    let (code, stdout, stderr) = verify(&root);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("passed   counter/count"), "{stdout}");
    assert!(
        stdout.contains("earlier versions of the course's tests")
            && stdout.contains("exercises/counter/tests/stages/count.rs as of commit")
            && stdout.contains("course/counter/count/tests.rs as of commit")
            && stdout.contains("no tampering"),
        "{stdout}"
    );

    // An earlier version that the learner then weakened is tampering all the same.
    common::edit(
        &root.join("exercises/counter/tests/stages/count.rs"),
        "checker::expect_count(c.count(), 3)",
        "checker::expect_count(3, 3)",
    );
    let (code, stdout, _) = verify(&root);
    assert_eq!(code, i32::from(exit_codes::TAMPERED), "{stdout}");
    assert!(
        stdout.contains("TAMPERED counter/count")
            && stdout.contains("the learner changed exercises/counter/tests/stages/count.rs"),
        "{stdout}"
    );
}

#[test]
fn verify_grades_every_stage_and_reports_tampering() {
    let (_dir, root) = course("mini");
    let (_pristine_dir, pristine) = course("mini");
    let reference = pristine.to_str().unwrap();
    output(&root, &["run"]);
    solve_stage_one(&root);
    let (code, stdout, stderr) = output(
        &root,
        &["verify", "--format", "json", "--reference", reference],
    );
    assert_eq!(code, i32::from(exit_codes::FAILED), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["stages"][0]["status"], "passed");
    assert_eq!(json["stages"][0]["tests_passed"], 2);
    assert_eq!(
        json["stages"][1]["status"], "failed",
        "stage 2 is graded whatever the progress"
    );
    assert_eq!(json["stages"][1]["tests_failed"], 1);
    assert!(
        json["stages"][0].get("reason").is_none(),
        "a clean pass has no reason: {stdout}"
    );
    let reason = json["stages"][1]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("does not compile") && reason.contains("reset"),
        "a JSON consumer learns why a stage failed (stage 2's `reset` is not written): {stdout}"
    );
    assert_eq!(
        (json["passed"].as_u64(), json["failed"].as_u64()),
        (Some(1), Some(1))
    );

    let (code, _, _) = output(
        &root,
        &[
            "verify",
            "--stage",
            "counter/count",
            "--reference",
            reference,
        ],
    );
    assert_eq!(code, 0, "one passing stage verifies alone");

    // The learner weakens their copy of the test so a wrong counter would pass.
    let tests = root.join("exercises/counter/tests/stages/count.rs");
    common::edit(
        &tests,
        "checker::expect_count(c.count(), 3)",
        "checker::expect_count(3, 3)",
    );
    let (code, stdout, _) = output(
        &root,
        &[
            "verify",
            "--stage",
            "counter/count",
            "--format",
            "junit",
            "--reference",
            reference,
        ],
    );
    assert_eq!(code, i32::from(exit_codes::TAMPERED), "{stdout}");
    assert!(
        stdout.contains(r#"type="tampered""#)
            && stdout.contains(r#"<testsuite name="counter/count""#),
        "{stdout}"
    );
}

#[test]
fn a_trusted_reference_catches_edits_to_the_course_folder_too() {
    let (_dir, root) = course("mini");
    let (_pristine_dir, pristine) = course("mini");
    output(&root, &["run"]);
    // A wrong counter, and both copies of the test edited to let it through.
    let lib = root.join("exercises/counter/src/lib.rs");
    common::edit(&lib, "todo!(\"count one event\")", "");
    for path in [
        "exercises/counter/tests/stages/count.rs",
        "course/counter/count/tests.rs",
    ] {
        let path = root.join(path);
        common::edit(
            &path,
            "checker::expect_count(c.count(), 3)",
            "checker::expect_count(0, 0)",
        );
    }
    let (code, _, stderr) = output(
        &root,
        &[
            "verify",
            "--stage",
            "counter/count",
            "--untrusted-reference",
        ],
    );
    assert_eq!(
        code, 0,
        "graded against the learner's own copy, the edit goes unseen: {stderr}"
    );
    assert!(stderr.contains("UNTRUSTED"), "and katas says so: {stderr}");
    let (code, stdout, _) = output(
        &root,
        &[
            "verify",
            "--stage",
            "counter/count",
            "--reference",
            pristine.to_str().unwrap(),
        ],
    );
    assert_eq!(code, i32::from(exit_codes::TAMPERED), "{stdout}");
    assert!(
        stdout.contains("1 failed"),
        "graded with the trusted test, the wrong counter fails: {stdout}"
    );
}

#[test]
fn unknown_and_locked_stages_get_clear_errors() {
    let (_dir, root) = course("mini");
    let (code, _, stderr) = output(&root, &["run", "nope/x"]);
    assert_eq!(code, i32::from(exit_codes::COURSE_ERROR));
    assert!(
        stderr.contains("there is no track `nope`") && stderr.contains("use one of: counter"),
        "{stderr}"
    );
    let (_, _, stderr) = output(&root, &["run", "counter/nope"]);
    assert!(
        stderr.contains("track `counter` has no stage `nope`") && stderr.contains("count, reset"),
        "{stderr}"
    );
    let (code, _, stderr) = output(&root, &["run", "counter/reset"]);
    assert_eq!(code, i32::from(exit_codes::KATAS_ERROR));
    assert!(
        stderr.contains("is locked: pass `counter/count` first"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_course_names_the_file_the_line_and_the_fix() {
    let (_dir, root) = course("mini");
    let info = root.join("info.toml");
    common::edit(&info, "summary =", "sumary =");
    let (code, _, stderr) = output(&root, &["list"]);
    assert_eq!(code, i32::from(exit_codes::COURSE_ERROR));
    assert!(
        stderr.contains("info.toml:8:") && stderr.contains("sumary"),
        "{stderr}"
    );
    assert!(stderr.contains("fix:"), "{stderr}");
}

#[test]
fn no_course_here_says_how_to_point_at_one() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = output(dir.path(), &["list"]);
    assert_eq!(code, i32::from(exit_codes::COURSE_ERROR));
    assert!(
        stderr.contains("no course found") && stderr.contains("--course"),
        "{stderr}"
    );
}

#[test]
fn a_damaged_progress_file_is_kept_and_explained() {
    let (_dir, root) = course("mini");
    fs::create_dir_all(root.join(".katas")).unwrap();
    fs::write(
        root.join(".katas/state.toml"),
        "version = 1\ncurrent_track = [\n",
    )
    .unwrap();
    let (code, _, stderr) = output(&root, &["list"]);
    assert_eq!(code, i32::from(exit_codes::KATAS_ERROR));
    assert!(
        stderr.contains("katas reset --progress") && stderr.contains("has not changed it"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(root.join(".katas/state.toml")).unwrap(),
        "version = 1\ncurrent_track = [\n"
    );
    let (code, stdout, _) = output(&root, &["reset", "--progress", "--yes"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("moved aside"), "{stdout}");
    assert_eq!(output(&root, &["list"]).0, 0);
}

#[test]
fn dev_check_proves_a_sound_course_and_names_what_is_wrong() {
    let (_dir, root) = course("mini");
    let (code, stdout, _) = output(&root, &["dev", "check"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("ok   counter/count: start Failed, solution Passed (2 tests)"),
        "{stdout}"
    );

    // A solution that does not solve, and a stage whose start already passes.
    let broken = root.join("solutions/counter/reset/src/lib.rs");
    common::edit(&broken, "std::mem::take(&mut self.count)", "self.count");
    let start = root.join("course/counter/start/src/lib.rs");
    common::edit(&start, "todo!(\"count one event\")", "self.count += 1");
    let (code, stdout, _) = output(&root, &["dev", "check"]);
    assert_eq!(code, i32::from(exit_codes::FAILED));
    assert!(
        stdout.contains("FAIL counter/count") && stdout.contains("passes in its start state"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL counter/reset")
            && stdout.contains("its reference solution does not pass"),
        "{stdout}"
    );
    assert!(
        stdout.contains("reset_returns_the_old_count_and_zeroes failed"),
        "{stdout}"
    );
}

#[test]
fn dev_check_holds_ladders_to_the_teaching_rules() {
    let (_dir, root) = course("mini");
    let manifest = root.join("course/counter/reset/stage.toml");
    common::edit(&manifest, "or nothing?", "or nothing.");
    let (code, stdout, _) = output(
        &root,
        &["dev", "check", "--stage", "counter/reset", "--no-lints"],
    );
    assert_eq!(code, i32::from(exit_codes::FAILED));
    assert!(
        stdout.contains("stage.toml:4: counter/reset: the stage ladder, rung 1, is not a question"),
        "{stdout}"
    );
}

#[test]
fn watch_without_a_terminal_says_what_to_use_instead_and_does_not_hang() {
    let (_dir, root) = course("mini");
    let (code, _, stderr) = output(&root, &["watch"]);
    assert_eq!(code, i32::from(exit_codes::KATAS_ERROR));
    assert!(
        stderr.contains("needs an interactive terminal") && stderr.contains("katas run"),
        "{stderr}"
    );
    let out = common::katas(&root)
        .arg("watch")
        .env("CI", "true")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("CI is set"));
}

#[test]
fn a_trusted_reference_also_covers_the_courses_own_crates() {
    let (_dir, root) = course("mini");
    let (_pristine_dir, pristine) = course("mini");
    output(&root, &["run"]);
    // A wrong counter, and the course's checker crate weakened to let it through.
    let lib = root.join("exercises/counter/src/lib.rs");
    common::edit(&lib, "todo!(\"count one event\")", "");
    let checker = root.join("crates/checker/src/lib.rs");
    common::edit(
        &checker,
        "assert_eq!(actual, expected, \"the count should be {expected}\");",
        "let _ = (actual, expected);",
    );
    let (code, _, _) = output(
        &root,
        &[
            "verify",
            "--stage",
            "counter/count",
            "--untrusted-reference",
        ],
    );
    assert_eq!(
        code, 0,
        "built against the learner's own checker, the wrong counter passes"
    );
    let (code, stdout, _) = output(
        &root,
        &[
            "verify",
            "--stage",
            "counter/count",
            "--reference",
            pristine.to_str().unwrap(),
        ],
    );
    assert_eq!(
        code,
        i32::from(exit_codes::FAILED),
        "built against the trusted checker, it fails: {stdout}"
    );
}

/// Regression: scratch crates (dev check's reference solutions, verify's copies) have the same
/// package name as the learner's crate. Built in the learner's build folder, their artifacts
/// could be taken for the learner's, and an unsolved stage would pass on the reference's binary.
#[test]
fn building_the_reference_solutions_never_passes_the_learners_unsolved_stage() {
    let (_dir, root) = course("mini");
    let (code, stdout, _) = output(&root, &["run"]);
    assert_eq!(code, i32::from(exit_codes::FAILED), "{stdout}");
    let (code, _, _) = output(&root, &["dev", "check", "--no-lints"]);
    assert_eq!(code, 0);
    let (code, stdout, _) = output(&root, &["run"]);
    assert_eq!(
        code,
        i32::from(exit_codes::FAILED),
        "still unsolved after dev check: {stdout}"
    );
    assert!(stdout.contains("1 of 2 tests pass"), "{stdout}");
}

#[test]
fn run_seed_replays_one_seed_through_katas_build_without_recording_it() {
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    let state = || fs::read_to_string(root.join(".katas/state.toml")).unwrap();
    let before = state();
    // A test that sees which seed it was given, as katas-sim's `seeds()` does.
    let tests = root.join("exercises/counter/tests/stages/count.rs");
    let mut text = fs::read_to_string(&tests).unwrap();
    text.push_str(
        "\n#[test]\nfn sees_the_seed() {\n    assert_eq!(std::env::var(\"KATAS_SEED\").as_deref(), Ok(\"17\"));\n}\n",
    );
    fs::write(&tests, text).unwrap();

    let (code, stdout, stderr) = output(&root, &["run", "--seed", "17", "--test", "sees_the_seed"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("A replay of seed 17, tests matching `sees_the_seed`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the 1 test passes"),
        "only the one test ran: {stdout}"
    );
    assert!(
        root.join(".katas/target").is_dir() && !root.join("exercises/counter/target").exists(),
        "the replay builds in katas' own build folder"
    );
    assert_eq!(state(), before, "a replay is not recorded");

    let (code, stdout, _) = output(&root, &["run", "--test", "sees_the_seed"]);
    assert_ne!(code, 0, "without the seed the test fails: {stdout}");
}

#[test]
fn parallel_runs_on_one_course_lose_no_update() {
    let (_dir, root) = course("mini");
    // One run first, so the parallel ones find the build done and overlap in recording.
    assert_eq!(output(&root, &["run"]).0, i32::from(exit_codes::FAILED));
    let parallel = 8;
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..parallel)
            .map(|_| scope.spawn(|| output(&root, &["run"])))
            .collect();
        for run in runs {
            let (code, stdout, stderr) = run.join().unwrap();
            assert_eq!(code, i32::from(exit_codes::FAILED), "{stdout}\n{stderr}");
            assert!(!stderr.contains("cannot save progress"), "{stderr}");
        }
    });
    let store = katas::progress::ProgressStore::in_state_dir(&root.join(".katas"));
    let progress = store.load().unwrap();
    let stage = progress.stage("counter", "count").unwrap();
    assert_eq!(stage.runs, 1 + parallel, "runs were lost");
}

/// Whether a process is still running (a zombie waiting to be reaped is not).
#[cfg(target_os = "linux")]
fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Starts `katas run` on a course whose first test starts a process of its own, then hangs;
/// returns the running katas and the pids of the test binary and of its process, once the test
/// is running.
#[cfg(target_os = "linux")]
fn katas_run_with_a_hanging_test(root: &std::path::Path) -> (std::process::Child, i32, i32) {
    // The first run creates the learner's crate.
    output(root, &["run"]);
    let pid_file = root.join("test.pid");
    common::edit(
        &root.join("exercises/counter/src/lib.rs"),
        "todo!(\"count one event\")",
        &format!(
            "let child = std::process::Command::new(\"sleep\").arg(\"600\").spawn().unwrap();\n        \
             std::fs::write({:?}, format!(\"{{}} {{}}\", std::process::id(), child.id())).unwrap();\n        \
             std::thread::sleep(std::time::Duration::from_secs(600));",
            pid_file.display().to_string()
        ),
    );
    let mut katas = std::process::Command::new(env!("CARGO_BIN_EXE_katas"))
        .arg("run")
        .current_dir(root)
        .env_remove("KATAS_COURSE")
        .env_remove("CARGO_TARGET_DIR")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded only so that a broken run fails the test instead of hanging it.
    for _ in 0..6000 {
        let pids: Vec<i32> = fs::read_to_string(&pid_file)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        if let [test, child] = pids[..] {
            return (katas, test, child);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = katas.kill();
    let _ = katas.wait();
    panic!("the test never started");
}

#[cfg(target_os = "linux")]
#[test]
fn katas_run_ended_by_sigterm_or_sighup_leaves_no_test_running() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    for (signal, code) in [(Signal::SIGTERM, 143), (Signal::SIGHUP, 129)] {
        let (_dir, root) = course("mini");
        let (katas, test, child) = katas_run_with_a_hanging_test(&root);
        kill(Pid::from_raw(katas.id() as i32), signal).unwrap();
        let out = katas.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{signal}");
        assert!(
            !alive(test),
            "{signal}: the test binary {test} is still running"
        );
        assert!(
            !alive(child),
            "{signal}: the test's process {child} is still running"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_test_binary_dies_with_a_katas_killed_by_sigkill() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let (_dir, root) = course("mini");
    let (mut katas, test, child) = katas_run_with_a_hanging_test(&root);
    kill(Pid::from_raw(katas.id() as i32), Signal::SIGKILL).unwrap();
    katas.wait().unwrap();
    // The parent-death signal and the watchdog act as katas dies; the deaths follow, within a
    // bound that is there only so a failure does not hang the test.
    for pid in [test, child] {
        let mut dead = false;
        for _ in 0..400 {
            if !alive(pid) {
                dead = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        assert!(
            dead,
            "{pid} (test binary {test}, its process {child}) outlived katas"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_run_whose_progress_cannot_be_saved_still_shows_its_verdict() {
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    let state_dir = root.join(".katas");
    if !common::make_unwritable(&state_dir) {
        eprintln!("skipped: no way to make a folder unwritable here");
        return;
    }
    let (code, stdout, stderr) = output(&root, &["run"]);
    common::make_writable(&state_dir);
    assert!(
        stdout.contains("1 of 2 tests pass - stage 1 of 2: count"),
        "the verdict is missing: {stdout}"
    );
    assert!(stderr.contains("cannot save progress"), "{stderr}");
    assert_eq!(code, i32::from(exit_codes::KATAS_ERROR));
}

#[test]
fn a_tests_terminal_escapes_do_not_reach_the_terminal() {
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    common::edit(
        &root.join("exercises/counter/src/lib.rs"),
        "todo!(\"count one event\")",
        "panic!(\"\\x1b]0;pwned\\x07\\x1b[2Jcleared\")",
    );
    // Colours forced through, so that only katas' own filter stands between the test and the
    // terminal.
    let out = common::katas(&root)
        .arg("run")
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cleared"), "{stdout}");
    assert!(
        !stdout.contains("\u{1b}]0;") && !stdout.contains("\u{1b}[2J"),
        "{stdout:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_run_waiting_for_cargos_build_lock_says_so() {
    use std::io::BufRead;
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    // A left-over cargo holding the build folder's lock.
    let lock_file = fs::OpenOptions::new()
        .write(true)
        .open(root.join(".katas/target/debug/.cargo-lock"))
        .unwrap();
    let lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let mut katas = std::process::Command::new(env!("CARGO_BIN_EXE_katas"))
        .arg("run")
        .current_dir(&root)
        .env_remove("KATAS_COURSE")
        .env_remove("CARGO_TARGET_DIR")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = katas.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let _ = tx.send(line.unwrap_or_default());
        }
    });
    // Bounded only so that a missing note fails the test instead of hanging it.
    let said = loop {
        match rx.recv_timeout(std::time::Duration::from_secs(300)) {
            Ok(line) if line.contains("waiting for another cargo to release the build lock") => {
                break true;
            }
            Ok(_) => {}
            Err(_) => break false,
        }
    };
    drop(lock);
    let status = katas.wait().unwrap();
    assert!(said, "no word of the wait for the build lock");
    assert_eq!(status.code(), Some(i32::from(exit_codes::FAILED)));
}

/// A cargo that runs the real one, then - before exiting - waits until katas has started the
/// test binary (the trace file says so), leaves a mark that it saw that, and exits with
/// `EXIT_AFTER`. Deterministic: no timing decides what the test sees.
#[cfg(unix)]
fn slow_exiting_cargo(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("cargo-wrapper.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\n\"$REAL_CARGO\" \"$@\" || exit $?\n\
         [ \"$1\" = test ] || exit 0\n\
         i=0\n\
         while ! grep -q tests_started \"$KATAS_TRACE_TIMINGS\" 2>/dev/null; do\n\
           i=$((i+1)); [ $i -gt 1200 ] && exit \"$EXIT_AFTER\"; sleep 0.05\n\
         done\n\
         echo early > \"$MARK\"\n\
         exit \"$EXIT_AFTER\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[cfg(unix)]
fn run_with_wrapped_cargo(root: &Path, exit_after: u8) -> (i32, String, bool) {
    let wrapper = slow_exiting_cargo(root);
    let trace = root.join("trace.txt");
    let mark = root.join("early.txt");
    let real = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = common::katas(root)
        .arg("run")
        .env("CARGO", &wrapper)
        .env("REAL_CARGO", real)
        .env("EXIT_AFTER", exit_after.to_string())
        .env("MARK", &mark)
        .env(katas::trace::ENV, &trace)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        mark.exists(),
    )
}

#[cfg(unix)]
#[test]
fn the_tests_start_before_cargo_exits_and_give_the_same_verdict() {
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    solve_stage_one(&root);
    let (code, stdout, early) = run_with_wrapped_cargo(&root, 0);
    assert!(
        early,
        "the test binary started while cargo was still running"
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("Stage passed!"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn a_cargo_that_fails_after_building_the_tests_still_fails_the_run() {
    let (_dir, root) = course("mini");
    output(&root, &["run"]);
    solve_stage_one(&root);
    let (code, stdout, early) = run_with_wrapped_cargo(&root, 101);
    assert!(
        early,
        "the test binary started while cargo was still running"
    );
    assert_ne!(code, 0, "{stdout}");
    assert!(
        !stdout.contains("Stage passed!") && !stdout.contains("tests pass"),
        "a failed build has no test verdict: {stdout}"
    );
}

/// Three tests that each wait, at most 3 s, until all three are running at once.
const RENDEZVOUS_TESTS: &str = r#"
static ARRIVED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn meet_the_others() {
    ARRIVED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while ARRIVED.load(std::sync::atomic::Ordering::SeqCst) < 3 {
        assert!(std::time::Instant::now() < deadline, "the three tests never ran at once");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn meets_one() {
    meet_the_others();
}

#[test]
fn meets_two() {
    meet_the_others();
}

#[test]
fn meets_three() {
    meet_the_others();
}
"#;

#[test]
fn a_stages_test_threads_decide_how_many_of_its_tests_run_at_once_in_watch_and_in_grading() {
    // 1 thread: the tests run one after another and never meet; 3: they all run at once. Either
    // way independent of the machine's cores, which decide libtest's default.
    for (threads, meet) in [(1, false), (3, true)] {
        let (_dir, root) = course("mini");
        let (_pristine_dir, pristine) = course("mini");
        for course in [&root, &pristine] {
            let stage = course.join("course/counter/count");
            common::edit(
                &stage.join("stage.toml"),
                "time_limit_secs = 10",
                &format!("time_limit_secs = 10\ntest_threads = {threads}"),
            );
            let mut tests = std::fs::read_to_string(stage.join("tests.rs")).unwrap();
            tests.push_str(RENDEZVOUS_TESTS);
            std::fs::write(stage.join("tests.rs"), tests).unwrap();
        }
        output(&root, &["run"]);
        solve_stage_one(&root);
        let (code, stdout, stderr) = output(&root, &["run"]);
        assert_eq!(
            code == 0,
            meet,
            "test_threads = {threads}: katas run\n{stdout}{stderr}"
        );
        let reference = pristine.to_str().unwrap();
        let (code, stdout, stderr) = output(
            &root,
            &[
                "verify",
                "--stage",
                "counter/count",
                "--format",
                "json",
                "--reference",
                reference,
            ],
        );
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
        assert_eq!(
            json["stages"][0]["status"],
            if meet { "passed" } else { "failed" },
            "test_threads = {threads}: the grade runs the tests as watch does\n{stdout}{stderr}"
        );
        assert_eq!(code == 0, meet, "{stderr}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_tests_of_a_run_get_a_temporary_folder_in_memory_removed_after_the_run() {
    let shm = Path::new("/dev/shm");
    let tmpfs = std::process::Command::new("stat")
        .args(["-f", "-c", "%T", "/dev/shm"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "tmpfs");
    if !tmpfs {
        eprintln!("skipped: /dev/shm is not a tmpfs on this machine");
        return;
    }
    let (_dir, root) = course("mini");
    let stage = root.join("course/counter/count/tests.rs");
    let mut tests = std::fs::read_to_string(&stage).unwrap();
    tests.push_str(
        r#"
#[test]
fn notes_its_temporary_folder() {
    let tmp = std::env::temp_dir();
    std::fs::create_dir_all(tmp.join("store")).unwrap();
    std::fs::write(tmp.join("store/log.1"), "set a 1").unwrap();
    let note = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tmpdir.txt");
    std::fs::write(note, tmp.to_string_lossy().as_bytes()).unwrap();
}
"#,
    );
    std::fs::write(&stage, tests).unwrap();
    output(&root, &["run"]);
    solve_stage_one(&root);
    let run = common::katas(&root)
        .env_remove("TMPDIR")
        .arg("run")
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
    let used = std::fs::read_to_string(root.join("exercises/counter/tmpdir.txt")).unwrap();
    let used = Path::new(used.trim());
    assert!(
        used.starts_with(shm)
            && used
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("katas-tests-")),
        "the tests' TMPDIR is a run folder in /dev/shm, as the grader's is a tmpfs: {}",
        used.display()
    );
    assert!(
        !used.exists(),
        "the run's folder and what the tests left in it are gone after the run"
    );

    // A TMPDIR the learner set is theirs.
    let own = tempfile::tempdir().unwrap();
    let run = common::katas(&root)
        .env("TMPDIR", own.path())
        .arg("run")
        .output()
        .unwrap();
    assert!(run.status.success());
    let used = std::fs::read_to_string(root.join("exercises/counter/tmpdir.txt")).unwrap();
    assert!(
        Path::new(used.trim()).starts_with(own.path()),
        "a TMPDIR set by the learner is kept: {used}"
    );
}

/// A stage's `features` (an optional dependency of the track's manifest): off before the stage,
/// on from it in the learner's own manifest (katas keeps them there), and on in the grade from
/// the reference's stages whatever the learner's manifest says.
#[test]
fn a_stages_features_are_switched_on_from_that_stage_in_the_crate_and_in_the_grade() {
    let (_dir, root) = course("mini");
    let (_pristine_dir, pristine) = course("mini");
    for course in [&root, &pristine] {
        common::give_reset_the_checker_feature(course);
        let stage = course.join("course/counter/reset");
        let mut tests = fs::read_to_string(stage.join("tests.rs")).unwrap();
        tests.push_str(
            "\n#[test]\nfn the_stages_feature_is_on() {\n    assert!(cfg!(feature = \"checker\"), \"built without the stage's feature\");\n}\n",
        );
        fs::write(stage.join("tests.rs"), tests).unwrap();
    }
    let manifest = root.join("exercises/counter/Cargo.toml");
    let defaults = || {
        let doc: toml_edit::DocumentMut = fs::read_to_string(&manifest).unwrap().parse().unwrap();
        doc.get("features")
            .and_then(|f| f.get("default"))
            .and_then(|d| d.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    output(&root, &["run"]);
    assert!(
        defaults().is_empty(),
        "not before its stage: {:?}",
        defaults()
    );
    solve_stage_one(&root);
    let (code, stdout, stderr) = output(&root, &["run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        defaults().is_empty(),
        "not before its stage: {:?}",
        defaults()
    );
    let (code, stdout, stderr) = output(&root, &["next"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/mini/solutions/counter/reset/src/lib.rs"),
        root.join("exercises/counter/src/lib.rs"),
    )
    .unwrap();
    let (code, stdout, stderr) = output(&root, &["run"]);
    assert_eq!(
        code, 0,
        "the stage's tests see its feature:\n{stdout}{stderr}"
    );
    assert_eq!(defaults(), vec!["checker".to_owned()]);
    // The learner takes it out: the next run puts it back, and the stage still passes.
    common::edit(&manifest, "default = [\"checker\"]", "default = []");
    let (code, stdout, stderr) = output(&root, &["run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(defaults(), vec!["checker".to_owned()]);
    // The grade never reads the learner's manifest: taken out again, the stage still passes.
    common::edit(&manifest, "default = [\"checker\"]", "default = []");
    let (code, stdout, stderr) = output(
        &root,
        &[
            "verify",
            "--stage",
            "counter/reset",
            "--format",
            "json",
            "--reference",
            pristine.to_str().unwrap(),
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
    assert_eq!(json["stages"][0]["status"], "passed", "{stdout}{stderr}");
    assert_eq!(code, 0, "{stderr}");
}
