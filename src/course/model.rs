//! The course model: a course is tracks, a track is ordered stages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CourseError;

/// A loaded, validated course.
#[derive(Debug, Clone)]
pub struct Course {
    /// The folder that holds `info.toml`.
    pub root: PathBuf,
    /// The course's name, shown in headers and reports.
    pub name: String,
    /// The tracks, in the order of `info.toml`.
    pub tracks: Vec<Track>,
}

/// A track: one crate the learner grows, stage by stage.
#[derive(Debug, Clone)]
pub struct Track {
    /// The id, a snake_case identifier; also the crate's folder and name.
    pub id: String,
    pub title: String,
    pub summary: String,
    pub stages: Vec<Stage>,
}

/// One rung of a hint ladder, with the line it was written on (for authors' errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rung {
    pub text: String,
    pub line: usize,
}

/// The ladder for one test of a stage, for the tests learners fail most.
#[derive(Debug, Clone)]
pub struct TestLadder {
    /// The test function's name in the stage's `tests.rs`.
    pub test: String,
    pub rungs: Vec<Rung>,
    /// The line of `test = ...` in `stage.toml`.
    pub line: usize,
}

/// A stage: a requirement with its tests, brief, ladders and reflection.
#[derive(Debug, Clone)]
pub struct Stage {
    /// The id, a snake_case identifier; also the tests' module name.
    pub id: String,
    pub title: String,
    /// The brief, Markdown, in the order Plan, Concept, Code.
    pub brief: String,
    /// The text of the stage's `tests.rs`.
    pub tests: String,
    /// The names of the test functions in `tests.rs`.
    pub test_names: Vec<String>,
    pub concepts: Vec<String>,
    /// How long the test run may take before its process tree is killed.
    pub time_limit: Duration,
    /// How much memory (MiB) the test run may use before it is stopped.
    pub memory_limit_mib: u64,
    /// How many tests run at once in a run whose latest stage is this one (`--test-threads`);
    /// `None`: libtest's default, one per core. Stages whose tests mostly wait (on sockets,
    /// timers, a server's shutdown) set more: the author vouches that this stage's tests and the
    /// earlier stages' hold their verdicts that way, and `dev check`/`dev mutants` prove it.
    pub test_threads: Option<usize>,
    /// The crate features this stage's tests and solution need (optional dependencies of the
    /// track's manifest, such as `tokio`): from this stage on they are in the crate's
    /// `[features] default` (see `layout::features`).
    pub features: Vec<String>,
    /// A strict stage passes only when the crate is also clippy-clean under the course's lint
    /// set (`hints::lint_args`); other stages show lints as advice.
    pub strict: bool,
    /// The stage ladder: Plan, Concept, Code, then a nudge.
    pub hints: Vec<Rung>,
    pub test_hints: Vec<TestLadder>,
    pub reflection: Vec<String>,
}

/// A reference to one stage of one track, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageRef {
    pub track: usize,
    pub stage: usize,
}

impl Course {
    /// The track with this id, or an error that lists the valid ones.
    pub fn track(&self, id: &str) -> Result<&Track, CourseError> {
        self.tracks
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| CourseError::UnknownTrack {
                given: id.to_owned(),
                valid: self.tracks.iter().map(|t| t.id.clone()).collect(),
            })
    }

    /// The index of the track with this id.
    pub fn track_index(&self, id: &str) -> Result<usize, CourseError> {
        let track = self.track(id)?;
        Ok(self
            .tracks
            .iter()
            .position(|t| std::ptr::eq(t, track))
            .unwrap_or_default())
    }

    /// Resolves `TRACK/STAGE` (or a bare `TRACK`, meaning its first stage).
    pub fn resolve(&self, reference: &str) -> Result<StageRef, CourseError> {
        let (track_id, stage_id) = match reference.split_once('/') {
            Some((t, s)) if !t.is_empty() && !s.is_empty() && !s.contains('/') => (t, Some(s)),
            None if !reference.is_empty() => (reference, None),
            _ => return Err(self.bad_ref(reference)),
        };
        let track = self.track_index(track_id)?;
        let stage = match stage_id {
            Some(id) => self.tracks[track].stage_index(id)?,
            None => 0,
        };
        Ok(StageRef { track, stage })
    }

    fn bad_ref(&self, given: &str) -> CourseError {
        let example = self
            .tracks
            .first()
            .and_then(|t| t.stages.first().map(|s| format!("{}/{}", t.id, s.id)))
            .unwrap_or_else(|| "kv_store/memory".to_owned());
        CourseError::BadStageRef {
            given: given.to_owned(),
            example,
        }
    }

    /// The stages a command works on, by track: one stage (`TRACK/STAGE`), or one track's stages
    /// (up to `through`, if given), or every stage of the course.
    pub fn selection(
        &self,
        track: Option<&str>,
        through: Option<&str>,
        stage: Option<&str>,
    ) -> Result<Vec<(&Track, Vec<usize>)>, CourseError> {
        if let Some(reference) = stage {
            let at = self.resolve(reference)?;
            return Ok(vec![(&self.tracks[at.track], vec![at.stage])]);
        }
        let tracks: Vec<&Track> = match track {
            Some(id) => vec![self.track(id)?],
            None => self.tracks.iter().collect(),
        };
        let mut out = Vec::new();
        for track in tracks {
            let last = match through {
                Some(id) => track.stage_index(id)?,
                None => track.stages.len().saturating_sub(1),
            };
            out.push((track, (0..=last).take(track.stages.len()).collect()));
        }
        Ok(out)
    }

    /// The track and stage behind a reference.
    pub fn get(&self, at: StageRef) -> Option<(&Track, &Stage)> {
        let track = self.tracks.get(at.track)?;
        Some((track, track.stages.get(at.stage)?))
    }

    /// The learner's crate of a track.
    pub fn crate_dir(&self, track: &Track) -> PathBuf {
        self.root.join("exercises").join(&track.id)
    }

    /// The pristine start of a track's crate.
    pub fn start_dir(&self, track: &Track) -> PathBuf {
        self.root.join("course").join(&track.id).join("start")
    }

    /// A stage's folder (stage.toml, brief.md, tests.rs).
    pub fn stage_dir(&self, track: &Track, stage: &Stage) -> PathBuf {
        self.root.join("course").join(&track.id).join(&stage.id)
    }

    /// The reference solution of a stage.
    pub fn solution_dir(&self, track: &Track, stage: &Stage) -> PathBuf {
        self.root.join("solutions").join(&track.id).join(&stage.id)
    }

    /// katas' own folder in the course: progress, backups, build directory.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".katas")
    }

    /// The build directory katas uses for every track, so dependencies build once and katas never
    /// waits for rust-analyzer's lock on the crate's own `target/` (nor it for katas').
    pub fn target_dir(&self) -> PathBuf {
        self.state_dir().join("target")
    }

    /// The build directory of scratch crates (`verify`, `dev check`). Kept apart from the
    /// learner's: a scratch copy has the same package name as the learner's crate, so in one
    /// build directory their artifacts would share names, and cargo could take one for the other.
    pub fn scratch_target_dir(&self) -> PathBuf {
        self.state_dir().join("target-scratch")
    }

    /// A path shown relative to the course root, for messages.
    pub fn display_path<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }
}

impl Track {
    /// The index of the stage with this id, or an error that lists the valid ones.
    pub fn stage_index(&self, id: &str) -> Result<usize, CourseError> {
        self.stages
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| CourseError::UnknownStage {
                track: self.id.clone(),
                given: id.to_owned(),
                valid: self.stages.iter().map(|s| s.id.clone()).collect(),
            })
    }
}

impl Stage {
    /// The ladder written for one test, if the stage has one.
    pub fn test_ladder(&self, test: &str) -> Option<&TestLadder> {
        self.test_hints.iter().find(|l| l.test == test)
    }
}
