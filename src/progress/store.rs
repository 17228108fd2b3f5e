//! Reading and writing the progress file: versioned, atomic, never silently replaced, and changed
//! only under a lock, so that two katas on one course (a `watch` and a `run`) never lose each
//! other's updates.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{PROGRESS_VERSION, Progress};
use crate::fsutil::write_atomic;

/// The fix every unreadable progress file shares: `reset --progress` moves it aside (kept, not
/// deleted), whatever it is.
const RESET_FIX: &str = "fix: repair the file by hand, or run `katas reset --progress` to start \
                         afresh (it moves the file aside; your passed stages are then forgotten; \
                         your code is not touched)";

/// Why progress could not be read or saved. Every message says that the file was not changed and
/// how to continue.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// The file exists but is not a progress file this katas understands.
    #[error(
        "katas cannot read its progress file {}: {reason}\n    \
         katas has not changed it, and kept a copy at {}\n    {RESET_FIX}",
        path.display(), kept.display()
    )]
    Corrupt {
        path: PathBuf,
        reason: String,
        kept: PathBuf,
    },

    /// Something that is not a file stands where the progress file belongs (a folder, a FIFO, a
    /// link that leads nowhere but to itself): there is no content to keep a copy of.
    #[error(
        "katas cannot read its progress file {}: {reason}\n    \
         katas has not changed it\n    \
         fix: move it out of the way, or run `katas reset --progress` to move it aside and start \
         afresh (your passed stages are then forgotten; your code is not touched)",
        path.display()
    )]
    NotAFile { path: PathBuf, reason: String },

    /// The file was written by a newer katas.
    #[error(
        "the progress file {} was written by a newer katas (file version {found}, this katas reads \
         up to {PROGRESS_VERSION})\n    katas has not changed it\n    \
         fix: update katas (git pull, then cargo build --release), or use the katas that wrote it",
        path.display()
    )]
    FutureVersion { path: PathBuf, found: u32 },

    /// The file could not be read at all.
    #[error(
        "cannot read the progress file {}\n    katas has not changed it\n    \
         fix: check that you may read and write the folder {} (permissions, a full or read-only \
         disk)",
        path.display(), path.parent().unwrap_or(Path::new(".")).display()
    )]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The lock that orders the changes of several katas could not be taken.
    #[error("cannot lock {} to update progress (your progress so far is unchanged on disk)", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The file could not be written.
    #[error("cannot save progress to {} (your progress so far is unchanged on disk)", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The progress file of one course.
#[derive(Debug, Clone)]
pub struct ProgressStore {
    path: PathBuf,
    lock: PathBuf,
}

impl ProgressStore {
    /// The progress file in a course's `.katas` folder.
    pub fn in_state_dir(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join("state.toml"),
            lock: state_dir.join("state.lock"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the progress; a missing file is a fresh start.
    pub fn load(&self) -> Result<Progress, ProgressError> {
        let _lock = self.lock()?;
        self.load_unlocked()
    }

    /// Applies `change` to the progress as it is on disk at this moment and saves the result,
    /// all under the lock: a change another katas made meanwhile is kept, not overwritten by an
    /// older copy held in memory. Returns the progress as saved, and what `change` returned.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Progress) -> T,
    ) -> Result<(Progress, T), ProgressError> {
        let _lock = self.lock()?;
        let mut progress = self.load_unlocked()?;
        let before = progress.clone();
        let answer = change(&mut progress);
        // An unchanged progress costs no write (and no flush to disk).
        if progress != before {
            self.save_unlocked(&progress)?;
        }
        Ok((progress, answer))
    }

    /// Writes the progress atomically: a crash at any point leaves the old file or the new one.
    /// It replaces whatever is on disk: [`Self::update`] is how a command changes progress.
    pub fn save(&self, progress: &Progress) -> Result<(), ProgressError> {
        let _lock = self.lock()?;
        self.save_unlocked(progress)
    }

    /// Moves the progress file aside (for `reset --progress`), returning where it went. Whatever
    /// stands there - a file, a folder, a broken link - is moved, not deleted.
    pub fn move_aside(&self) -> Result<Option<PathBuf>, ProgressError> {
        let _lock = self.lock()?;
        if fs::symlink_metadata(&self.path).is_err() {
            return Ok(None);
        }
        let aside = (0..1000)
            .map(|n| self.sibling("bak", n))
            .find(|p| fs::symlink_metadata(p).is_err())
            .unwrap_or_else(|| self.sibling("bak", 1000));
        fs::rename(&self.path, &aside).map_err(|source| ProgressError::Write {
            path: aside.clone(),
            source,
        })?;
        Ok(Some(aside))
    }

    fn load_unlocked(&self) -> Result<Progress, ProgressError> {
        let Some(bytes) = self.read()? else {
            return Ok(Progress::default());
        };
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                let line = err.as_bytes()[..err.utf8_error().valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                let reason = format!("line {line}: it is not UTF-8 text");
                return Err(self.corrupt(reason, err.as_bytes()));
            }
        };
        let version = toml::from_str::<toml::Table>(&text)
            .ok()
            .and_then(|t| t.get("version").and_then(toml::Value::as_integer));
        if let Some(found) = version.and_then(|v| u32::try_from(v).ok())
            && found > PROGRESS_VERSION
        {
            return Err(ProgressError::FutureVersion {
                path: self.path.clone(),
                found,
            });
        }
        toml::from_str::<Progress>(&text).map_err(|err| {
            let line = err
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            let reason = match line {
                Some(line) => format!("line {line}: {}", err.message().trim()),
                None => err.message().trim().to_owned(),
            };
            self.corrupt(reason, text.as_bytes())
        })
    }

    /// The file's bytes; `None` when there is none. Only a regular file is opened: a FIFO would
    /// block the read forever, and a folder or a link loop has nothing to read.
    fn read(&self) -> Result<Option<Vec<u8>>, ProgressError> {
        let not_a_file = |reason: &str| ProgressError::NotAFile {
            path: self.path.clone(),
            reason: reason.to_owned(),
        };
        match fs::metadata(&self.path) {
            Ok(meta) if meta.is_file() => {}
            Ok(meta) if meta.is_dir() => return Err(not_a_file("it is a folder, not a file")),
            Ok(_) => {
                return Err(not_a_file(
                    "it is not a regular file (a FIFO, a socket or a device)",
                ));
            }
            // A link to itself (or a cycle of links) never reaches a file.
            Err(err) if is_link_loop(&err) => {
                return Err(not_a_file(
                    "it is a symbolic link that leads back to itself",
                ));
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ProgressError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        }
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ProgressError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn save_unlocked(&self, progress: &Progress) -> Result<(), ProgressError> {
        let write_err = |source| ProgressError::Write {
            path: self.path.clone(),
            source,
        };
        let text = toml::to_string_pretty(progress).map_err(|e| write_err(io::Error::other(e)))?;
        let header =
            "# katas progress. Written by katas: edit only if you must, and keep a copy.\n";
        write_atomic(&self.path, format!("{header}{text}").as_bytes()).map_err(write_err)
    }

    /// Takes the course's progress lock, held until the guard is dropped. A lock file beside the
    /// progress file, not the file itself: the file is replaced by rename on every save.
    #[cfg(unix)]
    fn lock(&self) -> Result<nix::fcntl::Flock<fs::File>, ProgressError> {
        use nix::fcntl::{Flock, FlockArg};
        let lock_err = |source| ProgressError::Lock {
            path: self.lock.clone(),
            source,
        };
        if let Some(dir) = self.lock.parent() {
            fs::create_dir_all(dir).map_err(lock_err)?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(lock_err)?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| lock_err(io::Error::from(errno)))
    }

    /// Without `flock`, katas on one course are not ordered (Windows: one katas at a time).
    #[cfg(not(unix))]
    fn lock(&self) -> Result<(), ProgressError> {
        Ok(())
    }

    /// Keeps a copy of a damaged file beside it, and builds the error that says so. One copy per
    /// distinct damaged content: every command run while the file is damaged finds the copy it
    /// would make already there.
    fn corrupt(&self, reason: String, bytes: &[u8]) -> ProgressError {
        match self.keep_copy(bytes) {
            Ok(kept) => ProgressError::Corrupt {
                path: self.path.clone(),
                reason,
                kept,
            },
            Err(err) => ProgressError::Corrupt {
                path: self.path.clone(),
                reason: format!("{reason} (and no copy could be made: {err})"),
                kept: self.path.clone(),
            },
        }
    }

    fn keep_copy(&self, bytes: &[u8]) -> io::Result<PathBuf> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let prefix = format!("{}.damaged-", self.file_name());
        for entry in fs::read_dir(dir)?.flatten() {
            let is_copy = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&prefix));
            if is_copy && fs::read(entry.path()).is_ok_and(|kept| kept == bytes) {
                return Ok(entry.path());
            }
        }
        // A fresh name, never an existing one: two copies made in the same second both stay.
        for n in 0..1000 {
            let kept = self.sibling("damaged", n);
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&kept)
            {
                Ok(mut file) => {
                    file.write_all(bytes)?;
                    file.sync_all()?;
                    return Ok(kept);
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
        Err(io::Error::other("too many damaged copies already"))
    }

    fn file_name(&self) -> String {
        self.path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }

    /// `state.toml.<tag>-<time>`, with `-<n>` after the time for the n-th name tried.
    fn sibling(&self, tag: &str, n: u32) -> PathBuf {
        let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S").to_string();
        let suffix = if n == 0 {
            String::new()
        } else {
            format!("-{n}")
        };
        self.path
            .with_file_name(format!("{}.{tag}-{stamp}{suffix}", self.file_name()))
    }
}

#[cfg(unix)]
fn is_link_loop(err: &io::Error) -> bool {
    err.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32)
}

#[cfg(not(unix))]
fn is_link_loop(_err: &io::Error) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, ProgressStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ProgressStore::in_state_dir(dir.path());
        (dir, store)
    }

    fn sample() -> Progress {
        let mut p = Progress {
            current_track: Some("kv_store".into()),
            ..Progress::default()
        };
        p.track_mut("kv_store").current_stage = Some("log".into());
        p.record_pass(
            "kv_store",
            "memory",
            jiff::Timestamp::from_second(1_800_000_000).unwrap(),
        );
        p
    }

    #[test]
    fn a_missing_file_is_a_fresh_start() {
        let (_dir, store) = store();
        assert_eq!(store.load().unwrap(), Progress::default());
    }

    #[test]
    fn progress_survives_a_round_trip() {
        let (_dir, store) = store();
        store.save(&sample()).unwrap();
        assert_eq!(store.load().unwrap(), sample());
    }

    #[test]
    fn a_crash_between_write_and_rename_loses_nothing() {
        let (_dir, store) = store();
        store.save(&sample()).unwrap();
        // The crash: a newer state was half written to a temporary file, never renamed.
        let leftover = store.path().with_file_name(".state.toml.a1b2c3.tmp");
        fs::write(&leftover, "version = 1\ncurrent_track = \"tru").unwrap();
        assert_eq!(store.load().unwrap(), sample());
        // And the next save goes through, over the leftover.
        let mut next = sample();
        next.current_track = Some("replication".into());
        store.save(&next).unwrap();
        assert_eq!(store.load().unwrap(), next);
    }

    #[test]
    fn a_corrupt_file_is_kept_and_explained_never_replaced() {
        let (dir, store) = store();
        fs::write(store.path(), "version = 1\ncurrent_track = [oops\n").unwrap();
        let err = store.load().unwrap_err();
        let ProgressError::Corrupt { kept, .. } = &err else {
            panic!("expected Corrupt, got {err}")
        };
        assert_eq!(
            fs::read_to_string(kept).unwrap(),
            "version = 1\ncurrent_track = [oops\n"
        );
        assert_eq!(
            fs::read_to_string(store.path()).unwrap(),
            "version = 1\ncurrent_track = [oops\n"
        );
        let message = err.to_string();
        assert!(message.contains("line 2"), "{message}");
        assert!(message.contains("katas reset --progress"), "{message}");
        assert!(dir.path().read_dir().unwrap().count() >= 2);
    }

    #[test]
    fn a_file_from_a_newer_katas_is_refused_untouched() {
        let (_dir, store) = store();
        fs::write(store.path(), "version = 7\nfuture_field = true\n").unwrap();
        let err = store.load().unwrap_err();
        assert!(
            matches!(err, ProgressError::FutureVersion { found: 7, .. }),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(store.path()).unwrap(),
            "version = 7\nfuture_field = true\n"
        );
    }

    #[test]
    fn moving_aside_keeps_the_old_file() {
        let (_dir, store) = store();
        store.save(&sample()).unwrap();
        let aside = store.move_aside().unwrap().unwrap();
        assert!(aside.exists());
        assert_eq!(store.load().unwrap(), Progress::default());
    }

    fn damaged_copies(dir: &Path) -> Vec<PathBuf> {
        let mut copies: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".damaged-"))
            .collect();
        copies.sort();
        copies
    }

    #[test]
    fn parallel_updates_lose_nothing() {
        let (_dir, store) = store();
        std::thread::scope(|scope| {
            for track in ["kv", "raft", "gossip", "paxos"] {
                let store = &store;
                scope.spawn(move || {
                    for _ in 0..25 {
                        store
                            .update(|p| p.stage_mut(track, "one").runs += 1)
                            .unwrap();
                    }
                });
            }
        });
        let progress = store.load().unwrap();
        for track in ["kv", "raft", "gossip", "paxos"] {
            assert_eq!(progress.stage(track, "one").unwrap().runs, 25, "{track}");
        }
    }

    #[test]
    fn an_update_applies_to_what_is_on_disk_not_to_an_older_copy() {
        let (_dir, store) = store();
        let (mine, ()) = store.update(|p| p.record_pass("kv", "one", at())).unwrap();
        // Another katas records a pass of another track meanwhile.
        let other = ProgressStore::in_state_dir(store.path().parent().unwrap());
        other
            .update(|p| p.record_pass("raft", "one", at()))
            .unwrap();
        assert!(!mine.is_passed("raft", "one"));
        let (after, ()) = store
            .update(|p| p.current_track = Some("kv".into()))
            .unwrap();
        assert!(after.is_passed("raft", "one"), "the other pass was lost");
        assert!(after.is_passed("kv", "one"));
    }

    fn at() -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000).unwrap()
    }

    #[test]
    fn a_damaged_file_is_copied_once_however_often_it_is_read() {
        let (dir, store) = store();
        fs::write(store.path(), "version = 1\ncurrent_track = [oops\n").unwrap();
        for _ in 0..5 {
            store.load().unwrap_err();
        }
        assert_eq!(
            damaged_copies(dir.path()).len(),
            1,
            "{:?}",
            damaged_copies(dir.path())
        );
        // A different damage is a different copy, even within the same second.
        fs::write(store.path(), "version = 1\ncurrent_track = [other\n").unwrap();
        store.load().unwrap_err();
        store.load().unwrap_err();
        let copies = damaged_copies(dir.path());
        assert_eq!(copies.len(), 2, "{copies:?}");
        let contents: Vec<String> = copies
            .iter()
            .map(|c| fs::read_to_string(c).unwrap())
            .collect();
        assert!(contents.iter().any(|c| c.contains("oops")), "{contents:?}");
        assert!(contents.iter().any(|c| c.contains("other")), "{contents:?}");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_kept_and_explained() {
        let (dir, store) = store();
        fs::write(store.path(), b"version = 1\ncurrent_track = \"\xff\xfe\"\n").unwrap();
        let err = store.load().unwrap_err();
        let ProgressError::Corrupt { kept, .. } = &err else {
            panic!("expected Corrupt, got {err}")
        };
        assert_eq!(fs::read(kept).unwrap(), fs::read(store.path()).unwrap());
        let message = err.to_string();
        assert!(
            message.contains("not UTF-8") && message.contains("line 2"),
            "{message}"
        );
        assert!(
            message.contains("fix: ") && message.contains("katas reset --progress"),
            "{message}"
        );
        assert_eq!(damaged_copies(dir.path()).len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_a_link_loop_or_a_fifo_is_refused_with_a_fix_and_moved_aside_by_reset() {
        type Make = fn(&Path);
        let make: [(&str, Make); 3] = [
            ("folder", |p| fs::create_dir(p).unwrap()),
            ("leads back to itself", |p| {
                std::os::unix::fs::symlink(p, p).unwrap()
            }),
            ("FIFO", |p| {
                nix::unistd::mkfifo(p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap()
            }),
        ];
        for (what, make) in make {
            let (_dir, store) = store();
            make(store.path());
            // A FIFO would block a plain read forever: the load must answer at once.
            let err = store.load().unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(err, ProgressError::NotAFile { .. }),
                "{what}: {message}"
            );
            assert!(message.contains(what), "{message}");
            assert!(
                message.contains("fix: ") && message.contains("katas reset --progress"),
                "{message}"
            );
            let aside = store.move_aside().unwrap().unwrap();
            assert!(fs::symlink_metadata(aside).is_ok(), "{what} was not kept");
            assert_eq!(store.load().unwrap(), Progress::default(), "{what}");
        }
    }
}
