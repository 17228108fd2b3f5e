//! `katas grade` on classes of 6, 12 and 24 solved learners, 2 jobs: wall time and time per
//! learner, so a teacher can tell how long a class of 200 takes on N runners. Prints numbers;
//! asserts nothing (machines here are shared and noisy).
//!
//! Each learner is a git repository (served with file://) holding a solved copy of the course:
//! every track's start crate with its last stage's reference solution laid over it and every
//! stage's tests installed. Each class size is graded twice: cold (fresh job slots: the first
//! learner of each slot pays for the course's dependencies) and again after a new push of every
//! learner (warm slots, no cache hits: the steady state of a nightly run).
//!
//! `KATAS_BENCH_COURSE` picks the course folder (default the `mini` fixture, two small stages;
//! the bundled course takes minutes per learner), `KATAS_BENCH_SIZES` the class sizes (6,12,24),
//! `KATAS_BENCH_JOBS` the jobs (2).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let course = std::env::var_os("KATAS_BENCH_COURSE")
        .map_or_else(|| repo.join("tests/fixtures/mini"), PathBuf::from);
    let sizes: Vec<usize> = std::env::var("KATAS_BENCH_SIZES")
        .unwrap_or_else(|_| "6,12,24".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let jobs = std::env::var("KATAS_BENCH_JOBS").unwrap_or_else(|_| "2".to_owned());
    let loaded = katas::course::load(&course).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("solved");
    solved_copy(&loaded, &course, &template);
    println!(
        "course {} ({} stages), {jobs} jobs, {} cores\n",
        loaded.name,
        loaded.tracks.iter().map(|t| t.stages.len()).sum::<usize>(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| learners | cold: wall | per learner | after a push: wall | per learner |");
    println!("|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        let class = dir.path().join(format!("class-{n}"));
        let mut roster = String::new();
        for i in 0..n {
            let learner = class.join(format!("repos/l{i:03}"));
            copy(&template, &learner);
            git(&learner, &["init", "-q", "-b", "main"]);
            git(&learner, &["add", "-A"]);
            git(&learner, &["commit", "-q", "-m", "solved"]);
            roster.push_str(&format!(
                "[[learner]]\nname = \"l{i:03}\"\ngit = \"file://{}\"\n\n",
                learner.display()
            ));
        }
        std::fs::write(class.join("roster.toml"), roster).unwrap();
        let grade = || {
            let started = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_katas"))
                .args(["grade", "roster.toml", "--jobs", &jobs, "--reference"])
                .arg(&course)
                .current_dir(&class)
                .env_remove("CARGO_TARGET_DIR")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let grades: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(class.join("grades/grades.json")).unwrap(),
            )
            .unwrap();
            let all_passed = grades["learners"].as_array().unwrap().iter().all(|l| {
                l["verdicts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|v| v["status"] == "passed")
            });
            assert!(all_passed, "a solved learner did not pass: {grades}");
            started.elapsed().as_secs_f64()
        };
        let cold = grade();
        for i in 0..n {
            let learner = class.join(format!("repos/l{i:03}"));
            std::fs::write(learner.join("NOTES.md"), "a new push\n").unwrap();
            git(&learner, &["add", "-A"]);
            git(&learner, &["commit", "-q", "-m", "notes"]);
        }
        let warm = grade();
        println!(
            "| {n} | {cold:.1} s | {:.2} s | {warm:.1} s | {:.2} s |",
            cold / n as f64,
            warm / n as f64
        );
    }
}

/// A solved learner's copy: the course files, and each track's crate at its last stage.
fn solved_copy(course: &katas::course::Course, root: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    std::fs::copy(root.join("info.toml"), dest.join("info.toml")).unwrap();
    copy(&root.join("course"), &dest.join("course"));
    if root.join("crates").is_dir() {
        copy(&root.join("crates"), &dest.join("crates"));
    }
    for track in &course.tracks {
        let crate_dir = dest.join("exercises").join(&track.id);
        copy(&course.start_dir(track), &crate_dir);
        let last = track.stages.last().unwrap();
        katas::layout::overlay(&course.solution_dir(track, last), &crate_dir).unwrap();
        let stages = katas::layout::stages_dir(&crate_dir);
        std::fs::create_dir_all(&stages).unwrap();
        for stage in &track.stages {
            std::fs::write(
                katas::layout::stage_test_path(&crate_dir, stage),
                &stage.tests,
            )
            .unwrap();
        }
        std::fs::write(
            stages.join("main.rs"),
            katas::layout::main_rs(&track.stages),
        )
        .unwrap();
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=Bench", "-c", "user.email=b@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}");
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == ".katas" || name == ".git" {
            continue;
        }
        let dest = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}
