//! Reading and writing the progress file: versioned, atomic, and never silently replaced.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{PROGRESS_VERSION, Progress};
use crate::fsutil::write_atomic;

/// Why progress could not be read or saved. Every message says that the file was not changed and
/// how to continue.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// The file exists but is not a progress file this katas understands.
    #[error(
        "katas cannot read its progress file {}: {reason}\n    \
         katas has not changed it, and kept a copy at {}\n    \
         fix: repair the file by hand, or run `katas reset --progress` to start afresh \
         (your passed stages are then forgotten; your code is not touched)",
        path.display(), kept.display()
    )]
    Corrupt {
        path: PathBuf,
        reason: String,
        kept: PathBuf,
    },

    /// The file was written by a newer katas.
    #[error(
        "the progress file {} was written by a newer katas (file version {found}, this katas reads \
         up to {PROGRESS_VERSION})\n    katas has not changed it\n    \
         fix: update katas (git pull, then cargo build --release), or use the katas that wrote it",
        path.display()
    )]
    FutureVersion { path: PathBuf, found: u32 },

    /// The file could not be read at all.
    #[error("cannot read the progress file {}", path.display())]
    Read {
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
}

impl ProgressStore {
    /// The progress file in a course's `.katas` folder.
    pub fn in_state_dir(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join("state.toml"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the progress; a missing file is a fresh start.
    pub fn load(&self) -> Result<Progress, ProgressError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Progress::default()),
            Err(source) => {
                return Err(ProgressError::Read {
                    path: self.path.clone(),
                    source,
                });
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
            self.corrupt(reason)
        })
    }

    /// Writes the progress atomically: a crash at any point leaves the old file or the new one.
    pub fn save(&self, progress: &Progress) -> Result<(), ProgressError> {
        let write_err = |source| ProgressError::Write {
            path: self.path.clone(),
            source,
        };
        let text = toml::to_string_pretty(progress).map_err(|e| write_err(io::Error::other(e)))?;
        let header =
            "# katas progress. Written by katas: edit only if you must, and keep a copy.\n";
        write_atomic(&self.path, format!("{header}{text}").as_bytes()).map_err(write_err)
    }

    /// Moves the progress file aside (for `reset --progress`), returning where it went.
    pub fn move_aside(&self) -> Result<Option<PathBuf>, ProgressError> {
        if !self.path.exists() {
            return Ok(None);
        }
        let aside = self.sibling("bak");
        fs::rename(&self.path, &aside).map_err(|source| ProgressError::Write {
            path: aside.clone(),
            source,
        })?;
        Ok(Some(aside))
    }

    /// Keeps a copy of a damaged file beside it, and builds the error that says so.
    fn corrupt(&self, reason: String) -> ProgressError {
        let kept = self.sibling("damaged");
        if let Err(err) = fs::copy(&self.path, &kept) {
            return ProgressError::Corrupt {
                path: self.path.clone(),
                reason: format!("{reason} (and no copy could be made: {err})"),
                kept: self.path.clone(),
            };
        }
        ProgressError::Corrupt {
            path: self.path.clone(),
            reason,
            kept,
        }
    }

    fn sibling(&self, tag: &str) -> PathBuf {
        let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%S").to_string();
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{tag}-{stamp}"));
        self.path.with_file_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::tmp_path;

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
        // The crash: a newer state was half written to the temporary file, never renamed.
        fs::write(tmp_path(store.path()), "version = 1\ncurrent_track = \"tru").unwrap();
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
}
