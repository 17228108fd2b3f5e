//! The course this binary was built with, embedded so grading needs no trusted copy on disk.
//!
//! A teacher builds katas from their own copy of the course; `verify` then compares a learner's
//! test files with these, whatever the learner's checkout holds.

use include_dir::{Dir, include_dir};

/// The `course/` folder of the repository this binary was built from.
static COURSE_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/course");

/// The course's own library crates (the network simulator), which stage tests build on: a
/// grader builds against these, not against the learner's copies.
static CRATES_DIR: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/crates");

/// Writes the embedded `crates/` folder into `dest/crates`, replacing what was there.
pub fn write_crates(dest: &std::path::Path) -> std::io::Result<()> {
    let crates = dest.join("crates");
    if crates.exists() {
        std::fs::remove_dir_all(&crates)?;
    }
    std::fs::create_dir_all(&crates)?;
    CRATES_DIR.extract(&crates)
}

/// Writes the whole embedded course (`info.toml`, `course/`, `crates/`) into `dest`, replacing
/// what was there: a trusted copy on disk for graders that need one.
pub fn write_course(dest: &std::path::Path) -> std::io::Result<()> {
    let course = dest.join("course");
    if course.exists() {
        std::fs::remove_dir_all(&course)?;
    }
    std::fs::create_dir_all(&course)?;
    COURSE_DIR.extract(&course)?;
    write_crates(dest)?;
    std::fs::write(dest.join("info.toml"), INFO_TOML)
}

/// The `info.toml` this binary was built with.
pub const INFO_TOML: &str = include_str!("../info.toml");

/// The embedded text of a file under `course/`, e.g. `kv_store/memory/tests.rs`.
pub fn course_file(relative: &str) -> Option<&'static str> {
    COURSE_DIR
        .get_file(relative)
        .and_then(|f| f.contents_utf8())
}

/// The course name of the embedded `info.toml`, to tell whether a course on disk is this one.
pub fn course_name() -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Name {
        name: String,
    }
    toml::from_str::<Name>(INFO_TOML).ok().map(|n| n.name)
}
