//! `katas report`: one learner's progress, stage by stage: where they stand, when they passed,
//! how many attempts it took, how much help they asked for, and how long they worked on it.
//!
//! The JSON rendering is the machine format: learners (or a CI job) hand it in, and
//! `katas report --merge` reads many of them into a class table. It carries a format tag and a
//! version so that merge can refuse what is not a report, or is from a newer katas.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::table::{self, Table};
use super::verify::StageStatus;
use crate::course::Course;
use crate::progress::{Progress, StageProgress};

/// The `format` tag of a learner's JSON report.
pub const REPORT_FORMAT: &str = "katas-report";

/// The version of the report's JSON this katas writes (and the newest it reads).
pub const REPORT_VERSION: u32 = 1;

/// The renderings of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Text,
    Json,
    Csv,
    Markdown,
}

/// Where a learner stands on a stage, as a teacher sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Passed,
    /// Run or asked for help at least once, not passed.
    InProgress,
    NotStarted,
}

impl Standing {
    /// The id, as in the JSON: `passed`, `in_progress`, `not_started`.
    pub fn id(self) -> &'static str {
        match self {
            Standing::Passed => "passed",
            Standing::InProgress => "in_progress",
            Standing::NotStarted => "not_started",
        }
    }

    /// The words, for people.
    pub fn word(self) -> &'static str {
        match self {
            Standing::Passed => "passed",
            Standing::InProgress => "in progress",
            Standing::NotStarted => "not started",
        }
    }

    /// A mark for the class table: short enough for a column per stage.
    pub fn mark(self) -> &'static str {
        match self {
            Standing::Passed => "✓",
            Standing::InProgress => "…",
            Standing::NotStarted => "",
        }
    }
}

/// One learner's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnerReport {
    /// Always [`REPORT_FORMAT`]: what tells a report from any other JSON file.
    pub format: String,
    pub version: u32,
    /// The course's name, from its `info.toml`.
    pub course: String,
    pub learner: String,
    pub generated_at: Timestamp,
    /// Every stage of the course, in course order.
    pub stages: Vec<StageReport>,
}

/// Where a stage's claim comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimSource {
    /// The learner's own `.katas/state.toml`: self-reported, and trivially written by hand.
    #[default]
    ProgressFile,
    /// A `katas verify` verdict (its JSON, given with `--verified`).
    Verify,
}

impl ClaimSource {
    /// The words, for people.
    pub fn word(self) -> &'static str {
        match self {
            ClaimSource::ProgressFile => "self-reported",
            ClaimSource::Verify => "verified",
        }
    }
}

/// One stage of a learner's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageReport {
    pub track: String,
    pub stage: String,
    #[serde(default)]
    pub title: String,
    pub status: Standing,
    /// When the stage first passed.
    pub passed_at: Option<Timestamp>,
    /// Runs with changed code.
    pub attempts: u32,
    /// Every run, reruns included.
    pub runs: u32,
    /// Hint rungs shown, the final nudges not counted.
    pub hint_rungs: u32,
    /// Final nudges shown: the last rung of a ladder, the one that tells rather than asks.
    pub nudges: u32,
    /// Rungs opened with "I'm stuck", before a new attempt.
    pub stuck: u32,
    /// Time between runs, pauses of more than a quarter hour left out.
    pub active_secs: u64,
    /// Where `status` comes from: the learner's progress file, or a `verify` verdict.
    #[serde(default)]
    pub source: ClaimSource,
    /// The `verify` verdict, when one was given for this stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<StageStatus>,
    /// The catalog's clippy lints the learner's code met on this stage (after passes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lints_met: Vec<String>,
    /// Of those, the ones a later clippy run no longer found: fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lints_fixed: Vec<String>,
    /// Each hint ladder the learner was shown on this stage, and whether it helped: a class
    /// report tells from them where hints did not help.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ladders: Vec<LadderUse>,
}

/// One hint ladder as one learner met it on one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderUse {
    /// The ladder's key: `stage`, `test:<name>`, `error:<code>`, `new:<name>`, `failing:<test>`.
    pub ladder: String,
    /// The highest rung shown, from 1.
    pub rungs: u32,
    /// The last rung - the concrete nudge - was shown.
    pub nudged: bool,
    /// The failures it was shown for, oldest first (e.g. "E0382 at src/lib.rs:19: ...").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    /// The questions were enough: the stage passed after the ladder was shown, and without its
    /// nudge.
    pub helped: bool,
}

impl StageReport {
    /// `track/stage`, the way every katas command names a stage.
    pub fn key(&self) -> String {
        format!("{}/{}", self.track, self.stage)
    }
}

/// The sums over a report's stages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub stages: usize,
    pub passed: usize,
    pub attempts: u64,
    pub hint_rungs: u64,
    pub nudges: u64,
    pub active_secs: u64,
}

/// The report of a learner's progress through a course, every stage in course order.
pub fn learner_report(
    course: &Course,
    progress: &Progress,
    learner: &str,
    now: Timestamp,
) -> LearnerReport {
    let mut stages = Vec::new();
    for track in &course.tracks {
        for stage in &track.stages {
            let record = progress.stage(&track.id, &stage.id);
            stages.push(stage_report(&track.id, &stage.id, &stage.title, record));
        }
    }
    LearnerReport {
        format: REPORT_FORMAT.to_owned(),
        version: REPORT_VERSION,
        course: course.name.clone(),
        learner: learner.to_owned(),
        generated_at: now,
        stages,
    }
}

fn stage_report(
    track: &str,
    stage: &str,
    title: &str,
    record: Option<&StageProgress>,
) -> StageReport {
    let default = StageProgress::default();
    let record = record.unwrap_or(&default);
    // A rung shown twice (after a reset, say) is one rung of help.
    let distinct = |last: bool| -> u32 {
        let rungs: BTreeSet<(&str, u32)> = record
            .hints
            .iter()
            .filter(|h| h.last == last)
            .map(|h| (h.ladder.as_str(), h.rung))
            .collect();
        u32::try_from(rungs.len()).unwrap_or(u32::MAX)
    };
    let status = if record.passed_at.is_some() {
        Standing::Passed
    } else if record.runs > 0 || record.attempts > 0 || !record.hints.is_empty() {
        Standing::InProgress
    } else {
        Standing::NotStarted
    };
    StageReport {
        track: track.to_owned(),
        stage: stage.to_owned(),
        title: title.to_owned(),
        status,
        passed_at: record.passed_at,
        attempts: record.attempts,
        runs: record.runs,
        hint_rungs: distinct(false),
        nudges: distinct(true),
        stuck: u32::try_from(record.hints.iter().filter(|h| h.forced).count()).unwrap_or(u32::MAX),
        active_secs: record.active_secs,
        source: ClaimSource::ProgressFile,
        verified: None,
        lints_met: record.lints_met.clone(),
        lints_fixed: record.lints_fixed.clone(),
        ladders: ladder_uses(record),
    }
}

/// The ladders of a stage's hints, in the order first shown.
fn ladder_uses(record: &StageProgress) -> Vec<LadderUse> {
    // One pass over the hints: per ladder, in the order first shown, its highest rung, whether
    // its nudge was shown, and when it was last shown.
    let mut seen: Vec<(&str, u32, bool, Timestamp)> = Vec::new();
    for hint in &record.hints {
        match seen.iter_mut().find(|(ladder, ..)| *ladder == hint.ladder) {
            Some((_, rungs, nudged, last)) => {
                *rungs = (*rungs).max(hint.rung);
                *nudged |= hint.last;
                *last = (*last).max(hint.at);
            }
            None => seen.push((&hint.ladder, hint.rung, hint.last, hint.at)),
        }
    }
    seen.into_iter()
        .map(|(ladder, rungs, nudged, last)| LadderUse {
            ladder: ladder.to_owned(),
            rungs,
            nudged,
            failures: record
                .hint_failures
                .get(ladder)
                .cloned()
                .unwrap_or_default(),
            helped: !nudged && record.passed_at.is_some_and(|pass| pass >= last),
        })
        .collect()
}

impl LearnerReport {
    /// Replaces the self-reported standing of each stage `verdicts` names with its `verify`
    /// verdict: a stage is passed only if verify passed it; a stage the progress file claims but
    /// verify failed is in progress, and its claimed pass time is dropped.
    pub fn apply_verdicts(&mut self, verdicts: &[(String, String, StageStatus)]) {
        for stage in &mut self.stages {
            let Some((_, _, status)) = verdicts
                .iter()
                .find(|(t, s, _)| *t == stage.track && *s == stage.stage)
            else {
                continue;
            };
            stage.source = ClaimSource::Verify;
            stage.verified = Some(*status);
            if *status == StageStatus::Passed {
                stage.status = Standing::Passed;
            } else {
                stage.passed_at = None;
                if stage.status == Standing::Passed {
                    stage.status = Standing::InProgress;
                }
            }
        }
    }

    pub fn totals(&self) -> Totals {
        let mut totals = Totals {
            stages: self.stages.len(),
            ..Totals::default()
        };
        for stage in &self.stages {
            totals.passed += usize::from(stage.status == Standing::Passed);
            totals.attempts += u64::from(stage.attempts);
            totals.hint_rungs += u64::from(stage.hint_rungs);
            totals.nudges += u64::from(stage.nudges);
            totals.active_secs += stage.active_secs;
        }
        totals
    }

    /// The report in a format, ending with a newline.
    pub fn render(&self, format: TableFormat) -> Result<String, serde_json::Error> {
        Ok(match format {
            TableFormat::Json => serde_json::to_string_pretty(self)? + "\n",
            TableFormat::Csv => self.csv_table().csv(),
            TableFormat::Text => format!(
                "{}: {}\n\n{}\n{}\n{}",
                self.learner,
                self.course,
                self.table().text(),
                self.summary(),
                self.lints("  ")
            ),
            TableFormat::Markdown => format!(
                "# {}: {}\n\n{}\n{}\n{}",
                self.learner.replace(['\r', '\n'], " "),
                self.course,
                self.table().markdown(),
                self.summary(),
                self.lints("- ")
            ),
        })
    }

    /// The table a person reads: one row per stage.
    fn table(&self) -> Table {
        let mut table = Table::new(
            &[
                "Stage",
                "Status",
                "Passed at",
                "Attempts",
                "Hint rungs",
                "Nudges",
                "Active time",
                "Source",
            ],
            &[false, false, false, true, true, true, true, false],
        );
        for stage in &self.stages {
            let started = stage.status != Standing::NotStarted;
            let count = |n: u32| if started { n.to_string() } else { "-".into() };
            table.rows.push(vec![
                stage.key(),
                stage.status.word().to_owned(),
                stage.passed_at.map_or("-".to_owned(), |at| {
                    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
                }),
                count(stage.attempts),
                count(stage.hint_rungs),
                count(stage.nudges),
                if started {
                    table::duration(stage.active_secs)
                } else {
                    "-".into()
                },
                stage.source.word().to_owned(),
            ]);
        }
        table
    }

    /// The table a spreadsheet reads: plain numbers, full timestamps, and the course and learner
    /// on every row so that many learners' files can be concatenated.
    fn csv_table(&self) -> Table {
        let mut table = Table::new(
            &[
                "course",
                "learner",
                "track",
                "stage",
                "status",
                "passed_at",
                "attempts",
                "runs",
                "hint_rungs",
                "nudges",
                "stuck",
                "active_secs",
                "source",
            ],
            &[],
        );
        for stage in &self.stages {
            table.rows.push(vec![
                self.course.clone(),
                self.learner.clone(),
                stage.track.clone(),
                stage.stage.clone(),
                stage.status.id().to_owned(),
                stage.passed_at.map(|at| at.to_string()).unwrap_or_default(),
                stage.attempts.to_string(),
                stage.runs.to_string(),
                stage.hint_rungs.to_string(),
                stage.nudges.to_string(),
                stage.stuck.to_string(),
                stage.active_secs.to_string(),
                stage.source.word().to_owned(),
            ]);
        }
        table
    }

    /// The clippy lints met, by stage, the fixed ones marked: which idioms the learner met.
    /// Empty when clippy questioned nothing.
    fn lints(&self, bullet: &str) -> String {
        let mut out = String::new();
        for stage in self.stages.iter().filter(|s| !s.lints_met.is_empty()) {
            let lints: Vec<String> = stage
                .lints_met
                .iter()
                .map(|lint| {
                    let fixed = if stage.lints_fixed.contains(lint) {
                        " (fixed)"
                    } else {
                        ""
                    };
                    format!("clippy::{lint}{fixed}")
                })
                .collect();
            out.push_str(&format!("{bullet}{}: {}\n", stage.key(), lints.join(", ")));
        }
        if out.is_empty() {
            return out;
        }
        format!("\nclippy lints met after a pass:\n{out}")
    }

    fn summary(&self) -> String {
        let t = self.totals();
        format!(
            "{} of {} passed; {}, {} and {}; {} of active time.\n\
             Active time counts the time between runs, leaving out pauses of more than 15 minutes.",
            t.passed,
            table::plural(t.stages as u64, "stage"),
            table::plural(t.attempts, "attempt"),
            table::plural(t.hint_rungs, "hint rung"),
            table::plural(t.nudges, "final nudge"),
            table::duration(t.active_secs)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::HintRecord;

    fn hint(ladder: &str, rung: u32, last: bool, forced: bool) -> HintRecord {
        HintRecord {
            ladder: ladder.into(),
            rung,
            at: Timestamp::from_second(1_800_000_000).unwrap(),
            attempt: 1,
            forced,
            last,
        }
    }

    #[test]
    fn nudges_are_counted_apart_from_the_rungs_before_them() {
        let record = StageProgress {
            attempts: 3,
            runs: 4,
            active_secs: 90,
            hints: vec![
                hint("stage", 1, false, false),
                hint("stage", 2, false, true),
                // Shown again after a reset: still one rung of help.
                hint("stage", 2, false, false),
                hint("stage", 4, true, true),
                hint("test:counts", 1, false, false),
                hint("test:counts", 2, true, false),
            ],
            ..StageProgress::default()
        };
        let report = stage_report("counter", "count", "Counting", Some(&record));
        assert_eq!(report.status, Standing::InProgress);
        assert_eq!((report.hint_rungs, report.nudges, report.stuck), (3, 2, 2));
        assert_eq!(
            (report.attempts, report.runs, report.active_secs),
            (3, 4, 90)
        );
    }

    #[test]
    fn a_ladder_helped_when_the_stage_passed_after_it_without_its_nudge() {
        let at = |second| Timestamp::from_second(second).unwrap();
        let shown = |ladder: &str, rung, last, second| HintRecord {
            at: at(second),
            ..hint(ladder, rung, last, false)
        };
        let record = StageProgress {
            hints: vec![
                shown("error:E0382", 1, false, 1_800_000_000),
                shown("test:remove", 1, false, 1_800_000_100),
                shown("test:remove", 3, true, 1_800_000_200),
                // Shown after the pass: it can't have helped that pass.
                shown("stage", 1, false, 1_800_000_400),
            ],
            hint_failures: [(
                "test:remove".to_owned(),
                vec!["assertion failed at tests/stages/log.rs:40".to_owned()],
            )]
            .into_iter()
            .collect(),
            passed_at: Some(at(1_800_000_300)),
            ..StageProgress::default()
        };
        let report = stage_report("kv", "log", "", Some(&record));
        let got: Vec<(&str, u32, bool, bool)> = report
            .ladders
            .iter()
            .map(|u| (u.ladder.as_str(), u.rungs, u.nudged, u.helped))
            .collect();
        assert_eq!(
            got,
            [
                ("error:E0382", 1, false, true),
                ("test:remove", 3, true, false),
                ("stage", 1, false, false),
            ]
        );
        assert_eq!(
            report.ladders[1].failures,
            ["assertion failed at tests/stages/log.rs:40"]
        );
    }

    #[test]
    fn the_lints_met_show_by_stage_with_the_fixed_ones_marked() {
        let record = StageProgress {
            runs: 2,
            lints_met: vec!["ptr_arg".into(), "unwrap_used".into()],
            lints_fixed: vec!["ptr_arg".into()],
            ..StageProgress::default()
        };
        let report = LearnerReport {
            format: REPORT_FORMAT.into(),
            version: REPORT_VERSION,
            course: "c".into(),
            learner: "ada".into(),
            generated_at: Timestamp::from_second(1_800_000_000).unwrap(),
            stages: vec![
                stage_report("kv", "log", "Log", Some(&record)),
                stage_report("kv", "server", "Server", None),
            ],
        };
        let text = report.render(TableFormat::Text).unwrap();
        assert!(
            text.contains(
                "clippy lints met after a pass:\n  kv/log: clippy::ptr_arg (fixed), clippy::unwrap_used\n"
            ),
            "{text}"
        );
        assert!(!text.contains("kv/server:"), "{text}");
        let json = report.render(TableFormat::Json).unwrap();
        let back: LearnerReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report, "the JSON carries them to report --merge");
    }

    #[test]
    fn a_stage_never_touched_is_not_started_and_a_passed_one_passed() {
        assert_eq!(
            stage_report("t", "s", "", None).status,
            Standing::NotStarted
        );
        let passed = StageProgress {
            passed_at: Some(Timestamp::from_second(1_800_000_000).unwrap()),
            ..StageProgress::default()
        };
        assert_eq!(
            stage_report("t", "s", "", Some(&passed)).status,
            Standing::Passed
        );
    }

    #[test]
    fn the_json_round_trips_with_its_format_tag() {
        let report = LearnerReport {
            format: REPORT_FORMAT.into(),
            version: REPORT_VERSION,
            course: "Mini course".into(),
            learner: "Ada".into(),
            generated_at: Timestamp::from_second(1_800_000_000).unwrap(),
            stages: vec![stage_report("counter", "count", "Counting", None)],
        };
        let json = report.render(TableFormat::Json).unwrap();
        assert!(json.contains(r#""format": "katas-report""#), "{json}");
        assert!(json.contains(r#""status": "not_started""#), "{json}");
        let back: LearnerReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }
}
