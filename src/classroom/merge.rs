//! `katas report --merge`: many learners' JSON reports into one class table: who passed what, the
//! stages where the class needed most help, and the median attempts per stage.
//!
//! Each file is checked first ([`input`]); nothing is merged while one is bad, so a table is never
//! silently incomplete. The numbers are computed here, the renderings are in [`render`].

pub(crate) mod hint_help;
mod input;
pub(crate) mod lints;
mod render;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use input::{BadReport, MergeError, parse_report, read_reports};

use super::report::{LearnerReport, Standing};
use crate::course::Course;

/// The `format` tag of the merged JSON.
pub const CLASS_FORMAT: &str = "katas-class-report";

/// The version of the merged JSON this katas writes.
pub const CLASS_VERSION: u32 = 1;

/// A learner's name longer than this is cut in the table.
const MAX_NAME_CHARS: usize = 80;

/// How many stages the "needed most help" list names.
const MOST_HELP: usize = 3;

/// The class: every learner's standing on every stage, and each stage's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    pub format: &'static str,
    pub version: u32,
    pub course: String,
    /// In alphabetical order.
    pub learners: Vec<LearnerRow>,
    /// In course order.
    pub stages: Vec<StageSummary>,
    /// The stages where the class needed most help, most first (see [`merge`]).
    pub most_help: Vec<String>,
    /// The clippy lints the class met, the ones most learners still have first: which idioms
    /// the class struggles with.
    pub lints: Vec<lints::LintStruggle>,
    /// The hint ladders that helped least: shown, then the nudge needed or no pass since.
    pub hints_not_helping: Vec<hint_help::HintMiss>,
}

/// One learner's row of the class table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LearnerRow {
    pub learner: String,
    /// The report file it came from.
    pub file: PathBuf,
    pub passed: usize,
    /// In course order.
    pub stages: Vec<LearnerStage>,
}

/// One learner on one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LearnerStage {
    /// `track/stage`.
    pub stage: String,
    pub status: Standing,
    pub attempts: u32,
    pub hint_rungs: u32,
    pub nudges: u32,
    pub active_secs: u64,
}

/// The class's numbers for one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageSummary {
    pub track: String,
    pub stage: String,
    pub title: String,
    pub passed: usize,
    /// Learners who ran the stage or asked for help with it.
    pub started: usize,
    /// The median of the attempts of the learners who started the stage.
    pub median_attempts: Option<f64>,
    /// Learners who were shown at least one rung (the nudge included).
    pub hinted: usize,
    /// Learners who were shown a final nudge.
    pub nudged: usize,
    pub hint_rungs: u64,
    pub nudges: u64,
    /// The median active time of the learners who started the stage.
    pub median_active_secs: Option<f64>,
}

impl StageSummary {
    pub fn key(&self) -> String {
        format!("{}/{}", self.track, self.stage)
    }
}

/// A merged class report, and what the teacher should know about the inputs.
#[derive(Debug, Clone)]
pub struct Merged {
    pub class: ClassReport,
    /// Things merged anyway, said once: a stage the course no longer has, a name used twice.
    pub warnings: Vec<String>,
}

/// Merges checked reports into the class report of `course`, its stages in course order.
///
/// The stages where the class needed most help are those where the most learners took the final
/// nudge, then where the most learners asked for any hint, then with the highest median attempts.
/// Learners count once each, so one learner who asked for every rung does not outweigh a class.
pub fn merge(course: &Course, reports: Vec<(PathBuf, LearnerReport)>) -> Merged {
    let mut warnings = Vec::new();
    let keys: Vec<(String, String, String)> = course
        .tracks
        .iter()
        .flat_map(|t| {
            t.stages
                .iter()
                .map(|s| (t.id.clone(), s.id.clone(), s.title.clone()))
        })
        .collect();
    let names = learner_names(&reports, &mut warnings);
    let lints = lints::lint_struggles(&reports);
    let hints_not_helping = hint_help::hint_misses(&reports);
    let mut learners: Vec<LearnerRow> = Vec::new();
    for ((file, report), learner) in reports.into_iter().zip(names) {
        let by_key: BTreeMap<String, _> = report.stages.iter().map(|s| (s.key(), s)).collect();
        let unknown: Vec<&String> = by_key
            .keys()
            .filter(|k| !keys.iter().any(|(t, s, _)| **k == format!("{t}/{s}")))
            .collect();
        if !unknown.is_empty() {
            warnings.push(format!(
                "{}: stage(s) {} are not in this course (a report of another version of it?); \
                 they are left out",
                file.display(),
                unknown
                    .iter()
                    .map(|k| format!("`{}`", printable(k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let stages: Vec<LearnerStage> = keys
            .iter()
            .map(|(t, s, _)| {
                let key = format!("{t}/{s}");
                match by_key.get(&key) {
                    Some(stage) => LearnerStage {
                        stage: key,
                        status: stage.status,
                        attempts: stage.attempts,
                        hint_rungs: stage.hint_rungs,
                        nudges: stage.nudges,
                        active_secs: stage.active_secs,
                    },
                    None => LearnerStage {
                        stage: key,
                        status: Standing::NotStarted,
                        attempts: 0,
                        hint_rungs: 0,
                        nudges: 0,
                        active_secs: 0,
                    },
                }
            })
            .collect();
        learners.push(LearnerRow {
            passed: stages
                .iter()
                .filter(|s| s.status == Standing::Passed)
                .count(),
            learner,
            file,
            stages,
        });
    }
    learners.sort_by(|a, b| {
        (a.learner.to_lowercase(), &a.file).cmp(&(b.learner.to_lowercase(), &b.file))
    });
    let stages: Vec<StageSummary> = keys
        .iter()
        .enumerate()
        .map(|(i, (track, stage, title))| summarise(track, stage, title, &learners, i))
        .collect();
    let most_help = most_help(&stages);
    Merged {
        class: ClassReport {
            format: CLASS_FORMAT,
            version: CLASS_VERSION,
            course: course.name.clone(),
            learners,
            stages,
            most_help,
            lints,
            hints_not_helping,
        },
        warnings,
    }
}

/// Each report's learner name; a name used by two files gets the file's name beside it.
fn learner_names(reports: &[(PathBuf, LearnerReport)], warnings: &mut Vec<String>) -> Vec<String> {
    let stem = |file: &Path| {
        file.file_stem().map_or_else(
            || file.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    };
    let names: Vec<String> = reports
        .iter()
        .map(|(file, r)| {
            let name = printable(&r.learner);
            let name = name.trim();
            if name.is_empty() {
                stem(file)
            } else {
                name.to_owned()
            }
        })
        .collect();
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let twins: Vec<usize> = (0..names.len()).filter(|&j| names[j] == *name).collect();
        if twins.len() > 1 {
            if twins[0] == i {
                let files: Vec<String> = twins
                    .iter()
                    .map(|&j| reports[j].0.display().to_string())
                    .collect();
                warnings.push(format!(
                    "{} reports are from `{name}` ({}); each is shown with its file's name \
                     (pass --learner NAME when making reports to tell learners apart)",
                    twins.len(),
                    files.join(", ")
                ));
            }
            out.push(format!("{name} ({})", stem(&reports[i].0)));
        } else {
            out.push(name.clone());
        }
    }
    out
}

/// A name as learners wrote it, made safe to print: no control characters (a terminal would run
/// an escape sequence), no line breaks, and not longer than a table column should be.
pub(super) fn printable(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_NAME_CHARS)
        .collect()
}

fn summarise(
    track: &str,
    stage: &str,
    title: &str,
    learners: &[LearnerRow],
    index: usize,
) -> StageSummary {
    let cells: Vec<&LearnerStage> = learners
        .iter()
        .filter_map(|l| l.stages.get(index))
        .collect();
    let started: Vec<&&LearnerStage> = cells
        .iter()
        .filter(|c| c.status != Standing::NotStarted)
        .collect();
    StageSummary {
        track: track.to_owned(),
        stage: stage.to_owned(),
        title: title.to_owned(),
        passed: cells
            .iter()
            .filter(|c| c.status == Standing::Passed)
            .count(),
        started: started.len(),
        median_attempts: median(started.iter().map(|c| u64::from(c.attempts)).collect()),
        hinted: cells.iter().filter(|c| c.hint_rungs + c.nudges > 0).count(),
        nudged: cells.iter().filter(|c| c.nudges > 0).count(),
        hint_rungs: cells.iter().map(|c| u64::from(c.hint_rungs)).sum(),
        nudges: cells.iter().map(|c| u64::from(c.nudges)).sum(),
        median_active_secs: median(started.iter().map(|c| c.active_secs).collect()),
    }
}

/// The middle value (the mean of the two middle ones for an even count); `None` for no values.
pub fn median(mut values: Vec<u64>) -> Option<f64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2] as f64),
        _ => Some((values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0),
    }
}

fn most_help(stages: &[StageSummary]) -> Vec<String> {
    ranked_by_help(stages, |s| (s.nudged, s.hinted, s.median_attempts))
        .into_iter()
        .map(StageSummary::key)
        .collect()
}

/// The stages where the class needed most help, at most [`MOST_HELP`]: most learners nudged,
/// then most hinted, then the highest median attempts; course order breaks ties. Stages nobody
/// asked help on are left out. `help` gives a stage's (nudged, hinted, median attempts); the
/// class grader's report ranks its own stage figures the same way.
pub(crate) fn ranked_by_help<T>(
    stages: &[T],
    help: impl Fn(&T) -> (usize, usize, Option<f64>),
) -> Vec<&T> {
    let mut ranked: Vec<(usize, &T)> = stages
        .iter()
        .enumerate()
        .filter(|(_, s)| help(s).1 > 0)
        .collect();
    ranked.sort_by(|(i, a), (j, b)| {
        let ((a_nudged, a_hinted, a_median), (b_nudged, b_hinted, b_median)) = (help(a), help(b));
        b_nudged
            .cmp(&a_nudged)
            .then(b_hinted.cmp(&a_hinted))
            .then(b_median.unwrap_or(0.0).total_cmp(&a_median.unwrap_or(0.0)))
            .then(i.cmp(j))
    });
    ranked.into_iter().take(MOST_HELP).map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_report_files_cannot_drive_the_terminal() {
        assert_eq!(printable("Ada\u{1b}[2J\nLovelace"), "Ada [2J Lovelace");
        assert_eq!(printable(&"x".repeat(500)).len(), MAX_NAME_CHARS);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![6, 2, 4]), Some(4.0));
        assert_eq!(median(vec![3, 1]), Some(2.0));
        assert_eq!(median(vec![1, 2, 3, 10]), Some(2.5));
    }
}
