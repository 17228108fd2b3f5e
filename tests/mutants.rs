//! `katas dev mutants` on the fixture course `mini` with mutants overlaid on `counter/count`
//! (tests/fixtures/mini-mutants): one mutant its tests kill, one that survives them, one correct
//! alternative. The exit code, the table, the JSON form, and `dev check` running them too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;

use common::{course, output};
use katas::exit_codes;

/// The mini course with the mutants overlay.
fn course_with_mutants() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, root) = course("mini");
    common::copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini-mutants"),
        &root,
    );
    (dir, root)
}

#[test]
fn a_survivor_fails_the_run_and_is_named_in_the_table() {
    let (_dir, root) = course_with_mutants();
    let (code, stdout, stderr) = output(&root, &["dev", "mutants", "--stage", "counter/count"]);
    assert_eq!(code, i32::from(exit_codes::FAILED), "{stdout}{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("counter/count"))
        .unwrap_or_else(|| panic!("no row for the stage:\n{stdout}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        ["counter/count", "2", "1", "capped", "0", "1/1"],
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL counter/count: mutant `capped` survived (the count stops at 100)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "mutation score: 50.0% (1 of 2 mutants killed); alternatives: 1 of 1 accepted"
        ),
        "{stdout}"
    );
    // Progress goes to stderr, mutant by mutant.
    assert!(
        stderr.contains("mutants counter/count: [2/3] capped"),
        "{stderr}"
    );

    // `dev check` runs them too, and fails on the survivor; --no-mutants skips them.
    let (code, stdout, _) = output(
        &root,
        &["dev", "check", "--stage", "counter/count", "--no-lints"],
    );
    assert_eq!(code, i32::from(exit_codes::FAILED), "{stdout}");
    assert!(stdout.contains("mutant `capped` survived"), "{stdout}");
    let (code, stdout, _) = output(
        &root,
        &[
            "dev",
            "check",
            "--stage",
            "counter/count",
            "--no-lints",
            "--no-mutants",
        ],
    );
    assert_eq!(code, 0, "{stdout}");

    // Strengthen the tests until the survivor dies: the run passes, and says so in JSON.
    common::edit(
        &root.join("course/counter/count/tests.rs"),
        "checker::expect_count(c.count(), 3);",
        "checker::expect_count(c.count(), 3);\n    for _ in 0..200 {\n        c.bump();\n    }\n    assert_eq!(c.count(), 203);",
    );
    let (code, stdout, stderr) = output(
        &root,
        &["dev", "mutants", "--track", "counter", "--format", "json"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["score"], 100.0, "{stdout}");
    assert_eq!(
        (report["mutants"].as_u64(), report["killed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(report["stages"][0]["variants"][1]["outcome"], "killed");
    assert_eq!(report["stages"][0]["variants"][2]["outcome"], "accepted");
    assert_eq!(report["stages"][1]["has_manifest"], false, "reset has none");
}

#[test]
fn a_patch_that_does_not_apply_or_a_mutant_that_does_not_compile_fails() {
    let (_dir, root) = course_with_mutants();
    let stage = root.join("course/counter/count");
    // The reference moved on under the first patch; the second breaks the build.
    common::edit(
        &stage.join("mutants/double.patch"),
        "-        self.count += 1;",
        "-        self.count += 10;",
    );
    common::edit(
        &stage.join("mutants/capped.patch"),
        "+        if self.count < 100 {",
        "+        if self.count < \"100\" {",
    );
    let (code, stdout, stderr) = output(&root, &["dev", "mutants", "--stage", "counter/count"]);
    assert_eq!(code, i32::from(exit_codes::FAILED), "{stdout}{stderr}");
    assert!(
        stdout.contains("FAIL counter/count: the patch of `double_bump` does not apply"),
        "{stdout}"
    );
    assert!(
        stdout.contains("mutant `capped` does not compile against the tests"),
        "{stdout}"
    );
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("counter/count"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        ["counter/count", "2", "0", "-", "1", "1/1"],
        "{stdout}"
    );
}

#[test]
fn a_bad_manifest_is_reported_with_file_line_and_fix() {
    let (_dir, root) = course_with_mutants();
    let manifest = root.join("course/counter/count/mutants.toml");
    common::edit(&manifest, "name = \"capped\"", "name = \"double_bump\"");
    let (code, stdout, _) = output(&root, &["dev", "mutants", "--stage", "counter/count"]);
    assert_eq!(code, i32::from(exit_codes::FAILED), "{stdout}");
    assert!(
        stdout.contains("course/counter/count/mutants.toml:10: the name `double_bump` is used twice in this stage"),
        "{stdout}"
    );
    assert!(stdout.contains("fix: give every mutant"), "{stdout}");
}

#[test]
fn an_export_leaves_the_mutants_behind() {
    let (dir, root) = course_with_mutants();
    let dest = dir.path().join("copy");
    let (code, _, stderr) = output(
        &root,
        &[
            "dev",
            "export",
            "--without-solutions",
            dest.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let stage = dest.join("course/counter/count");
    assert!(stage.join("tests.rs").exists());
    for gone in ["mutants.toml", "mutants", "alternatives"] {
        assert!(!stage.join(gone).exists(), "{gone} was exported");
    }
    assert!(fs::read_dir(dest.join("course/counter")).is_ok());
}

#[test]
fn a_second_run_on_the_same_track_waits_for_the_first_and_then_proves_the_stage() {
    let (_dir, root) = course_with_mutants();
    // This test plays the first run: it holds the track's lock, as a running `dev mutants` does.
    let lock_path = root.join(".katas/mutants/counter.lock");
    fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let first = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap();
    first.lock().unwrap();
    let mut second = common::katas_std(&root)
        .args(["dev", "mutants", "--stage", "counter/count"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(second.stderr.take().unwrap()).lines();
    let mut before = Vec::new();
    let waiting = loop {
        let line = stderr
            .next()
            .unwrap_or_else(|| panic!("the second run ended without waiting: {before:?}"))
            .unwrap();
        if line.contains("waiting") {
            break line;
        }
        before.push(line);
    };
    assert!(
        waiting.contains(
            "mutants counter/count: waiting for another `katas dev mutants` on track counter"
        ),
        "{waiting}"
    );
    assert!(waiting.contains("counter.lock"), "{waiting}");
    assert!(
        before.iter().all(|l| !l.contains("building")),
        "nothing is built before the lock is taken: {before:?}"
    );
    // It waits for the lock before laying anything out, so while the lock is held here the
    // scratch folder of the track cannot have been made.
    assert!(
        !root.join(".katas/mutants/counter").exists(),
        "the second run used the scratch folder while the first held it"
    );
    drop(first);
    let rest: Vec<String> = stderr.map(Result::unwrap).collect();
    let mut stdout = String::new();
    second
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = second.wait().unwrap();
    // Once the lock is free, the run is the usual one, with the usual verdicts.
    assert_eq!(
        status.code(),
        Some(i32::from(exit_codes::FAILED)),
        "{stdout}{rest:?}"
    );
    assert!(
        rest.iter()
            .any(|l| l == "mutants counter/count: [2/3] capped"),
        "{rest:?}"
    );
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("counter/count"))
        .unwrap_or_else(|| panic!("no row for the stage:\n{stdout}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        ["counter/count", "2", "1", "capped", "0", "1/1"],
        "{stdout}"
    );
}
