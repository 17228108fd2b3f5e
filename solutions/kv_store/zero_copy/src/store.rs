//! The in-memory store and the execution of commands against it.

use std::collections::HashMap;

use crate::command::{Command, CommandError, Reply};

/// An in-memory key-value store: string keys, string values.
///
/// Nothing survives the process: this is the in-memory baseline the later, durable stages are
/// measured against.
#[derive(Debug, Default)]
pub struct KvStore {
    /// Every live key and its current value. A `HashMap` gives O(1) average lookups; we never
    /// need the keys in order, so a `BTreeMap` would only cost more.
    map: HashMap<String, String>,
}

impl KvStore {
    /// Creates an empty store.
    pub fn new() -> KvStore {
        KvStore::default()
    }

    /// Stores `value` under `key`, replacing any value the key had before.
    ///
    /// Both strings are moved into the store: the caller decides whether to clone, and a caller
    /// that no longer needs them pays no copy.
    pub fn set(&mut self, key: String, value: String) {
        self.map.insert(key, value);
    }

    /// Returns a copy of the value stored under `key`, or `None` if the key has no value.
    ///
    /// Returning an owned `String` (rather than `&str`) means the caller's value does not borrow
    /// the store, so the store can be changed while the caller still holds it.
    pub fn get(&self, key: &str) -> Option<String> {
        self.map.get(key).cloned()
    }

    /// Removes `key` and returns the value it had, or `None` if it had none.
    ///
    /// The value is moved out of the map, not copied.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.map.remove(key)
    }

    /// Executes one command and returns its reply.
    ///
    /// Executing cannot fail: every well-formed command has a meaning for any store state. All
    /// the ways a request can be wrong were caught when the line was parsed.
    pub fn execute(&mut self, command: Command) -> Reply {
        match command {
            Command::Set { key, value } => {
                self.set(key, value);
                Reply::Ok
            }
            Command::Get { key } => self.get(&key).map_or(Reply::Nil, Reply::Value),
            Command::Del { key } => Reply::Deleted(u64::from(self.remove(&key).is_some())),
        }
    }

    /// Parses `line` as a command and executes it.
    ///
    /// A line that does not parse leaves the store untouched and returns the parse error.
    pub fn execute_line(&mut self, line: &str) -> Result<Reply, CommandError> {
        let command = line.parse()?;
        Ok(self.execute(command))
    }
}
