//! One interface for every storage engine, and choosing an engine at run time.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::command::{Command, Reply};
use crate::error::{KvError, Result};
use crate::log::LogStore;
use crate::store::KvStore;

/// What every storage engine offers: string keys, string values, and operations that may fail.
///
/// The trait is dyn-compatible (no generic methods, no `Self` by value), so engines can be used
/// both through generics (`E: KvsEngine`, one compiled copy per engine, calls inlined) and
/// through `Box<dyn KvsEngine>` (one compiled copy, the engine chosen at run time).
pub trait KvsEngine {
    /// Stores `value` under `key`, replacing any value the key had before.
    fn set(&mut self, key: String, value: String) -> Result<()>;

    /// Returns the value stored under `key`, or `None`.
    fn get(&self, key: &str) -> Result<Option<String>>;

    /// Removes `key` and returns the value it had, or `None` if it had none.
    fn remove(&mut self, key: &str) -> Result<Option<String>>;

    /// Executes one command, replying as Redis does.
    ///
    /// Provided once for every engine: it only needs the three methods above.
    fn execute(&mut self, command: Command) -> Result<Reply> {
        Ok(match command {
            Command::Set { key, value } => {
                self.set(key, value)?;
                Reply::Ok
            }
            Command::Get { key } => self.get(&key)?.map_or(Reply::Nil, Reply::Value),
            Command::Del { key } => Reply::Deleted(u64::from(self.remove(&key)?.is_some())),
        })
    }
}

/// The in-memory store cannot fail; as an engine it always answers `Ok`.
impl KvsEngine for KvStore {
    fn set(&mut self, key: String, value: String) -> Result<()> {
        KvStore::set(self, key, value);
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(KvStore::get(self, key))
    }

    fn remove(&mut self, key: &str) -> Result<Option<String>> {
        Ok(KvStore::remove(self, key))
    }
}

/// A boxed engine is an engine: code generic over `E: KvsEngine` also accepts a
/// `Box<dyn KvsEngine>` chosen at run time.
impl<E: KvsEngine + ?Sized> KvsEngine for Box<E> {
    fn set(&mut self, key: String, value: String) -> Result<()> {
        (**self).set(key, value)
    }

    fn get(&self, key: &str) -> Result<Option<String>> {
        (**self).get(key)
    }

    fn remove(&mut self, key: &str) -> Result<Option<String>> {
        (**self).remove(key)
    }

    fn execute(&mut self, command: Command) -> Result<Reply> {
        // Forward this one too, so an engine that overrides `execute` keeps its version.
        (**self).execute(command)
    }
}

/// The engines [`open_engine`] can open, named as in configuration files and command lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// [`KvStore`]: fast, and forgets everything when dropped.
    Memory,
    /// [`LogStore`]: every change is logged in the directory and survives a reopen.
    Log,
}

impl EngineKind {
    /// Every engine, in the order they are listed in messages.
    pub const ALL: [EngineKind; 2] = [EngineKind::Memory, EngineKind::Log];

    /// The engine's name: what [`FromStr`] accepts and [`Display`](fmt::Display) writes.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Memory => "memory",
            EngineKind::Log => "log",
        }
    }
}

impl FromStr for EngineKind {
    type Err = KvError;

    fn from_str(name: &str) -> Result<EngineKind> {
        EngineKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| KvError::UnknownEngine(name.to_owned()))
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Opens an engine of the given kind, chosen at run time.
///
/// The log engine keeps its files in `dir`; the memory engine does not touch the disk at all.
pub fn open_engine(kind: EngineKind, dir: impl AsRef<Path>) -> Result<Box<dyn KvsEngine>> {
    Ok(match kind {
        EngineKind::Memory => Box::new(KvStore::new()),
        EngineKind::Log => Box::new(LogStore::open(dir)?),
    })
}
