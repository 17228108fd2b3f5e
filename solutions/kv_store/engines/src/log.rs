//! A durable store: an append-only log of changes, replayed into memory on open.
//!
//! The log is one file, `kv.log`, in the store's directory. Each change is one line holding one
//! JSON record; JSON escapes newlines inside strings, so a line is always exactly one record,
//! whatever the keys and values contain. The file is only ever appended to: a write never touches
//! bytes that are already there, so a record that was written once stays readable.

use std::borrow::Cow;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{KvError, Result};
use crate::store::KvStore;

/// The name of the log file inside the store's directory.
const LOG_FILE: &str = "kv.log";

/// One change, as written to the log.
///
/// The strings are `Cow`s so that writing a record borrows the caller's strings instead of
/// copying them, while reading one produces owned strings.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Record<'a> {
    /// The key now has this value.
    Set {
        key: Cow<'a, str>,
        value: Cow<'a, str>,
    },
    /// The key no longer has a value.
    Remove { key: Cow<'a, str> },
}

/// A key-value store whose every change is appended to a log on disk before the call returns.
///
/// Reads are served from memory: the log is only read once, when the store is opened. The
/// in-memory state is a [`KvStore`], the store of the first stage, kept up to date with the log.
#[derive(Debug)]
pub struct LogStore {
    /// The current state: the result of replaying the whole log.
    state: KvStore,
    /// The log, opened for appending. There is deliberately no buffer in front of it: each record
    /// goes to the operating system in one `write` before the call that made it returns, so a
    /// crash of this process right after a call returned cannot lose it.
    file: File,
    /// The log file, for error messages.
    path: PathBuf,
}

impl LogStore {
    /// Opens the store kept in `dir`, creating the directory and an empty log if needed, and
    /// replays the log so that the store holds what the last writes left.
    pub fn open(dir: impl AsRef<Path>) -> Result<LogStore> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(KvError::io("create directory", dir))?;
        let path = dir.join(LOG_FILE);
        // `append` makes every write go to the end of the file, whatever was there before: the
        // records of earlier sessions are never overwritten.
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(KvError::io("open", &path))?;
        let state = replay(&path)?;
        Ok(LogStore { state, file, path })
    }

    /// Stores `value` under `key`: appends the change to the log, then applies it in memory.
    pub fn set(&mut self, key: String, value: String) -> Result<()> {
        self.append(&Record::Set {
            key: Cow::Borrowed(&key),
            value: Cow::Borrowed(&value),
        })?;
        self.state.set(key, value);
        Ok(())
    }

    /// Returns the value stored under `key`, or `None`.
    ///
    /// It cannot fail yet (values are in memory), but it returns a `Result` because a store that
    /// reads values from disk can, and callers should not have to change when it does.
    pub fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.state.get(key))
    }

    /// Removes `key` and returns the value it had, or `None` if it had none.
    ///
    /// Removing a key that has no value changes nothing, so nothing is logged.
    pub fn remove(&mut self, key: &str) -> Result<Option<String>> {
        if self.state.get(key).is_none() {
            return Ok(None);
        }
        self.append(&Record::Remove {
            key: Cow::Borrowed(key),
        })?;
        Ok(self.state.remove(key))
    }

    /// Appends one record to the log and hands it to the operating system.
    ///
    /// The log comes first: if the write fails, memory is left as it was, so the store never
    /// answers with a value that a reopen would not find.
    fn append(&mut self, record: &Record) -> Result<()> {
        write_record(&mut self.file, record).map_err(KvError::io("append to", &self.path))
    }
}

/// Writes `record` as one line.
fn write_record(out: &mut impl Write, record: &Record) -> io::Result<()> {
    // Encoding into memory first means the file receives the whole line in a single write, never
    // a half-encoded record followed by an error.
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// Reads the log at `path` from the start and applies every record in order.
fn replay(path: &Path) -> Result<KvStore> {
    let file = File::open(path).map_err(KvError::io("open", path))?;
    let mut reader = BufReader::new(file);
    let mut state = KvStore::new();
    let mut line = String::new();
    let mut offset = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(KvError::io("read", path))?;
        if read == 0 {
            return Ok(state);
        }
        let record: Record<'_> = serde_json::from_str(&line).map_err(|err| KvError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: err.to_string(),
        })?;
        match record {
            Record::Set { key, value } => state.set(key.into_owned(), value.into_owned()),
            Record::Remove { key } => {
                state.remove(&key);
            }
        }
        offset += read as u64;
    }
}
