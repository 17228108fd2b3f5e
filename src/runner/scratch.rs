//! The temporary folder of a test run: in memory when the machine has a tmpfs, as in grading.
//!
//! The stages' tests make stores, logs and sockets' files in `TMPDIR`. On a disk, the kv_store
//! tests from `concurrency` on spend about half their time there: the model-checked tests open a
//! fresh store in each of their thousands of schedules, and every store syncs its files. The
//! grader's sandbox has always given the tests a tmpfs `/tmp`; `watch` and `run` now give them
//! one too, when `/dev/shm` is one (Linux), so a learner's run and the teacher's grade see the
//! same kind of folder, and the server stage's run takes about 2.0 s instead of 3.4 s.
//!
//! Each run gets its own folder, removed when the run ends. A katas killed mid-run leaves its
//! folder behind (in memory, until reboot): the next katas to start a run removes the folders of
//! processes that no longer exist. A `TMPDIR` the learner set is theirs and is kept.

use std::path::{Path, PathBuf};

/// The prefix of every run's folder: `katas-tests-<pid>-<random>`.
const PREFIX: &str = "katas-tests-";

/// A run's temporary folder; removed (with everything the tests left in it) on drop.
#[derive(Debug)]
pub struct RunTmp {
    dir: tempfile::TempDir,
}

impl RunTmp {
    /// A fresh folder in memory for one test run, or `None`: the learner set `TMPDIR`, there
    /// is no writable tmpfs, or it is full. `None` leaves the tests on the usual temporary
    /// folder, which only costs speed.
    pub fn create() -> Option<Self> {
        if std::env::var_os("TMPDIR").is_some() {
            return None;
        }
        let base = memory_folder()?;
        // Once per process, not on every save: orphans only come from katas processes that
        // ended before this one started or while it runs, and the next katas sweeps those.
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| sweep_orphans(&base));
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-", std::process::id()))
            .tempdir_in(&base)
            .ok()?;
        Some(Self { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// `/dev/shm` when it is a tmpfs this user can write to.
#[cfg(target_os = "linux")]
fn memory_folder() -> Option<PathBuf> {
    use nix::sys::statfs::{TMPFS_MAGIC, statfs};
    use nix::unistd::{AccessFlags, access};
    let base = PathBuf::from("/dev/shm");
    let tmpfs = statfs(&base).ok()?.filesystem_type() == TMPFS_MAGIC;
    let writable = access(&base, AccessFlags::W_OK | AccessFlags::X_OK).is_ok();
    (tmpfs && writable).then_some(base)
}

#[cfg(not(target_os = "linux"))]
fn memory_folder() -> Option<PathBuf> {
    None
}

/// Removes the folders of katas processes that have ended (killed mid-run). Best effort: a
/// folder that cannot be read or removed is left for the next sweep.
fn sweep_orphans(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if !process_alive(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The pid in a run folder's name, `katas-tests-<pid>-<random>`.
fn owner_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

#[cfg(unix)]
fn process_alive(pid: i32) -> bool {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    // Signal 0 checks without sending; EPERM means alive, another user's.
    !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

#[cfg(not(unix))]
fn process_alive(_pid: i32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_read_from_a_run_folders_name_only() {
        assert_eq!(owner_pid("katas-tests-4242-AbC123"), Some(4242));
        assert_eq!(owner_pid("katas-tests-x-AbC123"), None);
        assert_eq!(owner_pid("katas-tests-4242"), None);
        assert_eq!(owner_pid("pulse-shm-4242-1"), None);
    }

    #[test]
    fn folders_of_ended_processes_are_swept_and_live_ones_kept() {
        let base = tempfile::tempdir().unwrap();
        // A child that has exited and been reaped: its pid names no process (until reused,
        // which a fresh pid is not within this test).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let orphan = base.path().join(format!("{PREFIX}{dead}-orphan"));
        let live = base
            .path()
            .join(format!("{PREFIX}{}-live", std::process::id()));
        let other = base.path().join("someone-elses");
        for dir in [&orphan, &live, &other] {
            std::fs::create_dir_all(dir.join("store")).unwrap();
        }
        sweep_orphans(base.path());
        assert!(!orphan.exists(), "the folder of an ended katas is removed");
        assert!(live.exists(), "the folder of a running katas is kept");
        assert!(
            other.exists(),
            "folders that are not katas' are never touched"
        );
    }
}
