//! The teacher's and author's commands on fixture courses and fixture progress files: `report`
//! (one learner, and three merged into a class table with known numbers), `dev new` followed by
//! `dev check`, `dev export` followed by load and `verify`, and the CI workflows' own grading
//! command run on a fixture submission.
//!
//! The fixture learners (tests/fixtures/learners/, see its README) are three progress files on
//! the `mini` course, with numbers chosen so that every class figure is known in advance.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{course, katas, output, solve_stage_one};
use katas::exit_codes;

const LEARNERS: [&str; 3] = ["ada", "bob", "cy"];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Installs a fixture learner's progress file in a course.
fn install_progress(root: &Path, learner: &str) {
    fs::create_dir_all(root.join(".katas")).unwrap();
    fs::copy(
        repo()
            .join("tests/fixtures/learners")
            .join(learner)
            .join("state.toml"),
        root.join(".katas/state.toml"),
    )
    .unwrap();
}

/// Each fixture learner's JSON report, made with `katas report`, in `dir`.
fn reports(root: &Path, dir: &Path) -> Vec<PathBuf> {
    LEARNERS
        .iter()
        .map(|learner| {
            install_progress(root, learner);
            let file = dir.join(format!("{learner}.json"));
            let (code, _, stderr) = output(
                root,
                &[
                    "report",
                    "--format",
                    "json",
                    "--learner",
                    learner,
                    "--output",
                    file.to_str().unwrap(),
                ],
            );
            assert_eq!(code, 0, "{stderr}");
            file
        })
        .collect()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

// ---------------------------------------------------------------------------------------------
// katas report
// ---------------------------------------------------------------------------------------------

#[test]
fn a_learners_report_has_every_stage_with_its_numbers() {
    let (_dir, root) = course("mini");
    install_progress(&root, "bob");
    let (code, stdout, stderr) = output(&root, &["report", "--format", "json", "--learner", "Bob"]);
    assert_eq!(code, 0, "{stderr}");
    let report = json(&stdout);
    assert_eq!(report["format"], "katas-report");
    assert_eq!(report["version"], 1);
    assert_eq!(report["course"], "Mini course");
    assert_eq!(report["learner"], "Bob");
    let count = &report["stages"][0];
    assert_eq!(
        (&count["track"], &count["stage"], &count["status"]),
        (&"counter".into(), &"count".into(), &"passed".into())
    );
    assert_eq!(count["passed_at"], "2026-03-03T09:40:00Z");
    assert_eq!(count["attempts"], 4);
    // Two stage rungs and the test ladder's first rung; its last rung is the nudge.
    assert_eq!(
        (&count["hint_rungs"], &count["nudges"]),
        (&3.into(), &1.into())
    );
    assert_eq!(count["active_secs"], 1200);
    let reset = &report["stages"][1];
    assert_eq!(reset["status"], "in_progress");
    assert_eq!(reset["passed_at"], serde_json::Value::Null);
    assert_eq!(
        (&reset["hint_rungs"], &reset["nudges"], &reset["stuck"]),
        (&3.into(), &1.into(), &1.into())
    );

    let (_, text, _) = output(&root, &["report", "--learner", "Bob"]);
    assert!(text.starts_with("Bob: Mini course\n"), "{text}");
    assert!(
        text.contains("counter/count  passed       2026-03-03 09:40 UTC"),
        "{text}"
    );
    assert!(
        text.contains(
            "1 of 2 stages passed; 7 attempts, 6 hint rungs and 2 final nudges; 35m of active time."
        ),
        "{text}"
    );

    let (_, csv, _) = output(&root, &["report", "--format", "csv", "--learner", "Bob"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines,
        [
            "course,learner,track,stage,status,passed_at,attempts,runs,hint_rungs,nudges,stuck,active_secs,source",
            "Mini course,Bob,counter,count,passed,2026-03-03T09:40:00Z,4,6,3,1,0,1200,self-reported",
            "Mini course,Bob,counter,reset,in_progress,,3,4,3,1,1,900,self-reported",
        ]
    );

    let (_, md, _) = output(
        &root,
        &["report", "--format", "markdown", "--learner", "Bob"],
    );
    assert!(
        md.starts_with("# Bob: Mini course\n\n| Stage | Status |"),
        "{md}"
    );
    assert!(
        md.contains("| counter/reset | in progress | - | 3 | 3 | 1 | 15m |"),
        "{md}"
    );
}

#[test]
fn a_report_is_named_after_the_git_user_else_the_course_folder() {
    let (dir, root) = course("mini");
    let gitconfig = dir.path().join("gitconfig");
    fs::write(&gitconfig, "[user]\n\tname = Grace Hopper\n").unwrap();
    let learner_with = |global: &Path| {
        let out = katas(&root)
            .args(["report", "--format", "json"])
            .env("GIT_CONFIG_GLOBAL", global)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (
            json(&String::from_utf8_lossy(&out.stdout))["learner"].clone(),
            stderr,
        )
    };
    let (learner, stderr) = learner_with(&gitconfig);
    assert_eq!(learner, "Grace Hopper");
    assert!(
        stderr.contains("no progress file") && stderr.contains("not started"),
        "a report of nothing says why: {stderr}"
    );
    assert_eq!(learner_with(Path::new("/dev/null")).0, "mini");
}

#[test]
fn three_learners_merge_into_a_class_table_with_known_numbers() {
    let (dir, root) = course("mini");
    let files = reports(&root, dir.path());
    let mut args = vec!["report", "--merge"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));

    let mut json_args = args.clone();
    json_args.extend(["--format", "json"]);
    let (code, stdout, stderr) = output(&root, &json_args);
    assert_eq!(code, 0, "{stderr}");
    let class = json(&stdout);
    assert_eq!(class["format"], "katas-class-report");
    assert_eq!(class["course"], "Mini course");
    let passed: Vec<(String, u64)> = class["learners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["learner"].as_str().unwrap().to_owned(),
                l["passed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        passed,
        [
            ("ada".to_owned(), 2),
            ("bob".to_owned(), 1),
            ("cy".to_owned(), 0)
        ]
    );
    let count = &class["stages"][0];
    assert_eq!(count["passed"], 2);
    assert_eq!(count["median_attempts"], 4.0, "attempts 2, 4, 6");
    assert_eq!((&count["hinted"], &count["nudged"]), (&3.into(), &2.into()));
    assert_eq!(
        (&count["hint_rungs"], &count["nudges"]),
        (&7.into(), &2.into())
    );
    assert_eq!(count["median_active_secs"], 1200.0);
    let reset = &class["stages"][1];
    assert_eq!(reset["passed"], 1);
    assert_eq!(reset["started"], 2);
    assert_eq!(
        reset["median_attempts"], 2.0,
        "attempts 1 and 3 of the two who started; cy never did"
    );
    assert_eq!(reset["median_active_secs"], 480.0, "60 s and 900 s");
    assert_eq!(
        class["most_help"],
        serde_json::json!(["counter/count", "counter/reset"]),
        "two learners took the nudge on count, one on reset"
    );

    let mut csv_args = args.clone();
    csv_args.extend(["--format", "csv"]);
    let (_, csv, _) = output(&root, &csv_args);
    assert_eq!(
        csv,
        "Learner,Passed,counter/count,counter/reset\n\
         ada,2,passed,passed\n\
         bob,1,passed,in_progress\n\
         cy,0,in_progress,not_started\n\
         class: passed,,2,1\n\
         class: median attempts,,4,2\n\
         class: learners hinted,,3,1\n\
         class: hint rungs,,7,3\n\
         class: final nudges,,2,1\n\
         class: median active minutes,,20,8\n"
    );

    let mut md_args = args.clone();
    md_args.extend(["--format", "markdown"]);
    let (_, md, _) = output(&root, &md_args);
    assert!(md.starts_with("# Mini course: class report\n"), "{md}");
    assert!(md.contains("| bob | 1/2 | ✓ | … |"), "{md}");
    assert!(
        md.contains("| **median attempts** |  | **4** | **2** |"),
        "{md}"
    );
    let help = md
        .split("## Where the class needed most help")
        .nth(1)
        .unwrap();
    assert!(
        help.contains("1. counter/count (Counting): 3 of 3 asked for hints (7 rungs), 2 took the final nudge; median 4 attempts; 2 of 3 passed.")
            && help.contains("2. counter/reset"),
        "{md}"
    );
}

#[test]
fn merge_names_every_file_that_is_not_a_report_of_this_course() {
    let (dir, root) = course("mini");
    let files = reports(&root, dir.path());
    let bad = |name: &str, text: &str| {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let ada = fs::read_to_string(&files[0]).unwrap();
    let other_course = bad("other.json", &ada.replace("Mini course", "Another course"));
    let newer = bad(
        "newer.json",
        &ada.replace("\"version\": 1", "\"version\": 2"),
    );
    let not_json = bad("notes.txt", "Ada did well.\n");
    let verify_output = bad(
        "verify.json",
        r#"{"stages":[{"track":"counter","stage":"count","status":"passed","tests_passed":2}],"passed":1,"failed":0}"#,
    );
    let table = dir.path().join("class.csv");
    let (code, stdout, stderr) = output(
        &root,
        &[
            "report",
            "--merge",
            files[0].to_str().unwrap(),
            &other_course,
            &newer,
            &not_json,
            &verify_output,
            "--format",
            "csv",
            "--output",
            table.to_str().unwrap(),
        ],
    );
    assert_eq!(code, i32::from(exit_codes::KATAS_ERROR), "{stdout}");
    assert!(
        stderr.contains("4 of the 5 file(s) cannot be merged"),
        "{stderr}"
    );
    for (file, why) in [
        (
            &other_course,
            "is a report of the course `Another course`, not of `Mini course`",
        ),
        (&newer, "was written by a newer katas (report version 2"),
        (&not_json, "is not a katas report: it is not JSON"),
        (
            &verify_output,
            "is not a katas report: it is the output of `katas verify`",
        ),
    ] {
        assert!(
            stderr.contains(&format!("{file}: {why}")),
            "{file}: {stderr}"
        );
    }
    assert!(stderr.contains("fix: "), "{stderr}");
    assert!(!table.exists(), "no partial table is written");
}

#[test]
fn merge_keeps_two_learners_of_one_name_apart() {
    let (dir, root) = course("mini");
    let files = reports(&root, dir.path());
    let twin = dir.path().join("ada-again.json");
    fs::copy(&files[0], &twin).unwrap();
    let (code, stdout, stderr) = output(
        &root,
        &[
            "report",
            "--merge",
            files[0].to_str().unwrap(),
            twin.to_str().unwrap(),
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("\nada (ada),2,") && stdout.contains("\nada (ada-again),2,"),
        "{stdout}"
    );
    assert!(stderr.contains("2 reports are from `ada`"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// katas dev new
// ---------------------------------------------------------------------------------------------

#[test]
fn dev_new_scaffolds_a_track_that_dev_check_proves_sound() {
    let (dir, root) = course("mini");
    let elsewhere = dir.path();
    let course_arg = root.to_str().unwrap();
    let (code, stdout, stderr) =
        output(elsewhere, &["--course", course_arg, "dev", "new", "tally"]);
    assert_eq!(code, 0, "{stderr}");
    for file in [
        "course/tally/start/Cargo.toml",
        "course/tally/start/Cargo.lock",
        "course/tally/start/src/lib.rs",
        "course/tally/basics/stage.toml",
        "course/tally/basics/brief.md",
        "course/tally/basics/tests.rs",
        "solutions/tally/basics/src/lib.rs",
    ] {
        assert!(root.join(file).is_file(), "{file} is missing");
        assert!(stdout.contains(file), "{file} is not listed: {stdout}");
    }
    let manifest = fs::read_to_string(root.join("course/tally/start/Cargo.toml")).unwrap();
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
    let info = fs::read_to_string(root.join("info.toml")).unwrap();
    assert!(
        info.starts_with("# A two-stage course for katas' own tests.\n"),
        "comments are kept: {info}"
    );
    assert!(
        info.contains("[[tracks]]\nid = \"tally\"\ntitle = \"Tally\""),
        "{info}"
    );

    let (code, stdout, _) = output(&root, &["list", "--format", "json"]);
    assert_eq!(code, 0, "the course still loads");
    assert_eq!(json(&stdout)["tracks"][1]["stages"][0]["id"], "basics");

    let (code, stdout, stderr) = output(&root, &["dev", "check", "--track", "tally"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("ok   tally/basics: start Failed, solution Passed (2 tests)"),
        "fails in its start state, passes with its solution, lints clean: {stdout}"
    );
}

#[test]
fn dev_new_refuses_a_bad_id_or_a_track_that_exists_and_changes_nothing() {
    let (_dir, root) = course("mini");
    let info = fs::read_to_string(root.join("info.toml")).unwrap();

    let (code, _, stderr) = output(&root, &["dev", "new", "My-Track"]);
    assert_eq!(code, i32::from(exit_codes::USAGE));
    assert!(
        stderr.contains("`My-Track` is not a valid track id") && stderr.contains("e.g. `my_track`"),
        "{stderr}"
    );
    let (code, _, stderr) = output(&root, &["dev", "new", "tally", "--stage", "../up"]);
    assert_eq!(code, i32::from(exit_codes::USAGE));
    assert!(
        stderr.contains("`../up` is not a valid stage id"),
        "{stderr}"
    );

    let (code, _, stderr) = output(&root, &["dev", "new", "counter"]);
    assert_eq!(code, i32::from(exit_codes::USAGE));
    assert!(stderr.contains("already has a track `counter`"), "{stderr}");

    fs::create_dir_all(root.join("solutions/ghost")).unwrap();
    let (code, _, stderr) = output(&root, &["dev", "new", "ghost"]);
    assert_eq!(code, i32::from(exit_codes::USAGE));
    assert!(
        stderr.contains("solutions/ghost already exists") && stderr.contains("never overwrites"),
        "{stderr}"
    );
    assert!(!root.join("course/ghost").exists() && !root.join("course/tally").exists());
    assert_eq!(fs::read_to_string(root.join("info.toml")).unwrap(), info);
}

#[cfg(unix)]
#[test]
fn dev_new_never_writes_through_a_link_out_of_the_course() {
    let (dir, root) = course("mini");
    let outside = dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::rename(root.join("solutions"), outside.join("solutions")).unwrap();
    std::os::unix::fs::symlink(outside.join("solutions"), root.join("solutions")).unwrap();
    let (code, _, stderr) = output(&root, &["dev", "new", "tally"]);
    assert_eq!(code, i32::from(exit_codes::COURSE_ERROR), "{stderr}");
    assert!(stderr.contains("solutions is a symbolic link"), "{stderr}");
    assert!(!outside.join("solutions/tally").exists());
    assert!(!root.join("course/tally").exists());
}

// ---------------------------------------------------------------------------------------------
// katas dev export
// ---------------------------------------------------------------------------------------------

/// A learner's copy of `mini`, exported from `teacher`, worked on: stage 1 solved.
fn submission(teacher: &Path, dest: &Path) {
    let (code, stdout, stderr) = output(
        teacher,
        &[
            "dev",
            "export",
            "--without-solutions",
            dest.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, _, stderr) = output(dest, &["run"]);
    assert_eq!(code, i32::from(exit_codes::FAILED), "{stderr}");
    solve_stage_one(dest);
}

#[test]
fn an_export_has_no_solutions_still_loads_and_verifies() {
    let (dir, root) = course("mini");
    // The teacher has worked in their copy: progress, a build folder, a git history.
    install_progress(&root, "ada");
    fs::create_dir_all(root.join("target/debug")).unwrap();
    fs::write(root.join("target/debug/big"), "x").unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    fs::write(root.join("README.md"), "# The assignment\n").unwrap();

    let dest = dir.path().join("assignment");
    let (code, stdout, stderr) = output(
        dir.path(),
        &[
            "--course",
            root.to_str().unwrap(),
            "dev",
            "export",
            "--without-solutions",
            dest.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("1 track(s), 2 stage(s)"), "{stdout}");
    for gone in ["solutions", ".katas", "target", ".git"] {
        assert!(!dest.join(gone).exists(), "{gone} was exported");
    }
    for kept in [
        "info.toml",
        "README.md",
        "course/counter/start/Cargo.lock",
        "course/counter/count/tests.rs",
        "course/counter/reset/stage.toml",
    ] {
        assert_eq!(
            fs::read(dest.join(kept)).unwrap(),
            fs::read(root.join(kept)).unwrap(),
            "{kept}"
        );
    }

    let (code, stdout, _) = output(&dest, &["list", "--format", "json"]);
    assert_eq!(code, 0, "the export loads");
    assert_eq!(json(&stdout)["tracks"][0]["stages"][0]["status"], "current");

    let (code, _, stderr) = output(&dest, &["run"]);
    assert_eq!(code, i32::from(exit_codes::FAILED), "{stderr}");
    solve_stage_one(&dest);
    let (code, stdout, stderr) = output(
        &dest,
        &[
            "verify",
            "--format",
            "json",
            "--reference",
            root.to_str().unwrap(),
        ],
    );
    assert_eq!(code, i32::from(exit_codes::FAILED), "{stderr}");
    let verdict = json(&stdout);
    assert_eq!(verdict["stages"][0]["status"], "passed");
    assert_eq!(verdict["stages"][1]["status"], "failed");

    // Without solutions, dev check proves what it can, says so, and passes: a learner's
    // `cargo test` in their copy stays green.
    let (code, stdout, stderr) = output(&dest, &["dev", "check", "--no-lints"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("no solutions/ folder"), "{stdout}");
    assert!(
        stdout.contains("ok   counter/count: start Failed"),
        "the first stage's start is still checked: {stdout}"
    );
}

#[test]
fn export_refuses_a_folder_that_is_not_empty_or_inside_the_course() {
    let (dir, root) = course("mini");
    let full = dir.path().join("full");
    fs::create_dir_all(&full).unwrap();
    fs::write(full.join("notes.md"), "mine").unwrap();
    let (code, _, stderr) = output(
        &root,
        &[
            "dev",
            "export",
            "--without-solutions",
            full.to_str().unwrap(),
        ],
    );
    assert_eq!(code, i32::from(exit_codes::USAGE));
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert_eq!(fs::read_to_string(full.join("notes.md")).unwrap(), "mine");

    let (code, _, stderr) = output(&root, &["dev", "export", "--without-solutions", "copy"]);
    assert_eq!(code, i32::from(exit_codes::USAGE));
    assert!(stderr.contains("is inside the course"), "{stderr}");
    assert!(!root.join("copy").exists());

    let (code, _, stderr) = output(&root, &["dev", "export", "../x"]);
    assert_eq!(code, i32::from(exit_codes::USAGE), "the flag is required");
    assert!(stderr.contains("--without-solutions"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn export_never_follows_a_link_out_of_the_course() {
    let (dir, root) = course("mini");
    let secret = dir.path().join("secret.txt");
    fs::write(&secret, "the teacher's grades").unwrap();
    std::os::unix::fs::symlink(&secret, root.join("course/counter/count/notes.md")).unwrap();
    let dest = dir.path().join("assignment");
    let (code, _, stderr) = output(
        &root,
        &[
            "dev",
            "export",
            "--without-solutions",
            dest.to_str().unwrap(),
        ],
    );
    assert_eq!(code, i32::from(exit_codes::COURSE_ERROR));
    assert!(
        stderr.contains("course/counter/count/notes.md") && stderr.contains("fix:"),
        "{stderr}"
    );
    assert!(!dest.exists(), "nothing was copied");
}

#[test]
fn export_warns_when_the_teachers_own_work_would_go_out() {
    let (dir, root) = course("mini");
    let (code, _, _) = output(&root, &["run"]);
    assert_eq!(code, i32::from(exit_codes::FAILED));
    let (_, _, stderr) = output(
        &root,
        &[
            "dev",
            "export",
            "--without-solutions",
            dir.path().join("a").to_str().unwrap(),
        ],
    );
    assert!(
        !stderr.contains("warning"),
        "a start state goes out quietly: {stderr}"
    );
    solve_stage_one(&root);
    let (code, _, stderr) = output(
        &root,
        &[
            "dev",
            "export",
            "--without-solutions",
            dir.path().join("b").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    assert!(
        stderr.contains("exercises/counter is not the track's start state (src/lib.rs differs")
            && stderr.contains("katas reset counter/count"),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Grading on CI
// ---------------------------------------------------------------------------------------------

const CLASSROOM_YML: &str = "classroom/workflows/classroom.yml";
const GRADE_YML: &str = "classroom/workflows/katas-grade.yml";
const BEGIN: &str = "      # katas: graded stages begin";
const END: &str = "      # katas: graded stages end";

/// The `command:` of each graded step of the Classroom workflow, with its stage.
fn classroom_commands() -> Vec<(String, String)> {
    let text = fs::read_to_string(repo().join(CLASSROOM_YML)).unwrap();
    let mut out = Vec::new();
    let mut stage = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("test-name: ") {
            stage = Some(name.to_owned());
        }
        if let Some(command) = line.strip_prefix("command: ") {
            out.push((stage.take().unwrap(), command.to_owned()));
        }
    }
    out
}

/// A runner's workspace as both workflows lay it out: `submission/` (the learner's repository),
/// `grader/` (katas built from the teacher's copy, grade.sh, and the teacher's info.toml,
/// course/ and crates/), and `junit/` for the results.
fn workspace(dir: &Path, teacher: &Path) -> PathBuf {
    let ws = dir.join("workspace");
    submission(teacher, &ws.join("submission"));
    let grader = ws.join("grader");
    fs::create_dir_all(grader.join("course")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("katas"), grader.join("katas"))
        .unwrap();
    fs::copy(repo().join("classroom/grade.sh"), grader.join("grade.sh")).unwrap();
    fs::copy(teacher.join("info.toml"), grader.join("course/info.toml")).unwrap();
    common::copy(&teacher.join("course"), &grader.join("course/course"));
    common::copy(&teacher.join("crates"), &grader.join("course/crates"));
    ws
}

fn bash(ws: &Path, command: &str, env: &[(&str, &str)]) -> (i32, String) {
    let out = std::process::Command::new("bash")
        .args(["-c", command])
        .current_dir(ws)
        .envs(env.iter().copied())
        .env_remove("KATAS_COURSE")
        .env_remove("CARGO_TARGET_DIR")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[cfg(unix)]
#[test]
fn the_workflows_grading_commands_grade_a_submission_with_junit_and_exit_codes() {
    let (dir, teacher) = course("mini");
    let ws = workspace(dir.path(), &teacher);

    // GitHub Classroom: the exact command of a graded step, for a stage of the fixture course.
    let (stage, command) = classroom_commands().into_iter().next().unwrap();
    assert!(command.ends_with(&format!(" {stage}")), "{command}");
    let command = format!(
        "{} counter/count",
        command.strip_suffix(&stage).unwrap().trim_end()
    );
    assert_eq!(
        command,
        "bash grader/grade.sh grader/katas submission grader/course junit 120 600 counter/count"
    );
    let (code, said) = bash(&ws, &command, &[]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("counter/count: passed"), "{said}");
    let xml = fs::read_to_string(ws.join("junit/counter.count.xml")).unwrap();
    assert!(
        xml.contains(
            r#"<testsuite name="counter/count" tests="2" skipped="0" errors="0" failures="0""#
        ),
        "{xml}"
    );

    // The plain CI workflow: every stage, the limits from its env.
    let grade = fs::read_to_string(repo().join(GRADE_YML)).unwrap();
    let command = grade
        .lines()
        .find_map(|l| l.trim().strip_prefix("run: bash grader/grade.sh"))
        .map(|rest| format!("bash grader/grade.sh{rest}"))
        .unwrap();
    let env_of = |key: &str| {
        grade
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .and_then(|v| v.split_whitespace().next())
            .unwrap()
            .to_owned()
    };
    let (stage_secs, suite_secs) = (env_of("STAGE_SECS"), env_of("SUITE_SECS"));
    assert_eq!((stage_secs.as_str(), suite_secs.as_str()), ("120", "600"));
    fs::remove_dir_all(ws.join("junit")).unwrap();
    let (code, said) = bash(
        &ws,
        &command,
        &[("STAGE_SECS", &stage_secs), ("SUITE_SECS", &suite_secs)],
    );
    assert_eq!(
        code,
        i32::from(exit_codes::FAILED),
        "stage 2 is not done: {said}"
    );
    assert!(
        said.contains("counter/count: passed") && said.contains("counter/reset: FAILED"),
        "{said}"
    );
    assert!(
        said.contains("no method named `reset`"),
        "the why is shown: {said}"
    );
    let xml = fs::read_to_string(ws.join("junit/counter.reset.xml")).unwrap();
    assert!(xml.contains(r#"type="build""#), "{xml}");

    // The learner weakens their copy of a test: graded with the teacher's, and flagged.
    let tests = ws.join("submission/exercises/counter/tests/stages/count.rs");
    let weakened = fs::read_to_string(&tests).unwrap().replace(
        "checker::expect_count(c.count(), 3)",
        "checker::expect_count(3, 3)",
    );
    fs::write(&tests, weakened).unwrap();
    let (code, said) = bash(
        &ws,
        "bash grader/grade.sh grader/katas submission grader/course junit 120 600 counter/count",
        &[],
    );
    assert_eq!(code, i32::from(exit_codes::TAMPERED), "{said}");
    assert!(said.contains("counter/count: TAMPERED"), "{said}");
    let xml = fs::read_to_string(ws.join("junit/counter.count.xml")).unwrap();
    assert!(xml.contains(r#"type="tampered""#), "{xml}");

    // A stage that starts after the track's suite time is used up fails without running.
    fs::write(ws.join("junit/.suite-counter"), "1000000000\n").unwrap();
    let (code, said) = bash(
        &ws,
        "bash grader/grade.sh grader/katas submission grader/course junit 120 600 counter/reset",
        &[],
    );
    assert_eq!(code, i32::from(exit_codes::FAILED), "{said}");
    let xml = fs::read_to_string(ws.join("junit/counter.reset.xml")).unwrap();
    assert!(
        xml.contains(r#"type="suite-time-limit""#) && xml.contains("600s"),
        "{xml}"
    );
}

#[test]
fn both_workflows_prepare_the_grader_the_same_way() {
    let setup = |file: &str| {
        let text = fs::read_to_string(repo().join(file)).unwrap();
        let from = text.find("      - name: Check out the submission").unwrap();
        let to = text.find("      # Dependencies build once").unwrap();
        text[from..to].to_owned()
    };
    assert_eq!(setup(GRADE_YML), setup(CLASSROOM_YML));
    for file in [GRADE_YML, CLASSROOM_YML] {
        let text = fs::read_to_string(repo().join(file)).unwrap();
        assert!(
            !text.contains("secrets."),
            "{file}: a learner-side workflow is handed no secret"
        );
        assert!(
            text.contains("FEEDBACK ONLY") && text.contains("katas grade"),
            "{file} says it is feedback, and where grades come from"
        );
        assert!(
            text.contains("apt-get install -y -qq bubblewrap"),
            "{file} installs the sandbox"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_stage_that_hangs_is_stopped_at_its_time_limit_and_reported() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A katas that never answers: a build or a test that hangs looks like this from outside.
    let hanging = dir.path().join("katas");
    fs::write(&hanging, "#!/bin/sh\nexec sleep 30\n").unwrap();
    fs::set_permissions(&hanging, fs::Permissions::from_mode(0o755)).unwrap();
    fs::copy(
        repo().join("classroom/grade.sh"),
        dir.path().join("grade.sh"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (code, said) = bash(
        dir.path(),
        "bash grade.sh ./katas submission reference junit 1 600 counter/count",
        &[],
    );
    assert!(started.elapsed().as_secs() < 20, "the limit held: {said}");
    assert_eq!(code, i32::from(exit_codes::FAILED), "{said}");
    assert!(
        said.contains("counter/count: FAILED (stopped at the time limit of 1s"),
        "{said}"
    );
    let xml = fs::read_to_string(dir.path().join("junit/counter.count.xml")).unwrap();
    assert!(
        xml.contains(r#"<testsuite name="counter/count""#) && xml.contains(r#"type="time-limit""#),
        "{xml}"
    );
}

/// The Classroom workflow's graded steps, as made from a course: one per stage, the reporter
/// reading each. Kept in sync with info.toml by the test below.
fn graded_steps(course: &katas::course::Course) -> String {
    let mut steps = String::new();
    let mut runners = Vec::new();
    for track in &course.tracks {
        for stage in &track.stages {
            let name = format!("{}/{}", track.id, stage.id);
            let id = format!("{}-{}", track.id, stage.id);
            steps.push_str(&format!(
                "      - name: {name}\n        id: {id}\n        uses: classroom-resources/autograding-command-grader@v1\n        with:\n          test-name: {name}\n          setup-command: \"\"\n          command: bash grader/grade.sh grader/katas submission grader/course junit 120 600 {name}\n          timeout: 3\n          max-score: 10\n\n"
            ));
            runners.push(id);
        }
    }
    steps.push_str(
        "      - name: Autograding Reporter\n        uses: classroom-resources/autograding-grading-reporter@v1\n        env:\n",
    );
    for id in &runners {
        steps.push_str(&format!(
            "          {}_RESULTS: \"${{{{steps.{id}.outputs.result}}}}\"\n",
            id.to_uppercase()
        ));
    }
    steps.push_str(&format!(
        "        with:\n          runners: {}\n",
        runners.join(",")
    ));
    steps
}

#[test]
fn the_classroom_workflow_grades_every_stage_of_the_course() {
    let course = katas::course::load(repo())
        .unwrap_or_else(|err| panic!("the repository's course does not load: {err}"));
    let path = repo().join(CLASSROOM_YML);
    let text = fs::read_to_string(&path).unwrap();
    let begin = text.find(BEGIN).expect("the begin marker");
    let begin = begin + text[begin..].find('\n').unwrap() + 1;
    let end = text.find(END).expect("the end marker");
    let expected = graded_steps(&course);
    if text[begin..end] != expected {
        if std::env::var_os("KATAS_BLESS").is_some() {
            fs::write(
                &path,
                format!("{}{expected}{}", &text[..begin], &text[end..]),
            )
            .unwrap();
        } else {
            panic!(
                "{CLASSROOM_YML} does not grade exactly the stages of info.toml.\n\
                 Regenerate its graded steps: KATAS_BLESS=1 cargo test --test classroom \
                 the_classroom_workflow\n\nexpected:\n{expected}"
            );
        }
    }
}
