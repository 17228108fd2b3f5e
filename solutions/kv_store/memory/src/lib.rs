//! A key-value store, grown one stage at a time.
//!
//! This stage: an in-memory store. A [`KvStore`] owns its keys and values in a [`HashMap`]; callers
//! hand strings in by value and get copies back, so no borrow of the store outlives a call.

use std::collections::HashMap;

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
}
