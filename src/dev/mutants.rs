//! `katas dev mutants`: proves a stage's tests reject plausible wrong solutions ("mutants") and
//! accept independent correct ones ("alternatives"), each a patch against the stage's reference
//! solution listed in its `mutants.toml`.
//!
//! Speed matters (a course has a hundred variants or more): the variants of one track are built
//! one after the other in ONE scratch crate folder (`.katas/mutants/<track>`) with ONE build
//! folder (`.katas/target-mutants`), so dependencies stay built and each variant recompiles only
//! the track's crate and its test binary. Only the stage's tests and earlier stages' run. A
//! file lock per track (`.katas/mutants/<track>.lock`) keeps a second run on the same track out
//! of the scratch folder until the first is done.

mod lock;
mod manifest;
mod patch;
mod report;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use lock::LockError;
pub use manifest::{MANIFEST, PATCH_FOLDERS, StageVariants, Variant, VariantKind};
pub use patch::PatchError;
pub use report::to_text;

use crate::course::{Course, CourseError, Track};
use crate::layout::{self, Base};
use crate::runner::{self, RunOutcome, RunRequest, Verdict};

/// At most this many failing tests are named for a killed mutant or a rejected alternative.
const TESTS_NAMED: usize = 3;

/// Which stages to prove.
#[derive(Debug, Default, Clone)]
pub struct MutantsOptions {
    pub track: Option<String>,
    /// One stage, as TRACK/STAGE.
    pub stage: Option<String>,
}

/// What happened to one variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A mutant the tests failed on (in every run).
    Killed,
    /// A mutant that passed the tests (in at least one run).
    Survived,
    /// A mutant that does not compile against the tests: it proves nothing.
    DidNotCompile,
    /// An alternative that passed.
    Accepted,
    /// An alternative that failed (or did not build).
    Rejected,
    /// The patch does not apply to the reference solution.
    PatchFailed,
    /// Not run: the stage's reference solution itself does not pass.
    NotRun,
}

impl Outcome {
    /// Whether this outcome is what the course wants.
    pub fn is_good(self) -> bool {
        matches!(self, Outcome::Killed | Outcome::Accepted)
    }
}

/// One variant's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VariantResult {
    pub name: String,
    pub kind: VariantKind,
    /// The bug or the design.
    pub description: String,
    pub outcome: Outcome,
    /// Why: the tests that killed a mutant or rejected an alternative, the compiler's error, the
    /// patch's problem.
    pub detail: Option<String>,
    pub runs: u32,
    pub elapsed_ms: u64,
}

/// One stage's results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageResult {
    pub track: String,
    pub stage: String,
    /// Whether the stage has a `mutants.toml` at all.
    pub has_manifest: bool,
    /// Problems that stop the stage's variants from being judged (a bad manifest, a reference
    /// that fails).
    pub problems: Vec<String>,
    pub variants: Vec<VariantResult>,
    pub elapsed_ms: u64,
}

impl StageResult {
    fn count(&self, kind: VariantKind, outcome: Option<Outcome>) -> usize {
        self.variants
            .iter()
            .filter(|v| v.kind == kind && outcome.is_none_or(|o| v.outcome == o))
            .count()
    }

    pub fn mutants(&self) -> usize {
        self.count(VariantKind::Mutant, None)
    }

    pub fn killed(&self) -> usize {
        self.count(VariantKind::Mutant, Some(Outcome::Killed))
    }

    pub fn alternatives(&self) -> usize {
        self.count(VariantKind::Alternative, None)
    }

    pub fn accepted(&self) -> usize {
        self.count(VariantKind::Alternative, Some(Outcome::Accepted))
    }

    pub fn is_sound(&self) -> bool {
        self.problems.is_empty() && self.variants.iter().all(|v| v.outcome.is_good())
    }

    /// Every failure, one line each, for `dev check`'s list of problems.
    pub fn failures(&self) -> Vec<String> {
        let mut out = self.problems.clone();
        for v in self.variants.iter().filter(|v| !v.outcome.is_good()) {
            let what = match v.outcome {
                Outcome::Survived => format!("mutant `{}` survived ({})", v.name, v.description),
                Outcome::DidNotCompile => format!(
                    "mutant `{}` does not compile against the tests, so it proves nothing",
                    v.name
                ),
                Outcome::Rejected => format!(
                    "alternative `{}` is rejected ({}): the tests ask for more than the brief",
                    v.name, v.description
                ),
                Outcome::PatchFailed => format!("the patch of `{}` does not apply", v.name),
                // Said once, in the stage's problems: its reference does not pass.
                Outcome::Killed | Outcome::Accepted | Outcome::NotRun => continue,
            };
            match &v.detail {
                Some(detail) => out.push(format!("{what}:\n{}", indent(detail))),
                None => out.push(what),
            }
        }
        out
    }
}

/// The whole run, with the course's mutation score.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MutantsReport {
    pub stages: Vec<StageResult>,
    pub mutants: usize,
    pub killed: usize,
    pub alternatives: usize,
    pub accepted: usize,
    /// Killed mutants over all mutants, in percent; `None` when there are none.
    pub score: Option<f64>,
    pub elapsed_ms: u64,
}

impl MutantsReport {
    /// The totals of these stages' results.
    pub fn from_stages(stages: Vec<StageResult>, elapsed: Duration) -> Self {
        let mutants = stages.iter().map(StageResult::mutants).sum();
        let killed = stages.iter().map(StageResult::killed).sum();
        let score = (mutants > 0).then(|| 100.0 * killed as f64 / mutants as f64);
        Self {
            mutants,
            killed,
            alternatives: stages.iter().map(StageResult::alternatives).sum(),
            accepted: stages.iter().map(StageResult::accepted).sum(),
            score,
            elapsed_ms: millis(elapsed),
            stages,
        }
    }

    pub fn is_sound(&self) -> bool {
        self.stages.iter().all(StageResult::is_sound)
    }
}

/// Where a run is, for a progress line.
#[derive(Debug, Clone)]
pub struct Progress<'a> {
    pub track: &'a str,
    pub stage: &'a str,
    /// 1-based position among the stage's variants; 0 for the reference solution's warm-up.
    pub position: usize,
    pub total: usize,
    /// The variant's name (`reference` for the warm-up).
    pub name: &'a str,
    /// `Some(lock file)` while this run waits for another run on the same track to finish with
    /// its scratch folder (the other process holds that file's lock); nothing is built yet.
    pub waiting_for: Option<&'a Path>,
}

/// Proves the chosen stages, calling `progress` before each build and `on_stage` after each
/// stage.
pub async fn mutants(
    course: &Course,
    options: &MutantsOptions,
    progress: &mut dyn FnMut(Progress<'_>),
    mut on_stage: impl FnMut(&StageResult),
) -> Result<MutantsReport, CourseError> {
    let started = Instant::now();
    let mut stages = Vec::new();
    for (track, indices) in
        course.selection(options.track.as_deref(), None, options.stage.as_deref())?
    {
        for index in indices {
            let result = prove_stage(course, track, index, progress).await;
            on_stage(&result);
            stages.push(result);
        }
    }
    Ok(MutantsReport::from_stages(stages, started.elapsed()))
}

/// The scratch crate folder the variants of a track are built in, one after the other.
pub fn scratch_dir(course: &Course, track: &Track) -> PathBuf {
    course.state_dir().join("mutants").join(&track.id)
}

/// The lock file that keeps one run at a time in a track's scratch folder: beside the folder,
/// not in it, since laying out a variant empties the folder.
pub fn lock_path(course: &Course, track: &Track) -> PathBuf {
    course
        .state_dir()
        .join("mutants")
        .join(format!("{}.lock", track.id))
}

/// Takes the track's lock; if another run holds it, reports the wait through `progress` and
/// waits (on a blocking thread, so the runtime stays free).
async fn lock_track(
    course: &Course,
    track: &Track,
    stage: &str,
    total: usize,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<lock::TrackLock, LockError> {
    let path = lock_path(course, track);
    match lock::try_lock(&path)? {
        lock::Attempt::Taken(held) => Ok(held),
        lock::Attempt::Busy(file) => {
            progress(Progress {
                track: &track.id,
                stage,
                position: 0,
                total,
                name: "reference",
                waiting_for: Some(&path),
            });
            let waited = path.clone();
            tokio::task::spawn_blocking(move || lock::wait(file, &waited))
                .await
                .map_err(|join| LockError {
                    path,
                    source: std::io::Error::other(join),
                })?
        }
    }
}

/// The build folder of every variant: apart from the other scratch builds, so a `dev check`
/// reference build and a mutant's never overwrite each other's artifacts.
pub fn target_dir(course: &Course) -> PathBuf {
    course.state_dir().join("target-mutants")
}

/// Proves one stage: its reference must pass first (that also warms the build), then each
/// variant is laid over a fresh copy of the reference and tested.
pub async fn prove_stage(
    course: &Course,
    track: &Track,
    index: usize,
    progress: &mut dyn FnMut(Progress<'_>),
) -> StageResult {
    let started = Instant::now();
    let stage = &track.stages[index];
    let mut result = StageResult {
        track: track.id.clone(),
        stage: stage.id.clone(),
        has_manifest: false,
        problems: Vec::new(),
        variants: Vec::new(),
        elapsed_ms: 0,
    };
    let variants = match manifest::load(course, track, stage) {
        Ok(Some(variants)) => variants,
        Ok(None) => return result,
        Err(problems) => {
            result.has_manifest = true;
            result.problems = problems.iter().map(ToString::to_string).collect();
            return result;
        }
    };
    result.has_manifest = true;
    let total = variants.variants.len();
    // Held until the stage is proven: no other run lays its variants over ours meanwhile.
    let _lock = match lock_track(course, track, &stage.id, total, progress).await {
        Ok(held) => held,
        Err(err) => {
            result.problems.push(format!("{err}: {}", err.source));
            return result;
        }
    };
    progress(Progress {
        track: &track.id,
        stage: &stage.id,
        position: 0,
        total,
        name: "reference",
        waiting_for: None,
    });
    let reference_passes = match build_and_test(course, track, index, None).await {
        Ok(outcome) if outcome.verdict == Verdict::Passed => true,
        Ok(outcome) => {
            result.problems.push(format!(
                "its reference solution does not pass ({}), so its variants cannot be judged",
                outcome_text(&outcome)
            ));
            false
        }
        Err(err) => {
            result
                .problems
                .push(format!("cannot build its reference solution: {err}"));
            false
        }
    };
    for (i, variant) in variants.variants.iter().enumerate() {
        let outcome = if reference_passes {
            progress(Progress {
                track: &track.id,
                stage: &stage.id,
                position: i + 1,
                total,
                name: &variant.name,
                waiting_for: None,
            });
            judge(course, track, index, variant).await
        } else {
            Judged::new(Outcome::NotRun, None)
        };
        result.variants.push(VariantResult {
            name: variant.name.clone(),
            kind: variant.kind,
            description: variant.description.clone(),
            outcome: outcome.outcome,
            detail: outcome.detail,
            runs: variant.runs,
            elapsed_ms: millis(outcome.elapsed),
        });
    }
    result.elapsed_ms = millis(started.elapsed());
    result
}

struct Judged {
    outcome: Outcome,
    detail: Option<String>,
    elapsed: Duration,
}

impl Judged {
    fn new(outcome: Outcome, detail: Option<String>) -> Self {
        Self {
            outcome,
            detail,
            elapsed: Duration::ZERO,
        }
    }
}

/// Builds and tests one variant `runs` times (a mutant is killed only if every run fails).
async fn judge(course: &Course, track: &Track, index: usize, variant: &Variant) -> Judged {
    let started = Instant::now();
    let mut judged = judge_runs(course, track, index, variant).await;
    judged.elapsed = started.elapsed();
    judged
}

async fn judge_runs(course: &Course, track: &Track, index: usize, variant: &Variant) -> Judged {
    let mutant = variant.kind == VariantKind::Mutant;
    let mut killing = None;
    for run in 1..=variant.runs {
        let outcome = match build_and_test(course, track, index, Some(variant)).await {
            Ok(outcome) => outcome,
            Err(Failure::Patch(err)) => {
                return Judged::new(
                    Outcome::PatchFailed,
                    Some(format!("{}: {err}", variant.patch_file.display())),
                );
            }
            Err(Failure::Other(err)) => {
                let outcome = if mutant {
                    Outcome::DidNotCompile
                } else {
                    Outcome::Rejected
                };
                return Judged::new(outcome, Some(err));
            }
        };
        match outcome.verdict {
            Verdict::CompileError | Verdict::BuildError => {
                let judged = if mutant {
                    Outcome::DidNotCompile
                } else {
                    Outcome::Rejected
                };
                return Judged::new(judged, Some(outcome_text(&outcome)));
            }
            Verdict::Passed if mutant => {
                let detail =
                    (variant.runs > 1).then(|| format!("passed run {run} of {}", variant.runs));
                return Judged::new(Outcome::Survived, detail);
            }
            Verdict::Passed => return Judged::new(Outcome::Accepted, None),
            Verdict::Failed | Verdict::TimedOut | Verdict::Cancelled if mutant => {
                killing.get_or_insert_with(|| outcome_text(&outcome));
            }
            Verdict::Failed | Verdict::TimedOut | Verdict::Cancelled => {
                return Judged::new(Outcome::Rejected, Some(outcome_text(&outcome)));
            }
        }
    }
    Judged::new(Outcome::Killed, killing)
}

/// What a failed run says, briefly: the failing tests, the compiler's first error, the limit.
fn outcome_text(outcome: &RunOutcome) -> String {
    match outcome.verdict {
        Verdict::CompileError => outcome
            .errors()
            .take(1)
            .map(|e| crate::classroom::strip_ansi(&e.rendered))
            .collect::<Vec<_>>()
            .join("\n"),
        Verdict::BuildError => outcome
            .build_output
            .lines()
            .take(10)
            .collect::<Vec<_>>()
            .join("\n"),
        Verdict::TimedOut => format!("timed out after {}s", outcome.time_limit.as_secs()),
        _ => {
            let failed: Vec<&str> = outcome.failed().map(|t| t.name.as_str()).collect();
            let mut text = failed
                .iter()
                .take(TESTS_NAMED)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            if failed.len() > TESTS_NAMED {
                text.push_str(&format!(" and {} more", failed.len() - TESTS_NAMED));
            }
            if text.is_empty() {
                "the test binary failed".to_owned()
            } else {
                format!("failed: {text}")
            }
        }
    }
}

/// Why a variant could not be run at all.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Patch(PatchError),
    #[error("{0}")]
    Other(String),
}

/// Lays the reference solution of stage `index` (and `variant`'s patch, if any) into the track's
/// scratch folder with the tests of stages `0..=index`, and runs them.
async fn build_and_test(
    course: &Course,
    track: &Track,
    index: usize,
    variant: Option<&Variant>,
) -> Result<RunOutcome, Failure> {
    let dir = scratch_dir(course, track);
    layout::assemble(
        course,
        track,
        &Base::Solution(index),
        index,
        |s| s.tests.clone(),
        &dir,
    )
    .map_err(|e| Failure::Other(format!("cannot lay out the crate: {e}")))?;
    if let Some(variant) = variant {
        patch::apply(&variant.patch, &dir).map_err(Failure::Patch)?;
    }
    let mut request = RunRequest::new(&dir, &target_dir(course), track.stages[index].time_limit);
    // The stage's own parallelism: a kill (or an acceptance) must hold as learners run it.
    request.test_threads = track.stages[index].test_threads;
    // One failing test decides a variant (a mutant killed, an alternative rejected); the
    // reference's run (no variant) is shown in full when it fails.
    request.stop_at_first_failure = variant.is_some();
    runner::run_to_end(&request).await.map_err(Failure::Other)
}

fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

fn indent(text: &str) -> String {
    text.trim_end()
        .lines()
        .take(20)
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
