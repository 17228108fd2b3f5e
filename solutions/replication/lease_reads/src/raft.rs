//! Stages 5 and 6: Raft leader election and log replication.
//!
//! Election (stage 5): time is divided into terms; in each term at most one leader is elected,
//! because a candidate needs the votes of a majority and every node votes at most once per term,
//! durably. Randomised election timeouts make split votes rare; heartbeats keep followers quiet.
//!
//! Replication (stage 6): the leader appends client proposals to its log and sends them to the
//! followers with the index and term of the entry before them; a follower accepts only if its
//! log has that entry (the consistency check), so logs that agree on an entry agree on everything
//! before it. An entry of the leader's current term is committed once a majority stores it;
//! committed entries are applied in log order. A candidate only gets votes from nodes whose log
//! is not more up to date than its own, so every leader holds every committed entry: committed
//! entries survive leader changes, partitions and crashes.
//!
//! Key-value service (stage 7): gets, puts and appends go through the log like proposals and are
//! applied to a key-value state machine on every node, so every operation takes effect at the
//! instant its entry commits: the store is linearizable. Each entry carries the client's request
//! id, and the state machine remembers each client's last applied operation, so a retried request
//! takes effect exactly once, whichever leader it reaches.
//!
//! Lease reads (stage 8): a leader serves `Get` from its own state, without the log, while it
//! holds a *lease*: a majority acknowledged a heartbeat it sent less than [`LEASE`] ticks ago (on
//! its own clock). That is safe because a follower that heard from its leader less than the
//! minimum election timeout ago ignores candidates, so no other leader can be elected, let alone
//! commit a write, before the lease runs out, provided clocks drift less than [`MAX_DRIFT_PPM`].
//! A new leader serves lease reads only once an entry of its own term is committed, since before
//! that it may not have applied every committed write.

mod log;
mod state_machine;

use std::collections::{BTreeMap, BTreeSet};

use katas_sim::{Context, Node, NodeId, RequestId, Tick, TimerId};

use log::DurableState;
pub use log::{Command, Entry, KvOp};
use state_machine::{KvResult, KvStateMachine};

/// Heartbeat period: well under the smallest election timeout, so that a follower only times
/// out after several heartbeats in a row were lost.
pub const HEARTBEAT_EVERY: Tick = 50;

/// Election timeouts are drawn from this range, anew each time the timer is reset.
pub const ELECTION_TIMEOUT: (Tick, Tick) = (150, 300);

/// The largest clock drift the lease tolerates, in parts per million (10%).
pub const MAX_DRIFT_PPM: u64 = 100_000;

/// How long a leader may serve reads after sending a heartbeat that a majority acknowledged, on
/// its own clock. A follower ignores candidates for `ELECTION_TIMEOUT.0` ticks of *its* clock
/// after hearing from the leader, and hears that heartbeat after it was sent; with rates within
/// `1 ± d`, the lease ends in true time before any follower's window does when
/// `LEASE / (1 - d) <= ELECTION_TIMEOUT.0 / (1 + d)`: 150 * 0.9 / 1.1 = 122.7, rounded down.
pub const LEASE: Tick = 120;

/// The most entries one `AppendEntries` carries.
const MAX_BATCH: usize = 64;

/// What a client can ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftRequest {
    /// Append this value to the replicated log.
    Propose(u64),
    /// Read a key.
    Get {
        /// The key.
        key: String,
    },
    /// Set a key.
    Put {
        /// The key.
        key: String,
        /// Its new value.
        value: String,
    },
    /// Append to a key's value (an absent key counts as empty).
    Append {
        /// The key.
        key: String,
        /// What to append.
        value: String,
    },
}

/// What a node answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftResponse {
    /// The value is committed at this index of the log.
    Committed {
        /// Its index in the log.
        index: u64,
    },
    /// This node is not the leader; nothing was appended. The leader it knows of, if any.
    NotLeader {
        /// The leader this node follows, if it knows one.
        leader: Option<NodeId>,
    },
    /// The value a `Get` read (`None`: the key is absent).
    Value(Option<String>),
    /// A `Put` or `Append` took effect.
    Done,
}

impl From<KvResult> for RaftResponse {
    fn from(result: KvResult) -> Self {
        match result {
            KvResult::Value(value) => RaftResponse::Value(value),
            KvResult::Done => RaftResponse::Done,
        }
    }
}

/// What Raft nodes tell each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftMsg {
    /// A candidate asks for a vote in `term`.
    RequestVote {
        /// The candidate's term.
        term: u64,
        /// The index of the candidate's last entry.
        last_index: u64,
        /// The term of the candidate's last entry.
        last_term: u64,
    },
    /// The answer to `RequestVote`.
    Vote {
        /// The voter's term.
        term: u64,
        /// Whether the vote was given.
        granted: bool,
    },
    /// The leader's entries following `prev_index` (none: a heartbeat).
    AppendEntries {
        /// The leader's term.
        term: u64,
        /// The index of the entry just before `entries`.
        prev_index: u64,
        /// The term of that entry.
        prev_term: u64,
        /// The entries to store.
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: u64,
        /// When the leader sent this, on its own clock; echoed back for its lease.
        sent_at: Tick,
    },
    /// The answer to `AppendEntries`.
    AppendReply {
        /// The follower's term.
        term: u64,
        /// On success, the index up to which the follower's log matches the leader's; on
        /// failure, where the leader should try next.
        index: u64,
        /// Whether the consistency check passed.
        success: bool,
        /// The `sent_at` of the `AppendEntries` this answers.
        echo: Tick,
    },
}

/// Raft's timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftTimer {
    /// No word from a leader for too long: start an election.
    Election,
    /// Time for the leader to send heartbeats (and retry unacknowledged entries).
    Heartbeat,
}

/// A node's role in its current term.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    Follower,
    Candidate { votes: BTreeSet<NodeId> },
    Leader(LeaderState),
}

/// What a leader tracks about its followers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct LeaderState {
    /// The next entry to send to each follower.
    next: BTreeMap<NodeId, u64>,
    /// The highest entry known to be stored on each follower.
    matched: BTreeMap<NodeId, u64>,
    /// Per follower, the latest send time (our clock) of an `AppendEntries` it answered in this
    /// term: it still recognised us as leader then.
    acked_at: BTreeMap<NodeId, Tick>,
    /// The index of this term's first entry: reads wait until it is committed.
    term_start: u64,
}

/// A Raft node.
#[derive(Debug)]
pub struct RaftNode {
    durable: DurableState,
    role: Role,
    leader: Option<NodeId>,
    /// The highest entry known to be committed (volatile: relearned from the leader).
    commit: u64,
    /// The highest entry applied to `applied`.
    last_applied: u64,
    /// The values of the committed `Propose` entries, in log order.
    applied: Vec<u64>,
    /// The key-value state machine the committed `Kv` entries were applied to.
    kv: KvStateMachine,
    /// Leader only: clients waiting for the entry at an index.
    waiting: BTreeMap<u64, RequestId>,
    /// Follower: when (our clock) we last heard from the leader of our term.
    last_leader_contact: Option<Tick>,
    election_timer: Option<TimerId>,
    heartbeat_timer: Option<TimerId>,
}

impl RaftNode {
    /// The node's current term.
    pub fn term(&self) -> u64 {
        self.durable.term()
    }

    /// True if this node believes it is the leader of its current term.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader(_))
    }

    /// The values of the committed `Propose` entries this node has applied, in log order.
    pub fn applied(&self) -> &[u64] {
        &self.applied
    }

    fn majority(ctx: &Context<'_, Self>) -> usize {
        ctx.cluster_size() / 2 + 1
    }

    // ----- roles and timers --------------------------------------------------------------------

    /// Restarts the election timeout with a fresh random duration.
    fn reset_election_timer(&mut self, ctx: &mut Context<'_, Self>) {
        if let Some(timer) = self.election_timer.take() {
            ctx.cancel_timer(timer);
        }
        let timeout = ctx.rng().range(ELECTION_TIMEOUT.0..=ELECTION_TIMEOUT.1);
        self.election_timer = Some(ctx.set_timer(timeout, RaftTimer::Election));
    }

    /// Moves to a higher `term` as a follower that has not voted in it.
    fn adopt_term(&mut self, ctx: &mut Context<'_, Self>, term: u64) {
        self.durable.set_term(ctx, term, None);
        self.leader = None;
        self.become_follower(ctx);
    }

    /// Stops leading or campaigning; clients waiting on this node get no answer (they time
    /// out: their entries may still commit under the next leader).
    fn become_follower(&mut self, ctx: &mut Context<'_, Self>) {
        if self.role != Role::Follower {
            ctx.note(format!("follower in term {}", self.term()));
            self.role = Role::Follower;
        }
        self.waiting.clear();
        if let Some(timer) = self.heartbeat_timer.take() {
            ctx.cancel_timer(timer);
        }
        if self.election_timer.is_none() {
            self.reset_election_timer(ctx);
        }
    }

    fn start_election(&mut self, ctx: &mut Context<'_, Self>) {
        let term = self.term() + 1;
        self.durable.set_term(ctx, term, Some(ctx.me().0));
        self.leader = None;
        self.role = Role::Candidate {
            votes: BTreeSet::from([ctx.me()]),
        };
        ctx.note(format!("candidate in term {term}"));
        self.reset_election_timer(ctx);
        ctx.broadcast(RaftMsg::RequestVote {
            term,
            last_index: self.durable.last_index(),
            last_term: self.durable.last_term(),
        });
        self.maybe_win(ctx);
    }

    /// Becomes leader if the candidate has a majority of votes.
    fn maybe_win(&mut self, ctx: &mut Context<'_, Self>) {
        let Role::Candidate { votes } = &self.role else {
            return;
        };
        if votes.len() < Self::majority(ctx) {
            return;
        }
        let next = self.durable.last_index() + 1;
        let peers: Vec<NodeId> = ctx.peers().collect();
        self.role = Role::Leader(LeaderState {
            next: peers.iter().map(|p| (*p, next)).collect(),
            matched: peers.iter().map(|p| (*p, 0)).collect(),
            acked_at: BTreeMap::new(),
            term_start: next,
        });
        self.leader = Some(ctx.me());
        ctx.note(format!("leader of term {}", self.term()));
        if let Some(timer) = self.election_timer.take() {
            ctx.cancel_timer(timer);
        }
        // An entry of the new term lets the leader commit everything before it (Raft only
        // counts replicas for entries of the leader's own term).
        let term = self.term();
        self.durable.append(
            ctx,
            Entry {
                term,
                command: Command::Noop,
            },
        );
        self.advance_commit(ctx);
        self.send_heartbeats(ctx);
    }

    fn send_heartbeats(&mut self, ctx: &mut Context<'_, Self>) {
        for peer in ctx.peers().collect::<Vec<_>>() {
            self.send_append(ctx, peer);
        }
        self.heartbeat_timer = Some(ctx.set_timer(HEARTBEAT_EVERY, RaftTimer::Heartbeat));
    }

    // ----- replication -------------------------------------------------------------------------

    /// Sends `peer` the entries it lacks (or none, as a heartbeat).
    fn send_append(&self, ctx: &mut Context<'_, Self>, peer: NodeId) {
        let Role::Leader(state) = &self.role else {
            return;
        };
        let next = state.next.get(&peer).copied().unwrap_or(1).max(1);
        let prev_index = next - 1;
        let prev_term = self.durable.term_at(prev_index).unwrap_or(0);
        ctx.send(
            peer,
            RaftMsg::AppendEntries {
                term: self.term(),
                prev_index,
                prev_term,
                entries: self.durable.entries_from(next, MAX_BATCH),
                commit: self.commit,
                sent_at: ctx.now(),
            },
        );
    }

    /// Commits the highest entry of the current term stored by a majority, then applies.
    fn advance_commit(&mut self, ctx: &mut Context<'_, Self>) {
        let Role::Leader(state) = &self.role else {
            return;
        };
        let mut stored: Vec<u64> = state.matched.values().copied().collect();
        stored.push(self.durable.last_index());
        stored.sort_unstable_by(|a, b| b.cmp(a));
        // The majority-th highest index is stored on at least a majority of nodes.
        let Some(&candidate) = stored.get(Self::majority(ctx) - 1) else {
            return;
        };
        if candidate > self.commit && self.durable.term_at(candidate) == Some(self.term()) {
            self.commit = candidate;
            self.apply(ctx);
        }
    }

    /// Applies committed entries in order, answering the clients that wait for them.
    fn apply(&mut self, ctx: &mut Context<'_, Self>) {
        while self.last_applied < self.commit {
            let index = self.last_applied + 1;
            let Some(entry) = self.durable.entry(index) else {
                break;
            };
            let response = match &entry.command {
                Command::Noop => None,
                Command::Propose(value) => {
                    self.applied.push(*value);
                    Some(RaftResponse::Committed { index })
                }
                Command::Kv { client, seq, op } => {
                    self.kv.apply(*client, *seq, op).map(RaftResponse::from)
                }
            };
            self.last_applied = index;
            if let (Some(client), Some(response)) = (self.waiting.remove(&index), response) {
                ctx.reply(client, response);
            }
        }
    }

    fn on_append_entries(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: RaftMsg) {
        let RaftMsg::AppendEntries {
            term,
            prev_index,
            prev_term,
            entries,
            commit,
            sent_at,
        } = msg
        else {
            return;
        };
        if term < self.term() {
            let reply = RaftMsg::AppendReply {
                term: self.term(),
                index: 0,
                success: false,
                echo: sent_at,
            };
            ctx.send(from, reply);
            return;
        }
        if term > self.term() {
            self.adopt_term(ctx, term);
        } else {
            self.become_follower(ctx);
        }
        self.leader = Some(from);
        self.last_leader_contact = Some(ctx.now());
        self.reset_election_timer(ctx);

        // The consistency check: our log must hold the leader's entry at `prev_index`.
        if self.durable.term_at(prev_index) != Some(prev_term) {
            let retry = self.retry_point(prev_index);
            let reply = RaftMsg::AppendReply {
                term: self.term(),
                index: retry,
                success: false,
                echo: sent_at,
            };
            ctx.send(from, reply);
            return;
        }
        let mut index = prev_index;
        for entry in entries {
            index += 1;
            match self.durable.term_at(index) {
                Some(existing) if existing == entry.term => {}
                Some(_) => {
                    // A conflicting, necessarily uncommitted entry: drop it and all after it.
                    self.durable.truncate(ctx, index - 1);
                    self.durable.append(ctx, entry);
                }
                None => {
                    self.durable.append(ctx, entry);
                }
            }
        }
        if commit > self.commit {
            self.commit = commit.min(index);
            self.apply(ctx);
        }
        let reply = RaftMsg::AppendReply {
            term: self.term(),
            index,
            success: true,
            echo: sent_at,
        };
        ctx.send(from, reply);
    }

    /// Where a leader whose entry at `prev_index` we lack or contradict should resume: just past
    /// our log if it is too short, else at the first entry of the contradicting term, skipping
    /// the whole term in one round trip instead of one entry per round trip.
    fn retry_point(&self, prev_index: u64) -> u64 {
        let Some(conflict) = self.durable.term_at(prev_index) else {
            return self.durable.last_index() + 1;
        };
        let mut first = prev_index;
        while first > 1 && self.durable.term_at(first - 1) == Some(conflict) {
            first -= 1;
        }
        first.max(1)
    }

    fn on_append_reply(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: &RaftMsg) {
        let RaftMsg::AppendReply {
            term,
            index,
            success,
            echo,
        } = *msg
        else {
            return;
        };
        if term > self.term() {
            self.adopt_term(ctx, term);
            return;
        }
        if term < self.term() {
            return;
        }
        let last = self.durable.last_index();
        let Role::Leader(state) = &mut self.role else {
            return;
        };
        let acked = state.acked_at.entry(from).or_insert(0);
        *acked = (*acked).max(echo);
        if success {
            let matched = state.matched.entry(from).or_insert(0);
            *matched = (*matched).max(index);
            let next = state.next.entry(from).or_insert(1);
            *next = (*next).max(index + 1);
            let behind = *next <= last;
            self.advance_commit(ctx);
            if behind {
                self.send_append(ctx, from);
            }
        } else {
            let next = state.next.entry(from).or_insert(1);
            if index >= 1 && index < *next {
                *next = index;
                self.send_append(ctx, from);
            }
        }
    }

    // ----- elections ---------------------------------------------------------------------------

    fn on_request_vote(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        last_index: u64,
        last_term: u64,
    ) {
        if term > self.term() && self.heard_from_leader_recently(ctx) {
            // Leader stickiness: our leader was alive a moment ago, so this candidate is
            // disruptive or partitioned from it. Ignoring it keeps the leader's lease safe.
            return;
        }
        if term > self.term() {
            self.adopt_term(ctx, term);
        }
        let free = self.durable.voted_for().is_none_or(|v| v == from.0);
        // The election restriction: never vote for a log that lacks something ours has.
        let ours = (self.durable.last_term(), self.durable.last_index());
        let up_to_date = (last_term, last_index) >= ours;
        let granted = term == self.term() && free && up_to_date;
        if granted {
            // Durable before the vote leaves: a restarted node must not vote again this term.
            self.durable.set_term(ctx, term, Some(from.0));
            self.reset_election_timer(ctx);
        }
        let reply = RaftMsg::Vote {
            term: self.term(),
            granted,
        };
        ctx.send(from, reply);
    }

    fn on_vote(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, term: u64, granted: bool) {
        if term > self.term() {
            self.adopt_term(ctx, term);
            return;
        }
        if term < self.term() || !granted {
            return;
        }
        if let Role::Candidate { votes } = &mut self.role {
            votes.insert(from);
        }
        self.maybe_win(ctx);
    }

    // ----- clients -----------------------------------------------------------------------------

    /// True if this follower heard from its leader less than the minimum election timeout ago.
    fn heard_from_leader_recently(&self, ctx: &Context<'_, Self>) -> bool {
        let following = self.role == Role::Follower && self.leader.is_some();
        following
            && self
                .last_leader_contact
                .is_some_and(|at| ctx.now().saturating_sub(at) < ELECTION_TIMEOUT.0)
    }

    /// True if this leader may answer reads from its own state right now: an entry of its term
    /// is committed (so it has applied every committed write), and a majority acknowledged a
    /// heartbeat it sent less than `LEASE` ticks ago.
    fn holds_lease(&self, ctx: &Context<'_, Self>) -> bool {
        let Role::Leader(state) = &self.role else {
            return false;
        };
        if self.commit < state.term_start {
            return false;
        }
        let mut acked: Vec<Tick> = state.acked_at.values().copied().collect();
        acked.sort_unstable_by(|a, b| b.cmp(a));
        // We count for ourselves; we need `majority - 1` followers, and the oldest of the most
        // recent such acknowledgements dates the lease.
        let needed = Self::majority(ctx) - 1;
        if needed == 0 {
            return true;
        }
        acked
            .get(needed - 1)
            .is_some_and(|&since| ctx.now() < since.saturating_add(LEASE))
    }

    /// Answers `NotLeader` (and returns false) unless this node leads.
    fn ensure_leader(&self, ctx: &mut Context<'_, Self>, id: RequestId) -> bool {
        if self.is_leader() {
            return true;
        }
        let leader = self.leader.filter(|l| *l != ctx.me());
        ctx.reply(id, RaftResponse::NotLeader { leader });
        false
    }

    fn on_kv(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, op: KvOp) {
        if !self.ensure_leader(ctx, id) {
            return;
        }
        if let KvOp::Get(key) = &op
            && self.holds_lease(ctx)
        {
            // No other leader can have committed anything since our lease began: our state
            // holds every committed write. Reads are idempotent, so no session is needed.
            ctx.reply(id, RaftResponse::Value(self.kv.read(key)));
            return;
        }
        // A retry of an operation that already took effect: answer from the session table.
        if let Some(result) = self.kv.cached(id.client.0, id.seq) {
            ctx.reply(id, result.clone().into());
            return;
        }
        let command = Command::Kv {
            client: id.client.0,
            seq: id.seq,
            op,
        };
        self.append_and_replicate(ctx, id, command);
    }

    fn on_propose(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, value: u64) {
        if self.ensure_leader(ctx, id) {
            self.append_and_replicate(ctx, id, Command::Propose(value));
        }
    }

    /// Appends a client's command as the leader and starts replicating it; the client is
    /// answered when the entry is applied.
    fn append_and_replicate(
        &mut self,
        ctx: &mut Context<'_, Self>,
        id: RequestId,
        command: Command,
    ) {
        let term = self.term();
        let entry = Entry { term, command };
        let index = self.durable.append(ctx, entry);
        self.waiting.insert(index, id);
        // Replicate right away rather than at the next heartbeat: lower latency, a few more
        // messages.
        for peer in ctx.peers().collect::<Vec<_>>() {
            self.send_append(ctx, peer);
        }
        self.advance_commit(ctx);
    }
}

impl Node for RaftNode {
    type Msg = RaftMsg;
    type Request = RaftRequest;
    type Response = RaftResponse;
    type Timer = RaftTimer;

    fn init(ctx: &mut Context<'_, Self>) -> Self {
        let durable = DurableState::load(ctx.storage());
        let mut node = RaftNode {
            durable,
            role: Role::Follower,
            leader: None,
            commit: 0,
            last_applied: 0,
            applied: Vec::new(),
            kv: KvStateMachine::default(),
            waiting: BTreeMap::new(),
            last_leader_contact: None,
            election_timer: None,
            heartbeat_timer: None,
        };
        node.reset_election_timer(ctx);
        node
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, req: RaftRequest) {
        match req {
            RaftRequest::Propose(value) => self.on_propose(ctx, id, value),
            RaftRequest::Get { key } => self.on_kv(ctx, id, KvOp::Get(key)),
            RaftRequest::Put { key, value } => self.on_kv(ctx, id, KvOp::Put(key, value)),
            RaftRequest::Append { key, value } => self.on_kv(ctx, id, KvOp::Append(key, value)),
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: RaftMsg) {
        match msg {
            RaftMsg::RequestVote {
                term,
                last_index,
                last_term,
            } => self.on_request_vote(ctx, from, term, last_index, last_term),
            RaftMsg::Vote { term, granted } => self.on_vote(ctx, from, term, granted),
            msg @ RaftMsg::AppendEntries { .. } => self.on_append_entries(ctx, from, msg),
            msg @ RaftMsg::AppendReply { .. } => self.on_append_reply(ctx, from, &msg),
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
