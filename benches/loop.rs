//! The save-to-verdict loop, measured against bare cargo. Prints numbers; asserts nothing
//! (machines here are shared and noisy: figures are for reading, not for failing a build).
//!
//! On a copy of the bundled course, with the first stage of a track solved:
//! 1. bare `cargo test --test stages` after an edit, and bare `cargo test` (all targets);
//! 2. `katas run` after an edit (issue: at most 5% or 50 ms over bare cargo);
//! 3. `katas watch`: save-to-verdict (write -> verdict recorded), a save during a run (second
//!    save -> verdict), five writes within 50 ms (how many runs), and idle CPU and RSS.
//!
//! `KATAS_BENCH_TRACK` picks the track (default kv_store), `KATAS_BENCH_RUNS` the samples (7).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

fn main() {
    let track = std::env::var("KATAS_BENCH_TRACK").unwrap_or_else(|_| "kv_store".to_owned());
    let samples: usize = std::env::var("KATAS_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("course");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for part in ["info.toml", "course", "solutions", "exercises", "crates"] {
        copy(&repo.join(part), &root.join(part));
    }
    // Reuse the repository's build folder so dependencies are warm, as they are for a learner.
    let target = repo.join(".katas/target");
    std::fs::create_dir_all(root.join(".katas")).unwrap();
    let katas = env!("CARGO_BIN_EXE_katas");
    let crate_dir = root.join("exercises").join(&track);
    let first_stage = first_stage(&root, &track);
    copy(
        &root
            .join("solutions")
            .join(&track)
            .join(&first_stage)
            .join("src"),
        &crate_dir.join("src"),
    );
    // katas' build folder for this course: point it at the warm one.
    #[cfg(unix)]
    std::os::unix::fs::symlink(&target, root.join(".katas/target")).unwrap();
    let lib = crate_dir.join("src/lib.rs");
    let original = std::fs::read_to_string(&lib).unwrap();
    let mut edits = 0u32;
    let mut edit = || {
        edits += 1;
        std::fs::write(&lib, format!("{original}\n// edit {edits}\n")).unwrap();
    };

    println!("track {track}, stage {first_stage}, {samples} samples each, medians\n");
    // Warm up: build everything once.
    run(Command::new(katas).arg("run").current_dir(&root));

    let bare_stages = median(samples, || {
        edit();
        time(|| run(cargo_test(&crate_dir, &target).args(["--test", "stages"])))
    });
    let bare_all = median(samples, || {
        edit();
        time(|| run(&mut cargo_test(&crate_dir, &target)))
    });
    let katas_run = median(samples, || {
        edit();
        time(|| run(Command::new(katas).arg("run").current_dir(&root)))
    });
    println!(
        "bare `cargo test --test stages` after an edit: {:>7.1} ms",
        ms(bare_stages)
    );
    println!(
        "bare `cargo test` (all targets, doc tests) : {:>7.1} ms",
        ms(bare_all)
    );
    println!(
        "`katas run` after an edit                    : {:>7.1} ms  ({:+.1} ms, {:.3}x bare --test stages)",
        ms(katas_run),
        ms(katas_run) - ms(bare_stages),
        katas_run.as_secs_f64() / bare_stages.as_secs_f64()
    );

    #[cfg(unix)]
    watch_figures(
        katas,
        &root,
        &track,
        &first_stage,
        &lib,
        &original,
        samples,
        bare_stages,
        bare_all,
    );
}

#[cfg(unix)]
#[allow(clippy::too_many_arguments)]
fn watch_figures(
    katas: &str,
    root: &Path,
    track: &str,
    stage: &str,
    lib: &Path,
    original: &str,
    samples: usize,
    bare_stages: Duration,
    bare_all: Duration,
) {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(katas);
    cmd.arg("watch");
    cmd.cwd(root);
    cmd.env_remove("CI");
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    let pid = child.process_id().unwrap();
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let parser = std::sync::Arc::new(std::sync::Mutex::new(vt100::Parser::new(40, 120, 0)));
    let feed = std::sync::Arc::clone(&parser);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().unwrap().process(&buf[..n]);
        }
    });
    let screen = || parser.lock().unwrap().screen().contents();
    let busy = |text: &str| {
        text.contains("building") || text.contains("running ") || text.contains("starting")
    };
    // The verdict is on screen once the screen has been busy and then shows a summary again.
    let wait_screen_verdict = |started: Instant| {
        let deadline = started + Duration::from_secs(60);
        let mut seen_busy = false;
        while Instant::now() < deadline {
            let text = screen();
            if busy(&text) {
                seen_busy = true;
            } else if seen_busy && text.contains("tests pass - ") {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        started.elapsed()
    };
    let state = root.join(".katas/state.toml");
    let runs = || {
        let text = std::fs::read_to_string(&state).unwrap_or_default();
        let section = format!("[tracks.{track}.stages.{stage}]");
        text.split(&section)
            .nth(1)
            .and_then(|s| {
                s.lines().find_map(|l| {
                    l.strip_prefix("runs = ")
                        .and_then(|n| n.parse::<u32>().ok())
                })
            })
            .unwrap_or(0)
    };
    let wait_runs = |target: u32| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while runs() < target && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    wait_runs(runs().max(1));
    std::thread::sleep(Duration::from_millis(500));
    let mut n = 0u32;
    let mut save = |text: &str| {
        n += 1;
        let tmp = lib.with_extension("rs.tmp");
        std::fs::write(&tmp, format!("{text}\n// save {n}\n")).unwrap();
        std::fs::rename(&tmp, lib).unwrap();
    };

    let mut on_screen = Vec::new();
    let save_to_verdict = median(samples, || {
        let before = runs();
        let started = Instant::now();
        save(original);
        on_screen.push(wait_screen_verdict(started));
        wait_runs(before + 1);
        let elapsed = started.elapsed();
        std::thread::sleep(Duration::from_millis(300));
        elapsed
    });
    on_screen.sort();
    let on_screen = on_screen[on_screen.len() / 2];
    println!(
        "\n`katas watch` save-to-verdict (atomic save -> verdict on screen)  : {:>7.1} ms  ({:+.1} ms vs bare --test stages, {:+.1} ms vs bare cargo test)",
        ms(on_screen),
        ms(on_screen) - ms(bare_stages),
        ms(on_screen) - ms(bare_all)
    );
    println!(
        "`katas watch` save-to-verdict (atomic save -> verdict recorded)   : {:>7.1} ms  ({:+.1} ms vs bare --test stages, {:+.1} ms vs bare cargo test)",
        ms(save_to_verdict),
        ms(save_to_verdict) - ms(bare_stages),
        ms(save_to_verdict) - ms(bare_all)
    );

    // A save during a build: the second save lands while the first one's build runs; its
    // verdict must come within bare-cargo time of it (cancel and restart, not wait).
    let during = median(samples.min(5), || {
        let before = runs();
        save(&format!("{original}\n// first of two saves\n"));
        std::thread::sleep(Duration::from_millis(150));
        let started = Instant::now();
        save(original);
        wait_runs(before + 1);
        let elapsed = started.elapsed();
        std::thread::sleep(Duration::from_millis(300));
        elapsed
    });
    println!(
        "a save during a build: second save -> its verdict               : {:>7.1} ms  ({:+.1} ms vs bare --test stages)",
        ms(during),
        ms(during) - ms(bare_stages)
    );

    let before = runs();
    for i in 0..5 {
        save(&format!("{original}\n// burst {i}\n"));
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_secs(3));
    println!(
        "five writes within 50 ms started {} run(s)",
        runs() - before
    );

    let ticks = |pid: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        fields
            .get(11)
            .and_then(|u| u.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_secs(2));
    let idle = Duration::from_secs(
        std::env::var("KATAS_BENCH_IDLE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30),
    );
    let start_ticks = ticks(pid);
    std::thread::sleep(idle);
    let used = ticks(pid) - start_ticks;
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    println!("idle for {}s: {used} CPU ticks; RSS {rss}", idle.as_secs());
    let _ = child.kill();
}

fn first_stage(root: &Path, track: &str) -> String {
    let info = std::fs::read_to_string(root.join("info.toml")).unwrap();
    let after = info
        .split(&format!("id = \"{track}\""))
        .nth(1)
        .expect("no such track");
    let stages = after
        .lines()
        .find(|l| l.trim_start().starts_with("stages"))
        .unwrap();
    stages.split('"').nth(1).unwrap().to_owned()
}

fn cargo_test(crate_dir: &Path, target: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .arg("test")
        .arg("-q")
        .arg("--target-dir")
        .arg(target)
        .current_dir(crate_dir);
    command
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    let _ = out;
}

fn time(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

fn median(samples: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut all: Vec<Duration> = (0..samples.max(1)).map(|_| f()).collect();
    all.sort();
    all[all.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn copy(from: &Path, to: &PathBuf) {
    let Ok(meta) = std::fs::metadata(from) else {
        return;
    };
    if meta.is_file() {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
        return;
    }
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "target" || entry.file_name() == ".katas" {
            continue;
        }
        copy(&entry.path(), &to.join(entry.file_name()));
    }
}
