//! What a learner implements: a node as a message handler, and the context it acts through.

use std::collections::BTreeMap;
use std::fmt;

use crate::rng::Rng;

/// Logical time, in ticks. Nothing in the simulator reads a wall clock.
pub type Tick = u64;

/// The name of a node of the cluster: `n0`, `n1`, ... Nodes are numbered from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The node's number, usable as an index (`n3` is 3).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// The name of a client: `c0`, `c1`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u32);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

/// Names one client operation: the client and its operation number (`c2#5`).
///
/// A client that retries an operation sends the *same* `RequestId` again, to the same or another
/// node: that is what lets a server recognise a retry and apply the operation only once. Each
/// client numbers its operations 1, 2, 3, ... and issues them one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId {
    /// Who sent the request.
    pub client: ClientId,
    /// The client's operation number, counting from 1; a later operation has a larger number.
    pub seq: u64,
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.client, self.seq)
    }
}

/// Names a timer a node has set, so that it can cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub u64);

/// A node of the simulated cluster, written as a state machine that reacts to events.
///
/// The simulator calls one handler at a time, each with a [`Context`] through which the node
/// sends messages, replies to clients, sets timers and writes to its durable [`Storage`]. A
/// handler runs atomically at one instant of logical time; what it sends leaves when it returns.
///
/// When a node crashes, the value of this type is dropped: everything in memory is lost, pending
/// timers never fire. Only [`Storage`] survives. On restart the simulator calls
/// [`Node::init`] again, with the same storage.
///
/// ```
/// use katas_sim::{Context, Node, NodeId, RequestId};
///
/// /// Replies to every request with the number of requests this node has seen since it started.
/// struct Counter { seen: u64 }
///
/// impl Node for Counter {
///     type Msg = ();
///     type Request = ();
///     type Response = u64;
///     type Timer = ();
///
///     fn init(_ctx: &mut Context<'_, Self>) -> Self {
///         Counter { seen: 0 }
///     }
///     fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, _req: ()) {
///         self.seen += 1;
///         ctx.reply(id, self.seen);
///     }
///     fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}
/// }
/// ```
pub trait Node: Sized + 'static {
    /// The messages nodes send each other.
    type Msg: Clone + fmt::Debug + 'static;
    /// What clients ask.
    type Request: Clone + fmt::Debug + 'static;
    /// What nodes answer clients.
    type Response: Clone + fmt::Debug + 'static;
    /// What a timer carries back to the node when it fires.
    type Timer: Clone + fmt::Debug + 'static;

    /// Builds the node: at the start of the run, and again on every restart after a crash (then
    /// `ctx.storage()` holds what the previous incarnation wrote).
    fn init(ctx: &mut Context<'_, Self>) -> Self;

    /// A client request arrived. Answer it with [`Context::reply`], now or later, from this node
    /// or from another one, or not at all (the client then times out).
    fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, req: Self::Request);

    /// A message from another node arrived.
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg);

    /// A timer set with [`Context::set_timer`] fired. Ignores timers unless overridden.
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Self::Timer) {
        let _ = (ctx, timer);
    }
}

/// A node's durable storage: a map from string keys to bytes that survives crashes.
///
/// A `put` is durable as soon as it returns (as if every write were followed by `fsync`), and the
/// simulator counts writes so a stage can show what durability costs. Store structured data by
/// encoding it, e.g. with `serde_json::to_vec`, or `u64::to_le_bytes` for a number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Storage {
    data: BTreeMap<String, Vec<u8>>,
    writes: u64,
}

impl Storage {
    /// The bytes stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.data.get(key).map(Vec::as_slice)
    }

    /// Durably stores `value` under `key`, replacing what was there.
    pub fn put(&mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) {
        self.writes += 1;
        self.data.insert(key.into(), value.into());
    }

    /// Durably removes `key`; returns what was stored under it.
    pub fn remove(&mut self, key: &str) -> Option<Vec<u8>> {
        self.writes += 1;
        self.data.remove(key)
    }

    /// The stored keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.data.keys().map(String::as_str)
    }

    /// Reads a `u64` stored with [`Storage::put_u64`].
    pub fn get_u64(&self, key: &str) -> Option<u64> {
        let bytes: [u8; 8] = self.get(key)?.try_into().ok()?;
        Some(u64::from_le_bytes(bytes))
    }

    /// Durably stores a `u64` (little-endian).
    pub fn put_u64(&mut self, key: impl Into<String>, value: u64) {
        self.put(key, value.to_le_bytes());
    }

    /// How many writes (puts and removes) this storage has seen since the run started.
    pub fn writes(&self) -> u64 {
        self.writes
    }
}

/// Something a handler asked for; the simulator carries it out when the handler returns.
pub(crate) enum Effect<N: Node> {
    Send(NodeId, N::Msg),
    Reply(RequestId, N::Response),
    SetTimer(TimerId, Tick, N::Timer),
    CancelTimer(TimerId),
    Note(String),
}

/// What a handler can see and do: who it is, the time on its own clock, sending, replying,
/// timers, its seeded random numbers and its durable storage.
pub struct Context<'a, N: Node> {
    pub(crate) me: NodeId,
    pub(crate) nodes: &'a [NodeId],
    pub(crate) now: Tick,
    pub(crate) rng: &'a mut Rng,
    pub(crate) storage: &'a mut Storage,
    pub(crate) next_timer: &'a mut u64,
    pub(crate) effects: Vec<Effect<N>>,
}

impl<N: Node> Context<'_, N> {
    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Every node of the cluster, this one included, in order.
    pub fn nodes(&self) -> &[NodeId] {
        self.nodes
    }

    /// Every node but this one, in order.
    pub fn peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        let me = self.me;
        self.nodes.iter().copied().filter(move |&n| n != me)
    }

    /// How many nodes are in the cluster.
    pub fn cluster_size(&self) -> usize {
        self.nodes.len()
    }

    /// The time on this node's own clock, in ticks. Without clock drift it is the simulation's
    /// time; with drift each node's clock runs a little fast or slow and starts at its own offset,
    /// so never compare two nodes' readings.
    pub fn now(&self) -> Tick {
        self.now
    }

    /// Sends `msg` to node `to`. It may be delayed, reordered, duplicated or lost on the way,
    /// depending on the network; sending to yourself goes through the network too.
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.effects.push(Effect::Send(to, msg));
    }

    /// Sends `msg` to every other node.
    pub fn broadcast(&mut self, msg: N::Msg) {
        let peers: Vec<NodeId> = self.peers().collect();
        for peer in peers {
            self.send(peer, msg.clone());
        }
    }

    /// Answers the client request `id`. Any node may answer any request; the client takes the
    /// first answer and ignores the rest.
    pub fn reply(&mut self, id: RequestId, resp: N::Response) {
        self.effects.push(Effect::Reply(id, resp));
    }

    /// Calls [`Node::on_timer`] with `timer` after `after` ticks of this node's clock (at least 1).
    /// Timers die with the node: after a crash none of them fires.
    pub fn set_timer(&mut self, after: Tick, timer: N::Timer) -> TimerId {
        *self.next_timer += 1;
        let id = TimerId(*self.next_timer);
        self.effects.push(Effect::SetTimer(id, after.max(1), timer));
        id
    }

    /// Cancels a timer; cancelling one that already fired does nothing.
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.effects.push(Effect::CancelTimer(id));
    }

    /// This node's seeded random numbers (e.g. for election timeouts). Never use another source
    /// of randomness: the run would no longer replay from its seed.
    pub fn rng(&mut self) -> &mut Rng {
        self.rng
    }

    /// This node's durable storage: the only state that survives a crash.
    pub fn storage(&mut self) -> &mut Storage {
        self.storage
    }

    /// Writes a note into the run's timeline, in this node's column (e.g. "leader of term 3").
    /// Notes cost nothing when a run passes and make a failing run much easier to read.
    pub fn note(&mut self, text: impl Into<String>) {
        self.effects.push(Effect::Note(text.into()));
    }
}
