//! A durable store in the style of Bitcask: append-only log files, an in-memory index of where
//! each key's latest record lies (the *keydir*), and compaction of the stale records.
//!
//! The directory holds generations of the log, `<generation>.log`, replayed in increasing order;
//! new records are appended to the newest one. Every record carries checksums (see
//! [`record`](crate::record)), so damage is recognised, and an incomplete last record (an append
//! interrupted by a crash) is told apart from damage in the middle: the first is dropped on open,
//! the second is an error. Values are not kept in memory: the keydir points at the record on
//! disk, which `get` reads back and checks again.
//!
//! Compaction copies the live records into a fresh generation, written under a temporary name,
//! synced, and renamed into place (an atomic switch), before the older generations are deleted
//! oldest first. A crash at any point leaves a directory that replays to the same state: either
//! the old generations alone, or old ones followed by a complete copy of the live data.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use crate::error::{KvError, Result};
use crate::fsutil;
use crate::record::{self, OwnedRecord, Record, Scanned, Scanner};

/// The extension of log files; the stem is the generation number.
const LOG_EXTENSION: &str = "log";

/// The name compaction writes under before the atomic rename. A leftover one is an unfinished
/// compaction and is deleted on open.
const COMPACTION_TEMP: &str = "compaction.tmp";

/// How a [`LogStore`] behaves; start from `Options::default()` and change what you need:
/// `Options { compaction_threshold: 4096, ..Options::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Compact once the stale records (overwritten or removed values, and removal markers) take
    /// more than this many bytes. Lower means a smaller directory and more frequent rewrites.
    pub compaction_threshold: u64,
    /// When written records are forced to the disk.
    pub sync: SyncPolicy,
}

impl Default for Options {
    /// Compaction at 1 MiB of stale data; [`SyncPolicy::Never`].
    fn default() -> Options {
        Options {
            compaction_threshold: 1024 * 1024,
            sync: SyncPolicy::Never,
        }
    }
}

/// When the store forces written records from the operating system's cache to the disk (fsync).
///
/// Whatever the policy, every record reaches the operating system before the call that wrote it
/// returns, so a crash of the *process* never loses an acknowledged write. The policy decides
/// what a crash of the *machine* (power cut, kernel panic) can lose, and what each write costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// Sync after every write: nothing acknowledged is ever lost, and every write waits for the
    /// disk (from tens of microseconds on a good SSD to milliseconds on others).
    Always,
    /// Sync after every `n` writes: a machine crash loses at most the last `n - 1` acknowledged
    /// writes; the disk wait is shared by `n` writes.
    EveryN(NonZeroU32),
    /// Never sync (except during compaction): the operating system writes the data back when it
    /// likes, typically within seconds; a machine crash can lose the writes of that window. The
    /// default, as in Bitcask.
    #[default]
    Never,
}

/// Where a record lies: the keydir's entry for a key.
#[derive(Debug, Clone, Copy)]
struct RecordPos {
    generation: u64,
    offset: u64,
    len: usize,
}

/// A durable key-value store: every change is appended to a log on disk before the call
/// returns; values are read back from the log; stale records are compacted away.
#[derive(Debug)]
pub struct LogStore {
    /// The store's directory.
    dir: PathBuf,
    options: Options,
    /// For every live key, where its latest `Set` record lies.
    keydir: HashMap<String, RecordPos>,
    /// A read handle on every generation that holds live records.
    readers: BTreeMap<u64, File>,
    /// The generation new records are appended to (the newest one).
    active: u64,
    /// The active generation, opened for appending. No buffer in front of it: each record goes to
    /// the operating system in one `write` before the call that made it returns.
    writer: File,
    /// The active generation's length: where the next record will start.
    active_len: u64,
    /// Bytes of records that no longer describe the current state.
    stale_bytes: u64,
    /// Writes since the active generation was last synced.
    unsynced_writes: u32,
}

impl LogStore {
    /// Opens the store kept in `dir` with the default [`Options`], creating the directory if it
    /// is missing.
    pub fn open(dir: impl AsRef<Path>) -> Result<LogStore> {
        LogStore::open_with(dir, Options::default())
    }

    /// Opens the store kept in `dir` with the given options, creating the directory if it is
    /// missing, and rebuilds the keydir by replaying every generation in order.
    ///
    /// An incomplete record at the end of the newest generation (an append cut short by a crash)
    /// is dropped and cut off the file. Any other damage is a [`KvError::Corrupt`]: skipping it
    /// would silently lose or resurrect data.
    pub fn open_with(dir: impl AsRef<Path>, options: Options) -> Result<LogStore> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(KvError::io("create directory", &dir))?;
        remove_leftover_compaction(&dir)?;

        let mut generations = list_generations(&dir)?;
        if generations.is_empty() {
            generations.push(1);
        }
        let active = generations.last().copied().unwrap_or(1);
        let writer = open_for_append(&log_path(&dir, active))?;
        // The new file's name must survive a power cut too, not only its content.
        fsutil::sync_dir(&dir).map_err(KvError::io("sync", &dir))?;

        let mut store = LogStore {
            dir,
            options,
            keydir: HashMap::new(),
            readers: BTreeMap::new(),
            active,
            writer,
            active_len: 0,
            stale_bytes: 0,
            unsynced_writes: 0,
        };
        for generation in generations {
            store.replay(generation)?;
        }
        Ok(store)
    }

    /// Stores `value` under `key`.
    pub fn set(&mut self, key: String, value: String) -> Result<()> {
        self.compact_if_needed()?;
        let pos = self.append(Record::Set {
            key: &key,
            value: &value,
        })?;
        if let Some(old) = self.keydir.insert(key, pos) {
            self.stale_bytes += old.len as u64;
        }
        Ok(())
    }

    /// Returns the value stored under `key`, read from the log, or `None`.
    pub fn get(&self, key: &str) -> Result<Option<String>> {
        match self.keydir.get(key) {
            Some(pos) => self.read_value(key, *pos).map(Some),
            None => Ok(None),
        }
    }

    /// Removes `key` and returns the value it had, or `None` if it had none.
    ///
    /// Removing a key that has no value changes nothing, so nothing is logged.
    pub fn remove(&mut self, key: &str) -> Result<Option<String>> {
        let Some(&old) = self.keydir.get(key) else {
            return Ok(None);
        };
        let value = self.read_value(key, old)?;
        self.compact_if_needed()?;
        let marker = self.append(Record::Remove { key })?;
        self.keydir.remove(key);
        // Both the old value and the marker itself are stale: after a compaction neither is
        // needed any more.
        self.stale_bytes += (old.len + marker.len) as u64;
        Ok(Some(value))
    }

    /// Rewrites the live records into a new generation and deletes the older ones.
    ///
    /// Done automatically when the stale bytes pass [`Options::compaction_threshold`]; callable
    /// directly, for example before a backup.
    pub fn compact(&mut self) -> Result<()> {
        let generation = self.active + 1;
        let (keydir, len) = self.write_compacted(generation)?;

        let path = log_path(&self.dir, generation);
        let writer = open_for_append(&path)?;
        let reader = File::open(&path).map_err(KvError::io("open", &path))?;
        let old = std::mem::replace(&mut self.readers, BTreeMap::from([(generation, reader)]));
        self.keydir = keydir;
        self.writer = writer;
        self.active = generation;
        self.active_len = len;
        self.stale_bytes = 0;
        // The compacted file was synced before it was renamed into place.
        self.unsynced_writes = 0;

        // Oldest first: a crash half-way leaves a suffix of the history, which still replays
        // correctly because the new generation, replayed last, holds every live value.
        for (old_generation, file) in old {
            drop(file);
            let path = log_path(&self.dir, old_generation);
            fs::remove_file(&path).map_err(KvError::io("delete", &path))?;
        }
        fsutil::sync_dir(&self.dir).map_err(KvError::io("sync", &self.dir))
    }

    /// Compacts if the stale records have passed the threshold.
    ///
    /// Called *before* a write, so that a failed compaction fails the write cleanly, with
    /// nothing logged, instead of reporting an error for a write that did happen.
    fn compact_if_needed(&mut self) -> Result<()> {
        if self.stale_bytes > self.options.compaction_threshold {
            self.compact()
        } else {
            Ok(())
        }
    }

    /// Copies every live record, byte for byte, into `generation`: written to a temporary file,
    /// synced, then renamed into place. Returns the keydir for the new file and its length.
    fn write_compacted(&self, generation: u64) -> Result<(HashMap<String, RecordPos>, u64)> {
        let temp = self.dir.join(COMPACTION_TEMP);
        let file = File::create(&temp).map_err(KvError::io("create", &temp))?;
        let mut out = BufWriter::new(file);
        let mut keydir = HashMap::with_capacity(self.keydir.len());
        let mut offset = 0;
        for (key, &pos) in &self.keydir {
            // Checked before copying: a damaged record must fail the compaction, not be laundered
            // into a fresh file.
            let bytes = self.read_record(pos)?;
            record::decode(&bytes).map_err(|reason| self.corrupt(pos, reason))?;
            out.write_all(&bytes)
                .map_err(KvError::io("write to", &temp))?;
            keydir.insert(
                key.clone(),
                RecordPos {
                    generation,
                    offset,
                    len: pos.len,
                },
            );
            offset += pos.len as u64;
        }
        let file = out
            .into_inner()
            .map_err(|err| KvError::io("write to", &temp)(err.into_error()))?;
        // On disk before it gets its real name: the rename must never expose a partial file.
        file.sync_all().map_err(KvError::io("sync", &temp))?;
        let path = log_path(&self.dir, generation);
        fs::rename(&temp, &path).map_err(KvError::io("rename", &temp))?;
        fsutil::sync_dir(&self.dir).map_err(KvError::io("sync", &self.dir))?;
        Ok((keydir, offset))
    }

    /// Appends one record to the active generation, syncs as the policy says, and returns where
    /// the record lies.
    fn append(&mut self, record: Record<'_>) -> Result<RecordPos> {
        let path = log_path(&self.dir, self.active);
        let bytes = record::encode(record).map_err(|err| KvError::TooLarge {
            what: err.what,
            len: err.len,
        })?;
        if let Err(err) = self.writer.write_all(&bytes) {
            // Cut off whatever part of the record did reach the file, so that the next record
            // does not follow garbage. If even that fails, the next open drops it as a torn tail.
            let _ = self.writer.set_len(self.active_len);
            return Err(KvError::io("append to", &path)(err));
        }
        let pos = RecordPos {
            generation: self.active,
            offset: self.active_len,
            len: bytes.len(),
        };
        self.active_len += pos.len as u64;
        self.ensure_reader(self.active)?;
        self.sync_as_configured()
            .map_err(KvError::io("sync", &path))?;
        Ok(pos)
    }

    /// Forces the active generation to disk if the sync policy says it is time.
    fn sync_as_configured(&mut self) -> io::Result<()> {
        self.unsynced_writes += 1;
        let due = match self.options.sync {
            SyncPolicy::Always => true,
            SyncPolicy::EveryN(n) => self.unsynced_writes >= n.get(),
            SyncPolicy::Never => false,
        };
        if due {
            // `sync_data` skips metadata such as the modification time; the file's length, which
            // an append changes, is still synced.
            self.writer.sync_data()?;
            self.unsynced_writes = 0;
        }
        Ok(())
    }

    /// The error for a damaged record at `pos`.
    fn corrupt(&self, pos: RecordPos, reason: String) -> KvError {
        KvError::Corrupt {
            path: log_path(&self.dir, pos.generation),
            offset: pos.offset,
            reason,
        }
    }

    /// Opens a read handle on `generation` unless there is one already.
    fn ensure_reader(&mut self, generation: u64) -> Result<()> {
        if !self.readers.contains_key(&generation) {
            let path = log_path(&self.dir, generation);
            let file = File::open(&path).map_err(KvError::io("open", &path))?;
            self.readers.insert(generation, file);
        }
        Ok(())
    }

    /// Reads the raw bytes of the record at `pos`.
    fn read_record(&self, pos: RecordPos) -> Result<Vec<u8>> {
        let path = log_path(&self.dir, pos.generation);
        let file = self.readers.get(&pos.generation).ok_or_else(|| {
            KvError::io("read", &path)(io::Error::new(
                io::ErrorKind::NotFound,
                "the keydir points into a generation that is not open",
            ))
        })?;
        let mut bytes = vec![0; pos.len];
        fsutil::read_exact_at(file, &mut bytes, pos.offset).map_err(KvError::io("read", &path))?;
        Ok(bytes)
    }

    /// Reads the value of `key` from the record at `pos`, checking its checksums and that it is
    /// the `Set` of that key: the disk may have changed since the store was opened.
    fn read_value(&self, key: &str, pos: RecordPos) -> Result<String> {
        let bytes = self.read_record(pos)?;
        match record::decode(&bytes) {
            Ok(OwnedRecord::Set { key: found, value }) if found == key => Ok(value),
            Ok(_) => Err(self.corrupt(pos, format!("expected the value of {key:?}"))),
            Err(reason) => Err(self.corrupt(pos, reason)),
        }
    }

    /// Applies every record of `generation` to the keydir, in order.
    fn replay(&mut self, generation: u64) -> Result<()> {
        let path = log_path(&self.dir, generation);
        let file = match File::open(&path) {
            Ok(file) => file,
            // The active generation of an empty store has no records yet.
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(KvError::io("open", &path)(err)),
        };
        let mut scanner = Scanner::new(file).map_err(KvError::io("read", &path))?;
        loop {
            let offset = scanner.offset();
            let scanned = scanner.next_record().map_err(KvError::io("read", &path))?;
            let damaged = |reason: String| KvError::Corrupt {
                path: path.clone(),
                offset,
                reason,
            };
            match scanned {
                Scanned::Record { record, len } => self.apply(
                    record,
                    RecordPos {
                        generation,
                        offset,
                        len,
                    },
                ),
                Scanned::End => break,
                Scanned::Torn if generation == self.active => {
                    self.drop_torn_tail(offset)?;
                    break;
                }
                // Older generations were complete before a newer one was started.
                Scanned::Torn => {
                    return Err(damaged(
                        "an older log file ends in an incomplete record".to_owned(),
                    ));
                }
                Scanned::Corrupt(reason) => return Err(damaged(reason)),
            }
        }
        self.ensure_reader(generation)?;
        if generation == self.active {
            self.active_len = scanner.offset();
        }
        Ok(())
    }

    /// Cuts the active generation back to `valid_len`, dropping an incomplete last record, so
    /// that new records follow the last complete one.
    fn drop_torn_tail(&mut self, valid_len: u64) -> Result<()> {
        let path = log_path(&self.dir, self.active);
        self.writer
            .set_len(valid_len)
            .and_then(|()| self.writer.sync_all())
            .map_err(KvError::io("truncate", &path))
    }

    /// Updates the keydir and the stale count for one replayed record.
    fn apply(&mut self, record: OwnedRecord, pos: RecordPos) {
        match record {
            OwnedRecord::Set { key, .. } => {
                if let Some(old) = self.keydir.insert(key, pos) {
                    self.stale_bytes += old.len as u64;
                }
            }
            OwnedRecord::Remove { key } => {
                if let Some(old) = self.keydir.remove(&key) {
                    self.stale_bytes += old.len as u64;
                }
                self.stale_bytes += pos.len as u64;
            }
        }
    }
}

/// The path of a generation's log file.
fn log_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{generation}.{LOG_EXTENSION}"))
}

/// Opens a log file for appending, creating it if needed.
fn open_for_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(KvError::io("open", path))
}

/// The generations present in `dir`, in increasing order. Files that are not `<number>.log`
/// are not ours and are left alone.
fn list_generations(dir: &Path) -> Result<Vec<u64>> {
    let mut generations = Vec::new();
    for entry in fs::read_dir(dir).map_err(KvError::io("list", dir))? {
        let path = entry.map_err(KvError::io("list", dir))?.path();
        let is_log = path.extension().is_some_and(|ext| ext == LOG_EXTENSION);
        let generation = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .and_then(|stem| stem.parse().ok());
        if let (true, Some(generation)) = (is_log, generation) {
            generations.push(generation);
        }
    }
    // Numerically: "10.log" comes after "9.log", which a sort by name would get wrong.
    generations.sort_unstable();
    Ok(generations)
}

/// Deletes the temporary file of a compaction that a crash interrupted: the generations it was
/// copying from are all still there.
fn remove_leftover_compaction(dir: &Path) -> Result<()> {
    let temp = dir.join(COMPACTION_TEMP);
    match fs::remove_file(&temp) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(KvError::io("delete", &temp)(err)),
    }
}
