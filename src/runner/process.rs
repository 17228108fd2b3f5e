//! Running a child process under limits: its own process group, null stdin, both streams drained
//! at once into capped buffers, a time limit and cancellation that kill the whole group, a memory
//! limit, death with katas, and no process left behind - not even one that left the group.
//!
//! Why by hand: no well-kept crate combines process-group kills, capped concurrent draining and
//! cancellation on tokio (nextest does the same in its own runner, not as a library).
//!
//! The per-child settings need code between fork and exec, which katas (`unsafe_code = "forbid"`)
//! does not write: they come from util-linux wrappers every Debian has, found at run time -
//! `setpriv --pdeathsig KILL` (the child dies when katas does, even by `kill -9`) and
//! `prlimit --data` (the memory limit). Where one is missing (macOS) the run goes on without it,
//! and [`missing_wrappers`] says so. Processes that escape the group (`setsid`, a double fork)
//! are caught by making katas a child subreaper (Linux): they become katas' children when their
//! parent dies, and every run ends by killing the strays.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a process group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_millis(500);

/// How long to wait for a killed process group to disappear.
const GROUP_EXIT_WAIT: Duration = Duration::from_millis(500);

/// How long to wait for the pipes to close once the group is dead. A process that left the group
/// and could not be caught (no subreaper outside Linux) could hold them open forever; katas keeps
/// what it read by then and does not wait for it.
const PIPE_WAIT: Duration = Duration::from_secs(2);

/// The longest line passed on to a `lines` listener; the rest of a longer one is dropped (the
/// capped capture still has it), so a flood without newlines cannot grow memory without bound.
const MAX_LINE: usize = 64 * 1024;

/// What a process printed on one stream, up to the cap.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    /// Bytes read past the cap and dropped (the child was never blocked).
    pub dropped: u64,
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
}

/// A finished process: how it ended and what it printed.
#[derive(Debug)]
pub struct Finished {
    pub ended: Ended,
    pub stdout: Captured,
    pub stderr: Captured,
    pub elapsed: Duration,
}

/// The limits a process runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub time: Duration,
    /// Bytes kept of each stream.
    pub output_cap: usize,
    /// Bytes of memory (data and heap) the process may use; `None`: no limit.
    pub memory: Option<u64>,
}

/// A command for `program`, wrapped so the kernel enforces what [`run`] cannot from outside: it
/// dies with katas, and it stays within `limits.memory`. Arguments, environment and folder are
/// then set on the returned command as usual. A sandbox can wrap the same way, around this.
pub fn command(program: impl AsRef<OsStr>, limits: &Limits) -> Command {
    let tools = wrappers();
    let mut words: Vec<std::ffi::OsString> = Vec::new();
    if let Some(setpriv) = &tools.setpriv {
        words.extend([
            setpriv.as_os_str().into(),
            "--pdeathsig".into(),
            "KILL".into(),
            "--".into(),
        ]);
    }
    if let (Some(prlimit), Some(bytes)) = (&tools.prlimit, limits.memory) {
        words.extend([
            prlimit.as_os_str().into(),
            format!("--data={bytes}").into(),
            "--".into(),
        ]);
    }
    words.push(program.as_ref().into());
    let mut command = Command::new(&words[0]);
    command.args(&words[1..]);
    command
}

/// The wrappers a run goes without here, with what that costs; empty on a full Linux.
pub fn missing_wrappers(limits: &Limits) -> Vec<&'static str> {
    let tools = wrappers();
    let mut missing = Vec::new();
    if tools.setpriv.is_none() {
        missing.push("`setpriv` (util-linux) is not installed: a run's processes may outlive a katas that is killed");
    }
    if tools.prlimit.is_none() && limits.memory.is_some() {
        missing.push("`prlimit` (util-linux) is not installed: runs have no memory limit");
    }
    missing
}

struct Wrappers {
    setpriv: Option<PathBuf>,
    prlimit: Option<PathBuf>,
}

fn wrappers() -> &'static Wrappers {
    static FOUND: OnceLock<Wrappers> = OnceLock::new();
    FOUND.get_or_init(|| Wrappers {
        setpriv: on_path("setpriv"),
        prlimit: on_path("prlimit"),
    })
}

/// `name` on PATH (or in /usr/bin, where Debian keeps util-linux, for a trimmed PATH).
fn on_path(name: &str) -> Option<PathBuf> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Runs `command` to its end, its time limit, or cancellation. When `lines` is given, every
/// complete line of stdout is also sent there as it arrives (for progress reports, and for the
/// test results, which must survive the cap); `err_lines` does the same for stderr.
pub async fn run(
    command: Command,
    limits: Limits,
    cancel: &CancellationToken,
    lines: Option<mpsc::UnboundedSender<String>>,
) -> std::io::Result<Finished> {
    run_with(command, limits, cancel, lines, None).await
}

/// [`run`], with a listener for stderr's lines too.
pub async fn run_with(
    mut command: Command,
    limits: Limits,
    cancel: &CancellationToken,
    lines: Option<mpsc::UnboundedSender<String>>,
    err_lines: Option<mpsc::UnboundedSender<String>>,
) -> std::io::Result<Finished> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    reaper::start();
    let started = Instant::now();
    let (mut child, registration) = reaper::spawn(&mut command)?;
    // Kept now: once the child is reaped, tokio no longer knows its id, and the group outlives it.
    let group = child.id();
    let watchdog = watchdog(group);
    let stdout_buf = Arc::new(Mutex::new(Captured::default()));
    let stderr_buf = Arc::new(Mutex::new(Captured::default()));
    let stdout = child
        .stdout
        .take()
        .map(|s| tokio::spawn(drain(s, limits.output_cap, lines, Arc::clone(&stdout_buf))));
    let stderr = child.stderr.take().map(|s| {
        tokio::spawn(drain(
            s,
            limits.output_cap,
            err_lines,
            Arc::clone(&stderr_buf),
        ))
    });

    let ended = tokio::select! {
        status = child.wait() => Ended::Exited(status?),
        () = tokio::time::sleep(limits.time) => Ended::TimedOut,
        () = cancel.cancelled() => Ended::Cancelled,
    };
    // Always end the group, even after a clean exit: whatever the child left running (a server a
    // test started and never stopped) dies with the run.
    // The watchdog first: it must not fire at the end of a run that ends the group itself.
    if let Some((mut dog, registration)) = watchdog {
        let _ = dog.start_kill();
        let _ = dog.wait().await;
        drop(registration);
    }
    end_group(&mut child, group).await;
    drop(registration);
    // And whatever left the group: a daemon (`setsid`, a double fork) that would hold the pipes.
    reaper::sweep().await;
    let elapsed = started.elapsed();
    Ok(Finished {
        ended,
        stdout: collect(stdout, &stdout_buf).await,
        stderr: collect(stderr, &stderr_buf).await,
        elapsed,
    })
}

/// The shell a watchdog runs: it reads its stdin - a pipe only katas holds - until the end, which
/// comes when katas dies, however it dies (`kill -9` included); then it kills the run's group.
const WATCHDOG: &str = "while read -r _; do :; done; kill -9 -\"$0\"";

/// Starts the watchdog of a run's group: what kills cargo, its build scripts and a test's own
/// processes when katas is killed and cannot end the group itself. The parent-death signal of
/// [`command`] reaches the group's leader only.
#[cfg(unix)]
fn watchdog(group: Option<u32>) -> Option<(Child, reaper::Registration)> {
    let group = group?;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(WATCHDOG)
        .arg(group.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        // Its own group: the terminal's signals and the run's own kill are not for it.
        .process_group(0);
    reaper::spawn(&mut command).ok()
}

#[cfg(not(unix))]
fn watchdog(_group: Option<u32>) -> Option<(Child, reaper::Registration)> {
    None
}

/// What a stream's drain captured: all of it once the pipe closes, or - when something the run
/// started still holds the pipe open after [`PIPE_WAIT`] - what it had read by then.
async fn collect(task: Option<tokio::task::JoinHandle<()>>, buffer: &Mutex<Captured>) -> Captured {
    if let Some(task) = task {
        let abort = task.abort_handle();
        if tokio::time::timeout(PIPE_WAIT, task).await.is_err() {
            abort.abort();
        }
    }
    let captured = buffer.lock().map(|c| c.clone());
    captured.unwrap_or_default()
}

/// Reads a stream to its end, keeping the first `cap` bytes and counting the rest: the child is
/// never blocked on a full pipe, however much it prints. Every line also goes to `lines`.
async fn drain(
    mut stream: impl AsRead,
    cap: usize,
    lines: Option<mpsc::UnboundedSender<String>>,
    captured: Arc<Mutex<Captured>>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    // Bytes of the current line past MAX_LINE are skipped until its end.
    let mut skipping = false;
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        if let Ok(mut captured) = captured.lock() {
            let room = cap.saturating_sub(captured.bytes.len());
            captured.bytes.extend_from_slice(&chunk[..room.min(n)]);
            captured.dropped += n.saturating_sub(room) as u64;
        }
        let Some(tx) = &lines else { continue };
        for piece in chunk.split_inclusive(|&b| b == b'\n') {
            let (body, ends) = match piece.split_last() {
                Some((b'\n', body)) => (body, true),
                _ => (piece, false),
            };
            if !skipping {
                let room = MAX_LINE.saturating_sub(pending.len());
                pending.extend_from_slice(&body[..room.min(body.len())]);
                skipping = body.len() > room;
            }
            if ends {
                let _ = tx.send(String::from_utf8_lossy(&pending).into_owned());
                pending.clear();
                skipping = false;
            }
        }
    }
    if let (Some(tx), false) = (&lines, pending.is_empty()) {
        let _ = tx.send(String::from_utf8_lossy(&pending).into_owned());
    }
}

/// A stream [`drain`] reads.
trait AsRead: AsyncRead + Unpin + Send + 'static {}
impl<T: AsyncRead + Unpin + Send + 'static> AsRead for T {}

/// Ends the child's process group: SIGTERM, a grace period, then SIGKILL; then reaps the child.
#[cfg(unix)]
async fn end_group(child: &mut Child, group: Option<u32>) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;

    let Some(pgid) = group
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw)
    else {
        let _ = child.start_kill();
        let _ = child.wait().await;
        return;
    };
    let running = matches!(child.try_wait(), Ok(None));
    if running {
        let _ = killpg(pgid, Signal::SIGTERM);
        if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
    // Stragglers of a finished child: no grace, they have outlived their run.
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = child.wait().await;
    // A kill is delivered asynchronously: wait (briefly) until the group is gone, so that when a
    // run returns, nothing of it is left. Members whose parent died are katas' own children now
    // (the subreaper): reaping them is what lets the group vanish. Elsewhere a zombie that init
    // has not reaped yet keeps the group alive, hence the bound.
    let deadline = std::time::Instant::now() + GROUP_EXIT_WAIT;
    loop {
        reaper::reap_now();
        if killpg(pgid, None).is_err() || std::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[cfg(not(unix))]
async fn end_group(child: &mut Child, _group: Option<u32>) {
    let _ = child.start_kill();
    let _ = child.wait().await;
}

/// Catching the processes that leave a run's group, and keeping the ones katas started apart
/// from the ones it inherited.
#[cfg(target_os = "linux")]
mod reaper {
    use std::collections::BTreeSet;
    use std::sync::{Mutex, MutexGuard, Once};
    use std::time::Duration;

    use nix::sys::signal::{Signal, kill, killpg};
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    use nix::unistd::{Pid, getpgrp, getpid};
    use tokio::process::{Child, Command};

    /// The children katas spawned and tokio will reap: never touched by a sweep. Held while
    /// spawning, so a sweep never sees a new child before it is listed.
    static SPAWNED: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

    fn spawned() -> MutexGuard<'static, BTreeSet<i32>> {
        SPAWNED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes katas the subreaper of everything it starts: an orphan becomes katas' child, not
    /// init's, so a run can find what its processes left behind.
    pub fn start() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let _ = nix::sys::prctl::set_child_subreaper(true);
        });
    }

    /// A spawned child stays listed until its registration is dropped (after it is reaped).
    pub struct Registration(Option<i32>);

    impl Drop for Registration {
        fn drop(&mut self) {
            if let Some(pid) = self.0 {
                spawned().remove(&pid);
            }
        }
    }

    pub fn spawn(command: &mut Command) -> std::io::Result<(Child, Registration)> {
        let mut listed = spawned();
        let child = command.spawn()?;
        let pid = child.id().and_then(|id| i32::try_from(id).ok());
        if let Some(pid) = pid {
            listed.insert(pid);
        }
        Ok((child, Registration(pid)))
    }

    /// Kills and reaps every child of katas that katas did not spawn (orphans of a run), with
    /// their groups. Returns how many were found.
    pub fn reap_now() -> usize {
        let listed = spawned();
        let me = getpid();
        let own_group = getpgrp();
        let strays: Vec<Pid> = children_of(me)
            .into_iter()
            .filter(|pid| !listed.contains(&pid.as_raw()))
            .collect();
        for &pid in &strays {
            if let Ok(group) = nix::unistd::getpgid(Some(pid))
                && group != own_group
            {
                let _ = killpg(group, Signal::SIGKILL);
            }
            let _ = kill(pid, Signal::SIGKILL);
        }
        for &pid in &strays {
            // Not blocking: a process in the middle of dying is reaped by the next pass.
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) | Ok(_) => {}
            }
        }
        strays.len()
    }

    /// Reaps strays until none is left (a double fork hands over its grandchild as it dies),
    /// within a bound.
    pub async fn sweep() {
        for _ in 0..100 {
            if reap_now() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The processes whose parent is `parent`, from /proc.
    fn children_of(parent: Pid) -> Vec<Pid> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .filter(|&pid| parent_of(pid) == Some(parent.as_raw()))
            .map(Pid::from_raw)
            .collect()
    }

    /// The parent pid from `/proc/<pid>/stat`: the fourth field, after the `(name)` that may
    /// itself hold spaces and parentheses.
    fn parent_of(pid: i32) -> Option<i32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = stat.rsplit_once(')')?.1;
        after_name.split_whitespace().nth(1)?.parse().ok()
    }
}

/// Without a subreaper (macOS, Windows), processes that leave the group are out of reach.
#[cfg(not(target_os = "linux"))]
mod reaper {
    use tokio::process::{Child, Command};

    pub fn start() {}

    pub struct Registration;

    pub fn spawn(command: &mut Command) -> std::io::Result<(Child, Registration)> {
        Ok((command.spawn()?, Registration))
    }

    pub fn reap_now() -> usize {
        0
    }

    pub async fn sweep() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pipe_held_open_keeps_what_was_captured() {
        let (mut writer, reader) = tokio::io::duplex(1024);
        let buffer = Arc::new(Mutex::new(Captured::default()));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(drain(reader, 1 << 20, Some(tx), Arc::clone(&buffer)));
        tokio::io::AsyncWriteExt::write_all(&mut writer, b"test a ... ok\ntest b ... ok\n")
            .await
            .unwrap();
        // The writer (a daemon that inherited the pipe) never closes it.
        let captured = collect(Some(task), &buffer).await;
        assert_eq!(captured.text(), "test a ... ok\ntest b ... ok\n");
        assert_eq!(rx.recv().await.unwrap(), "test a ... ok");
        drop(writer);
    }

    #[tokio::test]
    async fn every_line_reaches_the_listener_past_the_cap() {
        let mut text = "x".repeat(10_000);
        text.push('\n');
        for i in 0..100 {
            text.push_str(&format!("test t{i} ... ok\n"));
        }
        let buffer = Arc::new(Mutex::new(Captured::default()));
        let (tx, mut rx) = mpsc::unbounded_channel();
        drain(
            std::io::Cursor::new(text.clone().into_bytes()),
            1000,
            Some(tx),
            Arc::clone(&buffer),
        )
        .await;
        let mut lines = Vec::new();
        while let Ok(line) = rx.try_recv() {
            lines.push(line);
        }
        assert_eq!(lines.len(), 101);
        assert_eq!(lines[100], "test t99 ... ok");
        let captured = buffer.lock().unwrap().clone();
        assert_eq!(captured.bytes.len(), 1000);
        assert_eq!(captured.dropped, text.len() as u64 - 1000);
    }

    #[tokio::test]
    async fn a_line_without_end_is_cut_for_the_listener() {
        let text = "y".repeat(3 * MAX_LINE) + "\nnext\n";
        let buffer = Arc::new(Mutex::new(Captured::default()));
        let (tx, mut rx) = mpsc::unbounded_channel();
        drain(
            std::io::Cursor::new(text.into_bytes()),
            10,
            Some(tx),
            buffer,
        )
        .await;
        assert_eq!(rx.recv().await.unwrap().len(), MAX_LINE);
        assert_eq!(rx.recv().await.unwrap(), "next");
    }
}
