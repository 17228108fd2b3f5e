//! The key-value state machine the log drives, with exactly-once semantics for retried requests.
//!
//! Every node applies the same committed entries in the same order, so every node computes the
//! same data *and the same session table*: the last operation number applied for each client,
//! with its result. A retry of an operation that already took effect (its first attempt was
//! committed, but the answer was lost, or the leader changed) finds itself in the table and gets
//! the recorded result instead of being applied again. Because the table is part of the
//! replicated state, it survives leader changes and crashes like the data does.

use std::collections::BTreeMap;

use super::log::KvOp;

/// The result of one key-value operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvResult {
    /// What a `Get` read.
    Value(Option<String>),
    /// A `Put` or `Append` took effect.
    Done,
}

/// Data plus sessions.
#[derive(Clone, Debug, Default)]
pub struct KvStateMachine {
    data: BTreeMap<String, String>,
    /// Per client: its last applied operation number and that operation's result.
    sessions: BTreeMap<u32, (u64, KvResult)>,
}

impl KvStateMachine {
    /// Applies operation `seq` of `client`, once. Returns its result, or `None` for a stale
    /// retry of an operation older than the client's last one (the client has moved on and no
    /// one is waiting for the answer).
    pub fn apply(&mut self, client: u32, seq: u64, op: &KvOp) -> Option<KvResult> {
        if let Some((last, result)) = self.sessions.get(&client) {
            if seq == *last {
                return Some(result.clone());
            }
            if seq < *last {
                return None;
            }
        }
        let result = match op {
            KvOp::Get(key) => KvResult::Value(self.data.get(key).cloned()),
            KvOp::Put(key, value) => {
                self.data.insert(key.clone(), value.clone());
                KvResult::Done
            }
            KvOp::Append(key, value) => {
                self.data.entry(key.clone()).or_default().push_str(value);
                KvResult::Done
            }
        };
        self.sessions.insert(client, (seq, result.clone()));
        Some(result)
    }

    /// The current value of `key`.
    pub fn read(&self, key: &str) -> Option<String> {
        self.data.get(key).cloned()
    }

    /// The recorded result of operation `seq` of `client`, if it is the client's last applied.
    pub fn cached(&self, client: u32, seq: u64) -> Option<&KvResult> {
        match self.sessions.get(&client) {
            Some((last, result)) if *last == seq => Some(result),
            _ => None,
        }
    }
}
