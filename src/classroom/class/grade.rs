//! Grading one fetched submission: the one place the class grader calls `verify`, and the turn
//! of its report into the class's verdicts.
//!
//! `verify` grades from trusted parts: the stages, tests, manifests and lock files come from the
//! reference, only the learner's `src/` from the submission, built and run in the job slot's own
//! grader folder (in the sandbox, unless the teacher turned it off).

use std::fs;
use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::results::{CellStatus, GradedTest, SelfReported, StageGrade};
use crate::classroom::report::StageReport;
use crate::classroom::{
    GradeError, Grader, Reference, StageStatus, VerifyOptions, VerifyReport, parse_report,
    strip_ansi, verify,
};
use crate::course::Course;
use crate::layout;
use crate::progress::ProgressStore;
use crate::runner::TestStatus;

/// What a failing test's output is cut to in the class's grades.
const MAX_TEST_OUTPUT: usize = 4 * 1024;

/// The file a learner hands in their own report in (`katas report --format json`).
pub const SELF_REPORT_FILE: &str = "katas-report.json";

/// Called as each track's grading starts: (tracks done, tracks in all).
pub type OnTrack = std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>;

/// How one submission is graded, beyond the grader's own settings.
#[derive(Clone)]
pub struct SubmissionSettings {
    /// Caps each stage's build and test run.
    pub stage_time_limit: Option<Duration>,
    /// Cancelled when the learner's own time limit runs out.
    pub cancel: CancellationToken,
    /// Told as each track starts, for a progress display.
    pub on_track: Option<OnTrack>,
}

/// Grades a submission (a course folder the teacher owns) against the reference, track by track,
/// with the job slot's grader. This is the only call of [`verify`] in the class grader.
pub async fn grade_submission(
    grader: &Grader,
    submission_dir: &Path,
    reference: &Reference,
    settings: &SubmissionSettings,
) -> Result<VerifyReport, GradeError> {
    let tracks = reference.course.tracks.len();
    let mut report: Option<VerifyReport> = None;
    for (done, track) in reference.course.tracks.iter().enumerate() {
        if let Some(on_track) = &settings.on_track {
            on_track(done, tracks);
        }
        let options = VerifyOptions {
            track: Some(track.id.clone()),
            stage_time_limit: settings.stage_time_limit,
            cancel: Some(settings.cancel.clone()),
            ..VerifyOptions::default()
        };
        let part = verify(grader, submission_dir, reference, &options).await?;
        report = Some(match report {
            None => part,
            Some(mut all) => {
                all.passed += part.passed;
                all.failed += part.failed;
                all.stages.extend(part.stages);
                all
            }
        });
    }
    // A reference with no track is refused when it loads; an empty report is still a report.
    match report {
        Some(report) => Ok(report),
        None => {
            let options = VerifyOptions::default();
            verify(grader, submission_dir, reference, &options).await
        }
    }
}

/// Which stages the learner had reached: those whose tests are installed in their crate. Read
/// before grading; it only tells "failed" from "not reached", never makes a pass.
pub fn reached_stages(submission_dir: &Path, reference: &Course) -> Vec<String> {
    let mut reached = Vec::new();
    for track in &reference.tracks {
        let crate_dir = submission_dir.join("exercises").join(&track.id);
        for stage in &track.stages {
            if layout::stage_test_path(&crate_dir, stage).is_file() {
                reached.push(format!("{}/{}", track.id, stage.id));
            }
        }
    }
    reached
}

/// The class's verdicts from verify's report, one per stage of the reference, in course order.
pub fn verdicts(report: &VerifyReport, reference: &Course, reached: &[String]) -> Vec<StageGrade> {
    let mut out = Vec::new();
    for track in &reference.tracks {
        for stage in &track.stages {
            let key = format!("{}/{}", track.id, stage.id);
            let Some(verdict) = report
                .stages
                .iter()
                .find(|v| v.track == track.id && v.stage == stage.id)
            else {
                out.push(error_grade(&track.id, &stage.id, "katas did not grade it"));
                continue;
            };
            let status = match verdict.status {
                StageStatus::Passed => CellStatus::Passed,
                StageStatus::Tampered => CellStatus::Tampered,
                StageStatus::Error => CellStatus::Error,
                StageStatus::Failed if reached.contains(&key) => CellStatus::Failed,
                StageStatus::Failed => CellStatus::NotReached,
            };
            let tests = verdict
                .tests
                .iter()
                .map(|t| GradedTest {
                    name: t.name.clone(),
                    status: t.status,
                    output: if matches!(t.status, TestStatus::Failed | TestStatus::DidNotFinish) {
                        cut(&strip_ansi(&t.output))
                    } else {
                        String::new()
                    },
                })
                .collect();
            out.push(StageGrade {
                track: track.id.clone(),
                stage: stage.id.clone(),
                status,
                tests_passed: verdict.tests_passed,
                tests_failed: verdict.tests_failed,
                duration_ms: verdict.duration_ms,
                reason: verdict.reason.as_deref().map(|r| cut(&strip_ansi(r))),
                tests,
            });
        }
    }
    out
}

/// Every stage of the reference as an error, for a learner katas could not grade at all.
pub fn all_errors(reference: &Course, reason: &str) -> Vec<StageGrade> {
    reference
        .tracks
        .iter()
        .flat_map(|t| {
            t.stages
                .iter()
                .map(move |s| error_grade(&t.id, &s.id, reason))
        })
        .collect()
}

fn error_grade(track: &str, stage: &str, reason: &str) -> StageGrade {
    StageGrade {
        track: track.to_owned(),
        stage: stage.to_owned(),
        status: CellStatus::Error,
        tests_passed: 0,
        tests_failed: 0,
        duration_ms: 0,
        reason: Some(reason.to_owned()),
        tests: Vec::new(),
    }
}

/// Text cut at [`MAX_TEST_OUTPUT`] bytes (on a character boundary), saying so.
fn cut(text: &str) -> String {
    if text.len() <= MAX_TEST_OUTPUT {
        return text.to_owned();
    }
    let mut end = MAX_TEST_OUTPUT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[cut at {} KiB]", &text[..end], MAX_TEST_OUTPUT / 1024)
}

/// What the learner's own progress says, stage by stage: their handed-in `katas-report.json`,
/// else a committed `.katas/state.toml`. Self-reported: it is shown as such and never graded.
pub fn self_reported(submission_dir: &Path, reference: &Course) -> Option<Vec<SelfReported>> {
    let handed_in = submission_dir.join(SELF_REPORT_FILE);
    let stages: Vec<StageReport> = if handed_in.is_file() {
        let text = fs::read_to_string(&handed_in).ok()?;
        parse_report(&text).ok()?.stages
    } else {
        let store = ProgressStore::in_state_dir(&submission_dir.join(".katas"));
        if !store.path().is_file() {
            return None;
        }
        let progress = store.load().ok()?;
        crate::classroom::learner_report(reference, &progress, "", jiff::Timestamp::UNIX_EPOCH)
            .stages
    };
    // Only the reference's stages, in its order; a stage the file lacks is untouched.
    let mut out = Vec::new();
    for track in &reference.tracks {
        for stage in &track.stages {
            let found = stages
                .iter()
                .find(|s| s.track == track.id && s.stage == stage.id);
            out.push(SelfReported {
                track: track.id.clone(),
                stage: stage.id.clone(),
                attempts: found.map_or(0, |f| f.attempts),
                hint_rungs: found.map_or(0, |f| f.hint_rungs),
                nudges: found.map_or(0, |f| f.nudges),
                lints_met: found.map(|f| f.lints_met.clone()).unwrap_or_default(),
                lints_fixed: found.map(|f| f.lints_fixed.clone()).unwrap_or_default(),
                ladders: found.map(|f| f.ladders.clone()).unwrap_or_default(),
            });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_is_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_TEST_OUTPUT);
        let out = cut(&text);
        assert!(out.len() < text.len() && out.ends_with("[cut at 4 KiB]"));
        assert_eq!(cut("short"), "short");
    }
}
