//! The grades of earlier runs, so that re-running after new pushes grades only what changed.
//!
//! An entry is one learner's grades, kept under a key made of everything a verdict depends on:
//! the commit graded, the reference's fingerprint (its trusted files and the katas that grades)
//! and the time limits. A new push, a fixed test or another limit is a new key, so a stale
//! verdict is never reused. Entries are written atomically; an unreadable one is a miss.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::results::LearnerGrades;
use super::roster::Learner;
use crate::fsutil::hex;
use crate::fsutil::write_atomic;

/// A folder of cached grades.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    grades: LearnerGrades,
}

/// Everything a verdict depends on.
#[derive(Debug, Clone, Copy)]
pub struct KeyParts<'a> {
    pub commit: &'a str,
    pub reference: &'a str,
    pub stage_time_limit: Option<Duration>,
    pub learner_time_limit: Duration,
}

impl KeyParts<'_> {
    fn key(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [
            self.commit.to_owned(),
            self.reference.to_owned(),
            format!("{:?}", self.stage_time_limit),
            format!("{:?}", self.learner_time_limit),
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hex(&hasher.finalize())
    }
}

impl Cache {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// One file per learner (by name and source), holding their latest grades.
    fn file(&self, learner: &Learner) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(learner.name.as_bytes());
        hasher.update([0]);
        hasher.update(learner.source.describe().as_bytes());
        self.dir
            .join(format!("{}.json", &hex(&hasher.finalize())[..24]))
    }

    /// The learner's grades for exactly these key parts, if an earlier run made them.
    pub fn get(&self, learner: &Learner, parts: &KeyParts<'_>) -> Option<LearnerGrades> {
        let text = std::fs::read_to_string(self.file(learner)).ok()?;
        let entry: Entry = serde_json::from_str(&text).ok()?;
        (entry.key == parts.key()).then_some(entry.grades)
    }

    /// Keeps the learner's grades under these key parts (replacing older ones).
    pub fn put(
        &self,
        learner: &Learner,
        parts: &KeyParts<'_>,
        grades: &LearnerGrades,
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let entry = Entry {
            key: parts.key(),
            grades: grades.clone(),
        };
        let text = serde_json::to_string(&entry).map_err(std::io::Error::other)?;
        write_atomic(&self.file(learner), text.as_bytes())
    }
}
