//! How a run starts cargo and the test binary: as the learner's own environment would
//! (`katas run`, `katas watch`), or pinned and sandboxed for grading.
//!
//! A graded run trusts nothing from the environment it was started in: the toolchain is pinned
//! by absolute path, the environment is cleared and set anew, cargo runs `--locked --offline`
//! after a `cargo fetch` of the trusted lock file, and the build and the tests run in the
//! sandbox, where the test run sees the crate, its own binary and a results folder, nothing else.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::process::Command;

use super::RunRequest;
use super::process::{self, Limits};
use crate::grading::toolchain::Toolchain;
use crate::grading::witness;
use crate::sandbox::{Jail, Sandbox};

/// How a run starts its processes.
#[derive(Debug, Clone, Default)]
pub enum Launch {
    /// In the caller's environment, with the cargo that started katas (a learner's runs).
    #[default]
    Plain,
    /// Pinned and, when `sandbox` is set, jailed (grading).
    Graded(Arc<Graded>),
}

/// The settings of a graded run.
#[derive(Debug, Clone)]
pub struct Graded {
    pub toolchain: Toolchain,
    /// `None` only when the grader asked for `--no-sandbox`.
    pub sandbox: Option<Sandbox>,
    /// The grader's cargo home: its registry is where the locked dependencies come from.
    pub cargo_home: PathBuf,
    /// The trusted path dependencies (the course's own crates), read-only in the sandbox.
    pub trusted_paths: Vec<PathBuf>,
    /// A folder of the grader's, writable in the sandbox, for the results file.
    pub results_dir: PathBuf,
    /// The test run's address-space limit, in bytes.
    pub memory_limit: u64,
}

impl Graded {
    /// The environment every graded command starts from: nothing of the caller's.
    fn base_env(&self, home: &Path) -> Vec<(OsString, OsString)> {
        vec![
            ("PATH".into(), self.toolchain.path_env()),
            ("HOME".into(), home.into()),
            ("TMPDIR".into(), "/tmp".into()),
            ("CARGO_HOME".into(), self.cargo_home.clone().into()),
            ("RUSTC".into(), self.toolchain.rustc.clone().into()),
            ("CARGO_TERM_COLOR".into(), "never".into()),
            ("LANG".into(), "C.UTF-8".into()),
        ]
    }

    /// What cargo may see in the sandbox: the registry writable (cargo locks and unpacks there),
    /// the cargo home's configuration read-only, and none of its credentials.
    fn cargo_home_binds(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut read_only = Vec::new();
        let mut writable = Vec::new();
        for name in ["registry", "git"] {
            let path = self.cargo_home.join(name);
            if path.is_dir() {
                writable.push(path);
            }
        }
        for name in ["config.toml", "config"] {
            let path = self.cargo_home.join(name);
            if path.is_file() {
                read_only.push(path);
            }
        }
        (read_only, writable)
    }
}

/// The cargo to run for a plain run: the one that started katas (under `cargo run`), else the
/// one on PATH.
pub fn plain_cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// `cargo fetch` of the trusted lock file, outside the sandbox (it needs the network the sandbox
/// does not have; it reads only trusted files). `None` for a plain run.
pub fn fetch_command(request: &RunRequest) -> Option<Command> {
    let Launch::Graded(graded) = &request.launch else {
        return None;
    };
    let limits = Limits {
        time: request.build_time_limit,
        output_cap: 0,
        memory: None,
        parent_death: true,
    };
    let mut command = process::command(&graded.toolchain.cargo, &limits);
    command
        .arg("fetch")
        .arg("--locked")
        .arg("--manifest-path")
        .arg(request.crate_dir.join("Cargo.toml"))
        .current_dir(&request.crate_dir)
        .env_clear()
        .envs(graded.base_env(&graded.results_dir));
    Some(command)
}

/// `cargo test --no-run` for the request's test target, with JSON messages.
pub fn build_command(request: &RunRequest, limits: &Limits) -> Command {
    let args: Vec<OsString> = [
        "test".into(),
        "--no-run".into(),
        "--manifest-path".into(),
        request.crate_dir.join("Cargo.toml").into(),
        "--target-dir".into(),
        request.target_dir.clone().into(),
        "--test".into(),
        request.test_target.clone().into(),
        "--message-format=json-diagnostic-rendered-ansi".into(),
        "--color=never".into(),
    ]
    .into();
    cargo_command(request, args, limits)
}

/// A cargo command on the request's crate, started as its launch says: plainly, or pinned
/// (`--locked --offline`, a cleared environment) and jailed with only the crate, the build
/// folder and the toolchain visible. `args` are cargo's, before any `--`; `after` follow a `--`.
pub fn cargo_command(request: &RunRequest, args: Vec<OsString>, limits: &Limits) -> Command {
    cargo_command_with(request, args, Vec::new(), limits)
}

/// [`cargo_command`] with arguments after `--` (e.g. clippy's lint flags).
pub fn cargo_command_with(
    request: &RunRequest,
    args: Vec<OsString>,
    after: Vec<OsString>,
    limits: &Limits,
) -> Command {
    let with_after = |mut args: Vec<OsString>| {
        if !after.is_empty() {
            args.push("--".into());
            args.extend(after.iter().cloned());
        }
        args
    };
    match &request.launch {
        Launch::Plain => {
            let args = with_after(args);
            let mut command = process::command(plain_cargo(), limits);
            command
                .args(&args)
                .current_dir(&request.crate_dir)
                .env_remove("CARGO_TARGET_DIR")
                .env_remove("CARGO_BUILD_TARGET_DIR");
            command
        }
        Launch::Graded(graded) => {
            let mut args = args;
            args.extend(["--locked".into(), "--offline".into()]);
            let args = with_after(args);
            let env = graded.base_env(Path::new("/tmp"));
            match &graded.sandbox {
                Some(sandbox) => {
                    let (mut read_only, writable_home) = graded.cargo_home_binds();
                    read_only.push(graded.toolchain.sysroot.clone());
                    read_only.push(request.crate_dir.clone());
                    read_only.extend(graded.trusted_paths.iter().cloned());
                    let mut writable = vec![request.target_dir.clone()];
                    writable.extend(writable_home);
                    let jail = Jail {
                        read_only,
                        writable,
                        proc: true,
                        env,
                        cwd: request.crate_dir.clone(),
                        memory: None,
                    };
                    sandbox.command(&jail, &graded.toolchain.cargo, &args)
                }
                None => {
                    let mut command = process::command(&graded.toolchain.cargo, limits);
                    command
                        .args(&args)
                        .current_dir(&request.crate_dir)
                        .env_clear()
                        .envs(graded.base_env(&graded.results_dir));
                    command
                }
            }
        }
    }
}

/// The test binary's command: the run itself, or its `--list`. `witness` is the results file of
/// a graded run.
pub fn test_command(
    request: &RunRequest,
    executable: &Path,
    list: bool,
    limits: &Limits,
    witness: Option<&Path>,
) -> Command {
    let mut args: Vec<OsString> = Vec::new();
    if list {
        args.extend(["--list".into(), "--format".into(), "terse".into()]);
    } else if let Some(threads) = request.test_threads {
        args.push(format!("--test-threads={threads}").into());
    }
    args.extend(request.filters.iter().map(OsString::from));
    let mut env: Vec<(OsString, OsString)> = vec![
        (
            "CARGO_MANIFEST_DIR".into(),
            request.crate_dir.clone().into(),
        ),
        // Backtraces bury the assertion message a learner needs under frames they don't.
        ("RUST_BACKTRACE".into(), "0".into()),
        ("RUST_TEST_COLOR".into(), "never".into()),
    ];
    env.extend(
        request
            .test_env
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    match &request.launch {
        Launch::Plain => {
            let mut command = process::command(executable, limits);
            command
                .args(&args)
                .current_dir(&request.crate_dir)
                .envs(env);
            command
        }
        Launch::Graded(graded) => {
            env.extend([
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("TMPDIR".into(), "/tmp".into()),
                ("HOME".into(), "/tmp".into()),
                ("LANG".into(), "C.UTF-8".into()),
            ]);
            if let Some(path) = witness {
                env.push((witness::ENV.into(), path.into()));
            }
            match &graded.sandbox {
                Some(sandbox) => {
                    let jail = Jail {
                        read_only: vec![request.crate_dir.clone(), executable.to_path_buf()],
                        writable: vec![graded.results_dir.clone()],
                        proc: false,
                        env,
                        cwd: request.crate_dir.clone(),
                        memory: Some(graded.memory_limit),
                    };
                    sandbox.command(&jail, executable, &args)
                }
                None => {
                    let mut command = process::command(executable, limits);
                    command
                        .args(&args)
                        .current_dir(&request.crate_dir)
                        .env_clear()
                        .envs(env);
                    command
                }
            }
        }
    }
}

/// A results file for one graded test run: created empty (the witness opens it without
/// creating, so a missing file is never mistaken for one) and opened by katas before the run,
/// so katas can read it after the witness has unlinked it.
pub fn create_witness(results_dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(results_dir)?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = results_dir.join(format!("witness-{}-{n}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    std::fs::File::create_new(&path)?;
    let reader = std::fs::File::open(&path)?;
    Ok((path, reader))
}
