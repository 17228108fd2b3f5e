//! Stage 5: Raft leader election.
//!
//! Time is divided into terms. In each term at most one leader is elected, because a candidate
//! needs the votes of a majority and every node votes at most once per term; two majorities
//! always share a node. A node's term and vote are durable: a node that forgot its vote after a
//! crash could vote twice in one term and elect two leaders. Followers that hear nothing from a
//! leader for a randomised election timeout start an election; the randomisation makes split
//! votes rare, and the leader's heartbeats keep followers from starting one while it is alive.

use std::collections::BTreeSet;

use katas_sim::{Context, Node, NodeId, RequestId, Tick, TimerId};
use serde::{Deserialize, Serialize};

/// Heartbeat period: well under the smallest election timeout, so that a follower only times
/// out after several heartbeats in a row were lost.
pub const HEARTBEAT_EVERY: Tick = 50;

/// Election timeouts are drawn from this range, anew each time the timer is reset.
pub const ELECTION_TIMEOUT: (Tick, Tick) = (150, 300);

/// The storage key of the durable state.
const STATE_KEY: &str = "raft/state";

/// Client requests: none yet in this stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftRequest {}

/// Answers to clients: none yet in this stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftResponse {}

/// What Raft nodes tell each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftMsg {
    /// A candidate asks for a vote in `term`.
    RequestVote {
        /// The candidate's term.
        term: u64,
    },
    /// The answer to `RequestVote`.
    Vote {
        /// The voter's term (a candidate behind it steps down).
        term: u64,
        /// Whether the vote was given.
        granted: bool,
    },
    /// The leader of `term` is alive.
    Heartbeat {
        /// The leader's term.
        term: u64,
    },
    /// The answer to `Heartbeat`, so that a stale leader learns of a newer term.
    HeartbeatReply {
        /// The follower's term.
        term: u64,
    },
}

/// Raft's timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftTimer {
    /// No word from a leader for too long: start an election.
    Election,
    /// Time for the leader to send heartbeats.
    Heartbeat,
}

/// What a node is in its current term.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    Follower,
    Candidate { votes: BTreeSet<NodeId> },
    Leader,
}

/// The state that must survive crashes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Durable {
    term: u64,
    voted_for: Option<u32>,
}

/// A Raft node (election only, in this stage).
#[derive(Debug)]
pub struct RaftNode {
    durable: Durable,
    role: Role,
    election_timer: Option<TimerId>,
    heartbeat_timer: Option<TimerId>,
}

impl RaftNode {
    /// The node's current term.
    pub fn term(&self) -> u64 {
        self.durable.term
    }

    /// True if this node believes it is the leader of its current term.
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    /// Writes term and vote to storage. Called before any message that depends on them leaves.
    fn persist(&self, ctx: &mut Context<'_, Self>) {
        // Serialising two integers cannot fail.
        if let Ok(bytes) = serde_json::to_vec(&self.durable) {
            ctx.storage().put(STATE_KEY, bytes);
        }
    }

    fn majority(ctx: &Context<'_, Self>) -> usize {
        ctx.cluster_size() / 2 + 1
    }

    /// Restarts the election timeout with a fresh random duration.
    fn reset_election_timer(&mut self, ctx: &mut Context<'_, Self>) {
        if let Some(timer) = self.election_timer.take() {
            ctx.cancel_timer(timer);
        }
        let timeout = ctx.rng().range(ELECTION_TIMEOUT.0..=ELECTION_TIMEOUT.1);
        self.election_timer = Some(ctx.set_timer(timeout, RaftTimer::Election));
    }

    /// Moves to `term` (higher than the current one) as a follower that has not voted in it.
    fn adopt_term(&mut self, ctx: &mut Context<'_, Self>, term: u64) {
        self.durable = Durable {
            term,
            voted_for: None,
        };
        self.persist(ctx);
        self.become_follower(ctx);
    }

    /// Stops leading or campaigning; makes sure an election timeout is pending.
    fn become_follower(&mut self, ctx: &mut Context<'_, Self>) {
        if self.role != Role::Follower {
            ctx.note(format!("follower in term {}", self.durable.term));
            self.role = Role::Follower;
        }
        if let Some(timer) = self.heartbeat_timer.take() {
            ctx.cancel_timer(timer);
        }
        if self.election_timer.is_none() {
            self.reset_election_timer(ctx);
        }
    }

    fn start_election(&mut self, ctx: &mut Context<'_, Self>) {
        self.durable = Durable {
            term: self.durable.term + 1,
            voted_for: Some(ctx.me().0),
        };
        self.persist(ctx);
        self.role = Role::Candidate {
            votes: BTreeSet::from([ctx.me()]),
        };
        ctx.note(format!("candidate in term {}", self.durable.term));
        self.reset_election_timer(ctx);
        ctx.broadcast(RaftMsg::RequestVote {
            term: self.durable.term,
        });
        self.maybe_win(ctx);
    }

    /// Becomes leader if the candidate has a majority of votes.
    fn maybe_win(&mut self, ctx: &mut Context<'_, Self>) {
        let Role::Candidate { votes } = &self.role else {
            return;
        };
        if votes.len() >= Self::majority(ctx) {
            self.role = Role::Leader;
            ctx.note(format!("leader of term {}", self.durable.term));
            if let Some(timer) = self.election_timer.take() {
                ctx.cancel_timer(timer);
            }
            self.send_heartbeats(ctx);
        }
    }

    fn send_heartbeats(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.broadcast(RaftMsg::Heartbeat {
            term: self.durable.term,
        });
        self.heartbeat_timer = Some(ctx.set_timer(HEARTBEAT_EVERY, RaftTimer::Heartbeat));
    }

    fn on_request_vote(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, term: u64) {
        if term > self.durable.term {
            self.adopt_term(ctx, term);
        }
        let free = self.durable.voted_for.is_none_or(|v| v == from.0);
        let granted = term == self.durable.term && free;
        if granted {
            self.durable.voted_for = Some(from.0);
            // Durable before the vote leaves: a restarted node must not vote again this term.
            self.persist(ctx);
            self.reset_election_timer(ctx);
        }
        ctx.send(
            from,
            RaftMsg::Vote {
                term: self.durable.term,
                granted,
            },
        );
    }

    fn on_vote(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, term: u64, granted: bool) {
        if term > self.durable.term {
            self.adopt_term(ctx, term);
            return;
        }
        if term < self.durable.term || !granted {
            return;
        }
        if let Role::Candidate { votes } = &mut self.role {
            votes.insert(from);
        }
        self.maybe_win(ctx);
    }

    fn on_heartbeat(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, term: u64) {
        if term >= self.durable.term {
            if term > self.durable.term {
                self.adopt_term(ctx, term);
            } else {
                // A leader exists in our term: a candidate gives up.
                self.become_follower(ctx);
            }
            self.reset_election_timer(ctx);
        }
        ctx.send(
            from,
            RaftMsg::HeartbeatReply {
                term: self.durable.term,
            },
        );
    }
}

impl Node for RaftNode {
    type Msg = RaftMsg;
    type Request = RaftRequest;
    type Response = RaftResponse;
    type Timer = RaftTimer;

    fn init(ctx: &mut Context<'_, Self>) -> Self {
        // Only this module writes this key, always with serde_json of `Durable`: a value that
        // does not decode was never written, and a fresh node starts from the default.
        let durable = ctx
            .storage()
            .get(STATE_KEY)
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .unwrap_or_default();
        let mut node = RaftNode {
            durable,
            role: Role::Follower,
            election_timer: None,
            heartbeat_timer: None,
        };
        node.reset_election_timer(ctx);
        node
    }

    fn on_request(&mut self, _ctx: &mut Context<'_, Self>, _id: RequestId, req: RaftRequest) {
        match req {}
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: RaftMsg) {
        match msg {
            RaftMsg::RequestVote { term } => self.on_request_vote(ctx, from, term),
            RaftMsg::Vote { term, granted } => self.on_vote(ctx, from, term, granted),
            RaftMsg::Heartbeat { term } => self.on_heartbeat(ctx, from, term),
            RaftMsg::HeartbeatReply { term } => {
                if term > self.durable.term {
                    self.adopt_term(ctx, term);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: RaftTimer) {
        match timer {
            RaftTimer::Election => {
                self.election_timer = None;
                if !self.is_leader() {
                    self.start_election(ctx);
                }
            }
            RaftTimer::Heartbeat => {
                self.heartbeat_timer = None;
                if self.is_leader() {
                    self.send_heartbeats(ctx);
                }
            }
        }
    }
}
