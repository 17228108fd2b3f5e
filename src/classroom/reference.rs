//! The trusted course a grade is measured against: its stage list, time limits, tests, start
//! crate (manifest and lock file) and own crates all come from here, never from the learner.

use std::path::{Path, PathBuf};

use serde::Serialize;

use tokio_util::sync::CancellationToken;

use super::class::fetch;
use crate::bundled;
use crate::course::{self, Course, CourseError, Stage, Track};
use crate::layout;

/// Where the reference came from, as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceKind {
    /// The course built into this katas binary (the teacher's own copy, when they built it).
    Bundled,
    /// A pristine copy of the course on disk (`verify --reference DIR`).
    Directory,
    /// The learner's own course folder (`verify --untrusted-reference`): the learner controls
    /// it, so such a grade proves only that the learner's code passes the learner's tests.
    LearnersOwn,
}

/// The trusted course, loaded.
#[derive(Debug, Clone)]
pub struct Reference {
    pub kind: ReferenceKind,
    pub course: Course,
}

/// What reports say about the reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReferenceInfo {
    pub kind: ReferenceKind,
    pub course: String,
    /// The folder it was loaded from (for `directory` and `learners_own`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Whether the grade can be trusted as a teacher's: false for `learners_own`.
    pub trusted: bool,
}

impl Reference {
    /// The course built into this binary, written once into `work_root` (the grader's folder).
    pub fn bundled(work_root: &Path) -> Result<Self, CourseError> {
        let dir = work_root.join("trusted").join(bundled::fingerprint());
        if !dir.join("info.toml").is_file() {
            bundled::write_course(&dir).map_err(|source| CourseError::Io {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(Self {
            kind: ReferenceKind::Bundled,
            course: course::load(&dir)?,
        })
    }

    /// A pristine copy of the course on disk; refused when it is the graded course or lies
    /// inside it (the learner controls that tree).
    pub fn directory(dir: &Path, graded: &Path) -> Result<Self, CourseError> {
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let (dir_c, graded_c) = (canonical(dir), canonical(graded));
        if dir_c.starts_with(&graded_c) {
            return Err(CourseError::UntrustedReference {
                reference: dir_c,
                graded: graded_c,
            });
        }
        Ok(Self {
            kind: ReferenceKind::Directory,
            course: course::load(dir)?,
        })
    }

    /// The learner's own course folder, asked for explicitly.
    pub fn learners_own(graded: &Path) -> Result<Self, CourseError> {
        Ok(Self {
            kind: ReferenceKind::LearnersOwn,
            course: course::load(graded)?,
        })
    }

    /// The trusted text of a stage's tests, if the reference has that stage.
    pub fn tests(&self, track: &Track, stage: &Stage) -> Option<String> {
        let track = self.course.track(&track.id).ok()?;
        track
            .stages
            .iter()
            .find(|s| s.id == stage.id)
            .map(|s| s.tests.clone())
    }

    /// What reports say about it.
    pub fn info(&self) -> ReferenceInfo {
        ReferenceInfo {
            kind: self.kind.clone(),
            course: self.course.name.clone(),
            path: match self.kind {
                ReferenceKind::Bundled => None,
                _ => Some(self.course.root.display().to_string()),
            },
            trusted: self.kind != ReferenceKind::LearnersOwn,
        }
    }

    /// A phrase for reports: where the trusted tests came from.
    pub fn describe(&self) -> String {
        match self.kind {
            ReferenceKind::Bundled => {
                format!("the course built into this katas ({})", self.course.name)
            }
            ReferenceKind::Directory => {
                format!("the reference course at {}", self.course.root.display())
            }
            ReferenceKind::LearnersOwn => format!(
                "the learner's own course folder {} (UNTRUSTED: the learner controls it; build katas from your copy of the course, or pass --reference DIR)",
                self.course.root.display()
            ),
        }
    }

    /// The folder of the reference's course.
    pub fn root(&self) -> PathBuf {
        self.course.root.clone()
    }

    /// The commit (short id) of the reference's git history in which the file at `relative` (a
    /// path inside the course) held `text`, line endings aside; `None` when it never did, or the
    /// reference has no history to ask.
    ///
    /// A learner who has not pulled the teacher's latest course holds an earlier version of a
    /// stage's tests: that is no tampering, and a grade must not say it is. Only a teacher's
    /// reference folder is asked: the bundled course has no history, and the learner's own
    /// history is theirs to write.
    pub async fn earlier_version(&self, relative: &Path, text: &str) -> Option<String> {
        if self.kind != ReferenceKind::Directory {
            return None;
        }
        let wanted = layout::normalize(text);
        let path = format!("./{}", relative.display());
        let log = self
            .git(&["log", "--format=%h", "--no-renames", "--", &path])
            .await?;
        for commit in log.lines().map(str::trim).filter(|c| !c.is_empty()) {
            let old = self.git(&["show", &format!("{commit}:{path}")]).await;
            if old.is_some_and(|old| layout::normalize(&old) == wanted) {
                return Some(commit.to_owned());
            }
        }
        None
    }

    /// A git command's standard output in the reference's folder, if it ran and succeeded.
    async fn git(&self, args: &[&str]) -> Option<String> {
        let what = "read the reference's history";
        fetch::git(
            Some(&self.course.root),
            args,
            GIT_LIMIT,
            &CancellationToken::new(),
            what,
        )
        .await
        .ok()
    }
}

/// The time a git command on the reference's own history may take: a local repository answers
/// in milliseconds; this only keeps a broken one from stalling a grade.
const GIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);
