//! The bundled course is sound: `katas dev check` on the repository itself. Every stage of every
//! track fails in its start state, passes with its reference solution (earlier stages' tests
//! included), and its solution is clippy- and rustfmt-clean; every ladder follows the rules; every
//! stage's tests kill its mutants and accept its alternatives; and the reference solutions pass
//! when graded the way a teacher grades.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// Runs katas in the repository and returns (exit code, stdout, stderr), passing each line of its
/// stderr (which stage it is proving, each mutant's fate) on as it comes, to the test process's
/// own stderr: libtest captures `eprintln!`, not a direct write, so even a plain `cargo test` in
/// CI shows where these long tests are instead of nothing for minutes.
fn katas_live(args: &[&str]) -> (i32, String, String) {
    use std::io::{BufRead, Write};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = common::katas_std(root)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let label = args.join(" ");
    let progress = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = writeln!(std::io::stderr().lock(), "[katas {label}] {line}");
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    let status = child.wait().unwrap();
    let stderr = progress.join().unwrap();
    (status.code().unwrap_or(-1), stdout, stderr)
}

// The mutants are proved by the tests below, one track each, in parallel with this one.
#[test]
fn the_bundled_course_is_sound() {
    let (code, stdout, stderr) = katas_live(&["dev", "check", "--no-mutants"]);
    println!("{stdout}");
    assert!(
        stderr.contains("proving "),
        "dev check says which stage it proves:\n{stderr}"
    );
    assert_eq!(
        code, 0,
        "katas dev check found problems:\n{stdout}\n{stderr}"
    );
}

/// Every stage's tests fail on each of its mutants and pass on each of its alternatives
/// (`katas dev mutants`), one track per test so the tracks share the machine's cores. A variant
/// stops at its first failing test, so a kill costs about one incremental build.
fn the_track_kills_its_mutants(track: &str) {
    let (code, stdout, stderr) = katas_live(&["dev", "mutants", "--track", track]);
    println!("{stdout}");
    assert_eq!(
        code, 0,
        "katas dev mutants found survivors or other failures in {track}:\n{stdout}\n{stderr}"
    );
}

#[test]
fn kv_store_kills_its_mutants() {
    the_track_kills_its_mutants("kv_store");
}

#[test]
fn rate_limiter_kills_its_mutants() {
    the_track_kills_its_mutants("rate_limiter");
}

#[test]
fn replication_kills_its_mutants() {
    the_track_kills_its_mutants("replication");
}

/// Every track's last reference solution, graded the way a teacher grades (the course built into
/// katas, trusted parts only, the witness channel, the sandbox), passes every stage of its track:
/// the grader's rewriting of the trusted tests holds for every stage of the real course.
#[cfg(target_os = "linux")]
#[test]
fn the_reference_solutions_pass_when_graded_like_a_learners_work() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("course");
    for part in ["info.toml", "course", "crates", "exercises"] {
        let from = repo.join(part);
        if from.is_dir() {
            common::copy(&from, &root.join(part));
        } else {
            std::fs::create_dir_all(&root).unwrap();
            std::fs::copy(&from, root.join(part)).unwrap();
        }
    }
    let course = katas::course::load(repo).unwrap();
    for track in &course.tracks {
        let last = track.stages.last().unwrap();
        let src = root.join("exercises").join(&track.id).join("src");
        std::fs::remove_dir_all(&src).unwrap();
        common::copy(
            &repo
                .join("solutions")
                .join(&track.id)
                .join(&last.id)
                .join("src"),
            &src,
        );
    }
    let (code, stdout, stderr) = common::output(&root, &["verify", "--format", "json"]);
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{err}: {stdout}\n{stderr}"));
    let stages = report["stages"].as_array().unwrap();
    let total: usize = course.tracks.iter().map(|t| t.stages.len()).sum();
    assert_eq!(stages.len(), total, "{stdout}");
    for stage in stages {
        assert_eq!(stage["status"], "passed", "{stage}\n{stderr}");
    }
    assert_eq!(report["reference"]["kind"], "bundled");
    assert_eq!(report["sandboxed"], true);
    assert_eq!(code, 0, "{stderr}");
}
