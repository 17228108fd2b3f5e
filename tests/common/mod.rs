//! Helpers shared by the integration tests: fixture courses in fresh folders, and the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

#[cfg(unix)]
pub mod pty;

/// The fixture course `name` (under tests/fixtures), copied into a fresh folder.
pub fn course(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(name);
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
        &root,
    );
    (dir, root)
}

pub fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == ".katas" || entry.file_name() == "target" {
            continue;
        }
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// The katas binary, run in `dir`, with no colours and no course from the environment.
pub fn katas(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("katas").unwrap();
    cmd.current_dir(dir)
        .env_remove("KATAS_COURSE")
        .env("NO_COLOR", "1")
        .env_remove("CARGO_TARGET_DIR")
        // Grading folders (`verify`) go to a cache of the tests' own, not the user's.
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("katas-tests-cache"),
        );
    cmd
}

/// [`katas`], as a plain `std` command: for a test that streams the output as it comes.
pub fn katas_std(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("katas"));
    cmd.current_dir(dir)
        .env_remove("KATAS_COURSE")
        .env("NO_COLOR", "1")
        .env_remove("CARGO_TARGET_DIR")
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("katas-tests-cache"),
        );
    cmd
}

/// Runs katas and returns (exit code, stdout, stderr).
pub fn output(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = katas(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Replaces the first `from` in a file with `to`; the fixture must contain `from`, or the edit
/// would silently do nothing and the test would prove nothing.
pub fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Gives the fixture course's second stage (`counter/reset`) a feature of its own: the start
/// manifest declares `checker` an optional dependency too, and `reset` names it in `features`.
pub fn give_reset_the_checker_feature(root: &Path) {
    edit(
        &root.join("course/counter/start/Cargo.toml"),
        "[dev-dependencies]",
        "[dependencies]\nchecker = { path = \"../../crates/checker\", optional = true }\n\n[dev-dependencies]",
    );
    edit(
        &root.join("course/counter/reset/stage.toml"),
        "concepts = [\"ownership\"]",
        "concepts = [\"ownership\"]\nfeatures = [\"checker\"]",
    );
}

/// Solves the fixture course's first stage (`counter/count`) with its reference solution.
pub fn solve_stage_one(root: &Path) {
    let solution = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mini/solutions/counter/count/src/lib.rs");
    std::fs::copy(solution, root.join("exercises/counter/src/lib.rs")).unwrap();
}

#[cfg(unix)]
/// Makes a folder refuse new files, as a full or read-only disk does: by its mode for a normal
/// user, by the immutable attribute for root (who ignores modes). False when neither works.
pub fn make_unwritable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join(".probe");
    if std::fs::write(&probe, "x").is_err() {
        return true;
    }
    let _ = std::fs::remove_file(&probe);
    let chattr = std::process::Command::new("chattr")
        .arg("+i")
        .arg(dir)
        .status();
    chattr.is_ok_and(|s| s.success()) && std::fs::write(&probe, "x").is_err()
}

#[cfg(unix)]
/// Undoes [`make_unwritable`].
pub fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(dir)
        .status();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}
