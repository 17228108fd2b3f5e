//! Stage 3: counters that converge whatever the delivery order: state-based CRDTs.
//!
//! A grow-only counter keeps one count per node; a node only ever increments its own entry, and
//! merging two counters takes the larger count of each entry. That merge is commutative,
//! associative and idempotent, so replicas that exchange states in any order, any number of
//! times, end equal. A positive-negative counter is two grow-only counters, one for additions and
//! one for subtractions, because a single entry that could go down would make "the larger count"
//! mean "the older state" and lose the decrement.

use std::collections::BTreeMap;

use katas_sim::{Context, Node, NodeId, RequestId, Tick};
use serde::{Deserialize, Serialize};

/// A state-based CRDT: a value that replicas merge to converge.
///
/// `merge` must be commutative (`a ⊔ b = b ⊔ a`), associative (`(a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)`)
/// and idempotent (`a ⊔ a = a`): then the order and number of merges do not matter.
pub trait Crdt {
    /// Folds `other` into `self`: afterwards `self` reflects every update either had seen.
    fn merge(&mut self, other: &Self);
}

/// A grow-only counter: one non-decreasing count per node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GCounter {
    /// Each node's total increments, keyed by node number.
    counts: BTreeMap<u32, u64>,
}

impl GCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `by` to `node`'s entry. Only `node` itself should do this, for its own entry.
    pub fn increment(&mut self, node: NodeId, by: u64) {
        let count = self.counts.entry(node.0).or_insert(0);
        *count = count.saturating_add(by);
    }

    /// The counter's value: the sum of every node's count.
    pub fn value(&self) -> u64 {
        self.counts
            .values()
            .fold(0u64, |sum, c| sum.saturating_add(*c))
    }
}

impl Crdt for GCounter {
    fn merge(&mut self, other: &Self) {
        for (&node, &count) in &other.counts {
            let mine = self.counts.entry(node).or_insert(0);
            *mine = (*mine).max(count);
        }
    }
}

/// A counter that can go up and down: increments and decrements kept as two grow-only counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PnCounter {
    /// The sum of positive deltas, per node.
    up: GCounter,
    /// The sum of the magnitudes of negative deltas, per node.
    down: GCounter,
}

impl PnCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `delta` (negative to subtract) on behalf of `node`.
    pub fn add(&mut self, node: NodeId, delta: i64) {
        if delta >= 0 {
            self.up.increment(node, delta.unsigned_abs());
        } else {
            self.down.increment(node, delta.unsigned_abs());
        }
    }

    /// The counter's value: increments minus decrements.
    pub fn value(&self) -> i64 {
        let up = i128::from(self.up.value());
        let down = i128::from(self.down.value());
        // Clamped rather than wrapped: a counter beyond ±2^63 is out of this stage's scope.
        i64::try_from(up - down).unwrap_or(if up > down { i64::MAX } else { i64::MIN })
    }
}

impl Crdt for PnCounter {
    fn merge(&mut self, other: &Self) {
        self.up.merge(&other.up);
        self.down.merge(&other.down);
    }
}

/// What a client can ask a counter node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CounterRequest {
    /// Add this (possibly negative) amount to the counter.
    Add(i64),
    /// What is the counter's value, as far as this node knows?
    Read,
}

/// What a counter node answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CounterResponse {
    /// The addition is durable here and will reach every node.
    AddOk,
    /// The counter's value as this node knows it.
    Value(i64),
}

/// The counter nodes gossip: their whole state, which the receiver merges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterState(pub PnCounter);

/// Time to gossip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipTick;

/// Ticks between two gossip rounds.
const GOSSIP_EVERY: Tick = 25;

/// The storage key of the node's counter state.
const STATE_KEY: &str = "counter";

/// A node holding a replica of one PN-counter.
#[derive(Debug)]
pub struct CounterNode {
    counter: PnCounter,
}

impl CounterNode {
    /// Writes the counter to storage, so that this node's own entries survive a crash. A node
    /// that lost its own entry would restart from a lower count than its peers hold, and the
    /// `max` of every later merge would silently swallow its next additions.
    fn persist(&self, ctx: &mut Context<'_, Self>) {
        // Serialising a map of integers cannot fail; if it ever did, the state stays in memory
        // and the next successful write covers it.
        if let Ok(bytes) = serde_json::to_vec(&self.counter) {
            ctx.storage().put(STATE_KEY, bytes);
        }
    }
}

impl Node for CounterNode {
    type Msg = CounterState;
    type Request = CounterRequest;
    type Response = CounterResponse;
    type Timer = GossipTick;

    fn init(ctx: &mut Context<'_, Self>) -> Self {
        let counter = ctx
            .storage()
            .get(STATE_KEY)
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .unwrap_or_default();
        ctx.set_timer(GOSSIP_EVERY, GossipTick);
        CounterNode { counter }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, req: CounterRequest) {
        match req {
            CounterRequest::Add(delta) => {
                self.counter.add(ctx.me(), delta);
                self.persist(ctx);
                ctx.reply(id, CounterResponse::AddOk);
            }
            CounterRequest::Read => ctx.reply(id, CounterResponse::Value(self.counter.value())),
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, msg: CounterState) {
        let before = self.counter.clone();
        self.counter.merge(&msg.0);
        if self.counter != before {
            self.persist(ctx);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: GossipTick) {
        // Full state to every peer: lost or duplicated gossip needs no acknowledgement, since
        // the next round carries everything again and merging twice changes nothing.
        ctx.broadcast(CounterState(self.counter.clone()));
        ctx.set_timer(GOSSIP_EVERY, GossipTick);
    }
}
