//! The progress model, as it is kept on disk (`.katas/state.toml`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::course::{Course, Track};

/// The version of the progress file this katas writes. Older versions are read and upgraded; a
/// newer one is refused (never overwritten) because this katas would drop what it doesn't know.
///
/// Version 2 added `hint_failures` to stages (a version 1 file reads as having none); version 3
/// added `lints_met`, `lints_open` and `lints_fixed` (an older file reads as having met none).
pub const PROGRESS_VERSION: u32 = 3;

fn upgrade_version<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    u32::deserialize(deserializer).map(|found| found.max(PROGRESS_VERSION))
}

/// A pause between two runs longer than this is not counted as time spent on a stage: the learner
/// was away, not thinking.
const ACTIVE_GAP_SECS: i64 = 15 * 60;

/// Everything katas remembers of a learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// Read as this katas' version: a file of an older version is upgraded in memory and
    /// written back as the current one (the store refuses newer versions before this).
    #[serde(deserialize_with = "upgrade_version")]
    pub version: u32,
    /// The track the learner works on; `None` before the first command.
    pub current_track: Option<String>,
    #[serde(default)]
    pub tracks: BTreeMap<String, TrackProgress>,
}

/// The learner's progress on one track.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackProgress {
    /// The stage whose tests are installed last: the one `run` works on.
    pub current_stage: Option<String>,
    /// A fingerprint of the crate's sources at the last run, to tell a new attempt from a rerun.
    pub last_sources: Option<String>,
    #[serde(default)]
    pub stages: BTreeMap<String, StageProgress>,
}

/// The learner's progress on one stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageProgress {
    pub passed_at: Option<Timestamp>,
    /// Runs with changed sources: each one is a new attempt.
    #[serde(default)]
    pub attempts: u32,
    /// Every run, reruns included.
    #[serde(default)]
    pub runs: u32,
    pub first_run_at: Option<Timestamp>,
    pub last_run_at: Option<Timestamp>,
    /// Time spent between runs, pauses longer than a quarter hour left out.
    #[serde(default)]
    pub active_secs: u64,
    #[serde(default)]
    pub hints: Vec<HintRecord>,
    /// For each ladder shown (by its `HintRecord::ladder` key), the failures it was shown for,
    /// in a line each, oldest first, each once: e.g. "E0382 at src/lib.rs:19: use of moved
    /// value: `entry`". A class report can tell from it which failures hints did not help with.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hint_failures: BTreeMap<String, Vec<String>>,
    /// The catalog's clippy lints the learner's code met on this stage (after a pass), each
    /// once, in the order first met: a class report tells from them which idioms a class
    /// struggles with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lints_met: Vec<String>,
    /// The lints clippy's latest complete run on this stage found: what is still to fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lints_open: Vec<String>,
    /// Lints met in one clippy run and absent from a later one on this stage: the learner fixed
    /// them (a lint met again leaves this list until it is fixed again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lints_fixed: Vec<String>,
}

/// One hint rung shown to the learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HintRecord {
    /// Which ladder: `stage`, `test:<name>`, `error:<code>`, `new:<name>` (a name the stage
    /// introduces) or `failing:<stage::test>` (a failing test without a ladder of its own).
    pub ladder: String,
    /// The rung, from 1.
    pub rung: u32,
    pub at: Timestamp,
    /// The attempt count when it was shown: the next rung waits for a later attempt.
    pub attempt: u32,
    /// Opened by "I'm stuck" before a new attempt.
    #[serde(default)]
    pub forced: bool,
    /// The ladder's last rung: the concrete nudge.
    #[serde(default)]
    pub last: bool,
}

/// Where a stage stands for the learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Passed,
    Current,
    Locked,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            version: PROGRESS_VERSION,
            current_track: None,
            tracks: BTreeMap::new(),
        }
    }
}

impl Progress {
    /// The progress of a track (empty if the learner has not started it).
    pub fn track(&self, track: &str) -> Option<&TrackProgress> {
        self.tracks.get(track)
    }

    pub fn track_mut(&mut self, track: &str) -> &mut TrackProgress {
        self.tracks.entry(track.to_owned()).or_default()
    }

    pub fn stage(&self, track: &str, stage: &str) -> Option<&StageProgress> {
        self.tracks.get(track)?.stages.get(stage)
    }

    pub fn stage_mut(&mut self, track: &str, stage: &str) -> &mut StageProgress {
        self.track_mut(track)
            .stages
            .entry(stage.to_owned())
            .or_default()
    }

    pub fn is_passed(&self, track: &str, stage: &str) -> bool {
        self.stage(track, stage)
            .is_some_and(|s| s.passed_at.is_some())
    }

    /// Passed stages are passed; the first stage not passed is current; the rest are locked.
    pub fn status(&self, track: &Track, stage_index: usize) -> StageStatus {
        let first_open = track
            .stages
            .iter()
            .position(|s| !self.is_passed(&track.id, &s.id));
        match track.stages.get(stage_index) {
            Some(stage) if self.is_passed(&track.id, &stage.id) => StageStatus::Passed,
            _ if first_open == Some(stage_index) => StageStatus::Current,
            _ => StageStatus::Locked,
        }
    }

    /// The index of the stage the learner works on in a track: the recorded one, else the first.
    pub fn working_stage(&self, track: &Track) -> usize {
        self.track(&track.id)
            .and_then(|t| t.current_stage.as_deref())
            .and_then(|id| track.stages.iter().position(|s| s.id == id))
            .unwrap_or(0)
    }

    /// The track the learner works on: the recorded one if the course still has it, else the
    /// first.
    pub fn working_track(&self, course: &Course) -> usize {
        self.current_track
            .as_deref()
            .and_then(|id| course.tracks.iter().position(|t| t.id == id))
            .unwrap_or(0)
    }

    /// Records a run of a stage at `now`: a new attempt when the sources changed since the last.
    pub fn record_run(&mut self, track: &str, stage: &str, sources: &str, now: Timestamp) -> bool {
        let progress = self.track_mut(track);
        let changed = progress.last_sources.as_deref() != Some(sources);
        progress.last_sources = Some(sources.to_owned());
        let record = self.stage_mut(track, stage);
        if let Some(last) = record.last_run_at {
            let gap = now.as_second() - last.as_second();
            if (0..=ACTIVE_GAP_SECS).contains(&gap) {
                record.active_secs += gap.unsigned_abs();
            }
        }
        record.first_run_at.get_or_insert(now);
        record.last_run_at = Some(now);
        record.runs += 1;
        // The very first run counts as an attempt: the learner's start state is their first try.
        if changed || record.attempts == 0 {
            record.attempts += 1;
        }
        changed
    }

    /// Records a complete clippy run on a stage that found `found` (catalog lints, by name):
    /// new ones are met; those of the run before that are gone now are fixed.
    pub fn record_lints(&mut self, track: &str, stage: &str, found: &[String]) {
        let record = self.stage_mut(track, stage);
        for lint in found {
            if !record.lints_met.contains(lint) {
                record.lints_met.push(lint.clone());
            }
        }
        let before = std::mem::take(&mut record.lints_open);
        for lint in before {
            if !found.contains(&lint) && !record.lints_fixed.contains(&lint) {
                record.lints_fixed.push(lint);
            }
        }
        record.lints_fixed.retain(|lint| !found.contains(lint));
        for lint in found {
            if !record.lints_open.contains(lint) {
                record.lints_open.push(lint.clone());
            }
        }
    }

    /// Records that a stage passed (the first time only: the date a stage was passed stays).
    pub fn record_pass(&mut self, track: &str, stage: &str, now: Timestamp) {
        self.stage_mut(track, stage).passed_at.get_or_insert(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_file_reads_and_is_written_back_as_the_current_version() {
        let v1 = r#"
version = 1
current_track = "kv"

[tracks.kv.stages.memory]
attempts = 2

[[tracks.kv.stages.memory.hints]]
ladder = "stage"
rung = 1
at = "2027-01-15T08:00:00Z"
attempt = 1
"#;
        let mut progress: Progress = toml::from_str(v1).unwrap();
        assert_eq!(progress.version, PROGRESS_VERSION);
        let stage = progress.stage_mut("kv", "memory");
        assert_eq!(stage.hints.len(), 1);
        assert!(stage.hint_failures.is_empty());
        stage.hint_failures.insert(
            "stage".into(),
            vec!["every test of `memory` fails (3)".into()],
        );
        let written = toml::to_string(&progress).unwrap();
        assert!(
            written.contains(&format!("version = {PROGRESS_VERSION}")),
            "{written}"
        );
        let back: Progress = toml::from_str(&written).unwrap();
        assert_eq!(back, progress);
    }

    #[test]
    fn a_version_2_file_reads_as_having_met_no_lints() {
        let v2 = r#"
version = 2
current_track = "kv"

[tracks.kv.stages.memory]
attempts = 2

[tracks.kv.stages.memory.hint_failures]
stage = ["every test of `memory` fails (3)"]
"#;
        let progress: Progress = toml::from_str(v2).unwrap();
        assert_eq!(progress.version, PROGRESS_VERSION);
        let stage = progress.stage("kv", "memory").unwrap();
        assert_eq!(stage.attempts, 2);
        assert_eq!(stage.hint_failures.len(), 1);
        assert!(stage.lints_met.is_empty() && stage.lints_fixed.is_empty());
    }

    #[test]
    fn a_lint_met_then_gone_is_fixed_and_met_again_is_open() {
        let lints = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        let mut p = Progress::default();
        p.record_lints("kv", "log", &lints(&["ptr_arg", "unwrap_used"]));
        p.record_lints("kv", "log", &lints(&["unwrap_used"]));
        let s = p.stage("kv", "log").unwrap();
        assert_eq!(s.lints_met, lints(&["ptr_arg", "unwrap_used"]));
        assert_eq!(s.lints_fixed, lints(&["ptr_arg"]));
        assert_eq!(s.lints_open, lints(&["unwrap_used"]));
        p.record_lints("kv", "log", &lints(&["ptr_arg"]));
        let s = p.stage("kv", "log").unwrap();
        assert_eq!(s.lints_fixed, lints(&["unwrap_used"]), "ptr_arg is back");
        let written = toml::to_string(&p).unwrap();
        let back: Progress = toml::from_str(&written).unwrap();
        assert_eq!(back, p);
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn a_rerun_without_changes_is_not_a_new_attempt() {
        let mut p = Progress::default();
        assert!(p.record_run("kv", "memory", "a", at(0)));
        assert!(!p.record_run("kv", "memory", "a", at(10)));
        assert!(p.record_run("kv", "memory", "b", at(20)));
        let s = p.stage("kv", "memory").unwrap();
        assert_eq!((s.runs, s.attempts), (3, 2));
    }

    #[test]
    fn long_pauses_do_not_count_as_time_spent() {
        let mut p = Progress::default();
        p.record_run("kv", "memory", "a", at(0));
        p.record_run("kv", "memory", "b", at(120));
        p.record_run("kv", "memory", "c", at(120 + 3 * 3600));
        p.record_run("kv", "memory", "d", at(120 + 3 * 3600 + 60));
        assert_eq!(p.stage("kv", "memory").unwrap().active_secs, 180);
    }

    #[test]
    fn the_first_pass_date_is_kept() {
        let mut p = Progress::default();
        p.record_pass("kv", "memory", at(5));
        p.record_pass("kv", "memory", at(50));
        assert_eq!(p.stage("kv", "memory").unwrap().passed_at, Some(at(5)));
    }
}
