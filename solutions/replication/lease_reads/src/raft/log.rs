//! The durable part of a Raft node: term, vote, and the log, kept in memory and mirrored in
//! storage so that a restarted node finds exactly what it had promised.
//!
//! Storage layout: `raft/state` holds term and vote; `raft/log/<index>` holds one entry each,
//! and `raft/log/len` the number of entries. Writing entries one key each keeps an append O(1)
//! instead of rewriting the whole log.

use katas_sim::{Context, Node, Storage};
use serde::{Deserialize, Serialize};

const STATE_KEY: &str = "raft/state";
const LEN_KEY: &str = "raft/log/len";

fn entry_key(index: u64) -> String {
    format!("raft/log/{index}")
}

/// What an entry of the log asks the state machine to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Nothing: a new leader appends one to commit the entries of earlier terms.
    Noop,
    /// A client's proposed value.
    Propose(u64),
    /// A key-value operation, with the request id that makes retries idempotent.
    Kv {
        /// The client's number ([`katas_sim::ClientId`]).
        client: u32,
        /// The client's operation number ([`katas_sim::RequestId::seq`]).
        seq: u64,
        /// What to do.
        op: KvOp,
    },
}

/// A key-value operation of the replicated store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvOp {
    /// Read a key.
    Get(String),
    /// Set a key.
    Put(String, String),
    /// Append to a key's value.
    Append(String, String),
}

/// One entry of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The term of the leader that created it.
    pub term: u64,
    /// What to apply.
    pub command: Command,
}

/// Term and vote: what a node must never forget.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Vote {
    term: u64,
    voted_for: Option<u32>,
}

/// Term, vote and log, with every change written through to storage.
#[derive(Clone, Debug, Default)]
pub struct DurableState {
    vote: Vote,
    /// Entry `i` (1-based) is `entries[i - 1]`.
    entries: Vec<Entry>,
}

/// Decodes a JSON value this module wrote; `None` for anything else.
fn decode<T: for<'de> Deserialize<'de>>(storage: &Storage, key: &str) -> Option<T> {
    serde_json::from_slice(storage.get(key)?).ok()
}

/// Writes a value as JSON. Serialising these plain structs cannot fail, so an error would be a
/// bug in serde_json; the write is then skipped rather than crashing the node.
fn write<T: Serialize>(storage: &mut Storage, key: String, value: &T) {
    if let Ok(bytes) = serde_json::to_vec(value) {
        storage.put(key, bytes);
    }
}

impl DurableState {
    /// Reads back what a previous run of this node wrote (nothing, for a fresh node).
    pub fn load(storage: &Storage) -> Self {
        let vote = decode(storage, STATE_KEY).unwrap_or_default();
        let len: u64 = decode(storage, LEN_KEY).unwrap_or(0);
        // Entries up to `len` were all written before `len` was: the chain cannot have holes.
        let entries = (1..=len)
            .map_while(|i| decode(storage, &entry_key(i)))
            .collect();
        DurableState { vote, entries }
    }

    /// The current term.
    pub fn term(&self) -> u64 {
        self.vote.term
    }

    /// Whom this node voted for in the current term.
    pub fn voted_for(&self) -> Option<u32> {
        self.vote.voted_for
    }

    /// Moves to `term`, with the vote `voted_for`, durably.
    pub fn set_term<N: Node>(
        &mut self,
        ctx: &mut Context<'_, N>,
        term: u64,
        voted_for: Option<u32>,
    ) {
        self.vote = Vote { term, voted_for };
        write(ctx.storage(), STATE_KEY.to_string(), &self.vote);
    }

    /// The index of the last entry (0 if the log is empty).
    pub fn last_index(&self) -> u64 {
        self.entries.len() as u64
    }

    /// The term of the last entry (0 if the log is empty).
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// Entry `index` (1-based).
    pub fn entry(&self, index: u64) -> Option<&Entry> {
        let i = usize::try_from(index.checked_sub(1)?).ok()?;
        self.entries.get(i)
    }

    /// The term of entry `index`; 0 for index 0 (the empty prefix every log shares).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == 0 {
            Some(0)
        } else {
            self.entry(index).map(|e| e.term)
        }
    }

    /// Entries from `from` (1-based) on, at most `max` of them.
    pub fn entries_from(&self, from: u64, max: usize) -> Vec<Entry> {
        let start = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
        self.entries.iter().skip(start).take(max).cloned().collect()
    }

    /// Appends one entry durably; returns its index.
    pub fn append<N: Node>(&mut self, ctx: &mut Context<'_, N>, entry: Entry) -> u64 {
        self.entries.push(entry);
        let index = self.last_index();
        if let Some(entry) = self.entries.last() {
            write(ctx.storage(), entry_key(index), entry);
        }
        write(ctx.storage(), LEN_KEY.to_string(), &index);
        index
    }

    /// Drops every entry after `index`, durably.
    pub fn truncate<N: Node>(&mut self, ctx: &mut Context<'_, N>, index: u64) {
        let old = self.last_index();
        if index >= old {
            return;
        }
        self.entries
            .truncate(usize::try_from(index).unwrap_or(usize::MAX));
        write(ctx.storage(), LEN_KEY.to_string(), &index);
        for i in index + 1..=old {
            ctx.storage().remove(&entry_key(i));
        }
    }
}
