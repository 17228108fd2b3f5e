//! Clients: who sends which requests to which node, when to give up, when to retry.

use crate::node::{ClientId, Node, NodeId, Tick};
use crate::rng::Rng;

/// Which node a client sends a new operation to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A node chosen at random (the default).
    Random,
    /// Each client goes through the nodes in turn.
    RoundRobin,
    /// Always this node.
    Node(NodeId),
}

/// What a client does with a response: accept it, or try the operation again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The operation is complete with this response.
    Done,
    /// The response says "not here" (e.g. "I am not the leader"): send the same request again, to
    /// the next node. An operation only ends with such a response when it runs out of attempts,
    /// and is then recorded as [`crate::Outcome::Rejected`]: it must not have taken effect.
    Retry,
    /// Like [`Verdict::Retry`], to this node (e.g. the leader the response names).
    RetryAt(NodeId),
}

/// What the request generator knows when a client is about to start an operation.
pub struct OpCtx<'a> {
    /// The client starting the operation.
    pub client: ClientId,
    /// The operation's number for this client (its [`crate::RequestId::seq`]).
    pub seq: u64,
    /// How many operations this workload started before this one, over all its clients.
    pub count: u64,
    /// The simulation's time.
    pub now: Tick,
    /// The client's seeded random numbers.
    pub rng: &'a mut Rng,
}

type Generate<N> = Box<dyn FnMut(&mut OpCtx<'_>) -> Option<<N as Node>::Request>>;
type Judge<N> = Box<dyn Fn(&<N as Node>::Response) -> Verdict>;

/// A group of clients that issue operations one at a time each, as the generator dictates.
///
/// ```
/// # use katas_sim::{Context, Node, NodeId, RequestId};
/// # struct Echo;
/// # impl Node for Echo {
/// #     type Msg = (); type Request = u64; type Response = u64; type Timer = ();
/// #     fn init(_: &mut Context<'_, Self>) -> Self { Echo }
/// #     fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, r: u64) { ctx.reply(id, r) }
/// #     fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}
/// # }
/// use katas_sim::Workload;
/// // 3 clients, 10 operations in all, each waiting at most 50 ticks for its answer.
/// let clients = Workload::<Echo>::new(3, |op| (op.count < 10).then_some(op.count)).timeout(50);
/// ```
pub struct Workload<N: Node> {
    pub(crate) clients: usize,
    pub(crate) timeout: Tick,
    pub(crate) attempts: u32,
    pub(crate) retry_on_timeout: bool,
    pub(crate) retry_same_node: bool,
    pub(crate) backoff: Tick,
    pub(crate) think: (Tick, Tick),
    pub(crate) start: Tick,
    pub(crate) stop: Option<Tick>,
    pub(crate) target: Target,
    pub(crate) generate: Generate<N>,
    pub(crate) verdict: Judge<N>,
}

impl<N: Node> Workload<N> {
    /// `clients` clients; each asks `generate` for its next request and stops when it returns
    /// `None`. Defaults: random target node, 100-tick timeout, one attempt per operation (a
    /// timeout makes the operation indefinite), 0 to 20 ticks between operations.
    pub fn new(
        clients: usize,
        generate: impl FnMut(&mut OpCtx<'_>) -> Option<N::Request> + 'static,
    ) -> Self {
        Workload {
            clients,
            timeout: 100,
            attempts: 1,
            retry_on_timeout: false,
            retry_same_node: false,
            backoff: 5,
            think: (0, 20),
            start: 0,
            stop: None,
            target: Target::Random,
            generate: Box::new(generate),
            verdict: Box::new(|_| Verdict::Done),
        }
    }

    /// How long a client waits for an answer to one attempt.
    pub fn timeout(self, ticks: Tick) -> Self {
        Workload {
            timeout: ticks.max(1),
            ..self
        }
    }

    /// At most `n` attempts per operation (the first one included).
    pub fn attempts(self, n: u32) -> Self {
        Workload {
            attempts: n.max(1),
            ..self
        }
    }

    /// After a timeout, send the same request (same [`crate::RequestId`]) to the next node, while
    /// attempts remain. Without this, a timeout ends the operation as indefinite.
    pub fn retry_on_timeout(self) -> Self {
        Workload {
            retry_on_timeout: true,
            ..self
        }
    }

    /// After a timeout, retry at the same node rather than the next one (a client that trusts
    /// its leader to be merely slow). Implies [`Workload::retry_on_timeout`].
    pub fn retry_at_same_node(self) -> Self {
        Workload {
            retry_on_timeout: true,
            retry_same_node: true,
            ..self
        }
    }

    /// Decides, for each response, whether the operation is done or must be retried.
    pub fn retry_if(self, verdict: impl Fn(&N::Response) -> Verdict + 'static) -> Self {
        Workload {
            verdict: Box::new(verdict),
            ..self
        }
    }

    /// How long a client waits before a retry.
    pub fn backoff(self, ticks: Tick) -> Self {
        Workload {
            backoff: ticks,
            ..self
        }
    }

    /// How long a client waits between two operations, drawn from `min..=max`.
    pub fn think(self, min: Tick, max: Tick) -> Self {
        Workload {
            think: (min, max.max(min)),
            ..self
        }
    }

    /// Clients start at `tick`.
    pub fn starting_at(self, tick: Tick) -> Self {
        Workload {
            start: tick,
            ..self
        }
    }

    /// Clients start no new operation at or after `tick`.
    pub fn until(self, tick: Tick) -> Self {
        Workload {
            stop: Some(tick),
            ..self
        }
    }

    /// Where clients send new operations.
    pub fn target(self, target: Target) -> Self {
        Workload { target, ..self }
    }
}
