//! `katas verify`: runs stages of a learner's crate against the trusted tests, whatever the
//! learner's progress, and reports each stage as passed, failed, tampered or error.
//!
//! The learner's crate is copied to a scratch folder, its `tests/stages/` replaced by the trusted
//! tests, and built there: nothing in the learner's checkout is changed, and nothing they wrote
//! in their copy of the tests counts.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::Reference;
use crate::course::{Course, CourseError, Stage, Track};
use crate::layout::{self, Base};
use crate::runner::{self, RunOutcome, RunRequest, TestStatus, Verdict};

/// Which stages to verify.
#[derive(Debug, Default, Clone)]
pub struct VerifyOptions {
    /// Only this track.
    pub track: Option<String>,
    /// Only stages up to this one (with `track`).
    pub through: Option<String>,
    /// Only this one stage, as TRACK/STAGE.
    pub stage: Option<String>,
    /// Where the scratch crates and their build folder go. Default: `<course>/.katas`. The class
    /// grader gives each of its job slots one outside every learner's tree, so dependencies are
    /// built once per slot, not once per learner.
    pub work_dir: Option<PathBuf>,
    /// A cap on each run's build time and on each stage's share of the test time (the course's
    /// own `time_limit_secs` otherwise, and a generous build limit).
    pub stage_time_limit: Option<Duration>,
    /// Cancels the runs under way (the class grader's per-learner limit): their process groups
    /// are killed and the stages not judged yet are errors.
    pub cancel: Option<CancellationToken>,
}

/// A verified stage's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Passed,
    Failed,
    /// The learner's copy of the stage's tests differs from the trusted copy.
    Tampered,
    /// katas could not judge the stage (a missing reference, cargo not runnable).
    Error,
}

/// One stage's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct StageVerdict {
    pub track: String,
    pub stage: String,
    pub status: StageStatus,
    pub tests_passed: usize,
    pub tests_failed: usize,
    /// The wall time of the run that judged the stage (stages judged together share one run).
    pub duration_ms: u64,
    /// Why it failed or errored, in words (not in the JSON: JUnit carries the details).
    #[serde(skip)]
    pub reason: Option<String>,
    #[serde(skip)]
    pub tests: Vec<runner::TestResult>,
}

/// The whole verification.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub stages: Vec<StageVerdict>,
    pub passed: usize,
    pub failed: usize,
}

impl VerifyReport {
    fn new(stages: Vec<StageVerdict>) -> Self {
        let passed = stages
            .iter()
            .filter(|s| s.status == StageStatus::Passed)
            .count();
        Self {
            failed: stages.len() - passed,
            passed,
            stages,
        }
    }

    pub fn any(&self, status: StageStatus) -> bool {
        self.stages.iter().any(|s| s.status == status)
    }
}

/// Verifies the chosen stages of a course's learner crates.
pub async fn verify(
    course: &Course,
    reference: &Reference,
    options: &VerifyOptions,
) -> Result<VerifyReport, CourseError> {
    let mut verdicts = Vec::new();
    for (track, stages) in course.selection(
        options.track.as_deref(),
        options.through.as_deref(),
        options.stage.as_deref(),
    )? {
        verdicts.extend(verify_track(course, reference, options, track, &stages).await);
    }
    Ok(VerifyReport::new(verdicts))
}

async fn verify_track(
    course: &Course,
    reference: &Reference,
    options: &VerifyOptions,
    track: &Track,
    stages: &[usize],
) -> Vec<StageVerdict> {
    let crate_dir = course.crate_dir(track);
    let mut verdicts: Vec<Option<StageVerdict>> = vec![None; stages.len()];
    // Stages whose trusted tests are missing are errors; the rest are graded.
    let mut graded = Vec::new();
    for (slot, &index) in stages.iter().enumerate() {
        let stage = &track.stages[index];
        if reference.tests(track, stage).is_none() {
            let reason = format!(
                "no trusted copy of `{}/{}`'s tests in {}",
                track.id,
                stage.id,
                reference.describe()
            );
            verdicts[slot] = Some(error(track, stage, reason));
        } else {
            graded.push((slot, index));
        }
    }
    if !crate_dir.join("Cargo.toml").exists() {
        for (slot, index) in graded {
            let reason = format!("the learner's crate {} is missing", crate_dir.display());
            verdicts[slot] = Some(error(track, &track.stages[index], reason));
        }
        return verdicts.into_iter().flatten().collect();
    }
    let edited: Vec<String> = layout::edited_tests(
        &crate_dir,
        track,
        stages.iter().copied().max().unwrap_or(0),
        |s| reference.tests(track, s),
    )
    .into_iter()
    .map(|s| s.id.clone())
    .collect();

    // One build for every graded stage first; if it does not compile (a later stage's API is
    // missing), each stage on its own, so an unfinished stage never fails a finished one.
    let indices: Vec<usize> = graded.iter().map(|(_, i)| *i).collect();
    let together = run_stages(course, reference, options, track, &indices).await;
    let separately = !matches!(&together, Ok(o) if o.verdict != Verdict::CompileError && o.verdict != Verdict::BuildError);
    for (slot, index) in graded {
        let stage = &track.stages[index];
        let outcome = if separately {
            run_stages(course, reference, options, track, &[index]).await
        } else {
            together.clone()
        };
        let mut verdict = match outcome {
            Ok(outcome) => judge(track, stage, &outcome),
            Err(reason) => error(track, stage, reason),
        };
        if edited.contains(&stage.id) {
            verdict.status = StageStatus::Tampered;
            verdict.reason = Some(format!(
                "the learner changed exercises/{}/tests/stages/{}.rs; graded with {} instead",
                track.id,
                stage.id,
                reference.describe()
            ));
        }
        verdicts[slot] = Some(verdict);
    }
    verdicts.into_iter().flatten().collect()
}

/// Builds and runs the trusted tests of `stages` against the learner's code, in a scratch crate.
async fn run_stages(
    course: &Course,
    reference: &Reference,
    options: &VerifyOptions,
    track: &Track,
    stages: &[usize],
) -> Result<RunOutcome, String> {
    let work = options
        .work_dir
        .clone()
        .unwrap_or_else(|| course.state_dir());
    let scratch: PathBuf = work.join("verify").join(&track.id);
    let trusted = reference.dependency_root(course).map_err(|err| {
        format!("cannot prepare the trusted copies of the course's crates: {err}")
    })?;
    let base = Base::Learner {
        dir: course.crate_dir(track),
        deps_home: trusted.join("exercises").join(&track.id),
    };
    let upto = stages.iter().copied().max().unwrap_or(0);
    let chosen: Vec<&str> = stages
        .iter()
        .map(|&i| track.stages[i].id.as_str())
        .collect();
    // Stages not chosen get an empty module, so only the chosen stages' tests compile and run.
    let tests_of = |stage: &Stage| {
        if chosen.contains(&stage.id.as_str()) {
            reference.tests(track, stage).unwrap_or_default()
        } else {
            String::new()
        }
    };
    layout::assemble(course, track, &base, upto, tests_of, &scratch)
        .map_err(|err| format!("cannot prepare a scratch copy of the learner's crate: {err}"))?;
    let cap = |limit: Duration| options.stage_time_limit.map_or(limit, |cap| limit.min(cap));
    let limit: Duration = stages
        .iter()
        .map(|&i| cap(track.stages[i].time_limit))
        .sum();
    let target = match &options.work_dir {
        Some(work) => work.join("target"),
        None => course.scratch_target_dir(),
    };
    let mut request = RunRequest::new(&scratch, &target, limit);
    request.build_time_limit = cap(request.build_time_limit);
    match &options.cancel {
        Some(cancel) => runner::run(&request, cancel, None)
            .await
            .map_err(|err| format!("{err:#}")),
        None => runner::run_to_end(&request).await,
    }
}

fn judge(track: &Track, stage: &Stage, outcome: &RunOutcome) -> StageVerdict {
    let prefix = format!("{}::", stage.id);
    let tests: Vec<runner::TestResult> = outcome
        .tests
        .iter()
        .filter(|t| t.name.starts_with(&prefix))
        .cloned()
        .collect();
    let passed = tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .count();
    let mut failed = tests
        .iter()
        .filter(|t| matches!(t.status, TestStatus::Failed | TestStatus::DidNotFinish))
        .count();
    if tests.is_empty() {
        // Nothing ran (it did not compile): every test of the stage counts as failed.
        failed = stage.test_names.len();
    }
    let (status, reason) = match outcome.verdict {
        Verdict::CompileError => {
            let errors: Vec<String> = outcome
                .errors()
                .take(3)
                .map(|e| strip(&e.rendered))
                .collect();
            (
                StageStatus::Failed,
                Some(format!("does not compile:\n{}", errors.join("\n"))),
            )
        }
        Verdict::BuildError => (
            StageStatus::Failed,
            Some(format!(
                "cargo could not build it:\n{}",
                outcome.build_output.trim()
            )),
        ),
        Verdict::Cancelled => (StageStatus::Error, Some("the run was cancelled".to_owned())),
        _ if tests.is_empty() => (
            StageStatus::Failed,
            Some("none of the stage's tests ran".to_owned()),
        ),
        _ if failed == 0 && passed > 0 => (StageStatus::Passed, None),
        Verdict::TimedOut => (
            StageStatus::Failed,
            Some(format!(
                "stopped at the time limit of {}s",
                outcome.time_limit.as_secs()
            )),
        ),
        _ => (
            StageStatus::Failed,
            Some(format!("{failed} of {} tests failed", tests.len())),
        ),
    };
    StageVerdict {
        track: track.id.clone(),
        stage: stage.id.clone(),
        status,
        tests_passed: passed,
        tests_failed: failed,
        duration_ms: u64::try_from((outcome.build_time + outcome.test_time).as_millis())
            .unwrap_or(u64::MAX),
        reason,
        tests,
    }
}

fn error(track: &Track, stage: &Stage, reason: String) -> StageVerdict {
    StageVerdict {
        track: track.id.clone(),
        stage: stage.id.clone(),
        status: StageStatus::Error,
        tests_passed: 0,
        tests_failed: 0,
        duration_ms: 0,
        reason: Some(reason),
        tests: Vec::new(),
    }
}

/// Text without ANSI colours, for reports that are not terminals.
pub fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_stripped() {
        assert_eq!(
            strip("\u{1b}[0m\u{1b}[1m\u{1b}[38;5;9merror[E0382]\u{1b}[0m: moved"),
            "error[E0382]: moved"
        );
    }
}
