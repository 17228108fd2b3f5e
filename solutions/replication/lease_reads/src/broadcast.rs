//! Stage 2: every node eventually learns every value, despite loss, partitions and crashes.
//!
//! The node that receives a value from a client is responsible for delivering it to every peer.
//! It keeps, per peer, the values that peer has not acknowledged yet, and on every gossip tick
//! sends each peer one batch of them; the peer stores the batch durably, then acknowledges it.
//! Batching makes the message count depend on time rather than load (at most two messages per
//! peer per tick), retrying until acknowledged survives any loss, and a restarted node simply
//! offers everything it knows again, since it cannot know what its peers acknowledged.

use std::collections::{BTreeMap, BTreeSet};

use katas_sim::{Context, Node, NodeId, RequestId, Storage, Tick};

/// What a client can ask a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BroadcastRequest {
    /// Make this value known to every node.
    Broadcast(u64),
    /// Which values does this node know?
    Read,
}

/// What a node answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BroadcastResponse {
    /// The value is stored here and will reach every node.
    BroadcastOk,
    /// Every value this node knows, in ascending order, each once.
    ReadOk(Vec<u64>),
}

/// What nodes tell each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GossipMsg {
    /// Values the sender wants the receiver to have.
    Values(Vec<u64>),
    /// The receiver of `Values` stored these.
    Ack(Vec<u64>),
}

/// The only timer: time to send the pending batches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipTick;

/// Ticks between two gossip rounds: the latency of a value is about one round plus one delay.
const GOSSIP_EVERY: Tick = 20;

/// The storage key prefix under which each known value is kept.
const VALUE_PREFIX: &str = "value/";

/// A node of the broadcast cluster.
#[derive(Debug)]
pub struct BroadcastNode {
    /// Every value this node knows (also in storage).
    values: BTreeSet<u64>,
    /// Per peer, the values this node must still deliver to it.
    pending: BTreeMap<NodeId, BTreeSet<u64>>,
}

impl BroadcastNode {
    /// Durably records a value; returns false if it was already known.
    fn store(&mut self, storage: &mut Storage, value: u64) -> bool {
        if !self.values.insert(value) {
            return false;
        }
        storage.put(format!("{VALUE_PREFIX}{value}"), Vec::new());
        true
    }

    /// Reads back every value a previous run of this node stored.
    fn load(storage: &Storage) -> BTreeSet<u64> {
        storage
            .keys()
            .filter_map(|key| key.strip_prefix(VALUE_PREFIX)?.parse().ok())
            .collect()
    }

    /// Sends each peer the values it has not acknowledged yet.
    fn gossip(&self, ctx: &mut Context<'_, Self>) {
        for (&peer, values) in &self.pending {
            if !values.is_empty() {
                ctx.send(peer, GossipMsg::Values(values.iter().copied().collect()));
            }
        }
    }
}

impl Node for BroadcastNode {
    type Msg = GossipMsg;
    type Request = BroadcastRequest;
    type Response = BroadcastResponse;
    type Timer = GossipTick;

    fn init(ctx: &mut Context<'_, Self>) -> Self {
        let values = Self::load(ctx.storage());
        // After a restart we cannot know what the peers acknowledged: offer them everything.
        let pending = ctx.peers().map(|peer| (peer, values.clone())).collect();
        ctx.set_timer(GOSSIP_EVERY, GossipTick);
        BroadcastNode { values, pending }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, req: BroadcastRequest) {
        match req {
            BroadcastRequest::Broadcast(value) => {
                // Stored durably before the acknowledgement: an acknowledged value survives a
                // crash of this node, and the restarted node will deliver it.
                if self.store(ctx.storage(), value) {
                    for pending in self.pending.values_mut() {
                        pending.insert(value);
                    }
                }
                ctx.reply(id, BroadcastResponse::BroadcastOk);
            }
            BroadcastRequest::Read => {
                let values = self.values.iter().copied().collect();
                ctx.reply(id, BroadcastResponse::ReadOk(values));
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: GossipMsg) {
        match msg {
            GossipMsg::Values(values) => {
                for &value in &values {
                    self.store(ctx.storage(), value);
                }
                // Acknowledge only what is stored; duplicates are acknowledged again, since the
                // first acknowledgement may have been lost.
                ctx.send(from, GossipMsg::Ack(values));
            }
            GossipMsg::Ack(values) => {
                if let Some(pending) = self.pending.get_mut(&from) {
                    for value in values {
                        pending.remove(&value);
                    }
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: GossipTick) {
        self.gossip(ctx);
        ctx.set_timer(GOSSIP_EVERY, GossipTick);
    }
}
