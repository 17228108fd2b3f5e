//! The save-to-verdict loop, measured against bare cargo and bacon. Prints numbers; asserts
//! nothing (figures are for reading on a quiet machine, not for failing a build).
//!
//! For each measured stage (default: the first and a late stage of every track), on a copy of
//! the bundled course with that stage reached by its reference solutions:
//! - each tool gets its own copy of the same crate (a watcher must not see another's saves) and
//!   its own build folder, copied from one warm folder so the dependencies are built once (copies
//!   of a crate cannot share a folder: cargo gives them the same artifact names);
//! - every save changes code, not a comment (a comment lets rustc's incremental cache skip
//!   codegen): it alternates the constant a function appended to `src/lib.rs` returns;
//! - rounds are paired, bare cargo, katas watch, bacon, bare cargo, ... so a machine that slows
//!   down in the middle slows every tool alike; the table gives medians and ratios;
//! - katas runs with `KATAS_TRACE_TIMINGS`, and each save prints where its time went: event,
//!   debounce, cargo started, build finished (the artifact message), test binary started, last
//!   result parsed, frame drawn, recorded, clippy's findings shown - milliseconds after the
//!   save, on the same clock;
//! - katas runs twice, paired in each round: as learners run it (clippy after every pass, its
//!   findings on screen some time after the verdict: "pass -> lints") and with `--no-clippy`, on
//!   a copy of the same course, so the table shows what clippy costs a save's verdict (nothing,
//!   if its own build folder and its cancellation work).
//!
//! Environment: `KATAS_BENCH_ROUNDS` (default 7) rounds per stage; `KATAS_BENCH_STAGES`, a comma
//! list of `track/stage` (default `kv_store/memory,kv_store/server,rate_limiter/middleware,
//! replication/log_replication`). bacon is measured when it is on PATH (`bacon test` in a
//! terminal, its verdict seen by its `.bacon-locations` export being rewritten).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

const DEFAULT_STAGES: &str =
    "kv_store/memory,kv_store/server,rate_limiter/middleware,replication/log_replication";

/// The phases katas traces, in order.
const PHASES: &[&str] = &[
    "event",
    "debounced",
    "cargo_started",
    "build_finished",
    "tests_started",
    "results_parsed",
    "frame_drawn",
    "recorded",
    "style_shown",
];

fn main() {
    let rounds: usize = std::env::var("KATAS_BENCH_ROUNDS")
        .or_else(|_| std::env::var("KATAS_BENCH_RUNS"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let stages = std::env::var("KATAS_BENCH_STAGES").unwrap_or_else(|_| DEFAULT_STAGES.to_owned());
    let bacon = on_path("bacon");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The warm build folder the tools' own folders are copied from: dependencies build once.
    let target = repo.join(".katas/bench-target");
    std::fs::create_dir_all(&target).unwrap();
    println!(
        "{rounds} rounds per stage; bacon: {}\n",
        bacon
            .as_ref()
            .map_or("not on PATH, skipped".to_owned(), |b| b
                .display()
                .to_string())
    );
    let mut table = Vec::new();
    for reference in stages.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (track, stage) = reference
            .split_once('/')
            .expect("KATAS_BENCH_STAGES: track/stage");
        table.push(bench_stage(
            repo,
            &target,
            track,
            stage,
            rounds,
            bacon.as_deref(),
        ));
    }
    println!(
        "\n| stage | bare `cargo test --test stages` | bacon | katas watch (on screen) | katas --no-clippy | katas / bare | katas / bacon | katas / --no-clippy | pass -> lints on screen | katas' own CPU per save |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in &table {
        let bacon = row
            .bacon
            .map_or("-".to_owned(), |b| format!("{:.0} ms", ms(b)));
        let vs_bacon = row
            .bacon
            .map_or("-".to_owned(), |b| format!("{:.2}", ratio(row.katas, b)));
        println!(
            "| {} ({} rounds) | {:.0} ms | {bacon} | {:.0} ms | {:.0} ms | {:.2} ({:+.0} ms) | {vs_bacon} | {:.2} ({:+.0} ms) | {} | {} |",
            row.stage,
            rounds,
            ms(row.bare),
            ms(row.katas),
            ms(row.quiet),
            ratio(row.katas, row.bare),
            ms(row.katas) - ms(row.bare),
            ratio(row.katas, row.quiet),
            ms(row.katas) - ms(row.quiet),
            row.to_lints
                .map_or("-".to_owned(), |d| format!("{:.0} ms", ms(d))),
            row.own_cpu
                .map_or("-".to_owned(), |d| format!("{:.0} ms", ms(d))),
        );
    }
}

struct Row {
    stage: String,
    bare: Duration,
    katas: Duration,
    /// katas watch --no-clippy.
    quiet: Duration,
    /// From the verdict on screen to clippy's findings on screen (katas with clippy).
    to_lints: Option<Duration>,
    bacon: Option<Duration>,
    /// The CPU time katas' own process (`--no-clippy`; not its children: cargo, the tests)
    /// used per save, from the save to the verdict recorded: the share of the loop that is
    /// katas' own, measured in a way the machine's noise does not blur (Linux only).
    own_cpu: Option<Duration>,
}

fn bench_stage(
    repo: &Path,
    target: &Path,
    track: &str,
    stage: &str,
    rounds: usize,
    bacon: Option<&Path>,
) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("course");
    for part in ["info.toml", "course", "solutions", "exercises", "crates"] {
        copy(&repo.join(part), &root.join(part));
    }
    std::fs::create_dir_all(root.join(".katas")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, root.join(".katas/target")).unwrap();
    let katas = env!("CARGO_BIN_EXE_katas");
    let crate_dir = root.join("exercises").join(track);
    println!("== {track}/{stage}: reaching it with the reference solutions (not timed)");
    for earlier in stages_of(&root, track) {
        solve(&root, track, &earlier);
        let out = Command::new(katas)
            .args(["run", track])
            .current_dir(&root)
            .output()
            .unwrap();
        if earlier == stage {
            assert!(
                out.status.success(),
                "{track}/{stage} does not pass with its solution:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
            break;
        }
        run(Command::new(katas).arg("next").current_dir(&root));
    }
    // Each tool gets its own build folder, a copy of the warm shared one. They cannot share one:
    // cargo names a path package's artifacts by a hash of its path *relative to its workspace*,
    // so every copy of the crate writes the same `libkv_store-<hash>.rlib`, fingerprints and
    // incremental state, and each tool's build after another's rebuilds from the other copy's
    // state (measured: 900 against 400 ms for bare cargo on kv_store/memory).
    let own_target = |tool: &str| {
        let own = dir.path().join(format!("target-{tool}"));
        run(Command::new("cp").arg("-a").arg(target).arg(&own));
        own
    };
    let (bare_target, bacon_target, quiet_target) = (
        own_target("bare"),
        own_target("bacon"),
        own_target("no-clippy"),
    );
    // katas with clippy off gets a copy of the reached course (its own crate and progress).
    let quiet_root = dir.path().join("course-no-clippy");
    copy(&root, &quiet_root);
    std::fs::create_dir_all(quiet_root.join(".katas")).unwrap();
    std::fs::copy(
        root.join(".katas/state.toml"),
        quiet_root.join(".katas/state.toml"),
    )
    .unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&quiet_target, quiet_root.join(".katas/target")).unwrap();
    let quiet_crate = quiet_root.join("exercises").join(track);
    // The other tools' copies: siblings, so relative path dependencies still resolve.
    let bare_dir = root.join("exercises").join(format!("{track}-bare"));
    let bacon_dir = root.join("exercises").join(format!("{track}-bacon"));
    copy(&crate_dir, &bare_dir);
    copy(&crate_dir, &bacon_dir);
    let mut saves = Saves::new();
    // Warm every copy once.
    run(&mut cargo_stages(&bare_dir, &bare_target));
    run(&mut cargo_stages(&bacon_dir, &bacon_target));

    let trace = dir.path().join("trace.txt");
    let mut watch = Tui::start(katas, &root, &[("KATAS_TRACE_TIMINGS", trace.as_path())]);
    let state = root.join(".katas/state.toml");
    let runs = || recorded_runs(&state, track, stage);
    wait_until(Duration::from_secs(600), || runs() >= 1);
    // clippy's first run builds the dependencies in its own folder: not timed.
    wait_until(Duration::from_secs(900), || {
        std::fs::read_to_string(&trace).is_ok_and(|t| t.contains("style_shown"))
    });
    std::thread::sleep(Duration::from_millis(500));
    let quiet_trace = dir.path().join("trace-no-clippy.txt");
    let mut quiet_watch = Tui::start_program(
        katas,
        &["watch", "--no-clippy"],
        &quiet_root,
        &[("KATAS_TRACE_TIMINGS", quiet_trace.as_path())],
    );
    let quiet_state = quiet_root.join(".katas/state.toml");
    let quiet_runs = || recorded_runs(&quiet_state, track, stage);
    let quiet_before = quiet_runs();
    wait_until(Duration::from_secs(600), || quiet_runs() > quiet_before);
    std::thread::sleep(Duration::from_millis(500));
    let mut bacon_tui = bacon.map(|bacon| {
        let tui = Tui::start_program(
            bacon.to_str().unwrap(),
            &["test", "--export-locations", "--", "--test", "stages"],
            &bacon_dir,
            &[("CARGO_TARGET_DIR", bacon_target.as_path())],
        );
        let locations = bacon_dir.join(".bacon-locations");
        wait_until(Duration::from_secs(600), || locations.exists());
        std::thread::sleep(Duration::from_millis(500));
        (tui, locations)
    });

    let (mut bare, mut on_screen, mut baconed) = (Vec::new(), Vec::new(), Vec::new());
    let (mut quiet, mut to_lints, mut own_cpu) = (Vec::new(), Vec::new(), Vec::new());
    println!("   save -> ms after it: {}", PHASES.join(" | "));
    let mut trace_offset = std::fs::metadata(&trace).map_or(0, |m| m.len());
    for round in 0..rounds {
        // A: bare cargo.
        wait_idle();
        saves.save(&bare_dir);
        bare.push(time(|| run(&mut cargo_stages(&bare_dir, &bare_target))));
        // B: katas watch.
        wait_idle();
        let before = runs();
        watch.arm();
        let started = Instant::now();
        let t0 = katas::trace::now_ns();
        saves.save(&crate_dir);
        let screen = watch.wait_verdict(started);
        wait_until(Duration::from_secs(120), || runs() > before);
        on_screen.push(screen);
        // clippy's findings of this save, then the next measurement: a clippy still running
        // would slow the next save of any tool.
        let new_trace = || {
            let lines = std::fs::read_to_string(&trace).unwrap_or_default();
            lines.get(trace_offset as usize..).unwrap_or("").to_owned()
        };
        wait_until(Duration::from_secs(300), || {
            new_trace().contains("style_shown")
        });
        let new = new_trace();
        trace_offset += new.len() as u64;
        if let (Some(drawn), Some(shown)) = (
            last_phase(&new, "frame_drawn"),
            last_phase(&new, "style_shown"),
        ) {
            to_lints.push(Duration::from_nanos(
                u64::try_from(shown.saturating_sub(drawn)).unwrap_or(u64::MAX),
            ));
        }
        println!(
            "   {track}/{stage} save {}: on screen {:.0} ms; {}",
            round + 1,
            ms(screen),
            phases(&new, t0)
        );
        std::thread::sleep(Duration::from_millis(300));
        // B': katas watch --no-clippy, the same save on its copy.
        wait_idle();
        let before = quiet_runs();
        let cpu_before = quiet_watch.own_cpu();
        quiet_watch.arm();
        let started = Instant::now();
        saves.save(&quiet_crate);
        let screen = quiet_watch.wait_verdict(started);
        wait_until(Duration::from_secs(120), || quiet_runs() > before);
        quiet.push(screen);
        if let (Some(before), Some(after)) = (cpu_before, quiet_watch.own_cpu()) {
            own_cpu.push(after.saturating_sub(before));
        }
        println!(
            "   {track}/{stage} save {} --no-clippy: on screen {:.0} ms",
            round + 1,
            ms(screen)
        );
        std::thread::sleep(Duration::from_millis(300));
        // C: bacon.
        if let Some((_, locations)) = &bacon_tui {
            let modified = || std::fs::metadata(locations).and_then(|m| m.modified()).ok();
            wait_idle();
            let before = modified();
            let started = Instant::now();
            saves.save(&bacon_dir);
            wait_until(Duration::from_secs(120), || modified() != before);
            baconed.push(started.elapsed());
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    // Five writes within 50 ms: how many verdicts (one, for the newest content).
    let before = runs();
    for _ in 0..5 {
        saves.save(&crate_dir);
        std::thread::sleep(Duration::from_millis(10));
    }
    // One verdict is due; wait for it however slow the stage, then as long again for a second
    // one that should not come.
    let burst = Instant::now();
    wait_until(Duration::from_secs(300), || runs() > before);
    std::thread::sleep(burst.elapsed().max(Duration::from_secs(2)));
    println!(
        "   five writes within 50 ms: {} verdict(s) recorded",
        runs() - before
    );
    watch.kill();
    quiet_watch.kill();
    if let Some((mut tui, _)) = bacon_tui.take() {
        tui.kill();
    }
    Row {
        stage: format!("{track}/{stage}"),
        bare: median(bare),
        katas: median(on_screen),
        quiet: median(quiet),
        to_lints: (!to_lints.is_empty()).then(|| median(to_lints)),
        // The mean, not the median: the clock ticks are 10 ms, so one save reads 0 or 10 ms.
        own_cpu: (!own_cpu.is_empty())
            .then(|| own_cpu.iter().sum::<Duration>() / u32::try_from(own_cpu.len()).unwrap()),
        bacon: (!baconed.is_empty()).then(|| median(baconed)),
    }
}

/// The phases of one save from the trace: ms after the save (`t0`) at which each was first
/// reached (`event`, `debounced`) or last reached (the rest: a restart repeats them).
fn phases(trace: &str, t0: u128) -> String {
    PHASES
        .iter()
        .map(|phase| {
            let times = trace.lines().filter_map(|line| {
                let (name, ns) = line.split_once(' ')?;
                (name == *phase)
                    .then(|| ns.trim().parse::<u128>().ok())
                    .flatten()
            });
            let at = if matches!(*phase, "event" | "debounced") {
                times.min()
            } else {
                times.max()
            };
            at.map_or("-".to_owned(), |ns| {
                format!("{:.0}", ns.saturating_sub(t0) as f64 / 1e6)
            })
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The time (trace clock, ns) at which `phase` was last reached in `trace`.
fn last_phase(trace: &str, phase: &str) -> Option<u128> {
    trace
        .lines()
        .filter_map(|line| {
            let (name, ns) = line.split_once(' ')?;
            (name == phase)
                .then(|| ns.trim().parse::<u128>().ok())
                .flatten()
        })
        .max()
}

/// Code edits: each save of a crate appends a function whose constant alternates.
struct Saves {
    /// Per file: its original text and how many saves it had. Each copy counts its own saves,
    /// so each save of a copy changes the value its previous save wrote (one counter shared by
    /// four tools would write every copy the same value every round: no code change at all).
    files: std::collections::HashMap<PathBuf, (String, u64)>,
}

impl Saves {
    fn new() -> Self {
        Self {
            files: std::collections::HashMap::new(),
        }
    }

    /// An atomic save (a temporary file renamed over), as editors do.
    fn save(&mut self, crate_dir: &Path) {
        let lib = crate_dir.join("src/lib.rs");
        let (original, n) = self
            .files
            .entry(lib.clone())
            .or_insert_with(|| (std::fs::read_to_string(&lib).unwrap(), 0));
        *n += 1;
        let text = format!(
            "{original}\n/// A value the benchmark changes on every save.\npub fn katas_bench_value() -> u64 {{\n    {}\n}}\n",
            *n % 2 + 1
        );
        let tmp = crate_dir.join("src/.lib.rs.bench-tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, lib).unwrap();
    }
}

/// A program in a pseudo-terminal, its screen kept by a vt100 parser.
struct Tui {
    child: Box<dyn Child + Send + Sync>,
    verdict: Arc<Mutex<VerdictWatch>>,
}

/// Whether katas' screen has shown a new verdict since [`Tui::arm`]: looked at by the thread that
/// feeds the terminal emulator, as each piece of output arrives. Reading the screen from the
/// measuring thread every few milliseconds instead took CPU from the two cores katas' build and
/// tests run on, only while katas was measured (bare cargo's wait costs nothing), and the time of
/// a verdict is that of the output that drew it, not of the next look.
#[derive(Default)]
struct VerdictWatch {
    armed: bool,
    seen_busy: bool,
    shown_at: Option<Instant>,
}

impl VerdictWatch {
    /// Armed, and no verdict seen yet: only then is the screen worth reading.
    fn waiting(&self) -> bool {
        self.armed && self.shown_at.is_none()
    }

    fn look(&mut self, screen: &str) {
        let busy = screen.contains("building")
            || screen.contains("running ")
            || screen.contains("starting");
        if busy {
            self.seen_busy = true;
        } else if self.seen_busy && screen.contains("tests pass - ") {
            self.shown_at = Some(Instant::now());
        }
    }
}

impl Tui {
    fn start(katas: &str, root: &Path, env: &[(&str, &Path)]) -> Self {
        Self::start_program(katas, &["watch"], root, env)
    }

    fn start_program(program: &str, args: &[&str], dir: &Path, env: &[(&str, &Path)]) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.cwd(dir);
        cmd.env_remove("CI");
        for (key, value) in env {
            cmd.env(key, value);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let mut parser = vt100::Parser::new(40, 120, 0);
        let verdict = Arc::new(Mutex::new(VerdictWatch::default()));
        let watch = Arc::clone(&verdict);
        std::thread::spawn(move || {
            let _master = pair.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                parser.process(&buf[..n]);
                let mut watch = watch.lock().unwrap();
                if watch.waiting() {
                    watch.look(&parser.screen().contents());
                }
            }
        });
        Self { child, verdict }
    }

    /// Starts watching for the next verdict: call just before the save.
    fn arm(&self) {
        *self.verdict.lock().unwrap() = VerdictWatch {
            armed: true,
            ..VerdictWatch::default()
        };
    }

    /// The time from `started` until katas' screen, busy since [`Tui::arm`], showed a summary
    /// again.
    fn wait_verdict(&self, started: Instant) -> Duration {
        let deadline = started + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(at) = self.verdict.lock().unwrap().shown_at {
                return at.duration_since(started);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        started.elapsed()
    }

    /// The user and system CPU time the program's own process has used so far, children not
    /// included (`/proc/<pid>/stat`, fields 14 and 15).
    fn own_cpu(&self) -> Option<Duration> {
        let pid = self.child.process_id()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) is in parentheses and may hold spaces: count from after it.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // USER_HZ: the kernel reports these in hundredths of a second on every Linux ABI.
        Some(Duration::from_millis(ticks * 10))
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn recorded_runs(state: &Path, track: &str, stage: &str) -> u32 {
    let text = std::fs::read_to_string(state).unwrap_or_default();
    let section = format!("[tracks.{track}.stages.{stage}]");
    text.split(&section)
        .nth(1)
        .and_then(|s| {
            s.lines().take_while(|l| !l.starts_with('[')).find_map(|l| {
                l.strip_prefix("runs = ")
                    .and_then(|n| n.parse::<u32>().ok())
            })
        })
        .unwrap_or(0)
}

/// Waits until no build or test of any tool is running: a tool whose verdict is out may still be
/// running its tests (bacon writes its locations before its test run ends), and the next tool
/// measured must not share the cores with it.
fn wait_idle() {
    // `cargo bench`, which runs this benchmark, is not a tool's build.
    let parent = std::os::unix::process::parent_id().to_string();
    let busy = || {
        std::fs::read_dir("/proc").is_ok_and(|entries| {
            entries
                .flatten()
                .filter(|entry| entry.file_name() != parent.as_str())
                .any(|entry| {
                    std::fs::read_to_string(entry.path().join("comm")).is_ok_and(|comm| {
                        let comm = comm.trim();
                        comm == "cargo"
                            || comm == "rustc"
                            || comm == "clippy-driver"
                            || comm == "rustfmt"
                            || comm.starts_with("stages-")
                    })
                })
        })
    };
    wait_until(Duration::from_secs(300), || !busy());
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn stages_of(root: &Path, track: &str) -> Vec<String> {
    let info = std::fs::read_to_string(root.join("info.toml")).unwrap();
    let after = info
        .split(&format!("id = \"{track}\""))
        .nth(1)
        .expect("no such track");
    let stages = after
        .lines()
        .find(|l| l.trim_start().starts_with("stages"))
        .unwrap();
    stages
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// Puts a stage's reference solution in the learner's crate (its `src/` replaces the whole
/// `src/`).
fn solve(root: &Path, track: &str, stage: &str) {
    let src = root.join("exercises").join(track).join("src");
    let _ = std::fs::remove_dir_all(&src);
    copy(
        &root.join("solutions").join(track).join(stage).join("src"),
        &src,
    );
}

fn cargo_stages(crate_dir: &Path, target: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .args(["test", "-q", "--test", "stages", "--target-dir"])
        .arg(target)
        .current_dir(crate_dir)
        .env_remove("CARGO_TARGET_DIR");
    command
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn run(command: &mut Command) {
    let _ = command.output().unwrap();
}

fn time(f: impl FnOnce()) -> Duration {
    let started = Instant::now();
    f();
    started.elapsed()
}

fn median(mut all: Vec<Duration>) -> Duration {
    all.sort();
    all.get(all.len() / 2).copied().unwrap_or_default()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn copy(from: &Path, to: &Path) {
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
