//! The runner on small fixture crates: each test writes a crate whose tests do one thing (fail to
//! compile, fail, loop forever, flood the output, spawn a process) and checks what katas made
//! of it.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use katas::runner::{self, EarlyEnd, RunOutcome, RunRequest, TestStatus, Verdict};
use tokio_util::sync::CancellationToken;

/// A fixture crate with one stage module `fx` holding `tests`.
/// `PIDFILE` in `tests` becomes the path `<fixture>/pid`, where a test can leave a process id.
fn fixture(name: &str, lib: &str, tests: &str) -> (tempfile::TempDir, RunRequest) {
    let dir = tempfile::tempdir().unwrap();
    let tests = &tests.replace("PIDFILE", &dir.path().join("pid").display().to_string());
    let root = dir.path().join(name);
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("tests/stages")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(root.join("src/lib.rs"), lib).unwrap();
    std::fs::write(root.join("tests/stages/main.rs"), "mod fx;\n").unwrap();
    std::fs::write(root.join("tests/stages/fx.rs"), tests).unwrap();
    let request = RunRequest::new(&root, &shared_target(), Duration::from_secs(20));
    (dir, request)
}

/// One build folder for all fixtures, so the standard library's test harness links once.
fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("runner-fixtures")
}

fn run(request: &RunRequest) -> RunOutcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(runner::run(request, &CancellationToken::new(), None))
        .unwrap()
}

/// Whether a process is still running (a zombie waiting to be reaped is not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

#[test]
fn a_compile_error_is_reported_with_its_code_and_place() {
    let lib = "pub fn twice() -> usize {\n    let s = String::new();\n    let t = s;\n    s.len() + t.len()\n}\n";
    let (_dir, request) = fixture(
        "fx_compile",
        lib,
        "#[test]\nfn t() { assert_eq!(fx_compile::twice(), 0); }\n",
    );
    let outcome = run(&request);
    assert_eq!(outcome.verdict, Verdict::CompileError);
    let error = outcome.errors().next().expect("an error");
    assert_eq!(error.code.as_deref(), Some("E0382"));
    assert_eq!(error.file.as_deref(), Some("src/lib.rs"));
    assert_eq!(error.line, Some(4));
}

#[test]
fn failing_passing_and_panicking_tests_are_told_apart() {
    let tests = r#"
#[test]
fn passes() { assert_eq!(fx_mixed::answer(), 42); }
#[test]
fn fails() { assert_eq!(fx_mixed::answer(), 41, "the answer should be 41"); }
#[test]
fn panics() { panic!("boom at the edge"); }
"#;
    let (_dir, request) = fixture("fx_mixed", "pub fn answer() -> u32 { 42 }\n", tests);
    let outcome = run(&request);
    assert_eq!(outcome.verdict, Verdict::Failed);
    let status = |n: &str| {
        outcome
            .tests
            .iter()
            .find(|t| t.name == format!("fx::{n}"))
            .unwrap()
    };
    assert_eq!(status("passes").status, TestStatus::Passed);
    assert_eq!(status("fails").status, TestStatus::Failed);
    assert!(
        status("fails").output.contains("the answer should be 41"),
        "{}",
        status("fails").output
    );
    assert!(status("panics").output.contains("boom at the edge"));
}

#[test]
fn a_passing_crate_passes() {
    let (_dir, request) = fixture(
        "fx_pass",
        "pub fn one() -> u8 { 1 }\n",
        "#[test]\nfn one() { assert_eq!(fx_pass::one(), 1); }\n",
    );
    let outcome = run(&request);
    assert_eq!(outcome.verdict, Verdict::Passed, "{outcome:?}");
    assert_eq!(outcome.passed_count(), 1);
}

#[test]
fn an_endless_loop_is_killed_at_the_limit_and_leaves_no_process() {
    let tests = r#"
#[test]
fn quick() {}
#[test]
fn spins() {
    std::fs::write("PIDFILE", std::process::id().to_string()).unwrap();
    loop { std::hint::spin_loop(); }
}
"#;
    let (dir, mut request) = fixture("fx_loop", "", tests);
    let pid_file = dir.path().join("pid");
    request.test_time_limit = Duration::from_secs(2);
    let started = Instant::now();
    let outcome = run(&request);
    assert_eq!(outcome.verdict, Verdict::TimedOut);
    let spins = outcome
        .tests
        .iter()
        .find(|t| t.name == "fx::spins")
        .unwrap();
    assert_eq!(spins.status, TestStatus::DidNotFinish);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the limit was enforced"
    );
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert!(!alive(pid), "the test process {pid} outlived its run");
}

#[test]
fn an_output_flood_is_capped_without_hanging() {
    let tests = r#"
#[test]
fn floods() {
    use std::io::Write;
    let line = "x".repeat(1023) + "\n";
    let mut out = std::io::stderr().lock();
    for _ in 0..64 * 1024 { out.write_all(line.as_bytes()).unwrap(); }
    panic!("flooded");
}
"#;
    let (_dir, mut request) = fixture("fx_flood", "", tests);
    request.output_cap = 64 * 1024;
    let outcome = run(&request);
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert!(outcome.truncated, "64 MiB of output must be cut");
    assert!(
        outcome.test_output.len() < 200 * 1024,
        "kept {} bytes",
        outcome.test_output.len()
    );
    assert!(
        outcome.test_output.contains("output cut at 64 KiB"),
        "the cut is said"
    );
}

#[test]
fn a_process_spawned_by_a_test_dies_with_the_run() {
    let tests = r#"
#[test]
fn leaves_a_server_behind() {
    let child = std::process::Command::new("sleep").arg("300").spawn().unwrap();
    std::fs::write("PIDFILE", child.id().to_string()).unwrap();
    std::mem::forget(child);
}
"#;
    let (dir, request) = fixture("fx_spawn", "", tests);
    let pid_file = dir.path().join("pid");
    let outcome = run(&request);
    assert_eq!(outcome.verdict, Verdict::Passed);
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert!(!alive(pid), "the spawned `sleep` ({pid}) outlived the run");
}

#[test]
fn a_cancelled_run_stops_at_once_and_leaves_no_process() {
    let tests = r#"
#[test]
fn waits_forever() {
    std::fs::write("PIDFILE", std::process::id().to_string()).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(600));
}
"#;
    let (dir, request) = fixture("fx_cancel", "", tests);
    let pid_file = dir.path().join("pid");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let watched = pid_file.clone();
    let outcome = rt.block_on(async move {
        tokio::spawn(async move {
            while !watched.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            trigger.cancel();
        });
        runner::run(&request, &cancel, None).await.unwrap()
    });
    assert_eq!(outcome.verdict, Verdict::Cancelled);
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert!(
        !alive(pid),
        "the cancelled test process {pid} is still running"
    );
}

#[test]
fn a_test_that_exits_the_process_early_does_not_pass() {
    let tests =
        "#[test]\nfn a() { std::process::exit(0); }\n#[test]\nfn b() { std::process::exit(0); }\n";
    let (_dir, request) = fixture("fx_exit", "", tests);
    let outcome = run(&request);
    assert_ne!(
        outcome.verdict,
        Verdict::Passed,
        "exiting with 0 must not count as passing: {outcome:?}"
    );
    assert!(
        outcome
            .tests
            .iter()
            .any(|t| t.status == TestStatus::DidNotFinish)
    );
}

#[test]
fn a_broken_manifest_is_a_build_error_with_cargos_words() {
    let (_dir, request) = fixture("fx_manifest", "", "#[test]\nfn t() {}\n");
    std::fs::write(request.crate_dir.join("Cargo.toml"), "[package\nname = ").unwrap();
    let outcome = run(&request);
    assert_eq!(outcome.verdict, Verdict::BuildError);
    assert!(
        outcome.build_output.contains("Cargo.toml"),
        "{}",
        outcome.build_output
    );
}

#[test]
fn a_daemon_holding_the_output_pipe_keeps_the_results_and_dies_with_the_run() {
    // `setsid` leaves the run's process group; the daemon inherits stdout and stderr, so the
    // pipes stay open after the test binary is gone.
    let tests = r#"
#[test]
fn starts_a_daemon() {
    let child = std::process::Command::new("setsid").args(["sleep", "300"]).spawn().unwrap();
    std::fs::write("PIDFILE", child.id().to_string()).unwrap();
    std::mem::forget(child);
}
#[test]
fn passes_too() {}
"#;
    let (dir, request) = fixture("fx_daemon", "", tests);
    let outcome = run(&request);
    let pid: u32 = std::fs::read_to_string(dir.path().join("pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(outcome.verdict, Verdict::Passed, "{outcome:?}");
    assert_eq!(outcome.passed_count(), 2, "{outcome:?}");
    assert!(!alive(pid), "the daemon ({pid}) outlived the run");
}

#[test]
fn a_double_fork_does_not_escape_the_run() {
    let tests = r#"
#[test]
fn double_forks() {
    let status = std::process::Command::new("setsid")
        .args(["sh", "-c", "sleep 300 </dev/null >/dev/null 2>&1 & echo $! > PIDFILE"])
        .status()
        .unwrap();
    assert!(status.success());
}
"#;
    let (dir, request) = fixture("fx_double_fork", "", tests);
    let outcome = run(&request);
    assert_eq!(outcome.verdict, Verdict::Passed, "{outcome:?}");
    let pid: u32 = std::fs::read_to_string(dir.path().join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "the grandchild ({pid}) outlived the run");
}

#[test]
fn an_output_flood_never_costs_the_results() {
    let tests = r#"
#[test]
fn floods_stdout() {
    use std::io::Write;
    let line = "y".repeat(1023) + "\n";
    let mut out = std::io::stdout().lock();
    for _ in 0..16 * 1024 { out.write_all(line.as_bytes()).unwrap(); }
}
#[test]
fn then_passes() {}
#[test]
fn and_fails() { panic!("as it should"); }
"#;
    let (_dir, mut request) = fixture("fx_flood_results", "", tests);
    request.output_cap = 64 * 1024;
    let outcome = run(&request);
    assert!(outcome.truncated, "16 MiB of output must be cut");
    let status = |name: &str| {
        outcome
            .tests
            .iter()
            .find(|t| t.name == format!("fx::{name}"))
            .unwrap_or_else(|| panic!("no {name} in {:?}", outcome.tests))
            .status
    };
    assert_eq!(status("floods_stdout"), TestStatus::Passed);
    assert_eq!(status("then_passes"), TestStatus::Passed);
    assert_eq!(status("and_fails"), TestStatus::Failed);
    assert_eq!(outcome.verdict, Verdict::Failed);
}

#[test]
fn a_test_binary_that_ends_early_is_named_by_its_status_or_signal() {
    let tests = "#[test]\nfn aborts() { std::process::abort(); }\n#[test]\nfn waits() { std::thread::sleep(std::time::Duration::from_secs(5)); }\n";
    let (_dir, request) = fixture("fx_abort", "", tests);
    let outcome = run(&request);
    assert_eq!(outcome.verdict, Verdict::Failed);
    assert!(
        matches!(&outcome.early_end, Some(EarlyEnd::Signal { name, .. }) if name == "SIGABRT"),
        "{:?}",
        outcome.early_end
    );
    assert!(outcome.unfinished_reason().contains("SIGABRT"));
    assert!(!outcome.unfinished_reason().contains("endless loop"));

    let tests = "#[test]\nfn exits() { std::process::exit(3); }\n#[test]\nfn waits() { std::thread::sleep(std::time::Duration::from_secs(5)); }\n";
    let (_dir, request) = fixture("fx_exit3", "", tests);
    let outcome = run(&request);
    assert_eq!(outcome.early_end, Some(EarlyEnd::Exited(3)), "{outcome:?}");
    assert!(outcome.unfinished_reason().contains("exited with status 3"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_test_past_its_memory_limit_is_stopped_and_said_so() {
    let tests = r#"
#[test]
fn hoards() {
    let big = vec![1u8; 1 << 30];
    assert_eq!(big[big.len() - 1], 1);
}
"#;
    let (_dir, mut request) = fixture("fx_memory", "", tests);
    request.memory_limit = Some(256 * 1024 * 1024);
    let outcome = run(&request);
    assert_eq!(outcome.verdict, Verdict::Failed, "{outcome:?}");
    assert_eq!(
        outcome.early_end,
        Some(EarlyEnd::MemoryLimit { mib: 256 }),
        "{outcome:?}"
    );
    assert!(
        outcome
            .unfinished_reason()
            .contains("memory limit of 256 MiB")
    );
}

#[test]
fn a_build_waiting_for_cargos_lock_says_so() {
    use katas::runner::RunEvent;
    let (_dir, request) = fixture("fx_lock", "", "#[test]\nfn t() {}\n");
    // Build once, so the lock file exists; then hold it as a left-over cargo would.
    assert_eq!(run(&request).verdict, Verdict::Passed);
    let lock_path = request.target_dir.join("debug/.cargo-lock");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&lock_path)
        .unwrap();
    let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let run = tokio::spawn(async move { runner::run(&request, &cancel, Some(tx)).await });
        // A bound only so that a missing event fails the test instead of hanging it.
        let said = tokio::time::timeout(Duration::from_secs(300), async {
            while let Some(event) = rx.recv().await {
                if event == RunEvent::WaitingForLock {
                    return true;
                }
            }
            false
        })
        .await
        .unwrap_or(false);
        drop(lock);
        (said, run.await.unwrap().unwrap())
    });
    let (said, outcome) = outcome;
    assert!(said, "no word of the wait for the lock");
    assert_eq!(outcome.verdict, Verdict::Passed);
}
