//! The learner's actions - run, hint, next, reset, switch track - on top of the course, the
//! crate layout, the runner, the hint engine and progress. The CLI and the TUI both call these,
//! so a learner gets the same behaviour from either.

use std::path::PathBuf;

use jiff::Timestamp;

use crate::course::{Course, Stage, StageRef, Track};
use crate::hints::{self, Decision, Ladder, RunSummary};
use crate::layout;
use crate::progress::{Progress, ProgressError, ProgressStore};
use crate::runner::{RunOutcome, RunRequest, Verdict};

/// Why a learner's action could not be done.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Progress(#[from] ProgressError),
    #[error(transparent)]
    Course(#[from] crate::course::CourseError),
    #[error("cannot prepare the crate {}", path.display())]
    Layout {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "stage `{track}/{stage}` is locked: pass `{track}/{current}` first\n    \
         fix: run the current stage (`katas run`), or `katas list` to see where you are"
    )]
    Locked {
        track: String,
        stage: String,
        current: String,
    },
}

/// A learner's session with a course: the course, and their progress, saved after every change.
pub struct Session {
    pub course: Course,
    pub progress: Progress,
    store: ProgressStore,
    /// The stages whose tests the last [`Session::enter`] brought up to date with the course.
    tests_updated: Vec<String>,
    /// The tracks whose test files this session has brought up to date (once each is enough).
    tests_checked: std::collections::BTreeSet<usize>,
}

/// What `next` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advance {
    /// The next stage's tests are installed; it is now the working stage.
    Moved(StageRef),
    /// The working stage has not passed yet.
    NotPassed(StageRef),
    /// Every stage of the track has passed.
    TrackDone,
}

/// The answer to a request for help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HintAnswer {
    pub ladder: Ladder,
    /// The rungs shown before this request.
    pub shown_before: usize,
    pub decision: Decision,
}

impl Session {
    /// Opens the session of a course: loads the course and the learner's progress.
    pub fn open(course: Course) -> Result<Self, SessionError> {
        let store = ProgressStore::in_state_dir(&course.state_dir());
        let progress = store.load()?;
        Ok(Self {
            course,
            progress,
            store,
            tests_updated: Vec::new(),
            tests_checked: std::collections::BTreeSet::new(),
        })
    }

    /// Applies a change to the progress on disk (under its lock, so what another katas on this
    /// course recorded meanwhile is kept) and refreshes the copy in memory. The track this
    /// session works on stays its own unless the change moves it: a `katas run` of another track
    /// does not switch the watch screen open beside it.
    pub fn change<T>(
        &mut self,
        change: impl FnOnce(&mut Progress) -> T,
    ) -> Result<T, SessionError> {
        let mine = self.progress.current_track.clone();
        let (mut progress, (answer, ours)) = self.store.update(|p| {
            // The change sees this session's track; the file keeps its own unless it moved.
            let on_disk = std::mem::replace(&mut p.current_track, mine.clone());
            let answer = change(p);
            let ours = p.current_track.clone();
            if ours == mine && on_disk.is_some() {
                p.current_track = on_disk;
            }
            (answer, ours)
        })?;
        progress.current_track = ours;
        self.progress = progress;
        Ok(answer)
    }

    pub fn store(&self) -> &ProgressStore {
        &self.store
    }

    /// The stage the learner works on in their current track.
    pub fn working(&self) -> StageRef {
        self.working_in(self.progress.working_track(&self.course))
    }

    /// The working stage of a given track.
    pub fn working_in(&self, track: usize) -> StageRef {
        let stage = self
            .course
            .tracks
            .get(track)
            .map_or(0, |t| self.progress.working_stage(t));
        StageRef { track, stage }
    }

    pub fn track(&self, at: StageRef) -> &Track {
        &self.course.tracks[at.track]
    }

    pub fn stage(&self, at: StageRef) -> &Stage {
        &self.course.tracks[at.track].stages[at.stage]
    }

    /// Whether a stage may be run: passed, or the working stage.
    pub fn is_reached(&self, at: StageRef) -> bool {
        at.stage <= self.working_in(at.track).stage
    }

    /// Resolves a `TRACK/STAGE` argument to a stage the learner has reached.
    pub fn reached(&self, reference: &str) -> Result<StageRef, SessionError> {
        let at = self.course.resolve(reference)?;
        if !self.is_reached(at) {
            let track = self.track(at);
            return Err(SessionError::Locked {
                track: track.id.clone(),
                stage: track.stages[at.stage].id.clone(),
                current: track.stages[self.working_in(at.track).stage].id.clone(),
            });
        }
        Ok(at)
    }

    /// Makes a track current and its crate ready: created if missing, reached tests installed.
    pub fn enter(&mut self, track: usize) -> Result<StageRef, SessionError> {
        let at = self.working_in(track);
        let track_ref = &self.course.tracks[track];
        let layout_error = |source| SessionError::Layout {
            path: self.course.crate_dir(track_ref),
            source,
        };
        self.tests_updated = if self.tests_checked.insert(track) {
            layout::update_tests(&self.course, track_ref, at.stage).map_err(layout_error)?
        } else {
            Vec::new()
        };
        layout::install_tests(&self.course, track_ref, at.stage).map_err(layout_error)?;
        let id = track_ref.id.clone();
        let stage_id = track_ref.stages[at.stage].id.clone();
        let changed = self.progress.current_track.as_deref() != Some(id.as_str())
            || self
                .progress
                .track(&id)
                .and_then(|t| t.current_stage.as_deref())
                != Some(stage_id.as_str());
        if changed {
            self.change(|p| {
                p.current_track = Some(id.clone());
                p.track_mut(&id).current_stage = Some(stage_id);
            })?;
        }
        Ok(at)
    }

    /// The request that runs a stage: its crate, the shared build folder, its limits and test
    /// threads.
    pub fn run_request(&self, at: StageRef) -> RunRequest {
        let track = self.track(at);
        let mut request = RunRequest::for_stage(
            &self.course.crate_dir(track),
            &self.course.target_dir(),
            self.stage(at),
        );
        request.prefetch = true;
        request
    }

    /// The request that runs clippy on a stage's crate: the stage's crate, clippy's own build
    /// folder (so it never waits for nor invalidates the test build).
    pub fn clippy_request(&self, at: StageRef) -> RunRequest {
        let mut request = self.run_request(at);
        request.target_dir = self.course.state_dir().join(crate::runner::CLIPPY_TARGET);
        request
    }

    /// Adds what clippy and rustfmt found after a pass to the last run's facts, so `katas hint`
    /// asks about the first lint (nothing when the last run was of another stage); and, when
    /// clippy ran to its end, records in progress which catalog lints the learner's code met
    /// and which of those it no longer has (fixed).
    pub fn record_style(
        &mut self,
        at: StageRef,
        report: &crate::runner::ClippyReport,
        fmt_clean: Option<bool>,
    ) -> Result<(), SessionError> {
        let (track, stage) = (self.track(at).id.clone(), self.stage(at).id.clone());
        if let Some(mut summary) = self
            .load_summary()
            .filter(|s| s.track == track && s.stage == stage)
        {
            summary.lints = report.lints.iter().map(hints::LintFound::from).collect();
            summary.fmt_clean = fmt_clean;
            self.save_summary(&summary);
        }
        if report.end != crate::runner::ClippyEnd::Finished {
            return Ok(());
        }
        let mut found: Vec<String> = report
            .lints
            .iter()
            .filter(|l| hints::lint_lookup(&l.lint).is_some())
            .map(|l| l.lint.clone())
            .collect();
        found.dedup();
        self.change(|p| p.record_lints(&track, &stage, &found))
    }

    /// Records the pass of a strict stage whose tests passed (recorded as a run already) once
    /// clippy finds it clean. Returns whether it passed for the first time.
    pub fn record_strict_pass(&mut self, at: StageRef) -> Result<bool, SessionError> {
        let (track, stage) = (self.track(at).id.clone(), self.stage(at).id.clone());
        let now = Timestamp::now();
        self.change(|p| {
            let first = !p.is_passed(&track, &stage);
            p.record_pass(&track, &stage, now);
            first
        })
    }

    /// What to tell the learner about the stages whose tests the last [`Session::enter`]
    /// replaced with the course's newer ones (the learner's copies were still katas'), if any.
    pub fn tests_updated_note(&self) -> Option<String> {
        (!self.tests_updated.is_empty()).then(|| {
            format!(
                "The course has changed the tests of: {}. Your copies in tests/stages/ were the ones katas had installed, so they now hold the new tests.",
                self.tests_updated.join(", ")
            )
        })
    }

    /// Stages whose test files in the learner's crate differ from the course's.
    pub fn edited_tests(&self, at: StageRef) -> Vec<String> {
        let track = self.track(at);
        layout::edited_tests(&self.course.crate_dir(track), track, at.stage, |s| {
            Some(s.tests.clone())
        })
        .into_iter()
        .map(|s| s.id.clone())
        .collect()
    }

    /// Records a finished run: an attempt (if the sources changed), a pass, the facts hints need.
    /// Returns whether the stage passed for the first time.
    pub fn record_run(&mut self, at: StageRef, outcome: &RunOutcome) -> Result<bool, SessionError> {
        if outcome.verdict == Verdict::Cancelled {
            return Ok(false);
        }
        let track = &self.course.tracks[at.track];
        let stage = &track.stages[at.stage];
        let (track_id, stage_id) = (track.id.clone(), stage.id.clone());
        let crate_dir = self.course.crate_dir(track);
        let fingerprint = layout::sources_fingerprint(&crate_dir).unwrap_or_default();
        let order: Vec<&str> = track.stages.iter().map(|s| s.id.as_str()).collect();
        let summary = RunSummary::from_outcome(&track_id, &stage_id, outcome, &order);
        let now = Timestamp::now();
        let passed = outcome.verdict == Verdict::Passed;
        // Saved after the summary, whatever happens to the save: a full disk that refuses the
        // progress must not also cost the hints their facts.
        self.save_summary(&summary);
        let newly_passed = self.change(|p| {
            p.record_run(&track_id, &stage_id, &fingerprint, now);
            let newly_passed = passed && !p.is_passed(&track_id, &stage_id);
            if passed {
                p.record_pass(&track_id, &stage_id, now);
            }
            newly_passed
        })?;
        Ok(newly_passed)
    }

    /// Moves the track on to its next stage, if the working stage has passed.
    pub fn advance(&mut self, track: usize) -> Result<Advance, SessionError> {
        let at = self.working_in(track);
        let track_ref = &self.course.tracks[track];
        if !self
            .progress
            .is_passed(&track_ref.id, &track_ref.stages[at.stage].id)
        {
            return Ok(Advance::NotPassed(at));
        }
        if at.stage + 1 >= track_ref.stages.len() {
            return Ok(Advance::TrackDone);
        }
        let next = StageRef {
            track,
            stage: at.stage + 1,
        };
        let (id, stage_id) = (
            track_ref.id.clone(),
            track_ref.stages[next.stage].id.clone(),
        );
        self.change(|p| {
            p.track_mut(&id).current_stage = Some(stage_id);
            p.current_track = Some(id);
        })?;
        self.enter(track)?;
        Ok(Advance::Moved(next))
    }

    /// The ladder for the working stage's latest failure, and whether its next rung may open.
    pub fn hint(&self, at: StageRef, stuck: bool) -> HintAnswer {
        let track = self.track(at);
        let stage = self.stage(at);
        let summary = self.load_summary();
        let ladder = hints::choose(
            stage,
            &track.stages[..at.stage],
            summary.as_ref().filter(|s| s.track == track.id),
        );
        let (shown, last_attempt) =
            hints::shown_rungs(&self.progress, &track.id, &stage.id, &ladder.key);
        let attempts = self
            .progress
            .stage(&track.id, &stage.id)
            .map_or(0, |s| s.attempts);
        let decision = hints::decide(&ladder, shown, last_attempt, attempts, stuck);
        HintAnswer {
            ladder,
            shown_before: shown,
            decision,
        }
    }

    /// Records that a rung was shown.
    pub fn record_hint(
        &mut self,
        at: StageRef,
        ladder: &Ladder,
        index: usize,
        forced: bool,
    ) -> Result<(), SessionError> {
        let (track, stage) = (self.track(at).id.clone(), self.stage(at).id.clone());
        let now = Timestamp::now();
        self.change(|p| hints::record(p, &track, &stage, ladder, index, forced, now))
    }

    /// Puts a track's crate in the start state of a stage (backing the learner's crate up first)
    /// and makes that stage the working one. Passes of that stage and later ones are cleared:
    /// their code is what was reset. Returns the backup folder.
    pub fn reset(&mut self, at: StageRef) -> Result<Option<PathBuf>, SessionError> {
        let track = &self.course.tracks[at.track];
        let saved = layout::reset(&self.course, track, at.stage).map_err(|source| {
            SessionError::Layout {
                path: self.course.crate_dir(track),
                source,
            }
        })?;
        let id = track.id.clone();
        let later: Vec<String> = track.stages[at.stage..]
            .iter()
            .map(|s| s.id.clone())
            .collect();
        let stage_id = track.stages[at.stage].id.clone();
        self.change(|p| {
            let progress = p.track_mut(&id);
            progress.current_stage = Some(stage_id);
            progress.last_sources = None;
            for stage in later {
                if let Some(record) = progress.stages.get_mut(&stage) {
                    record.passed_at = None;
                }
            }
            p.current_track = Some(id);
        })?;
        Ok(saved)
    }

    fn summary_path(&self) -> PathBuf {
        self.course.state_dir().join("last-run.json")
    }

    /// The last run is a cache for hints: losing it costs only the precision of the next hint,
    /// so a failure to write or read it is not an error, and it is not synced to disk (that
    /// would cost every run a flush).
    fn save_summary(&self, summary: &RunSummary) {
        if let Ok(json) = serde_json::to_vec_pretty(summary) {
            let _ = std::fs::write(self.summary_path(), json);
        }
    }

    pub fn load_summary(&self) -> Option<RunSummary> {
        // Only a regular file: reading a FIFO left there would wait forever.
        if !std::fs::metadata(self.summary_path()).is_ok_and(|m| m.is_file()) {
            return None;
        }
        let bytes = std::fs::read(self.summary_path()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}
