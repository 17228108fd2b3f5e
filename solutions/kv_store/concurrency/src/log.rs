//! A durable store in the style of Bitcask, shared by many threads: append-only log files, an
//! in-memory index of where each key's latest record lies (the *keydir*), and compaction of the
//! stale records.
//!
//! The directory holds generations of the log, `<generation>.log`, replayed in increasing order;
//! new records are appended to the newest one. Every record carries checksums (see
//! [`record`](crate::record)), so damage is recognised, and an incomplete last record (an append
//! interrupted by a crash) is told apart from damage in the middle: the first is dropped on open,
//! the second is an error. Values are not kept in memory: the keydir points at the record on
//! disk, which `get` reads back and checks again.
//!
//! # Sharing
//!
//! A [`LogStore`] is a handle; clones share one store. Two locks guard the shared state, always
//! taken in this order:
//!
//! 1. `writer` (a `Mutex`) serialises the changes: it is held for the whole of an append *and*
//!    the keydir update that publishes it, so the keydir always points at the latest record of a
//!    key in log order, and for the whole of a compaction.
//! 2. `index` (an `RwLock`) holds the keydir and the open files. Readers take it shared, only long
//!    enough to copy a position and a file handle, then read the disk without any lock: readers
//!    never wait for one another, nor for a writer's disk I/O.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use katas_sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::{KvError, Result};
use crate::fsutil;
use crate::options::{Options, SyncPolicy};
use crate::record::{self, OwnedRecord, Record, Scanned, Scanner};

/// The extension of log files; the stem is the generation number.
const LOG_EXTENSION: &str = "log";

/// The name compaction writes under before the atomic rename. A leftover one is an unfinished
/// compaction and is deleted on open.
const COMPACTION_TEMP: &str = "compaction.tmp";

/// Where a record lies: the keydir's entry for a key.
#[derive(Debug, Clone, Copy)]
struct RecordPos {
    generation: u64,
    offset: u64,
    len: usize,
}

/// A durable key-value store: every change is appended to a log on disk before the call
/// returns; values are read back from the log; stale records are compacted away.
///
/// `LogStore` is a cheap handle (`Clone + Send + Sync`): clone it for each thread, and all the
/// clones share one store. Methods that change the store take `&mut self` so that one handle is
/// used by one thread at a time, like a connection; the store itself is safe to use from any
/// number of handles at once.
#[derive(Debug, Clone)]
pub struct LogStore {
    shared: Arc<Shared>,
}

/// The state every handle shares.
#[derive(Debug)]
struct Shared {
    /// The store's directory.
    dir: PathBuf,
    options: Options,
    /// Taken second (after `writer`, when both are needed).
    index: RwLock<Index>,
    /// Taken first.
    writer: Mutex<Writer>,
}

/// What readers need: where each key's value lies, and a handle on each file.
#[derive(Debug, Default)]
struct Index {
    /// For every live key, where its latest `Set` record lies.
    keydir: HashMap<String, RecordPos>,
    /// A read handle on every generation that holds live records. `Arc`, so that a reader can
    /// keep using a file that a compaction has just retired.
    files: BTreeMap<u64, Arc<File>>,
}

/// What only writers touch.
#[derive(Debug)]
struct Writer {
    /// The generation new records are appended to (the newest one).
    active: u64,
    /// The active generation, opened for appending. No buffer in front of it: each record goes to
    /// the operating system in one `write` before the call that made it returns.
    file: File,
    /// The active generation's length: where the next record will start.
    len: u64,
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
        let (index, writer) = recover(&dir)?;
        Ok(LogStore {
            shared: Arc::new(Shared {
                dir,
                options,
                index: RwLock::new(index),
                writer: Mutex::new(writer),
            }),
        })
    }

    /// Stores `value` under `key`.
    pub fn set(&mut self, key: String, value: String) -> Result<()> {
        let shared = &*self.shared;
        let mut writer = lock(&shared.writer);
        shared.compact_if_needed(&mut writer)?;
        let pos = shared.append(
            &mut writer,
            Record::Set {
                key: &key,
                value: &value,
            },
        )?;
        if let Some(old) = write(&shared.index).keydir.insert(key, pos) {
            writer.stale_bytes += old.len as u64;
        }
        Ok(())
    }

    /// Returns the value stored under `key`, read from the log, or `None`.
    ///
    /// Takes no lock while reading the disk, so readers never wait for one another.
    pub fn get(&self, key: &str) -> Result<Option<String>> {
        match self.shared.locate(key)? {
            Some((pos, file)) => self.shared.read_value(key, pos, &file).map(Some),
            None => Ok(None),
        }
    }

    /// Removes `key` and returns the value it had, or `None` if it had none.
    ///
    /// Removing a key that has no value changes nothing, so nothing is logged.
    pub fn remove(&mut self, key: &str) -> Result<Option<String>> {
        let shared = &*self.shared;
        // Held from the lookup to the keydir update: no other change can slip in between.
        let mut writer = lock(&shared.writer);
        let Some((old, file)) = shared.locate(key)? else {
            return Ok(None);
        };
        let value = shared.read_value(key, old, &file)?;
        shared.compact_if_needed(&mut writer)?;
        let marker = shared.append(&mut writer, Record::Remove { key })?;
        write(&shared.index).keydir.remove(key);
        // Both the old value and the marker itself are stale: after a compaction neither is
        // needed any more.
        writer.stale_bytes += (old.len + marker.len) as u64;
        Ok(Some(value))
    }

    /// Rewrites the live records into a new generation and deletes the older ones.
    ///
    /// Done automatically when the stale bytes pass [`Options::compaction_threshold`]; callable
    /// directly, for example before a backup. Writers wait while it runs; readers do not.
    pub fn compact(&mut self) -> Result<()> {
        let shared = &*self.shared;
        let mut writer = lock(&shared.writer);
        shared.compact(&mut writer)
    }
}

impl Shared {
    /// Finds where the value of `key` lies, and a handle on its file.
    fn locate(&self, key: &str) -> Result<Option<(RecordPos, Arc<File>)>> {
        let index = read(&self.index);
        let Some(&pos) = index.keydir.get(key) else {
            return Ok(None);
        };
        match index.files.get(&pos.generation) {
            Some(file) => Ok(Some((pos, Arc::clone(file)))),
            None => Err(self.corrupt(pos, "the index points into a file that is not open".into())),
        }
    }

    /// Compacts if the stale records have passed the threshold.
    ///
    /// Called *before* a write, so that a failed compaction fails the write cleanly, with
    /// nothing logged, instead of reporting an error for a write that did happen.
    fn compact_if_needed(&self, writer: &mut Writer) -> Result<()> {
        if writer.stale_bytes > self.options.compaction_threshold {
            self.compact(writer)
        } else {
            Ok(())
        }
    }

    /// Compacts; the caller holds the writer lock, so the keydir cannot change meanwhile.
    fn compact(&self, writer: &mut Writer) -> Result<()> {
        let generation = writer.active + 1;
        let (keydir, len) = self.write_compacted(&read(&self.index), generation)?;

        let path = log_path(&self.dir, generation);
        let file = open_for_append(&path)?;
        let reader = File::open(&path).map_err(KvError::io("open", &path))?;
        let retired = {
            let mut index = write(&self.index);
            index.keydir = keydir;
            std::mem::replace(
                &mut index.files,
                BTreeMap::from([(generation, Arc::new(reader))]),
            )
        };
        *writer = Writer {
            active: generation,
            file,
            len,
            stale_bytes: 0,
            // The compacted file was synced before it was renamed into place.
            unsynced_writes: 0,
        };

        // Oldest first: a crash half-way leaves a suffix of the history, which still replays
        // correctly because the new generation, replayed last, holds every live value. A reader
        // still holding one of these files keeps reading it: the data goes when the last handle
        // does.
        for old_generation in retired.into_keys() {
            let path = log_path(&self.dir, old_generation);
            fs::remove_file(&path).map_err(KvError::io("delete", &path))?;
        }
        fsutil::sync_dir(&self.dir).map_err(KvError::io("sync", &self.dir))
    }

    /// Copies every live record, byte for byte, into `generation`: written to a temporary file,
    /// synced, then renamed into place. Returns the keydir for the new file and its length.
    fn write_compacted(
        &self,
        index: &Index,
        generation: u64,
    ) -> Result<(HashMap<String, RecordPos>, u64)> {
        let temp = self.dir.join(COMPACTION_TEMP);
        let file = File::create(&temp).map_err(KvError::io("create", &temp))?;
        let mut out = BufWriter::new(file);
        let mut keydir = HashMap::with_capacity(index.keydir.len());
        let mut offset = 0;
        for (key, &pos) in &index.keydir {
            let file = index.files.get(&pos.generation).ok_or_else(|| {
                self.corrupt(pos, "the index points into a file that is not open".into())
            })?;
            // Checked before copying: a damaged record must fail the compaction, not be laundered
            // into a fresh file.
            let bytes = self.read_record(pos, file)?;
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
    fn append(&self, writer: &mut Writer, record: Record<'_>) -> Result<RecordPos> {
        let path = log_path(&self.dir, writer.active);
        let bytes = record::encode(record).map_err(|err| KvError::TooLarge {
            what: err.what,
            len: err.len,
        })?;
        if let Err(err) = writer.file.write_all(&bytes) {
            // Cut off whatever part of the record did reach the file, so that the next record
            // does not follow garbage. If even that fails, the next open drops it as a torn tail.
            let _ = writer.file.set_len(writer.len);
            return Err(KvError::io("append to", &path)(err));
        }
        let pos = RecordPos {
            generation: writer.active,
            offset: writer.len,
            len: bytes.len(),
        };
        writer.len += pos.len as u64;
        sync_as_configured(writer, self.options.sync).map_err(KvError::io("sync", &path))?;
        Ok(pos)
    }

    /// Reads the raw bytes of the record at `pos`.
    fn read_record(&self, pos: RecordPos, file: &File) -> Result<Vec<u8>> {
        let mut bytes = vec![0; pos.len];
        fsutil::read_exact_at(file, &mut bytes, pos.offset)
            .map_err(KvError::io("read", &log_path(&self.dir, pos.generation)))?;
        Ok(bytes)
    }

    /// Reads the value of `key` from the record at `pos`, checking its checksums and that it is
    /// the `Set` of that key: the disk may have changed since the store was opened.
    fn read_value(&self, key: &str, pos: RecordPos, file: &File) -> Result<String> {
        let bytes = self.read_record(pos, file)?;
        match record::decode(&bytes) {
            Ok(OwnedRecord::Set { key: found, value }) if found == key => Ok(value),
            Ok(_) => Err(self.corrupt(pos, format!("expected the value of {key:?}"))),
            Err(reason) => Err(self.corrupt(pos, reason)),
        }
    }

    /// The error for a damaged record at `pos`.
    fn corrupt(&self, pos: RecordPos, reason: String) -> KvError {
        KvError::Corrupt {
            path: log_path(&self.dir, pos.generation),
            offset: pos.offset,
            reason,
        }
    }
}

/// Forces the active generation to disk if the sync policy says it is time.
fn sync_as_configured(writer: &mut Writer, policy: SyncPolicy) -> io::Result<()> {
    writer.unsynced_writes += 1;
    let due = match policy {
        SyncPolicy::Always => true,
        SyncPolicy::EveryN(n) => writer.unsynced_writes >= n.get(),
        SyncPolicy::Never => false,
    };
    if due {
        // `sync_data` skips metadata such as the modification time; the file's length, which an
        // append changes, is still synced.
        writer.file.sync_data()?;
        writer.unsynced_writes = 0;
    }
    Ok(())
}

/// Rebuilds the index and the writer state by replaying every generation in `dir`, in order.
fn recover(dir: &Path) -> Result<(Index, Writer)> {
    let mut generations = list_generations(dir)?;
    if generations.is_empty() {
        generations.push(1);
    }
    let active = generations.last().copied().unwrap_or(1);
    let file = open_for_append(&log_path(dir, active))?;
    // The new file's name must survive a power cut too, not only its content.
    fsutil::sync_dir(dir).map_err(KvError::io("sync", dir))?;

    let mut index = Index::default();
    let mut writer = Writer {
        active,
        file,
        len: 0,
        stale_bytes: 0,
        unsynced_writes: 0,
    };
    for generation in generations {
        replay(dir, generation, &mut index, &mut writer)?;
    }
    Ok((index, writer))
}

/// Applies every record of `generation` to the index, in order.
fn replay(dir: &Path, generation: u64, index: &mut Index, writer: &mut Writer) -> Result<()> {
    let path = log_path(dir, generation);
    let file = File::open(&path).map_err(KvError::io("open", &path))?;
    let reader = file.try_clone().map_err(KvError::io("open", &path))?;
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
            Scanned::Record { record, len } => {
                let pos = RecordPos {
                    generation,
                    offset,
                    len,
                };
                writer.stale_bytes += apply(&mut index.keydir, record, pos);
            }
            Scanned::End => break,
            Scanned::Torn if generation == writer.active => {
                // Cut the incomplete record off, so that new records follow the last complete
                // one.
                writer
                    .file
                    .set_len(offset)
                    .and_then(|()| writer.file.sync_all())
                    .map_err(KvError::io("truncate", &path))?;
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
    index.files.insert(generation, Arc::new(reader));
    if generation == writer.active {
        writer.len = scanner.offset();
    }
    Ok(())
}

/// Applies one replayed record to the keydir; returns how many bytes it made stale.
fn apply(keydir: &mut HashMap<String, RecordPos>, record: OwnedRecord, pos: RecordPos) -> u64 {
    match record {
        OwnedRecord::Set { key, .. } => keydir.insert(key, pos).map_or(0, |old| old.len as u64),
        OwnedRecord::Remove { key } => {
            let old = keydir.remove(&key).map_or(0, |old| old.len as u64);
            old + pos.len as u64
        }
    }
}

/// Locks a mutex. A panic while the lock was held can only come from a bug, and every field is
/// updated by single assignments after the fallible work is done, so the data is consistent even
/// then: carry on rather than turn one panic into a panic in every thread.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes a read lock (see [`lock`] about poisoning).
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Takes a write lock (see [`lock`] about poisoning).
fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
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
