//! File events to debounced "sources changed" signals.
//!
//! Watches a track's crate with notify (inotify, FSEvents, ...), keeps only events that can
//! change a build (Rust files, manifests), and merges the several events of one save - editors
//! write more than once, and atomic saves write a temporary file and rename it over: the first
//! event starts a build at once, and the rest of a burst restarts it once, after a short quiet
//! period. On file systems where events do not arrive (NFS, SMB, the
//! 9p mounts of WSL2) it polls instead, and says so.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{Event, RecursiveMode};
use tokio::sync::mpsc;

/// The quiet time that ends a burst of writes after its first: long enough to merge an editor's
/// writes of one save into one restart, short enough to be unnoticeable (five writes spread over
/// 50 ms still end in one restart).
pub const DEBOUNCE: Duration = Duration::from_millis(15);

/// How often the polling fallback looks at the files: a save is seen within a second, even
/// with the debounce and a slow scan on top.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The folders of a crate that hold sources.
const SOURCE_DIRS: &[&str] = &["src", "tests", "examples", "benches"];

/// How the crate is watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchKind {
    /// File-system events: instant, and no work while nothing changes.
    Events,
    /// Polling, and why.
    Polling { reason: String },
}

/// A running watcher; dropping it stops watching.
pub struct Watcher {
    _inner: Box<dyn notify::Watcher + Send>,
    pub kind: WatchKind,
    root: PathBuf,
    /// Which of the source folders existed (and so are watched).
    watched: Vec<bool>,
}

impl Watcher {
    /// Whether a source folder appeared or vanished since watching started (a `src/` deleted
    /// and recreated loses its watch): then watching must start again.
    pub fn is_stale(&self) -> bool {
        present_source_dirs(&self.root) != self.watched
    }
}

fn present_source_dirs(dir: &Path) -> Vec<bool> {
    SOURCE_DIRS
        .iter()
        .map(|sub| dir.join(sub).is_dir())
        .collect()
}

/// Why watching could not start at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {} for changes; press `r` to run by hand", path.display())]
pub struct WatchError {
    path: PathBuf,
    #[source]
    source: notify::Error,
}

/// Watches `dir` recursively and sends the path of every relevant change to `tx`.
pub fn start(
    dir: &Path,
    force_poll: bool,
    tx: mpsc::UnboundedSender<PathBuf>,
) -> Result<Watcher, WatchError> {
    let root = dir.to_path_buf();
    let handler = move |result: notify::Result<Event>| {
        let Ok(event) = result else { return };
        if !is_change(&event.kind) {
            return;
        }
        for path in event.paths {
            if is_source(&root, &path) {
                crate::trace::mark(crate::trace::Phase::Event);
                let _ = tx.send(path);
            }
        }
    };
    let error = |source| WatchError {
        path: dir.to_path_buf(),
        source,
    };
    let poll_reason = if force_poll {
        Some("asked for with --poll".to_owned())
    } else {
        network_file_system(dir)
    };
    let (mut inner, kind): (Box<dyn notify::Watcher + Send>, WatchKind) = match poll_reason {
        Some(reason) => {
            // Polling compares modification times in whole seconds, so a second save within
            // the same second, or a file renamed over with an older time, would go unseen:
            // compare contents too (a crate's sources hash in well under a millisecond).
            let config = notify::Config::default()
                .with_poll_interval(POLL_INTERVAL)
                .with_compare_contents(true);
            (
                Box::new(notify::PollWatcher::new(handler, config).map_err(error)?),
                WatchKind::Polling { reason },
            )
        }
        None => (
            Box::new(notify::recommended_watcher(handler).map_err(error)?),
            WatchKind::Events,
        ),
    };
    // The crate's own folder for its manifests, and its source folders recursively - not
    // `target/`, where rust-analyzer's builds would wake katas for nothing.
    inner
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(error)?;
    for sub in SOURCE_DIRS {
        let path = dir.join(sub);
        if path.is_dir() {
            inner
                .watch(&path, RecursiveMode::Recursive)
                .map_err(error)?;
        }
    }
    Ok(Watcher {
        _inner: inner,
        kind,
        root: dir.to_path_buf(),
        watched: present_source_dirs(dir),
    })
}

/// Writes, creations, removals and renames count; reads and metadata-only changes do not -
/// except a new modification time, which is how polling reports a write.
fn is_change(kind: &EventKind) -> bool {
    use notify::event::{MetadataKind, ModifyKind};
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::WriteTime)) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        _ => false,
    }
}

/// Rust sources and manifests outside build output; not editors' temporary files.
pub fn is_source(root: &Path, path: &Path) -> bool {
    let relative = path.strip_prefix(root).unwrap_or(path);
    if relative
        .components()
        .any(|c| c.as_os_str() == "target" || c.as_os_str() == ".git")
    {
        return false;
    }
    // A source folder itself appearing (a `src/` deleted and recreated) counts: the run it
    // starts also renews the watch on it.
    if relative.components().count() == 1 && SOURCE_DIRS.iter().any(|d| relative == Path::new(d)) {
        return true;
    }
    let name = relative
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.starts_with('.') {
        return false;
    }
    name.ends_with(".rs") || name == "Cargo.toml" || name == "Cargo.lock"
}

/// Turns raw changes into "sources changed" signals, the first at once: a save's build starts on
/// its first event, with no quiet period to wait out (most saves are one event: an atomic
/// rename). Changes that follow within a burst are gathered until `quiet` passes without one,
/// then emitted once more: the caller cancels the run the first signal started and builds the
/// newest content. So a burst of five writes within 50 ms starts at most two runs, and only the
/// last one - of the newest files - ends in a verdict. Ends when the sender is dropped.
///
/// One save often reports the same file twice (inotify's "moved to" and notify's "renamed from
/// this to that" for one atomic rename): a later event of a file whose contents are what they
/// were when the run started is no change, and restarting for it would throw away a build that
/// already has the newest files (about 15 ms per save, measured by `benches/loop.rs`).
pub async fn debounce(
    mut raw: mpsc::UnboundedReceiver<PathBuf>,
    quiet: Duration,
    mut emit: impl FnMut(Vec<PathBuf>),
) {
    while let Some(first) = raw.recv().await {
        crate::trace::mark(crate::trace::Phase::Debounced);
        // Read before the signal goes out, so before the run it starts reads the file: a write
        // after this point changes the state and so still restarts the run.
        let started_with = FileState::read(&first);
        let unchanged =
            |path: &Path| path == first.as_path() && FileState::read(path) == started_with;
        emit(vec![first.clone()]);
        let mut batch = Vec::new();
        loop {
            match tokio::time::timeout(quiet, raw.recv()).await {
                Ok(Some(path)) => batch.push(path),
                Ok(None) => {
                    batch.retain(|path| !unchanged(path));
                    if !batch.is_empty() {
                        emit(batch);
                    }
                    return;
                }
                Err(_) => break,
            }
        }
        batch.retain(|path| !unchanged(path));
        if !batch.is_empty() {
            batch.sort();
            batch.dedup();
            crate::trace::mark(crate::trace::Phase::Debounced);
            emit(batch);
        }
    }
}

/// What a run would read of a file: its size, modification time and a hash of its contents (a
/// file system with coarse times may keep the time across a quick second write of the same
/// size). `None` when it cannot be read (removed, say).
#[derive(Debug, PartialEq, Eq)]
struct FileState {
    len: u64,
    modified: Option<std::time::SystemTime>,
    contents: u64,
}

impl FileState {
    fn read(path: &Path) -> Option<Self> {
        use std::hash::{Hash, Hasher};
        let metadata = std::fs::metadata(path).ok()?;
        let bytes = std::fs::read(path).ok()?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut hasher);
        Some(Self {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            contents: hasher.finish(),
        })
    }
}

/// The name of a network file system the folder is on, where file events are unreliable.
#[cfg(target_os = "linux")]
fn network_file_system(dir: &Path) -> Option<String> {
    use nix::sys::statfs::{FsType, statfs};
    // Magic numbers from statfs(2): NFS, SMB, SMB2, CIFS, 9P (WSL2's /mnt/c), FUSE (sshfs...).
    const REMOTE: &[(i64, &str)] = &[
        (0x6969, "NFS"),
        (0x517B, "SMB"),
        (0xFE53_4D42, "SMB2"),
        (0xFF53_4D42, "CIFS"),
        (0x0102_1997, "9p (a Windows drive under WSL)"),
        (0x6573_5546, "FUSE"),
    ];
    let kind: FsType = statfs(dir).ok()?.filesystem_type();
    #[allow(clippy::unnecessary_cast)] // the field's integer type differs between libc targets
    let magic = kind.0 as i64;
    REMOTE
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, name)| format!("{name} file system: file events do not arrive there"))
}

#[cfg(not(target_os = "linux"))]
fn network_file_system(_dir: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sources_outside_build_output_count() {
        let root = Path::new("/c/exercises/kv");
        assert!(is_source(root, Path::new("/c/exercises/kv/src/lib.rs")));
        assert!(is_source(root, Path::new("/c/exercises/kv/Cargo.toml")));
        assert!(!is_source(
            root,
            Path::new("/c/exercises/kv/target/debug/build/x.rs")
        ));
        assert!(!is_source(
            root,
            Path::new("/c/exercises/kv/src/.lib.rs.swp")
        ));
        assert!(!is_source(root, Path::new("/c/exercises/kv/src/4913")));
        assert!(!is_source(root, Path::new("/c/exercises/kv/notes.md")));
    }

    #[test]
    fn a_source_folder_that_comes_and_goes_makes_the_watch_stale() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        let (tx, _rx) = mpsc::unbounded_channel();
        let watcher = start(dir.path(), false, tx).unwrap();
        assert!(!watcher.is_stale());
        assert!(
            is_source(dir.path(), &dir.path().join("src")),
            "the folder's return is a change"
        );
        std::fs::remove_dir_all(dir.path().join("src")).unwrap();
        assert!(watcher.is_stale());
    }

    async fn batches(gaps_ms: &[u64]) -> Vec<usize> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(debounce(rx, DEBOUNCE, move |batch| {
            let _ = out_tx.send(batch.len());
        }));
        for (i, gap) in gaps_ms.iter().enumerate() {
            tokio::time::sleep(Duration::from_millis(*gap)).await;
            tx.send(PathBuf::from(format!("src/f{i}.rs"))).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(tx);
        task.await.unwrap();
        let mut sizes = Vec::new();
        while let Ok(size) = out_rx.try_recv() {
            sizes.push(size);
        }
        sizes
    }

    #[tokio::test(start_paused = true)]
    async fn five_writes_within_fifty_milliseconds_start_at_once_and_restart_once() {
        // The first write starts a build at once; the four after it, one restart at the end.
        assert_eq!(batches(&[0, 12, 12, 12, 12]).await, [1, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_single_event_is_one_change_with_no_wait() {
        let (tx, rx) = mpsc::unbounded_channel();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(debounce(rx, DEBOUNCE, move |batch| {
            let _ = out_tx.send(batch.len());
        }));
        tx.send(PathBuf::from("src/lib.rs")).unwrap();
        // No time passes (the clock is paused and not advanced): the signal is already out.
        assert_eq!(out_rx.recv().await, Some(1));
        drop(tx);
        task.await.unwrap();
        assert!(out_rx.try_recv().is_err(), "one event, one signal");
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_event_of_an_unchanged_file_does_not_restart_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib.rs");
        std::fs::write(&lib, "pub fn one() {}").unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(debounce(rx, DEBOUNCE, move |batch| {
            let _ = out_tx.send(batch);
        }));
        // One atomic save reported twice: one run.
        tx.send(lib.clone()).unwrap();
        tx.send(lib.clone()).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(out_rx.try_recv().unwrap(), std::slice::from_ref(&lib));
        assert!(
            out_rx.try_recv().is_err(),
            "the duplicate restarted the run"
        );
        // A real second write within the burst: the run restarts with the newest contents.
        tx.send(lib.clone()).unwrap();
        // Let the run start (and the debouncer read the file) before the second write.
        tokio::time::sleep(Duration::from_millis(1)).await;
        std::fs::write(&lib, "pub fn two() {}").unwrap();
        tx.send(lib.clone()).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(out_rx.try_recv().unwrap(), std::slice::from_ref(&lib));
        assert_eq!(out_rx.try_recv().unwrap(), std::slice::from_ref(&lib));
        drop(tx);
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn writes_apart_are_separate_changes() {
        assert_eq!(batches(&[0, 100, 100]).await, [1, 1, 1]);
    }

    /// Waits for the watcher to report `file` (other paths, such as a temporary file, may come
    /// first).
    async fn seen(rx: &mut mpsc::UnboundedReceiver<PathBuf>, file: &Path, how: &str) {
        let wait = async {
            while let Some(path) = rx.recv().await {
                if path == file {
                    return;
                }
            }
        };
        assert!(
            tokio::time::timeout(Duration::from_secs(10), wait)
                .await
                .is_ok(),
            "polling never saw the {how}"
        );
        // Whatever else this save caused (the temporary file of an atomic save) is this save's.
        tokio::time::sleep(POLL_INTERVAL * 2).await;
        while rx.try_recv().is_ok() {}
    }

    #[tokio::test]
    async fn polling_sees_every_kind_of_save_even_within_one_second() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        let lib = dir.path().join("src/lib.rs");
        std::fs::write(&lib, "pub fn a() {}").unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let watcher = start(dir.path(), true, tx).unwrap();
        assert!(matches!(watcher.kind, WatchKind::Polling { .. }));

        // In place: the same file opened and written (same length, as a one-letter fix is).
        std::fs::OpenOptions::new()
            .write(true)
            .open(&lib)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"pub fn b() {}"))
            .unwrap();
        seen(&mut rx, &lib, "in-place write").await;
        // Rewritten: truncated and written again.
        std::fs::write(&lib, "pub fn c() {}").unwrap();
        seen(&mut rx, &lib, "rewrite").await;
        // Atomic: a temporary file renamed over, keeping the old modification time (as
        // `cp -p` or an editor restoring times would).
        let tmp = dir.path().join("src/.lib.rs.tmp");
        std::fs::write(&tmp, "pub fn d() {}").unwrap();
        let old = std::fs::metadata(&lib).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&tmp)
            .and_then(|f| f.set_modified(old))
            .unwrap();
        std::fs::rename(&tmp, &lib).unwrap();
        seen(&mut rx, &lib, "atomic rename").await;
    }

    #[tokio::test]
    async fn a_real_atomic_save_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _watcher = start(dir.path(), false, tx).unwrap();
        // Write a temporary file and rename it over the source, as vim and VS Code do.
        let tmp = dir.path().join("src/.lib.rs.tmp");
        std::fs::write(&tmp, "pub fn x() {}").unwrap();
        std::fs::rename(&tmp, dir.path().join("src/lib.rs")).unwrap();
        let seen = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(seen.ends_with("src/lib.rs"), "{}", seen.display());
    }
}
