//! One `katas dev mutants` per track at a time: the variants of a track are built in one scratch
//! crate folder, so two runs on the same track (CI's per-track tests and a developer, say) would
//! overwrite each other's files mid-build and judge a mix of two variants. A run takes an
//! advisory lock on a file beside the scratch folder for as long as it uses it; a second run
//! waits for it, saying so, rather than failing: it has the same work to do next. The OS drops
//! the lock if katas dies, so a crashed run never blocks the next one. Other tracks' runs do not
//! wait: their scratch folders differ (they share the build folder, which cargo locks itself).

use std::fs::{self, File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// Why the track's lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("cannot lock {path} (it keeps two `katas dev mutants` runs out of one scratch folder)")]
pub struct LockError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// The lock of one track's scratch folder, held until dropped.
#[derive(Debug)]
pub struct TrackLock {
    _file: File,
}

/// What [`try_lock`] found.
#[derive(Debug)]
pub enum Attempt {
    /// The lock was free and is now ours.
    Taken(TrackLock),
    /// Another process holds it: [`wait`] with this file for it to let go.
    Busy(File),
}

/// Tries to take the lock file `path` (making it and its folder if needed), without waiting.
pub fn try_lock(path: &Path) -> Result<Attempt, LockError> {
    let error = |source| LockError {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(error)?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(error)?;
    match file.try_lock() {
        Ok(()) => Ok(Attempt::Taken(TrackLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(Attempt::Busy(file)),
        Err(TryLockError::Error(source)) => Err(error(source)),
    }
}

/// Blocks until the process holding the lock `file` (opened at `path`) lets go, then holds it.
pub fn wait(file: File, path: &Path) -> Result<TrackLock, LockError> {
    file.lock().map_err(|source| LockError {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(TrackLock { _file: file })
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// What `dev mutants` does (in `lock_track`, on a blocking thread): try, report, wait.
    fn lock(path: &Path, on_wait: impl FnOnce(&Path)) -> Result<TrackLock, LockError> {
        match try_lock(path)? {
            Attempt::Taken(lock) => Ok(lock),
            Attempt::Busy(file) => {
                on_wait(path);
                wait(file, path)
            }
        }
    }

    /// Only a guard against a hang: the assertions never depend on how long anything takes.
    const HANG: Duration = Duration::from_secs(60);

    #[test]
    fn a_free_lock_is_taken_without_waiting_and_made_with_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mutants").join("track.lock");
        let mut waited = false;
        let held = lock(&path, |_| waited = true).unwrap();
        assert!(!waited);
        assert!(path.is_file());
        drop(held);
        // Released: the next run takes it at once too.
        let _again = lock(&path, |_| {
            panic!("a released lock must not make anyone wait")
        })
        .unwrap();
    }

    #[test]
    fn a_second_run_waits_saying_so_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("track.lock");
        let first = lock(&path, |_| panic!("the first run finds the lock free")).unwrap();
        let (events, seen) = mpsc::channel();
        let second = std::thread::spawn({
            let path = path.clone();
            move || {
                let waiting = events.clone();
                let held = lock(&path, move |p| {
                    waiting.send(format!("waiting {}", p.display())).unwrap();
                })
                .unwrap();
                events.send("acquired".to_owned()).unwrap();
                held
            }
        });
        assert_eq!(
            seen.recv_timeout(HANG).unwrap(),
            format!("waiting {}", path.display())
        );
        // The first run still holds the lock, so the second cannot have taken it.
        assert!(seen.try_recv().is_err(), "the second run took a held lock");
        drop(first);
        assert_eq!(seen.recv_timeout(HANG).unwrap(), "acquired");
        drop(second.join().unwrap());
    }

    #[test]
    fn a_lock_in_a_folder_that_cannot_be_made_says_which_file() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-folder");
        fs::write(&blocker, "").unwrap();
        let path = blocker.join("track.lock");
        let err = lock(&path, |_| {}).unwrap_err();
        assert_eq!(err.path, path);
        assert!(err.to_string().contains("track.lock"), "{err}");
    }
}
