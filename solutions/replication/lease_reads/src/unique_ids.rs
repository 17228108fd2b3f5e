//! Stage 1: answer requests, and hand out ids that are unique across the whole cluster without
//! asking anyone.
//!
//! The id space is split between the nodes by arithmetic: node `i` of `n` only ever gives out
//! ids `seq * n + i`, so two nodes can never collide, whatever the network does. Within a node,
//! `seq` only grows, including across crashes: the node durably *reserves* a block of sequence
//! numbers before using them, and a restarted node resumes after the last reserved block. That
//! costs one storage write per block instead of one per id; a crash wastes at most one block of
//! ids, which is fine, since ids need to be unique, not dense.

use katas_sim::{Context, Node, NodeId, RequestId, Storage};

/// What a client can ask a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdRequest {
    /// Answer with this text.
    Echo(String),
    /// Answer with an id no node has ever given out, nor ever will.
    Generate,
}

/// What a node answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdResponse {
    /// The text of an `Echo` request.
    Echo(String),
    /// A fresh id, for a `Generate` request.
    Id(u64),
}

/// How many sequence numbers one durable write reserves.
const BLOCK: u64 = 1_000;

/// The storage key of the end of the last reserved block.
const RESERVED_KEY: &str = "ids/reserved";

/// A node that echoes and generates unique ids.
#[derive(Debug)]
pub struct IdNode {
    /// This node's slot in the id space: its index among the nodes.
    slot: u64,
    /// How many slots there are: the cluster's size.
    stride: u64,
    /// The next sequence number to use.
    next_seq: u64,
    /// Sequence numbers below this are durably reserved for this node.
    reserved: u64,
}

impl IdNode {
    /// Hands out the next id, reserving a new block first if the current one is used up.
    fn next_id(&mut self, storage: &mut Storage) -> u64 {
        if self.next_seq == self.reserved {
            // Persist the reservation *before* using any number from it: after a crash the node
            // resumes at `reserved`, above every number it could have given out.
            self.reserved += BLOCK;
            storage.put_u64(RESERVED_KEY, self.reserved);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        // `seq` grows by one per id: the 2^64 / n ids it would take to overflow are out of reach.
        seq * self.stride + self.slot
    }
}

impl Node for IdNode {
    /// Nodes need not talk to each other: the id space is split by arithmetic.
    type Msg = ();
    type Request = IdRequest;
    type Response = IdResponse;
    type Timer = ();

    fn init(ctx: &mut Context<'_, Self>) -> Self {
        let reserved = ctx.storage().get_u64(RESERVED_KEY).unwrap_or(0);
        IdNode {
            slot: u64::from(ctx.me().0),
            stride: ctx.cluster_size() as u64,
            // Numbers of a block reserved before a crash may have been given out: skip them all.
            next_seq: reserved,
            reserved,
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, req: IdRequest) {
        let response = match req {
            IdRequest::Echo(text) => IdResponse::Echo(text),
            IdRequest::Generate => IdResponse::Id(self.next_id(ctx.storage())),
        };
        ctx.reply(id, response);
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}
}
