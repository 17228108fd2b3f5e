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

/// Writes the whole embedded course (`info.toml`, `course/`, `crates/`) into `dest`, which must
/// not exist yet: the trusted copy `verify` grades against. Written into a sibling folder first
/// and renamed into place, so a reader never sees half a course.
pub fn write_course(dest: &std::path::Path) -> std::io::Result<()> {
    let parent = dest.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(parent)?;
    let partial = parent.join(format!(
        ".partial-{}-{}",
        std::process::id(),
        dest.file_name().unwrap_or_default().to_string_lossy()
    ));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    std::fs::create_dir_all(partial.join("course"))?;
    COURSE_DIR.extract(partial.join("course"))?;
    write_crates(&partial)?;
    std::fs::write(partial.join("info.toml"), INFO_TOML)?;
    match std::fs::rename(&partial, dest) {
        Ok(()) => Ok(()),
        // Another grader wrote the same course first: theirs is as good as ours.
        Err(_) if dest.join("info.toml").is_file() => std::fs::remove_dir_all(&partial),
        Err(err) => Err(err),
    }
}

/// A fingerprint of the embedded course, naming its trusted copy on disk: a katas built from
/// another version of the course never reuses this one's copy.
pub fn fingerprint() -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    fn walk(dir: &Dir<'_>, hasher: &mut DefaultHasher) {
        for file in dir.files() {
            file.path().hash(hasher);
            file.contents().hash(hasher);
        }
        for sub in dir.dirs() {
            walk(sub, hasher);
        }
    }
    let mut hasher = DefaultHasher::new();
    INFO_TOML.hash(&mut hasher);
    walk(&COURSE_DIR, &mut hasher);
    walk(&CRATES_DIR, &mut hasher);
    format!("{:016x}", hasher.finish())
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
