//! Running a child process under limits: its own process group, null stdin, both streams drained
//! at once into capped buffers, a time limit and cancellation that kill the whole group.
//!
//! Why by hand: no well-kept crate combines process-group kills, capped concurrent draining and
//! cancellation on tokio (nextest does the same in its own runner, not as a library).

use std::process::{ExitStatus, Stdio};
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
/// (`setsid`) could hold them open forever; katas does not wait for it.
const PIPE_WAIT: Duration = Duration::from_secs(2);

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
}

/// Runs `command` to its end, its time limit, or cancellation. When `lines` is given, every
/// complete line of stdout is also sent there as it arrives (for progress reports).
pub async fn run(
    mut command: Command,
    limits: Limits,
    cancel: &CancellationToken,
    lines: Option<mpsc::UnboundedSender<String>>,
) -> std::io::Result<Finished> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let started = Instant::now();
    let mut child = command.spawn()?;
    // Kept now: once the child is reaped, tokio no longer knows its id, and the group outlives it.
    let group = child.id();
    let stdout = child
        .stdout
        .take()
        .map(|s| tokio::spawn(drain(s, limits.output_cap, lines)));
    let stderr = child
        .stderr
        .take()
        .map(|s| tokio::spawn(drain(s, limits.output_cap, None)));

    let ended = tokio::select! {
        status = child.wait() => Ended::Exited(status?),
        () = tokio::time::sleep(limits.time) => Ended::TimedOut,
        () = cancel.cancelled() => Ended::Cancelled,
    };
    // Always end the group, even after a clean exit: whatever the child left running (a server a
    // test started and never stopped) dies with the run.
    end_group(&mut child, group).await;
    let elapsed = started.elapsed();
    Ok(Finished {
        ended,
        stdout: collect(stdout).await,
        stderr: collect(stderr).await,
        elapsed,
    })
}

async fn collect(task: Option<tokio::task::JoinHandle<Captured>>) -> Captured {
    let Some(task) = task else {
        return Captured::default();
    };
    let abort = task.abort_handle();
    match tokio::time::timeout(PIPE_WAIT, task).await {
        Ok(Ok(captured)) => captured,
        Ok(Err(_)) => Captured::default(),
        Err(_) => {
            abort.abort();
            Captured::default()
        }
    }
}

/// Reads a stream to its end, keeping the first `cap` bytes and counting the rest: the child is
/// never blocked on a full pipe, however much it prints.
async fn drain(
    mut stream: impl AsyncRead + Unpin,
    cap: usize,
    lines: Option<mpsc::UnboundedSender<String>>,
) -> Captured {
    let mut captured = Captured::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let room = cap.saturating_sub(captured.bytes.len());
        captured.bytes.extend_from_slice(&chunk[..room.min(n)]);
        captured.dropped += n.saturating_sub(room) as u64;
        if let Some(tx) = &lines {
            pending.extend_from_slice(chunk);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let _ = tx.send(String::from_utf8_lossy(&line[..end]).into_owned());
            }
        }
    }
    if let (Some(tx), false) = (&lines, pending.is_empty()) {
        let _ = tx.send(String::from_utf8_lossy(&pending).into_owned());
    }
    captured
}

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
    // run returns, nothing of it is left. An empty group answers at once; a zombie that init has
    // not reaped yet would keep the group alive, hence the bound.
    let deadline = std::time::Instant::now() + GROUP_EXIT_WAIT;
    while killpg(pgid, None).is_ok() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[cfg(not(unix))]
async fn end_group(child: &mut Child, _group: Option<u32>) {
    let _ = child.start_kill();
    let _ = child.wait().await;
}
