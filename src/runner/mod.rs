//! Building and testing a track crate with cargo, under a time limit, an output cap and
//! cancellation. Knows nothing of terminals: it reports events and returns an outcome.
//!
//! A run is two steps: `cargo test --no-run` with JSON messages (diagnostics with their codes,
//! and the path of the test binary), then the test binary itself, run directly so katas controls
//! its process group, its time limit and its output.

mod build_log;
pub mod clippy;
pub mod launch;
mod libtest;
mod prefetch;
mod process;
pub mod rustfmt;
mod scratch;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use build_log::{BuildLog, BuiltUnit, Diagnostic, Severity};
pub use clippy::{CLIPPY_TARGET, ClippyEnd, ClippyReport, Lint};
pub use launch::{Graded, Launch};
pub use libtest::{TestResult, TestStatus, parse_list, parse_run};
pub use process::{Captured, Ended, Finished, Limits, missing_wrappers, run as run_limited};

/// The test target every track crate has: all reached stages' tests, one module each.
pub const TEST_TARGET: &str = "stages";

/// The bytes kept of each output stream of a test run.
pub const DEFAULT_OUTPUT_CAP: usize = 1024 * 1024;

/// The memory a test run may use when its stage sets none: plenty for a kata's tests, and a
/// runaway allocation stops there instead of at the machine's end.
pub const DEFAULT_MEMORY_LIMIT_MIB: u64 = 2048;

/// What a run waiting for cargo's build lock says on screen.
pub const LOCK_WAIT_NOTE: &str = "waiting for another cargo to release the build lock (another \
    katas or cargo building this course?); the build starts when it ends";

/// cargo's words when another cargo holds the build folder's (or the package cache's) lock.
const LOCK_WAIT: &str = "Blocking waiting for file lock";

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
    /// Bytes of memory the test run may use (data and heap); `None`: no limit.
    pub memory_limit: Option<u64>,
    /// libtest name filters (e.g. `memory::`): only tests matching one of them run. Empty: all.
    pub filters: Vec<String>,
    /// Extra environment of the test process (e.g. `KATAS_SEED` to replay one seed).
    pub test_env: Vec<(String, String)>,
    /// How cargo and the test binary are started: plainly, or pinned and sandboxed (grading).
    pub launch: Launch,
    /// Stop the test run at the first failing test (`dev mutants`: one failure kills a mutant,
    /// and rejects an alternative; the rest of the suite would only cost time).
    pub stop_at_first_failure: bool,
    /// Tests run at once (`--test-threads`); `None`: libtest's default, one per core.
    pub test_threads: Option<usize>,
    /// After a successful build, download the rest of the lock file's packages in the background
    /// once (a learner's own crate: see `prefetch`).
    pub prefetch: bool,
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
            memory_limit: Some(DEFAULT_MEMORY_LIMIT_MIB * 1024 * 1024),
            filters: Vec::new(),
            test_env: Vec::new(),
            launch: Launch::Plain,
            stop_at_first_failure: false,
            test_threads: None,
            prefetch: false,
        }
    }

    /// A request for a run whose latest stage is `stage`: its time and memory limits and its
    /// test threads.
    pub fn for_stage(crate_dir: &Path, target_dir: &Path, stage: &crate::course::Stage) -> Self {
        let mut request = Self::new(crate_dir, target_dir, stage.time_limit);
        request.memory_limit = Some(stage.memory_limit_mib * 1024 * 1024);
        request.test_threads = stage.test_threads;
        request
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
    /// Another cargo holds the build lock (another build of this course, or a left-over one):
    /// the build waits for it.
    WaitingForLock,
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
    /// For a graded run: how often each test recorded that it ran to its end, read from the
    /// results channel (see `grading::witness`). The judge of a graded run uses only this.
    pub witnessed: Option<std::collections::BTreeMap<String, usize>>,
    /// Every unit the build compiled, for the grader's check that they came from trusted places.
    pub units: Vec<BuiltUnit>,
    /// Why the test binary stopped before every test printed its result, when it was not the
    /// time limit or a cancellation: what the learner needs instead of "an endless loop?".
    pub early_end: Option<EarlyEnd>,
    /// What this run went without (a wrapper missing on this system), to say once.
    pub notes: Vec<String>,
}

/// How a test binary ended before every test printed its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EarlyEnd {
    /// It exited by itself (`std::process::exit`, a closed stdout) with this status.
    Exited(i32),
    /// A signal ended it (`abort()` is SIGABRT, a bad pointer SIGSEGV).
    Signal { number: i32, name: String },
    /// It went past its memory limit, of this many MiB.
    MemoryLimit { mib: u64 },
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
            witnessed: None,
            units: Vec::new(),
            early_end: None,
            notes: Vec::new(),
        }
    }

    /// Why the tests without a result did not finish, in words a learner can act on.
    pub fn unfinished_reason(&self) -> String {
        match (&self.early_end, self.verdict) {
            (_, Verdict::Cancelled) => "the run was cancelled before this test ended".to_owned(),
            (_, Verdict::TimedOut) | (None, _) => format!(
                "the run passed its time limit of {}s before this test ended (an endless loop? a \
                 deadlock? waiting for something that never comes?)",
                self.time_limit.as_secs()
            ),
            (Some(EarlyEnd::MemoryLimit { mib }), _) => format!(
                "the tests went past their memory limit of {mib} MiB and were stopped (a runaway \
                 allocation? an endless collection?); a stage sets the limit with \
                 `memory_limit_mib` in stage.toml"
            ),
            (Some(EarlyEnd::Signal { name, .. }), _) => {
                let why = match name.as_str() {
                    "SIGABRT" => " (`std::process::abort`, or a panic while panicking)",
                    "SIGSEGV" | "SIGBUS" => " (a bad memory access, e.g. in `unsafe` code)",
                    "SIGKILL" => " (killed from outside the run)",
                    _ => "",
                };
                format!("the test binary was killed by {name}{why} before this test ended")
            }
            (Some(EarlyEnd::Exited(code)), _) => format!(
                "the test binary exited with status {code} before this test ended (a call to \
                 `std::process::exit`? a closed standard output?)"
            ),
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
    if let Some(fetch) = launch::fetch_command(request) {
        let limits = Limits {
            time: request.build_time_limit,
            output_cap: DEFAULT_OUTPUT_CAP,
            memory: None,
            parent_death: true,
        };
        let fetched = process::run(fetch, limits, cancel, None)
            .await
            .map_err(|source| RunError::Spawn {
                program: "cargo fetch".to_owned(),
                source,
            })?;
        match fetched.ended {
            Ended::Exited(status) if status.success() => {}
            Ended::Cancelled => return Ok(with(outcome, Verdict::Cancelled)),
            _ => {
                outcome.build_output = format!(
                    "cargo could not fetch the trusted lock file's dependencies:\n{}",
                    fetched.stderr.text()
                );
                return Ok(with(outcome, Verdict::BuildError));
            }
        }
    }
    // The test binary starts as soon as cargo's artifact message names it, while cargo is still
    // finishing (writing fingerprints, printing its summary, exiting): that tail is off the
    // save-to-verdict path. cargo's end still decides: a build that fails after all (or is
    // cancelled, or times out) cancels the early test run, and its verdict is the build's.
    // Graded runs keep the two steps apart, as the sandbox's reasoning assumes.
    let early = matches!(request.launch, Launch::Plain);
    let (exe_tx, exe_rx) = tokio::sync::oneshot::channel::<PathBuf>();
    let tests_cancel = cancel.child_token();
    let build_side = async {
        let result = build(request, cancel, events.clone(), early.then_some(exe_tx)).await;
        if !matches!(&result, Ok((finished, log)) if built_ok(finished, log)) {
            tests_cancel.cancel();
        }
        result
    };
    let test_side = async {
        let executable = exe_rx.await.ok()?;
        Some(test_run(request, &executable, &tests_cancel, events.clone()).await)
    };
    let (built, early_tests) = tokio::join!(build_side, test_side);
    let (build, log) = built?;
    outcome.build_time = build.elapsed;
    outcome.diagnostics = log.diagnostics.clone();
    outcome.units = log.units.clone();
    match build.ended {
        Ended::Cancelled => return Ok(with(outcome, Verdict::Cancelled)),
        Ended::TimedOut => return Ok(with(outcome, Verdict::TimedOut)),
        Ended::Exited(_) => {}
    }
    let Some(executable) = log.executable.clone().filter(|_| built_ok(&build, &log)) else {
        outcome.build_output = build.stderr.text();
        let verdict = if log.errors().next().is_some() {
            Verdict::CompileError
        } else {
            Verdict::BuildError
        };
        if built_ok(&build, &log) {
            return Err(RunError::NoTestBinary {
                target: request.test_target.clone(),
            });
        }
        return Ok(with(outcome, verdict));
    };
    if request.prefetch && matches!(request.launch, Launch::Plain) {
        prefetch::spawn_once(request);
    }
    let tested = match early_tests {
        Some(tested) => tested?,
        None => test_run(request, &executable, cancel, events).await?,
    };
    Ok(RunOutcome {
        diagnostics: outcome.diagnostics,
        units: outcome.units,
        build_time: outcome.build_time,
        ..tested
    })
}

/// Whether cargo built the tests: it said so, and it exited with success.
fn built_ok(build: &process::Finished, log: &BuildLog) -> bool {
    log.success == Some(true) && matches!(build.ended, Ended::Exited(status) if status.success())
}

/// Runs the built test binary: the test half of a run, with its verdict.
async fn test_run(
    request: &RunRequest,
    executable: &Path,
    cancel: &CancellationToken,
    events: Option<mpsc::UnboundedSender<RunEvent>>,
) -> Result<RunOutcome, RunError> {
    let mut outcome = RunOutcome::new(Verdict::Passed, request.test_time_limit);
    let limits = Limits {
        time: request.test_time_limit,
        output_cap: request.output_cap,
        memory: request.memory_limit,
        parent_death: false,
    };
    outcome.notes = missing_wrappers(&limits)
        .into_iter()
        .map(str::to_owned)
        .collect();
    // The run itself says how many tests it runs ("running 7 tests"): pass that on as it comes.
    // Every line passes here, before the cap: libtest's result lines are kept apart, so a test
    // that floods the output cannot cost the results.
    let (lines_tx, mut lines_rx) = mpsc::unbounded_channel::<String>();
    let progress = events.clone();
    // A child of the caller's token: cancelling it stops this test run only.
    let test_cancel = cancel.child_token();
    let stopper = request.stop_at_first_failure.then(|| test_cancel.clone());
    let announcer = tokio::spawn(async move {
        let mut results = String::new();
        let mut stopped = false;
        while let Some(line) = lines_rx.recv().await {
            let count = running_count(&line);
            if let (Some(tests), Some(tx)) = (count, &progress) {
                let _ = tx.send(RunEvent::Testing { tests });
            }
            if count.is_some() || is_result_line(&line) {
                results.push_str(&line);
                results.push('\n');
                if let (Some(stop), false) = (&stopper, stopped)
                    && line.trim_end().ends_with("... FAILED")
                {
                    stop.cancel();
                    stopped = true;
                }
            }
        }
        (results, stopped)
    });
    let witness = match &request.launch {
        Launch::Graded(graded) => Some(
            launch::create_witness(&graded.results_dir)
                .map_err(|source| spawn_error(&graded.results_dir, source))?,
        ),
        Launch::Plain => None,
    };
    let mut command = launch::test_command(
        request,
        executable,
        false,
        &limits,
        witness.as_ref().map(|(path, _)| path.as_path()),
    );
    // In memory, as the grader's sandbox gives them (`scratch`); removed when `tmp` drops, after
    // the run's whole process group has ended.
    let tmp = matches!(request.launch, Launch::Plain)
        .then(scratch::RunTmp::create)
        .flatten();
    if let Some(tmp) = &tmp {
        command.env("TMPDIR", tmp.path());
    }
    crate::trace::mark(crate::trace::Phase::TestsStarted);
    let run = process::run(command, limits, &test_cancel, Some(lines_tx))
        .await
        .map_err(|source| spawn_error(executable, source))?;
    drop(tmp);
    let (results, stopped_at_failure) = announcer.await.unwrap_or_default();
    if let Some((path, mut reader)) = witness {
        let mut records = String::new();
        let _ = std::io::Read::read_to_string(&mut reader, &mut records);
        let _ = std::fs::remove_file(&path);
        outcome.witnessed = Some(crate::grading::witness::read(&records));
    }
    outcome.test_time = run.elapsed;
    outcome.truncated = run.stdout.dropped > 0 || run.stderr.dropped > 0;
    // The result lines first: the failures section of the capped output then still reads as a
    // whole, and a result cut from it is found anyway.
    let stdout = format!("{results}\n{}", run.stdout.text());
    outcome.tests = parse_run(&stdout, &[]);
    crate::trace::mark(crate::trace::Phase::ResultsParsed);
    let expected = results.lines().find_map(running_count);
    let complete = expected.is_some_and(|n| n == outcome.tests.len());
    if !complete && run.ended != Ended::Cancelled && !stopped_at_failure {
        // Some tests printed no result (killed at the limit, or the process exited early): ask
        // the binary for its list, so the missing ones are named as not finished. Only here,
        // off the common path, because it costs a second start of the binary.
        let listing = process::run(
            launch::test_command(request, executable, true, &limits, None),
            limits,
            cancel,
            None,
        )
        .await
        .map_err(|source| spawn_error(executable, source))?;
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
    if !complete && let Ended::Exited(status) = run.ended {
        outcome.early_end = early_end(status, &outcome.test_output, request.memory_limit);
    }
    let verdict = match run.ended {
        // Stopped on purpose at a failing test: a failed run, not a cancelled one.
        Ended::Cancelled if stopped_at_failure && !cancel.is_cancelled() => Verdict::Failed,
        Ended::Cancelled => Verdict::Cancelled,
        Ended::TimedOut => Verdict::TimedOut,
        Ended::Exited(status) if status.success() && all_passed => Verdict::Passed,
        Ended::Exited(_) => Verdict::Failed,
    };
    Ok(with(outcome, verdict))
}

/// How a test binary that stopped early ended: a memory limit reached (Rust's allocation failure
/// message, then an abort), a signal, or an exit status.
fn early_end(
    status: std::process::ExitStatus,
    stderr: &str,
    memory: Option<u64>,
) -> Option<EarlyEnd> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(number) = status.signal() {
            let name = nix::sys::signal::Signal::try_from(number)
                .map_or_else(|_| format!("signal {number}"), |s| s.as_str().to_owned());
            return Some(match memory {
                Some(bytes) if name == "SIGABRT" && stderr.contains("memory allocation of") => {
                    EarlyEnd::MemoryLimit {
                        mib: bytes / (1024 * 1024),
                    }
                }
                _ => EarlyEnd::Signal { number, name },
            });
        }
    }
    let _ = (stderr, memory);
    status.code().map(EarlyEnd::Exited)
}

/// A libtest result line: `test NAME ... ok|FAILED|ignored`.
fn is_result_line(line: &str) -> bool {
    line.strip_prefix("test ")
        .and_then(|rest| rest.rsplit_once(" ... "))
        .is_some_and(|(_, result)| {
            let result = result.trim();
            result == "ok" || result == "FAILED" || result.starts_with("ignored")
        })
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
    launch::plain_cargo()
}

async fn build(
    request: &RunRequest,
    cancel: &CancellationToken,
    events: Option<mpsc::UnboundedSender<RunEvent>>,
    executable: Option<tokio::sync::oneshot::Sender<PathBuf>>,
) -> Result<(process::Finished, BuildLog), RunError> {
    let program = match &request.launch {
        Launch::Plain => launch::plain_cargo(),
        Launch::Graded(graded) => graded.toolchain.cargo.display().to_string(),
    };
    let limits = Limits {
        time: request.build_time_limit,
        output_cap: 16 * DEFAULT_OUTPUT_CAP,
        // The compiler needs what it needs: the memory limit is the tests'.
        memory: None,
        parent_death: true,
    };
    let command = launch::build_command(request, &limits);
    let (lines_tx, mut lines_rx) = mpsc::unbounded_channel::<String>();
    let lock_events = events.clone();
    let total = lockfile_packages(&request.crate_dir);
    let target = request.test_target.clone();
    let reader = tokio::spawn(async move {
        let mut log = BuildLog::default();
        let mut executable = executable;
        while let Some(line) = lines_rx.recv().await {
            let before = log.units_done;
            log.push_line(&line, &target);
            if let Some(path) = &log.executable
                && let Some(tx) = executable.take()
            {
                crate::trace::mark(crate::trace::Phase::BuildFinished);
                let _ = tx.send(path.clone());
            }
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
    // cargo says on stderr when it waits for another cargo's lock: a build that seems stuck
    // must say why.
    let (err_tx, mut err_rx) = mpsc::unbounded_channel::<String>();
    let lock_events = lock_events;
    let watcher = tokio::spawn(async move {
        let mut said = false;
        while let Some(line) = err_rx.recv().await {
            if !said && line.contains(LOCK_WAIT) {
                said = true;
                if let Some(tx) = &lock_events {
                    let _ = tx.send(RunEvent::WaitingForLock);
                }
            }
        }
    });
    crate::trace::mark(crate::trace::Phase::CargoStarted);
    let finished = process::run_with(command, limits, cancel, Some(lines_tx), Some(err_tx))
        .await
        .map_err(|source| RunError::Spawn {
            program: program.clone(),
            source,
        })?;
    let log = reader.await.unwrap_or_default();
    let _ = watcher.await;
    Ok((finished, log))
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
        .map_err(|err| error_chain(&err))
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
    let limits = Limits {
        time: limit,
        output_cap: DEFAULT_OUTPUT_CAP,
        memory: None,
        parent_death: true,
    };
    let mut command = process::command(&program, &limits);
    command
        .args(args)
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_TERM_COLOR", "never");
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

/// An error and each of its causes, joined by `: `. `{:#}` does this for anyhow's errors only;
/// a thiserror error shows its own message alone, and the cause ("No space left on device") is
/// what a learner can act on.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // A transparent wrapper repeats its source's message.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_names_every_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot save progress to state.toml")]
        struct Save(#[source] std::io::Error);
        let err = Save(std::io::Error::from_raw_os_error(28));
        let text = error_chain(&err);
        assert!(
            text.starts_with("cannot save progress to state.toml: ")
                && text.contains("No space left on device"),
            "{text}"
        );
    }

    #[test]
    fn a_failed_save_says_its_cause_as_the_watch_screen_shows_it() {
        let err = crate::session::SessionError::from(crate::progress::ProgressError::Write {
            path: "state.toml".into(),
            source: std::io::Error::from_raw_os_error(28),
        });
        let text = error_chain(&err);
        assert!(
            text.contains("cannot save progress") && text.contains("No space left on device"),
            "{text}"
        );
        assert_eq!(text.matches("cannot save progress").count(), 1, "{text}");
    }

    #[test]
    fn result_lines_are_told_from_other_output() {
        assert!(is_result_line("test memory::a ... ok"));
        assert!(is_result_line("test memory::b ... FAILED"));
        assert!(is_result_line("test memory::c ... ignored, slow"));
        assert!(!is_result_line("test memory::d ... "));
        assert!(!is_result_line("xxxx test memory::e ... ok"));
    }
}
