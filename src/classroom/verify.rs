//! `katas verify`: grades stages of a learner's repository against a trusted reference, whatever
//! the learner's progress, and reports each stage as passed, failed, tampered or error.
//!
//! What a `passed` means: the reference's tests of the stage, every one of them, ran to their end
//! against the learner's `src/` and passed, in a crate assembled from trusted parts
//! ([`crate::grading::assembly`]) in the grader's own folder, built with a pinned toolchain and
//! run in the sandbox, with results taken from the witness channel
//! ([`crate::grading::witness`]), never from the test binary's output. The learner's folder is
//! read for `src/` and, to notice tampering, for their copies of the tests; nothing in it is
//! written, and nothing in it is built or run but `src/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::reference::{Reference, ReferenceInfo};
use crate::course::{CourseError, Stage, Track};
use crate::grading::assembly::{self, AssemblyError};
use crate::grading::toolchain::{Toolchain, ToolchainError};
use crate::grading::workdir::{WorkDir, WorkDirError};
use crate::layout;
use crate::runner::{self, Graded, Launch, RunOutcome, RunRequest, TestStatus, Verdict};
use crate::sandbox::{self, Sandbox, SandboxError};

/// How to grade: where, and how isolated.
#[derive(Debug, Clone)]
pub struct GradeSettings {
    /// The grader's folder; default: the user's cache folder (`~/.cache/katas/grading`).
    pub work_dir: Option<PathBuf>,
    /// Run the learner's build and tests in the sandbox (refuse to grade without it).
    pub sandbox: bool,
    /// The test run's memory limit, in bytes (in the sandbox).
    pub memory_limit: u64,
}

impl Default for GradeSettings {
    fn default() -> Self {
        Self {
            work_dir: None,
            sandbox: true,
            memory_limit: sandbox::DEFAULT_MEMORY_LIMIT,
        }
    }
}

/// Why grading could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error(transparent)]
    WorkDir(#[from] WorkDirError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
    #[error(transparent)]
    Course(#[from] CourseError),
}

/// A grader: its folder (a slot of its own), the pinned toolchain and the sandbox.
#[derive(Debug)]
pub struct Grader {
    work: WorkDir,
    toolchain: Toolchain,
    sandbox: Option<Sandbox>,
    cargo_home: PathBuf,
    memory_limit: u64,
}

impl Grader {
    /// Prepares to grade the course at `graded_root`: refuses a work folder inside it, and
    /// refuses to go on without the sandbox unless the settings turn it off.
    pub fn new(settings: &GradeSettings, graded_root: &Path) -> Result<Self, GradeError> {
        let work = WorkDir::open(settings.work_dir.as_deref(), graded_root)?;
        let sandbox = if settings.sandbox {
            Some(Sandbox::find()?)
        } else {
            None
        };
        let toolchain = Toolchain::pin(work.root())?;
        Ok(Self {
            toolchain,
            sandbox,
            cargo_home: cargo_home(),
            memory_limit: settings.memory_limit,
            work,
        })
    }

    /// The grader's folder (where the bundled reference is written).
    pub fn work_root(&self) -> &Path {
        self.work.root()
    }

    /// Whether the learner's code runs sandboxed.
    pub fn sandboxed(&self) -> bool {
        self.sandbox.is_some()
    }
}

/// The grader's cargo home: where the locked dependencies are downloaded to and read from.
fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

/// Which stages to verify.
#[derive(Debug, Default, Clone)]
pub struct VerifyOptions {
    /// Only this track.
    pub track: Option<String>,
    /// Only stages up to this one (with `track`).
    pub through: Option<String>,
    /// Only this one stage, as TRACK/STAGE.
    pub stage: Option<String>,
    /// A cap on each run's build time and on each stage's share of the test time (the class
    /// grader's `--stage-time-limit`); default: the reference's `time_limit_secs` and a generous
    /// build limit.
    pub stage_time_limit: Option<Duration>,
    /// Cancels the runs under way (the class grader's per-learner limit): their process groups
    /// are killed, and the stages not judged yet are not passed.
    pub cancel: Option<CancellationToken>,
}

/// A verified stage's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    Passed,
    Failed,
    /// The learner changed or deleted the stage's tests (graded with the trusted copy anyway).
    Tampered,
    /// katas could not judge the stage (a missing reference stage, cargo not runnable).
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
    /// Why it failed, errored or was tampered with, in words; also a note on a passed stage
    /// (tests from an earlier version of the course). Absent from the JSON when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
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
    /// The course the stages were graded against.
    pub reference: ReferenceInfo,
    /// Whether the learner's build and tests ran in the sandbox.
    pub sandboxed: bool,
}

impl VerifyReport {
    fn new(stages: Vec<StageVerdict>, reference: ReferenceInfo, sandboxed: bool) -> Self {
        let passed = stages
            .iter()
            .filter(|s| s.status == StageStatus::Passed)
            .count();
        Self {
            failed: stages.len() - passed,
            passed,
            stages,
            reference,
            sandboxed,
        }
    }

    pub fn any(&self, status: StageStatus) -> bool {
        self.stages.iter().any(|s| s.status == status)
    }
}

/// Grades the chosen stages of the learner's course at `graded_root`. The stage list, the time
/// limits and the tests are the reference's; the learner's `info.toml` is never read.
pub async fn verify(
    grader: &Grader,
    graded_root: &Path,
    reference: &Reference,
    options: &VerifyOptions,
) -> Result<VerifyReport, GradeError> {
    let mut verdicts = Vec::new();
    for (track, stages) in reference.course.selection(
        options.track.as_deref(),
        options.through.as_deref(),
        options.stage.as_deref(),
    )? {
        verdicts
            .extend(verify_track(grader, graded_root, reference, options, track, &stages).await);
    }
    Ok(VerifyReport::new(
        verdicts,
        reference.info(),
        grader.sandboxed(),
    ))
}

async fn verify_track(
    grader: &Grader,
    graded_root: &Path,
    reference: &Reference,
    options: &VerifyOptions,
    track: &Track,
    stages: &[usize],
) -> Vec<StageVerdict> {
    let learner = graded_root.join("exercises").join(&track.id);
    let tampered = tampering(graded_root, &learner, reference, track, stages).await;

    // One build for every stage first; if it does not compile (a later stage's API is missing),
    // each stage on its own, so an unfinished stage never fails a finished one.
    let together = run_stages(grader, reference, options, &learner, track, stages).await;
    let separately = !matches!(&together, Ok(g) if g.outcome.verdict != Verdict::CompileError && g.outcome.verdict != Verdict::BuildError);
    let mut verdicts = Vec::new();
    for &index in stages {
        let stage = &track.stages[index];
        let outcome = if separately && stages.len() > 1 {
            run_stages(grader, reference, options, &learner, track, &[index]).await
        } else {
            together.clone()
        };
        let mut verdict = match outcome {
            Ok(run) => {
                let mut verdict = judge(track, stage, &run.outcome);
                if stage.strict {
                    judge_strict(&mut verdict, run.clippy.as_ref());
                }
                verdict
            }
            Err(Failure::Submission(reason)) => failed(track, stage, reason),
            Err(Failure::Grader(reason)) => error(track, stage, reason),
        };
        match tampered.iter().find(|(id, _)| *id == stage.id) {
            Some((_, Copies::Tampered(why))) => {
                verdict.status = StageStatus::Tampered;
                verdict.reason = Some(format!(
                    "{why}; graded with {} instead",
                    reference.describe()
                ));
            }
            Some((_, Copies::Outdated(note))) => {
                verdict.reason = Some(match verdict.reason.take() {
                    Some(reason) => format!("{reason}; {note}"),
                    None => note.clone(),
                });
            }
            None => {}
        }
        verdicts.push(verdict);
    }
    verdicts
}

/// What the learner's copies of a stage's tests say about the stage.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Copies {
    /// Changed or deleted: the stage is marked tampered (and graded with the trusted tests).
    Tampered(String),
    /// An earlier version of the reference's tests (a course update not pulled yet): no
    /// tampering; the grade, as always, uses the trusted tests, and says so.
    Outdated(String),
}

/// The graded stages whose tests the learner changed, deleted, or holds in an earlier version,
/// in their crate or in their copy of the course, with what was found.
async fn tampering(
    graded_root: &Path,
    learner: &Path,
    reference: &Reference,
    track: &Track,
    stages: &[usize],
) -> Vec<(String, Copies)> {
    let mut found = Vec::new();
    let installed = |stage: &Stage| layout::stage_test_path(learner, stage);
    let normalize = |text: String| text.replace("\r\n", "\n");
    let read = |path: &Path| std::fs::read_to_string(path).ok().map(normalize);
    let course_track = graded_root.join("course").join(&track.id);
    let relative = |p: &Path| {
        p.strip_prefix(graded_root)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    for &index in stages {
        let stage = &track.stages[index];
        let trusted = normalize(stage.tests.clone());
        let in_course = Path::new("course")
            .join(&track.id)
            .join(&stage.id)
            .join("tests.rs");
        let path = installed(stage);
        let copy = course_track.join(&stage.id).join("tests.rs");
        let mut copies = vec![(path.clone(), read(&path))];
        if course_track.is_dir() {
            copies.push((copy.clone(), read(&copy)));
        }
        let mut outdated = Vec::new();
        let mut tampered = None;
        for (file, text) in copies {
            match text {
                Some(text) if text != trusted => {
                    match reference.earlier_version(&in_course, &text).await {
                        Some(commit) => {
                            outdated.push(format!("{} as of commit {commit}", relative(&file)));
                        }
                        None => {
                            tampered = Some(format!("the learner changed {}", relative(&file)));
                            break;
                        }
                    }
                }
                Some(_) => {}
                // The installed copy may be missing for a stage the learner never reached, not
                // when a later one is there; the course's own copy must always be there.
                None if file == path => {
                    let later = track.stages[index + 1..]
                        .iter()
                        .any(|s| installed(s).symlink_metadata().is_ok());
                    if later {
                        tampered = Some(format!("the learner deleted {}", relative(&file)));
                        break;
                    }
                }
                None => {
                    tampered = Some(format!("the learner deleted {}", relative(&file)));
                    break;
                }
            }
        }
        if let Some(why) = tampered {
            found.push((stage.id.clone(), Copies::Tampered(why)));
        } else if !outdated.is_empty() {
            found.push((
                stage.id.clone(),
                Copies::Outdated(format!(
                    "the learner's copies are earlier versions of the course's tests ({}), an update not pulled yet: no tampering; graded with {}",
                    outdated.join("; "),
                    reference.describe()
                )),
            ));
        }
    }
    found
}

/// Why a run gave no outcome: the learner's submission cannot be built as it is (failed), or
/// katas could not do its part (error).
#[derive(Debug, Clone)]
enum Failure {
    Submission(String),
    Grader(String),
}

/// Builds and runs the trusted tests of `stages` against the learner's `src/`, in the graded
/// crate.
async fn run_stages(
    grader: &Grader,
    reference: &Reference,
    options: &VerifyOptions,
    learner: &Path,
    track: &Track,
    stages: &[usize],
) -> Result<GradedRun, Failure> {
    let dest = grader.work.crate_dir(&track.id);
    let graded =
        assembly::assemble(&reference.course, track, learner, stages, &dest).map_err(|err| {
            match err {
                AssemblyError::Submission(reason) => Failure::Submission(reason),
                other => Failure::Grader(format!("{:#}", anyhow::Error::from(other))),
            }
        })?;
    let results_dir = grader.work.results_dir();
    grader
        .work
        .fresh(&results_dir)
        .map_err(|err| Failure::Grader(err.to_string()))?;
    let target = grader.work.target_dir();
    std::fs::create_dir_all(&target).map_err(|err| {
        Failure::Grader(format!(
            "cannot make the build folder {}: {err}",
            target.display()
        ))
    })?;
    let launch = Graded {
        toolchain: grader.toolchain.clone(),
        sandbox: grader.sandbox.clone(),
        cargo_home: grader.cargo_home.clone(),
        trusted_paths: graded.trusted_paths.clone(),
        results_dir,
        memory_limit: grader.memory_limit,
    };
    let cap = |limit: Duration| options.stage_time_limit.map_or(limit, |cap| limit.min(cap));
    let limit: Duration = stages
        .iter()
        .map(|&i| cap(track.stages[i].time_limit))
        .sum();
    let mut request = RunRequest::new(&graded.dir, &target, limit);
    // As in `watch`: the run's latest stage says how many tests run at once.
    request.test_threads = stages
        .iter()
        .max()
        .and_then(|&i| track.stages[i].test_threads);
    request.launch = Launch::Graded(Arc::new(launch));
    request.build_time_limit = cap(request.build_time_limit);
    let outcome = match &options.cancel {
        Some(cancel) => runner::run(&request, cancel, None)
            .await
            .map_err(|err| Failure::Grader(format!("{err:#}")))?,
        None => runner::run_to_end(&request)
            .await
            .map_err(Failure::Grader)?,
    };
    check_units(&outcome, &graded)?;
    let strict = stages.iter().any(|&i| track.stages[i].strict);
    let clippy = if strict && outcome.verdict == Verdict::Passed {
        // The same pinned, sandboxed launch, in a build folder of its own: the lints of a
        // strict stage are part of its grade.
        request.target_dir = grader.work.target_dir().with_file_name("target-clippy");
        std::fs::create_dir_all(&request.target_dir).map_err(|err| {
            Failure::Grader(format!(
                "cannot make the build folder {}: {err}",
                request.target_dir.display()
            ))
        })?;
        let report = runner::clippy::clippy(
            &request,
            &crate::hints::strict_lint_args(),
            &tokio_util::sync::CancellationToken::new(),
        )
        .await
        .map_err(|err| Failure::Grader(runner::error_chain(&err)))?;
        Some(report)
    } else {
        None
    };
    Ok(GradedRun { outcome, clippy })
}

/// A graded build and run, and for strict stages what clippy found.
#[derive(Debug, Clone)]
struct GradedRun {
    outcome: RunOutcome,
    clippy: Option<runner::ClippyReport>,
}

/// A strict stage whose tests passed fails while clippy finds anything, or could not look.
fn judge_strict(verdict: &mut StageVerdict, clippy: Option<&runner::ClippyReport>) {
    if verdict.status != StageStatus::Passed {
        return;
    }
    let reason = match clippy {
        Some(report) if report.is_clean() => return,
        Some(report) if report.end == runner::ClippyEnd::Finished => {
            let places: Vec<String> = report
                .lints
                .iter()
                .take(5)
                .map(|l| {
                    format!(
                        "clippy::{} at {}:{}",
                        l.lint,
                        l.file.as_deref().unwrap_or("?"),
                        l.line.unwrap_or(0)
                    )
                })
                .collect();
            format!(
                "a strict stage: the tests pass, but clippy finds {} lint(s) under the course's lint set: {}",
                report.lints.len(),
                places.join(", ")
            )
        }
        Some(report) => format!(
            "a strict stage: the tests pass, but clippy could not check the crate ({:?})",
            report.end
        ),
        None => "a strict stage: the tests pass, but clippy was not run".to_owned(),
    };
    verdict.status = StageStatus::Failed;
    verdict.reason = Some(reason);
}

/// After a build: the `stages` target is the trusted one, and every local package built is the
/// graded crate or a trusted course crate (the rest come from the locked registry).
fn check_units(outcome: &RunOutcome, graded: &assembly::GradedCrate) -> Result<(), Failure> {
    let manifest = graded.dir.join("Cargo.toml");
    let main = layout::stages_dir(&graded.dir).join("main.rs");
    for unit in &outcome.units {
        let is_stages =
            unit.target == runner::TEST_TARGET && unit.kinds.iter().any(|k| k == "test");
        if is_stages && (unit.manifest_path != manifest || unit.src_path != main) {
            return Err(Failure::Grader(format!(
                "the `stages` test target was built from {}, not from the trusted tests: grading refused",
                unit.src_path.display()
            )));
        }
        let local = unit.manifest_path.starts_with(&graded.dir)
            || graded
                .trusted_paths
                .iter()
                .any(|p| unit.manifest_path.starts_with(layout::normalize_path(p)));
        let registry = unit
            .manifest_path
            .components()
            .any(|c| c.as_os_str() == "registry" || c.as_os_str() == "git");
        if !local && !registry {
            return Err(Failure::Grader(format!(
                "the build used {} (target `{}`), which is neither the graded crate, a trusted course crate, nor a locked registry package: grading refused",
                unit.manifest_path.display(),
                unit.target
            )));
        }
    }
    Ok(())
}

/// The verdict of one stage, from the witness records alone: a test passed when it recorded, once,
/// that its body ran to the end. What the test binary printed is kept only to show failures.
fn judge(track: &Track, stage: &Stage, outcome: &RunOutcome) -> StageVerdict {
    let claims: Vec<&runner::TestResult> = outcome
        .tests
        .iter()
        .filter(|t| t.stage() == stage.id)
        .collect();
    let records = outcome.witnessed.clone().unwrap_or_default();
    let ran = outcome.witnessed.is_some();
    let mut tests = Vec::new();
    let mut unwitnessed_claims = 0;
    for name in &stage.test_names {
        let full = format!("{}::{name}", stage.id);
        let claim = claims.iter().find(|t| t.function() == name);
        let count = records.get(&full).copied().unwrap_or(0);
        let claimed_failed = claim.is_some_and(|c| c.status == TestStatus::Failed);
        let status = match count {
            1 if !claimed_failed => TestStatus::Passed,
            0 if claimed_failed => TestStatus::Failed,
            0 => {
                if claim.is_some_and(|c| c.status == TestStatus::Passed) {
                    unwitnessed_claims += 1;
                }
                TestStatus::DidNotFinish
            }
            _ => TestStatus::Failed,
        };
        let mut output = claim.map(|c| c.output.clone()).unwrap_or_default();
        if count > 1 {
            output.push_str(&format!(
                "\n[katas: this test recorded its end {count} times]"
            ));
        }
        tests.push(runner::TestResult {
            name: full,
            status,
            output,
        });
    }
    let passed = tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .count();
    let failed = tests.len() - passed;
    let out_of_memory = sandbox::out_of_memory(&outcome.test_output);
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
        _ if !ran => (
            StageStatus::Error,
            Some("katas' results channel was not set up for this run".to_owned()),
        ),
        _ if failed == 0 && passed > 0 => (StageStatus::Passed, None),
        _ if out_of_memory => (
            StageStatus::Failed,
            Some(
                "stopped at the memory limit: a test allocated more than the sandbox allows"
                    .to_owned(),
            ),
        ),
        Verdict::TimedOut => (
            StageStatus::Failed,
            Some(format!(
                "stopped at the time limit of {}s",
                outcome.time_limit.as_secs()
            )),
        ),
        _ if unwitnessed_claims > 0 => (
            StageStatus::Failed,
            Some(format!(
                "{failed} of {} tests did not run to their end; the test binary printed \"ok\" for {unwitnessed_claims} of them, but no such test returned (an early exit, an abort or a signal is never a pass)",
                tests.len()
            )),
        ),
        _ => (
            StageStatus::Failed,
            Some(format!("{failed} of {} tests failed", tests.len())),
        ),
    };
    let tests = if matches!(outcome.verdict, Verdict::CompileError | Verdict::BuildError) {
        Vec::new()
    } else {
        tests
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

fn failed(track: &Track, stage: &Stage, reason: String) -> StageVerdict {
    StageVerdict {
        status: StageStatus::Failed,
        tests_failed: stage.test_names.len(),
        ..error(track, stage, reason)
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
    use crate::runner::BuiltUnit;

    fn unit(manifest: &str, target: &str, kind: &str, src: &str) -> BuiltUnit {
        BuiltUnit {
            manifest_path: PathBuf::from(manifest),
            target: target.to_owned(),
            kinds: vec![kind.to_owned()],
            src_path: PathBuf::from(src),
        }
    }

    fn outcome(units: Vec<BuiltUnit>) -> RunOutcome {
        let mut outcome = RunOutcome {
            verdict: Verdict::Passed,
            diagnostics: vec![],
            tests: vec![],
            build_output: String::new(),
            test_output: String::new(),
            truncated: false,
            build_time: Duration::ZERO,
            test_time: Duration::ZERO,
            time_limit: Duration::ZERO,
            witnessed: None,
            units: vec![],
            early_end: None,
            notes: vec![],
        };
        outcome.units = units;
        outcome
    }

    #[test]
    fn only_trusted_units_may_be_built() {
        let graded = assembly::GradedCrate {
            dir: PathBuf::from("/g/crate"),
            trusted_paths: vec![PathBuf::from("/t/exercises/x/../../crates/sim")],
        };
        let good = vec![
            unit(
                "/g/crate/Cargo.toml",
                "stages",
                "test",
                "/g/crate/tests/stages/main.rs",
            ),
            unit("/g/crate/Cargo.toml", "x", "lib", "/g/crate/src/lib.rs"),
            unit(
                "/t/crates/sim/Cargo.toml",
                "sim",
                "lib",
                "/t/crates/sim/src/lib.rs",
            ),
            unit(
                "/home/u/.cargo/registry/src/index/tokio-1.0.0/Cargo.toml",
                "tokio",
                "lib",
                "/home/u/.cargo/registry/src/index/tokio-1.0.0/src/lib.rs",
            ),
        ];
        assert!(check_units(&outcome(good.clone()), &graded).is_ok());

        let mut other_stages = good.clone();
        other_stages[0].src_path = PathBuf::from("/g/crate/tests/mine.rs");
        assert!(matches!(
            check_units(&outcome(other_stages), &graded),
            Err(Failure::Grader(why)) if why.contains("not from the trusted tests")
        ));

        let mut swapped = good;
        swapped.push(unit(
            "/learner/fake_sim/Cargo.toml",
            "sim",
            "lib",
            "/learner/fake_sim/src/lib.rs",
        ));
        assert!(matches!(
            check_units(&outcome(swapped), &graded),
            Err(Failure::Grader(why)) if why.contains("/learner/fake_sim")
        ));
    }

    #[test]
    fn colours_are_stripped() {
        assert_eq!(
            strip("\u{1b}[0m\u{1b}[1m\u{1b}[38;5;9merror[E0382]\u{1b}[0m: moved"),
            "error[E0382]: moved"
        );
    }
}
