//! What katas installed as each reached stage's tests, so that a course update reaches the
//! learner's crate without overwriting the learner's own edits.
//!
//! A stage's test file is written once, when the stage is reached, and then left alone: the
//! learner may read it and even change it (watch says so; grading uses the course's copy
//! anyway). When the course changes a stage's tests later (a teacher fixes a test, the learner
//! pulls), the crate would keep the old copy: watch would run stale tests, and a grader would
//! take the stale copy for a changed one. This record says which text katas wrote: a file still
//! equal to it is katas' copy, not the learner's work, and is replaced by the course's new tests.
//!
//! The record is a convenience, never a source of trust: a grader does not read it. A record
//! that is missing or unreadable only means that no stale copy is replaced.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::normalize;
use crate::course::Course;
use crate::fsutil::{hex, write_atomic};

/// The record's file in the course's `.katas` folder.
const FILE: &str = "installed-tests.toml";

const HEADER: &str = "# Written by katas: a digest of the stage tests it installed in your crates, so \
that it can tell\n# an update of the course's tests from your own edit. Safe to delete.\n\n";

/// Track id → stage id → digest of the test text katas installed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Installed {
    tracks: BTreeMap<String, BTreeMap<String, String>>,
}

impl Installed {
    pub(super) fn path(course: &Course) -> PathBuf {
        course.state_dir().join(FILE)
    }

    /// The record, or an empty one when there is none or it cannot be read.
    pub(super) fn load(path: &Path) -> Self {
        let tracks = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| toml::from_str(&text).ok())
            .unwrap_or_default();
        Self { tracks }
    }

    /// Writes the record atomically: two katas at once (watch and `katas run`) never leave a
    /// torn file, only the one or the other's.
    pub(super) fn save(&self, path: &Path) -> io::Result<()> {
        let body = toml::to_string(&self.tracks).map_err(io::Error::other)?;
        write_atomic(path, format!("{HEADER}{body}").as_bytes())
    }

    /// Whether `text` is what katas installed for this stage.
    pub(super) fn wrote(&self, track: &str, stage: &str, text: &str) -> bool {
        self.tracks
            .get(track)
            .and_then(|stages| stages.get(stage))
            .is_some_and(|digest| *digest == digest_of(text))
    }

    pub(super) fn note(&mut self, track: &str, stage: &str, text: &str) {
        self.tracks
            .entry(track.to_owned())
            .or_default()
            .insert(stage.to_owned(), digest_of(text));
    }
}

/// A digest of a test text, line endings aside (git on Windows may check files out with CRLF).
fn digest_of(text: &str) -> String {
    format!(
        "sha256:{}",
        hex(&Sha256::digest(normalize(text).as_bytes()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_survives_a_round_trip_and_knows_only_what_it_noted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut record = Installed::default();
        record.note("kv", "memory", "#[test]\nfn a() {}\n");
        record.save(&path).unwrap();
        let loaded = Installed::load(&path);
        assert_eq!(loaded, record);
        assert!(loaded.wrote("kv", "memory", "#[test]\r\nfn a() {}\r\n"));
        assert!(!loaded.wrote("kv", "memory", "#[test]\nfn a() { edited() }\n"));
        assert!(!loaded.wrote("kv", "persistence", "#[test]\nfn a() {}\n"));
    }

    #[test]
    fn a_damaged_record_is_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        std::fs::write(&path, "[kv\nmemory = ").unwrap();
        assert_eq!(Installed::load(&path), Installed::default());
    }
}
