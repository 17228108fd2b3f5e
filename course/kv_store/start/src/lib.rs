//! A key-value store, grown one stage at a time.
//!
//! You start here with an in-memory store. Later stages parse commands, persist every write to a
//! log on disk, compact that log, survive crashes, share the store between threads and serve it
//! over the network. Each stage keeps what you built before, so the code you write now carries
//! over.
//!
//! Replace every `todo!()` below. The stage's brief says what each method must do, and the tests
//! in `tests/stages/` are the contract.

/// An in-memory key-value store: string keys, string values.
///
/// Decide what this struct has to hold so that `set`, `get` and `remove` can do their jobs, and add
/// that field here.
pub struct KvStore {}

impl KvStore {
    /// Creates an empty store.
    pub fn new() -> KvStore {
        todo!("create an empty store")
    }

    /// Stores `value` under `key`, replacing any value the key had before.
    ///
    /// The store takes ownership of both strings.
    pub fn set(&mut self, key: String, value: String) {
        todo!("store {value:?} under {key:?}")
    }

    /// Returns a copy of the value stored under `key`, or `None` if the key has no value.
    pub fn get(&self, key: &str) -> Option<String> {
        todo!("look up {key:?}")
    }

    /// Removes `key` and returns the value it had, or `None` if it had none.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        todo!("remove {key:?}")
    }
}

impl Default for KvStore {
    /// The same as [`KvStore::new`]: an empty store.
    fn default() -> KvStore {
        KvStore::new()
    }
}
