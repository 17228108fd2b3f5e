//! Building and testing a track crate with cargo, under a time limit, an output cap and
//! cancellation. Knows nothing of terminals: it reports events and returns an outcome.
//!
//! A run is two steps: `cargo test --no-run` with JSON messages (diagnostics with their codes,
//! and the path of the test binary), then the test binary itself, run directly so katas controls
//! its process group, its time limit and its output.

mod build_log;
mod libtest;
mod process;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use build_log::{BuildLog, Diagnostic, Severity};
pub use libtest::{TestResult, TestStatus, parse_list, parse_run};
pub use process::{Ended, Limits};

/// The test target every track crate has: all reached stages' tests, one module each.
pub const TEST_TARGET: &str = "stages";

/// The bytes kept of each output stream of a test run.
pub const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;

/// The time a build may take: generous, since a first build compiles every dependency.
pub const DEFAULT_BUILD_LIMIT: Duration = Duration::from_secs(30 * 60);

/// What to build and test, and under which limits.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub crate_dir: PathBuf,
    pub target_dir: PathBuf,
    pub test_target: String,
    pub test_time_limit: Duration,
    pub build_time_limit: Duration,
    pub output_cap: usize,
    /// libtest name filters (e.g. `memory::`): only tests matching one of them run. Empty: all.
    pub filters: Vec<String>,
    /// Extra environment of the test process (e.g. `KATAS_SEED` to replay one seed).
    pub test_env: Vec<(String, String)>,
}

impl RunRequest {
    /// A request with the default limits for everything but the test run's time.
    pub fn new(crate_dir: &Path, target_dir: &Path, test_time_limit: Duration) -> Self {
        Self {
            crate_dir: crate_dir.to_path_buf(),
            target_dir: target_dir.to_path_buf(),
            test_target: TEST_TARGET.to_owned(),
            test_time_limit,
            build_time_limit: DEFAULT_BUILD_LIMIT,
            output_cap: DEFAULT_OUTPUT_CAP,
            filters: Vec::new(),
            test_env: Vec::new(),
        }
    }
}

/// What a run is doing, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEvent {
    /// cargo finished a unit (a crate, a build script); `total` is an estimate from the lockfile.
    Building {
        done: usize,
        total: Option<usize>,
        unit: Option<String>,
    },
    /// The tests are running.
    Testing { tests: usize },
}

/// The verdict of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every test ran and passed.
    Passed,
    /// The code compiled, and some test failed or did not finish.
    Failed,
    /// The compiler rejected the code.
    CompileError,
    /// cargo failed without a compiler error (a broken manifest, a missing dependency).
    BuildError,
    /// The build or the test run hit its time limit, and was killed.
    TimedOut,
    /// A newer run (or the user) cancelled this one.
    Cancelled,
}

/// Everything a run found out.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub verdict: Verdict,
    pub diagnostics: Vec<Diagnostic>,
    pub tests: Vec<TestResult>,
    /// cargo's own stderr, shown when the build failed with no diagnostic to show.
    pub build_output: String,
    /// What the test binary printed outside of any test (e.g. a crash message).
    pub test_output: String,
    /// Whether output was cut at the cap.
    pub truncated: bool,
    pub build_time: Duration,
    pub test_time: Duration,
    /// The test run's limit, to say it when it was hit.
    pub time_limit: Duration,
}

impl RunOutcome {
    fn new(verdict: Verdict, time_limit: Duration) -> Self {
        Self {
            verdict,
            diagnostics: Vec::new(),
            tests: Vec::new(),
            build_output: String::new(),
            test_output: String::new(),
            truncated: false,
            build_time: Duration::ZERO,
            test_time: Duration::ZERO,
            time_limit,
        }
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn passed_count(&self) -> usize {
        self.tests
            .iter()
            .filter(|t| t.status == TestStatus::Passed)
            .count()
    }

    /// Tests that count against the learner: failed, or did not finish.
    pub fn failed(&self) -> impl Iterator<Item = &TestResult> {
        self.tests
            .iter()
            .filter(|t| matches!(t.status, TestStatus::Failed | TestStatus::DidNotFinish))
    }
}

/// Why a run could not happen at all (as opposed to running and failing).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start {program}: is the Rust toolchain installed and on PATH?")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the build reported success but produced no `{target}` test binary; does the crate's Cargo.toml disable test discovery (autotests = false)?"
    )]
    NoTestBinary { target: String },
}

/// Builds and tests the crate. Returns an outcome for anything the learner's code did; an error
/// only when katas could not run cargo or the test binary at all.
pub async fn run(
    request: &RunRequest,
    cancel: &CancellationToken,
    events: Option<mpsc::UnboundedSender<RunEvent>>,
) -> Result<RunOutcome, RunError> {
    let mut outcome = RunOutcome::new(Verdict::Passed, request.test_time_limit);
    let (build, log) = build(request, cancel, events.clone()).await?;
    outcome.build_time = build.elapsed;
    outcome.diagnostics = log.diagnostics.clone();
    match build.ended {
        Ended::Cancelled => return Ok(with(outcome, Verdict::Cancelled)),
        Ended::TimedOut => return Ok(with(outcome, Verdict::TimedOut)),
        Ended::Exited(_) => {}
    }
    let built = log.success == Some(true);
    let Some(executable) = log.executable.clone().filter(|_| built) else {
        outcome.build_output = build.stderr.text();
        let verdict = if log.errors().next().is_some() {
            Verdict::CompileError
        } else {
            Verdict::BuildError
        };
        if log.success == Some(true) {
            return Err(RunError::NoTestBinary {
                target: request.test_target.clone(),
            });
        }
        return Ok(with(outcome, verdict));
    };

    let limits = Limits {
        time: request.test_time_limit,
        output_cap: request.output_cap,
    };
    // The run itself says how many tests it runs ("running 7 tests"): pass that on as it comes.
    let (lines_tx, mut lines_rx) = mpsc::unbounded_channel::<String>();
    let progress = events.clone();
    let announcer = tokio::spawn(async move {
        while let Some(line) = lines_rx.recv().await {
            if let (Some(tests), Some(tx)) = (running_count(&line), &progress) {
                let _ = tx.send(RunEvent::Testing { tests });
            }
        }
    });
    let run = process::run(
        test_command(request, &executable, false),
        limits,
        cancel,
        Some(lines_tx),
    )
    .await
    .map_err(|source| spawn_error(&executable, source))?;
    let _ = announcer.await;
    outcome.test_time = run.elapsed;
    outcome.truncated = run.stdout.dropped > 0 || run.stderr.dropped > 0;
    let stdout = run.stdout.text();
    outcome.tests = parse_run(&stdout, &[]);
    let expected = stdout.lines().find_map(running_count);
    let complete = expected.is_some_and(|n| n == outcome.tests.len());
    if !complete && run.ended != Ended::Cancelled {
        // Some tests printed no result (killed at the limit, or the process exited early): ask
        // the binary for its list, so the missing ones are named as not finished. Only here,
        // off the common path, because it costs a second start of the binary.
        let listing = process::run(
            test_command(request, &executable, true),
            limits,
            cancel,
            None,
        )
        .await
        .map_err(|source| spawn_error(&executable, source))?;
        let listed = parse_list(&listing.stdout.text());
        outcome.tests = parse_run(&stdout, &listed);
    }
    outcome.test_output = run.stderr.text();
    if outcome.truncated {
        outcome.test_output.push_str(&format!(
            "\n[katas: output cut at {} KiB per stream; {} more bytes were dropped]\n",
            request.output_cap / 1024,
            run.stdout.dropped + run.stderr.dropped
        ));
    }
    let all_passed = !outcome.tests.is_empty()
        && outcome
            .tests
            .iter()
            .all(|t| matches!(t.status, TestStatus::Passed | TestStatus::Ignored));
    let verdict = match run.ended {
        Ended::Cancelled => Verdict::Cancelled,
        Ended::TimedOut => Verdict::TimedOut,
        Ended::Exited(status) if status.success() && all_passed => Verdict::Passed,
        Ended::Exited(_) => Verdict::Failed,
    };
    Ok(with(outcome, verdict))
}

/// `N` from libtest's "running N tests" line.
fn running_count(line: &str) -> Option<usize> {
    let rest = line.strip_prefix("running ")?;
    let (count, word) = rest.split_once(' ')?;
    matches!(word.trim(), "test" | "tests")
        .then(|| count.parse().ok())
        .flatten()
}

fn with(mut outcome: RunOutcome, verdict: Verdict) -> RunOutcome {
    outcome.verdict = verdict;
    outcome
}

fn spawn_error(program: &Path, source: std::io::Error) -> RunError {
    RunError::Spawn {
        program: program.display().to_string(),
        source,
    }
}

/// The cargo that runs katas' builds: the one that started katas (under `cargo run`), else the
/// one on PATH.
fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

async fn build(
    request: &RunRequest,
    cancel: &CancellationToken,
    events: Option<mpsc::UnboundedSender<RunEvent>>,
) -> Result<(process::Finished, BuildLog), RunError> {
    let program = cargo_program();
    let mut command = Command::new(&program);
    command
        .arg("test")
        .arg("--no-run")
        .arg("--manifest-path")
        .arg(request.crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&request.target_dir)
        .arg("--test")
        .arg(&request.test_target)
        .arg("--message-format=json-diagnostic-rendered-ansi")
        .arg("--color=never")
        .current_dir(&request.crate_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR");

    let (lines_tx, mut lines_rx) = mpsc::unbounded_channel::<String>();
    let total = lockfile_packages(&request.crate_dir);
    let target = request.test_target.clone();
    let reader = tokio::spawn(async move {
        let mut log = BuildLog::default();
        while let Some(line) = lines_rx.recv().await {
            let before = log.units_done;
            log.push_line(&line, &target);
            if let (Some(tx), true) = (&events, log.units_done != before) {
                let _ = tx.send(RunEvent::Building {
                    done: log.units_done,
                    total,
                    unit: log.last_unit.clone(),
                });
            }
        }
        log
    });
    let limits = Limits {
        time: request.build_time_limit,
        output_cap: 16 * DEFAULT_OUTPUT_CAP,
    };
    let finished = process::run(command, limits, cancel, Some(lines_tx))
        .await
        .map_err(|source| RunError::Spawn {
            program: program.clone(),
            source,
        })?;
    let log = reader.await.unwrap_or_default();
    Ok((finished, log))
}

fn test_command(request: &RunRequest, executable: &Path, list: bool) -> Command {
    let mut command = Command::new(executable);
    if list {
        command.args(["--list", "--format", "terse"]);
    }
    command.args(&request.filters);
    command
        .current_dir(&request.crate_dir)
        .env("CARGO_MANIFEST_DIR", &request.crate_dir)
        // Backtraces bury the assertion message a learner needs under frames they don't.
        .env("RUST_BACKTRACE", "0")
        .env("RUST_TEST_COLOR", "never")
        .envs(request.test_env.iter().map(|(k, v)| (k, v)));
    command
}

/// The number of packages in the crate's lockfile: an estimate of the units a first build has.
fn lockfile_packages(crate_dir: &Path) -> Option<usize> {
    let lock = std::fs::read_to_string(crate_dir.join("Cargo.lock")).ok()?;
    Some(lock.lines().filter(|l| l.trim() == "[[package]]").count())
}

/// Runs a request to its end, with nothing to cancel it and no one watching its progress (the
/// scratch builds of `verify` and `dev check`); a run that could not start is said in words.
pub async fn run_to_end(request: &RunRequest) -> Result<RunOutcome, String> {
    run(request, &CancellationToken::new(), None)
        .await
        .map_err(|err| format!("{err:#}"))
}

/// The result of a plain cargo command (clippy, fmt): whether it succeeded, and what it said.
#[derive(Debug, Clone)]
pub struct CargoResult {
    pub success: bool,
    pub output: String,
}

/// Runs `cargo <args>` on a crate with katas' build folder, under a time limit, e.g. clippy or
/// rustfmt for `dev check`.
pub async fn cargo(
    args: &[&str],
    crate_dir: &Path,
    target_dir: &Path,
    limit: Duration,
) -> Result<CargoResult, RunError> {
    let program = cargo_program();
    let mut command = Command::new(&program);
    command
        .args(args)
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_TERM_COLOR", "never");
    let limits = Limits {
        time: limit,
        output_cap: DEFAULT_OUTPUT_CAP,
    };
    let finished = process::run(command, limits, &CancellationToken::new(), None)
        .await
        .map_err(|source| RunError::Spawn { program, source })?;
    let success = matches!(finished.ended, Ended::Exited(status) if status.success());
    let mut output = finished.stdout.text();
    output.push_str(&finished.stderr.text());
    if finished.ended == Ended::TimedOut {
        output.push_str(&format!("\n[katas: stopped after {}s]\n", limit.as_secs()));
    }
    Ok(CargoResult { success, output })
}
