//! The simulation: a cluster of nodes, clients and a faulty network on logical time.
//!
//! Determinism comes from three rules. Nothing reads a wall clock or iterates a hash map. Events
//! wait in an ordered map keyed by `(time, lane, number within the lane)`, where a lane is one
//! link, one node's timers, one client, or the fault schedule, so events at the same tick happen
//! in an order that depends only on what was sent, not on the order a node happened to send it
//! to different peers. And every lane draws its random numbers from its own stream of the seed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};

use crate::check::Failure;
use crate::config::{Config, Fault, Nemesis, Net};
use crate::history::{History, Op, Outcome};
use crate::node::{ClientId, Context, Effect, Node, NodeId, RequestId, Storage, Tick, TimerId};
use crate::rng::Rng;
use crate::stats::Stats;
use crate::trace::{Ev, Lost, Trace};
use crate::workload::{OpCtx, Target, Verdict, Workload};

/// Stream names for [`Rng::stream`].
const STREAM_LINK: u64 = 1;
const STREAM_NODE: u64 = 2;
const STREAM_CLIENT: u64 = 3;
const STREAM_NEMESIS: u64 = 4;
const STREAM_CLOCK: u64 = 5;

/// Lane kinds, in the order events of one tick run: faults first, then messages, timers, clients.
const LANE_FAULT: u8 = 0;
const LANE_LINK: u8 = 1;
const LANE_TIMER: u8 = 2;
const LANE_CLIENT: u8 = 3;

/// Endpoint numbers: nodes are `0..`, clients are `CLIENT_BIT | id`.
const CLIENT_BIT: u64 = 1 << 40;

type Lane = (u8, u64, u64);
type Key = (Tick, Lane, u64);

/// A queued event.
enum Event<N: Node> {
    Message {
        id: u64,
        from: NodeId,
        to: NodeId,
        msg: N::Msg,
    },
    Request {
        id: u64,
        rid: RequestId,
        to: NodeId,
        req: N::Request,
    },
    Response {
        id: u64,
        rid: RequestId,
        resp: N::Response,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        timer_id: TimerId,
        timer: N::Timer,
        /// When it is due on the node's clock (to find its true time again if the rate changes).
        due_local: Tick,
    },
    ClientWake(ClientId),
    ClientTimeout {
        rid: RequestId,
        attempt: u32,
    },
    Fault(Fault),
    NemesisTick,
    NemesisStop,
}

/// A node's clock: `local = offset + (true_time - since) * rate / 1_000_000`. `since` is 0 until
/// a [`Fault::Clock`] changes the rate: the reading then goes on from where it was.
#[derive(Clone, Copy, Debug)]
struct Clock {
    rate_ppm: u64,
    offset: u64,
    since: Tick,
}

impl Clock {
    const PERFECT: u64 = 1_000_000;

    fn local(self, t: Tick) -> Tick {
        let elapsed = u128::from(t.saturating_sub(self.since));
        let scaled = elapsed * u128::from(self.rate_ppm) / u128::from(Self::PERFECT);
        self.offset + u64::try_from(scaled).unwrap_or(u64::MAX - self.offset)
    }

    /// The first true time at which the local clock reads at least `local`.
    fn true_time(self, local: Tick) -> Tick {
        let ahead = u128::from(local.saturating_sub(self.offset));
        let t = (ahead * u128::from(Self::PERFECT)).div_ceil(u128::from(self.rate_ppm.max(1)));
        u64::try_from(t).map_or(u64::MAX, |t| t.saturating_add(self.since))
    }

    /// The same clock running at `rate_ppm` from true time `now` on, its reading continuous.
    fn with_rate(self, now: Tick, rate_ppm: u64) -> Self {
        Clock {
            rate_ppm,
            offset: self.local(now),
            since: now,
        }
    }
}

/// Everything the simulator keeps about one node.
struct Slot<N> {
    node: Option<N>,
    incarnation: u32,
    storage: Storage,
    rng: Rng,
    next_timer: u64,
    cancelled: BTreeSet<TimerId>,
    clock: Clock,
}

/// The operation a client is working on.
struct Current {
    op: usize,
    rid: RequestId,
    attempt: u32,
    target: NodeId,
    timed_out: bool,
    /// `Some(node)` while waiting out the backoff before retrying at `node`.
    retry_at: Option<NodeId>,
}

/// Everything the simulator keeps about one client.
struct ClientState {
    id: ClientId,
    /// The workload it belongs to; `None` for a one-off request made with [`Sim::request`].
    workload: Option<usize>,
    rng: Rng,
    seq: u64,
    rr: usize,
    current: Option<Current>,
    done: bool,
}

/// A message waiting on a held link: its number, its payload and the delays drawn for it.
type Held<N> = (u64, <N as Node>::Msg, Vec<Tick>);

type Invariant<N> = (String, Box<dyn FnMut(&Sim<N>) -> Result<(), String>>);

/// A simulated cluster of `N` nodes. See the crate documentation for an example.
pub struct Sim<N: Node> {
    seed: u64,
    config: Config,
    now: Tick,
    ids: Vec<NodeId>,
    slots: Vec<Slot<N>>,
    groups: Vec<u32>,
    cuts: BTreeSet<(NodeId, NodeId)>,
    /// One-way links whose messages are lost ([`Fault::Block`]).
    blocked: BTreeSet<(NodeId, NodeId)>,
    /// One-way links whose messages wait ([`Fault::Hold`]), and what they hold, in send order:
    /// the message's number, its payload and the delays drawn for it (two for a duplicate).
    held: BTreeMap<(NodeId, NodeId), Vec<Held<N>>>,
    /// One-way links with extra delay ([`Fault::Slow`]).
    slow: BTreeMap<(NodeId, NodeId), Tick>,
    queue: BTreeMap<Key, Event<N>>,
    lanes: BTreeMap<Lane, u64>,
    links: BTreeMap<(u64, u64), Rng>,
    nemesis: Option<(Nemesis, Rng)>,
    workloads: Vec<Workload<N>>,
    started: Vec<u64>,
    clients: Vec<ClientState>,
    history: History<N::Request, N::Response>,
    stats: Stats,
    trace: Trace<N>,
    invariants: Vec<Invariant<N>>,
    events: u64,
    next_msg: u64,
    failure: Option<Failure>,
}

/// Renders partition groups as `{n0 n1} | {n2}`.
fn describe_groups(groups: &[u32]) -> String {
    let mut by_group: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        by_group.entry(*g).or_default().push(format!("n{i}"));
    }
    by_group
        .values()
        .map(|names| format!("{{{}}}", names.join(" ")))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The text of a panic payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// What a handler is called for.
enum Call<N: Node> {
    Request(RequestId, N::Request),
    Message(NodeId, N::Msg),
    Timer(N::Timer),
}

impl<N: Node> Sim<N> {
    /// A cluster of `config.nodes` nodes, started at tick 0, whose every random choice derives
    /// from `seed`.
    pub fn new(seed: u64, config: Config) -> Self {
        let n = config.nodes;
        let ids: Vec<NodeId> = (0..n as u32).map(NodeId).collect();
        let drift = u64::from(config.clock_drift_ppm).min(Clock::PERFECT / 2);
        let slots = (0..n as u64)
            .map(|i| {
                let mut clock_rng = Rng::stream(seed, &[STREAM_CLOCK, i]);
                let drawn = if drift == 0 {
                    Clock {
                        rate_ppm: Clock::PERFECT,
                        offset: 0,
                        since: 0,
                    }
                } else {
                    Clock {
                        rate_ppm: clock_rng.range(Clock::PERFECT - drift..=Clock::PERFECT + drift),
                        offset: clock_rng.range(0..1_000_000),
                        since: 0,
                    }
                };
                // A clock the test placed wins; the draw above still happens, so placing one
                // node's clock changes no other node's.
                let clock = config
                    .clocks
                    .iter()
                    .find(|c| u64::from(c.node.0) == i)
                    .map_or(drawn, |c| Clock {
                        rate_ppm: c.rate_ppm,
                        offset: c.offset,
                        since: 0,
                    });
                Slot {
                    node: None,
                    incarnation: 0,
                    storage: Storage::default(),
                    rng: Rng::stream(seed, &[STREAM_NODE, i]),
                    next_timer: 0,
                    cancelled: BTreeSet::new(),
                    clock,
                }
            })
            .collect();
        let mut sim = Sim {
            seed,
            config,
            now: 0,
            ids: ids.clone(),
            slots,
            groups: vec![0; n],
            cuts: BTreeSet::new(),
            blocked: BTreeSet::new(),
            held: BTreeMap::new(),
            slow: BTreeMap::new(),
            queue: BTreeMap::new(),
            lanes: BTreeMap::new(),
            links: BTreeMap::new(),
            nemesis: None,
            workloads: Vec::new(),
            started: Vec::new(),
            clients: Vec::new(),
            history: History::default(),
            stats: Stats::default(),
            trace: Trace::default(),
            invariants: Vec::new(),
            events: 0,
            next_msg: 0,
            failure: None,
        };
        if let Some(problem) = sim.misplaced_clock() {
            sim.failure = Some(sim.fail("the configuration is valid", problem));
            return sim;
        }
        for id in ids {
            sim.boot(id);
            if sim.failure.is_some() {
                break;
            }
        }
        sim
    }

    /// What is wrong with the clocks the test placed ([`Config::node_clock`]), if anything.
    fn misplaced_clock(&self) -> Option<String> {
        let nodes = self.ids.len();
        self.config.clocks.iter().find_map(|c| {
            if c.node.index() >= nodes {
                Some(format!(
                    "Config::node_clock places a clock on {}, but the cluster has {nodes} nodes \
                     (n0 .. n{}): place it on one of them",
                    c.node,
                    nodes.saturating_sub(1)
                ))
            } else if c.rate_ppm == 0 {
                Some(format!(
                    "Config::node_clock gives {} a rate of 0 ppm, a clock that never moves: use \
                     1_000_000 for a clock that keeps time, 900_000 for one 10% slow",
                    c.node
                ))
            } else {
                None
            }
        })
    }

    // ----- observing -------------------------------------------------------------------------

    /// The seed of this run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The simulation's time (true time; nodes may see drifted clocks).
    pub fn now(&self) -> Tick {
        self.now
    }

    /// What `id`'s clock reads now (what [`crate::Context::now`] would tell it), or `None` for a
    /// node outside the cluster. With drift, it differs from [`Sim::now`].
    pub fn local_time(&self, id: NodeId) -> Option<Tick> {
        self.slots.get(id.index()).map(|s| s.clock.local(self.now))
    }

    /// The nodes of the cluster.
    pub fn ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// The node `id`, if it is up.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.slots.get(id.index()).and_then(|s| s.node.as_ref())
    }

    /// Every node that is up, in order.
    pub fn nodes_up(&self) -> impl Iterator<Item = (NodeId, &N)> {
        self.ids
            .iter()
            .zip(&self.slots)
            .filter_map(|(id, slot)| slot.node.as_ref().map(|n| (*id, n)))
    }

    /// True if node `id` is up.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_some()
    }

    /// Node `id`'s durable storage (also while it is down).
    pub fn storage(&self, id: NodeId) -> Option<&Storage> {
        self.slots.get(id.index()).map(|s| &s.storage)
    }

    /// True if a partition or a cut link currently separates `a` from `b`.
    pub fn partitioned(&self, a: NodeId, b: NodeId) -> bool {
        self.groups.get(a.index()) != self.groups.get(b.index())
            || self.cuts.contains(&(a.min(b), a.max(b)))
    }

    /// True if messages from `from` to `to` are lost: a partition, a cut link, or a one-way
    /// [`Fault::Block`] of that direction.
    pub fn blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.partitioned(from, to) || self.blocked.contains(&(from, to))
    }

    /// How many messages the held links ([`Fault::Hold`]) are holding.
    pub fn held(&self) -> usize {
        self.held.values().map(Vec::len).sum()
    }

    /// How many messages the held link `from → to` is holding: a scripted test holding a link
    /// to a node it has cut off sees each message the sender sends there (a leader's heartbeat,
    /// say) the moment it is sent.
    pub fn held_on(&self, from: NodeId, to: NodeId) -> usize {
        self.held.get(&(from, to)).map_or(0, Vec::len)
    }

    /// Every client operation so far.
    pub fn history(&self) -> &History<N::Request, N::Response> {
        &self.history
    }

    /// Messages, operations and latencies since the start or the last [`Sim::reset_stats`].
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Starts counting [`Sim::stats`] afresh (to measure one phase of a run).
    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
    }

    /// The end of the run as a timeline: one column per node, one for clients, time flowing
    /// down. `KATAS_TRACE` sets how many rows (a number, or `all`).
    pub fn timeline(&self) -> String {
        self.trace.timeline(self.ids.len())
    }

    /// The timeline a failure shows: around the first request its detail names (`c1#3`) when
    /// that is earlier than the end of the run, else the end of the run.
    fn failure_timeline(&self, detail: &str) -> String {
        let rows = crate::trace::rows_wanted();
        if rows == usize::MAX {
            return self.timeline();
        }
        self.trace
            .timeline_around(self.ids.len(), rows, detail)
            .unwrap_or_else(|| self.timeline())
    }

    /// The last `rows` events of the run as a timeline.
    pub fn timeline_rows(&self, rows: usize) -> String {
        self.trace.timeline_rows(self.ids.len(), rows)
    }

    /// Every kept event, one per line: runs with equal traces replayed identically.
    pub fn trace_lines(&self) -> Vec<String> {
        self.trace.lines()
    }

    /// A [`Failure`] of `property` with `detail`, carrying this run's seed, stats and timeline.
    /// Return it from a test's run to fail the test with a readable report.
    pub fn fail(&self, property: impl Into<String>, detail: impl Into<String>) -> Failure {
        let detail = detail.into();
        Failure::new(
            self.seed,
            self.now,
            property.into(),
            detail.clone(),
            (
                self.failure_timeline(&detail),
                self.stats.to_string(),
                self.trace.lines(),
            ),
        )
    }

    // ----- setting up --------------------------------------------------------------------------

    /// Checks `check` after every event; the run stops with a failure of `property` when it
    /// returns `Err(detail)`. The check may keep state between calls (e.g. the leader of every
    /// term seen so far).
    pub fn invariant(
        &mut self,
        property: impl Into<String>,
        check: impl FnMut(&Sim<N>) -> Result<(), String> + 'static,
    ) {
        self.invariants.push((property.into(), Box::new(check)));
    }

    /// Adds clients that run `workload`.
    pub fn workload(&mut self, workload: Workload<N>) {
        let w = self.workloads.len();
        let start = workload.start.max(self.now);
        let (think_min, think_max) = workload.think;
        for _ in 0..workload.clients {
            let id = ClientId(self.clients.len() as u32);
            let mut rng = Rng::stream(self.seed, &[STREAM_CLIENT, u64::from(id.0)]);
            let first = start + rng.range(think_min..=think_max);
            self.clients.push(ClientState {
                id,
                workload: Some(w),
                rng,
                seq: 0,
                rr: id.0 as usize,
                current: None,
                done: false,
            });
            self.push(
                first,
                (LANE_CLIENT, u64::from(id.0), 0),
                Event::ClientWake(id),
            );
        }
        self.workloads.push(workload);
        self.started.push(0);
    }

    /// Injects random faults as `nemesis` says. Replaces any previous nemesis.
    pub fn nemesis(&mut self, nemesis: Nemesis) {
        let rng = Rng::stream(self.seed, &[STREAM_NEMESIS]);
        let first = nemesis.start.max(self.now);
        let stop = nemesis.stop;
        self.nemesis = Some((nemesis, rng));
        self.push(first, (LANE_FAULT, 1, 0), Event::NemesisTick);
        self.push(stop, (LANE_FAULT, 2, 0), Event::NemesisStop);
    }

    /// Injects `fault` at tick `at`.
    pub fn schedule(&mut self, at: Tick, fault: Fault) {
        self.push(at.max(self.now), (LANE_FAULT, 0, 0), Event::Fault(fault));
    }

    /// Injects `fault` now.
    pub fn apply(&mut self, fault: Fault) {
        self.apply_fault(fault);
    }

    /// Crashes node `id` now.
    pub fn crash(&mut self, id: NodeId) {
        self.apply_fault(Fault::Crash(id));
    }

    /// Restarts node `id` now (if it is down).
    pub fn restart(&mut self, id: NodeId) {
        self.apply_fault(Fault::Restart(id));
    }

    /// Ends every partition now.
    pub fn heal(&mut self) {
        self.apply_fault(Fault::Heal);
    }

    /// Sends `req` to node `to` now from a new client that waits for the answer as long as it
    /// takes (no timeout, no retry). Read the answer from [`Sim::history`].
    pub fn request(&mut self, to: NodeId, req: N::Request) -> RequestId {
        let id = ClientId(self.clients.len() as u32);
        let rng = Rng::stream(self.seed, &[STREAM_CLIENT, u64::from(id.0)]);
        self.clients.push(ClientState {
            id,
            workload: None,
            rng,
            seq: 0,
            rr: 0,
            current: None,
            done: true,
        });
        let client = id.0 as usize;
        self.start_op(client, to, req)
    }

    /// Sends the request `rid`, made with [`Sim::request`] and not answered yet, again with the
    /// same id to node `to`: a client that gave up waiting on one node and retries elsewhere (or
    /// at the same node). The operation keeps its invocation time, and the first answer to any
    /// attempt completes it. Returns false (and sends nothing) if `rid` is no such request.
    pub fn resend(&mut self, rid: RequestId, to: NodeId) -> bool {
        let c = rid.client.0 as usize;
        let Some(current) = self.clients.get_mut(c).and_then(|cl| cl.current.as_mut()) else {
            return false;
        };
        if current.rid != rid {
            return false;
        }
        current.attempt += 1;
        current.target = to;
        current.retry_at = None;
        let (op, attempt) = (current.op, current.attempt);
        self.send_attempt(c, op, rid, to, attempt);
        true
    }

    /// Sends `req` to node `to` (as [`Sim::request`]) and runs until it is answered or `within`
    /// ticks have passed. `Ok(None)` means no answer in time.
    pub fn call(
        &mut self,
        to: NodeId,
        req: N::Request,
        within: Tick,
    ) -> Result<Option<N::Response>, Failure> {
        let rid = self.request(to, req);
        let deadline = self.now.saturating_add(within);
        self.run_while(deadline, |sim| sim.history.response(rid).is_none())?;
        Ok(self.history.response(rid).cloned())
    }

    // ----- running -----------------------------------------------------------------------------

    /// Runs every event up to and including tick `t`.
    pub fn run_until(&mut self, t: Tick) -> Result<(), Failure> {
        self.run_while(t, |_| true)
    }

    /// Runs for `ticks` more ticks.
    pub fn run_for(&mut self, ticks: Tick) -> Result<(), Failure> {
        self.run_until(self.now.saturating_add(ticks))
    }

    /// Runs events up to tick `t` while `go_on` holds (checked before each event).
    pub fn run_while(
        &mut self,
        t: Tick,
        mut go_on: impl FnMut(&Self) -> bool,
    ) -> Result<(), Failure> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        while go_on(self) {
            let Some(entry) = self.queue.first_entry() else {
                break;
            };
            if entry.key().0 > t {
                break;
            }
            let (key, event) = entry.remove_entry();
            self.now = key.0;
            self.events += 1;
            if self.events > self.config.max_events {
                let failure = self.fail(
                    "the run stays bounded",
                    format!(
                        "more than {} events by tick {}: does a node send messages or set timers in a loop?",
                        self.config.max_events, self.now
                    ),
                );
                self.failure = Some(failure.clone());
                return Err(failure);
            }
            self.handle(event);
            if self.failure.is_none() {
                self.check_invariants();
            }
            if let Some(failure) = &self.failure {
                return Err(failure.clone());
            }
        }
        if go_on(self) {
            self.now = self.now.max(t);
        }
        Ok(())
    }

    fn check_invariants(&mut self) {
        let mut invariants = std::mem::take(&mut self.invariants);
        for (property, check) in invariants.iter_mut() {
            if let Err(detail) = check(self) {
                self.trace.push(self.now, Ev::Violation(property.clone()));
                self.failure = Some(self.fail(property.clone(), detail));
                break;
            }
        }
        self.invariants = invariants;
    }

    // ----- the event loop ----------------------------------------------------------------------

    fn push(&mut self, at: Tick, lane: Lane, event: Event<N>) {
        let seq = self.lanes.entry(lane).or_insert(0);
        *seq += 1;
        self.queue.insert((at, lane, *seq), event);
    }

    fn handle(&mut self, event: Event<N>) {
        match event {
            Event::Message { id, from, to, msg } => self.deliver(id, from, to, msg),
            Event::Request { id, rid, to, req } => {
                if self.node(to).is_none() {
                    self.trace.push(
                        self.now,
                        Ev::Drop {
                            id,
                            at: to,
                            why: Lost::Down,
                        },
                    );
                } else {
                    self.trace.push(
                        self.now,
                        Ev::Arrive {
                            id,
                            rid,
                            to,
                            req: req.clone(),
                        },
                    );
                    self.run_handler(to, Call::Request(rid, req));
                }
            }
            Event::Response { id, rid, resp } => self.client_response(id, rid, resp),
            Event::Timer {
                node,
                incarnation,
                timer_id,
                timer,
                ..
            } => {
                let Some(slot) = self.slots.get_mut(node.index()) else {
                    return;
                };
                if slot.incarnation != incarnation || slot.node.is_none() {
                    return;
                }
                if slot.cancelled.remove(&timer_id) {
                    return;
                }
                self.trace.push(
                    self.now,
                    Ev::Timer {
                        node,
                        timer: timer.clone(),
                    },
                );
                let pushed = self.trace.total();
                self.run_handler(node, Call::Timer(timer));
                // A timer that did nothing visible (no message, reply or note) is noise in a
                // timeline: drop its row.
                self.trace.forget_last_if(pushed);
            }
            Event::ClientWake(client) => self.client_wake(client.0 as usize),
            Event::ClientTimeout { rid, attempt } => self.client_timeout(rid, attempt),
            Event::Fault(fault) => self.apply_fault(fault),
            Event::NemesisTick => self.nemesis_tick(),
            Event::NemesisStop => {
                self.apply_fault(Fault::Heal);
                for id in self.ids.clone() {
                    self.apply_fault(Fault::Restart(id));
                }
            }
        }
    }

    fn deliver(&mut self, id: u64, from: NodeId, to: NodeId, msg: N::Msg) {
        let why = if self.node(to).is_none() {
            Some(Lost::Down)
        } else if self.blocked(from, to) {
            Some(Lost::Partition)
        } else {
            None
        };
        if let Some(why) = why {
            self.stats.lost += 1;
            self.trace.push(self.now, Ev::Drop { id, at: to, why });
            return;
        }
        self.stats.delivered += 1;
        self.trace.push(
            self.now,
            Ev::Deliver {
                id,
                from,
                to,
                msg: msg.clone(),
            },
        );
        self.run_handler(to, Call::Message(from, msg));
    }

    /// Starts (or restarts) node `id` from its storage.
    fn boot(&mut self, id: NodeId) {
        let idx = id.index();
        let now = self.now;
        let Some(slot) = self.slots.get_mut(idx) else {
            return;
        };
        let mut ctx = Context {
            me: id,
            nodes: &self.ids,
            now: slot.clock.local(now),
            rng: &mut slot.rng,
            storage: &mut slot.storage,
            next_timer: &mut slot.next_timer,
            effects: Vec::new(),
        };
        let result = panic::catch_unwind(AssertUnwindSafe(|| N::init(&mut ctx)));
        let effects = std::mem::take(&mut ctx.effects);
        match result {
            Ok(node) => {
                slot.node = Some(node);
                self.apply_effects(id, effects);
            }
            Err(payload) => self.node_panicked(id, "starting", &panic_text(&*payload)),
        }
    }

    fn run_handler(&mut self, id: NodeId, call: Call<N>) {
        let idx = id.index();
        let now = self.now;
        let Some(slot) = self.slots.get_mut(idx) else {
            return;
        };
        let local = slot.clock.local(now);
        let Some(node) = slot.node.as_mut() else {
            return;
        };
        let mut ctx = Context {
            me: id,
            nodes: &self.ids,
            now: local,
            rng: &mut slot.rng,
            storage: &mut slot.storage,
            next_timer: &mut slot.next_timer,
            effects: Vec::new(),
        };
        let what = match &call {
            Call::Request(rid, _) => format!("handling request {rid}"),
            Call::Message(from, _) => format!("handling a message from {from}"),
            Call::Timer(t) => format!("handling timer {t:?}"),
        };
        let result = panic::catch_unwind(AssertUnwindSafe(|| match call {
            Call::Request(rid, req) => node.on_request(&mut ctx, rid, req),
            Call::Message(from, msg) => node.on_message(&mut ctx, from, msg),
            Call::Timer(timer) => node.on_timer(&mut ctx, timer),
        }));
        let effects = std::mem::take(&mut ctx.effects);
        match result {
            Ok(()) => self.apply_effects(id, effects),
            Err(payload) => self.node_panicked(id, &what, &panic_text(&*payload)),
        }
    }

    fn node_panicked(&mut self, id: NodeId, what: &str, text: &str) {
        if self.failure.is_some() {
            return;
        }
        let property = "nodes do not panic";
        self.trace
            .push(self.now, Ev::Violation(format!("{id} panicked")));
        self.failure = Some(self.fail(
            property,
            format!("{id} panicked while {what}: {text}\n(the panic's location is printed above the test's output)"),
        ));
    }

    fn link_rng(&mut self, from: u64, to: u64) -> &mut Rng {
        let seed = self.seed;
        self.links
            .entry((from, to))
            .or_insert_with(|| Rng::stream(seed, &[STREAM_LINK, from, to]))
    }

    /// Draws the fate of one message on a link: `None` if lost, else one or two delays.
    fn fate(&mut self, from: u64, to: u64, net: &Net) -> (bool, Vec<Tick>) {
        let rng = self.link_rng(from, to);
        if rng.chance(net.drop) {
            return (true, Vec::new());
        }
        let mut delays = vec![rng.range(net.min_delay..=net.max_delay)];
        if rng.chance(net.duplicate) {
            delays.push(rng.range(net.min_delay..=net.max_delay));
        }
        (false, delays)
    }

    fn apply_effects(&mut self, me: NodeId, effects: Vec<Effect<N>>) {
        for effect in effects {
            match effect {
                Effect::Send(to, msg) => self.send(me, to, msg),
                Effect::Reply(rid, resp) => self.reply(me, rid, resp),
                Effect::SetTimer(id, after, timer) => {
                    let Some(slot) = self.slots.get(me.index()) else {
                        continue;
                    };
                    let due_local = slot.clock.local(self.now).saturating_add(after);
                    let due = slot.clock.true_time(due_local).max(self.now + 1);
                    let incarnation = slot.incarnation;
                    self.push(
                        due,
                        (LANE_TIMER, me.index() as u64, 0),
                        Event::Timer {
                            node: me,
                            incarnation,
                            timer_id: id,
                            timer,
                            due_local,
                        },
                    );
                }
                Effect::CancelTimer(id) => {
                    if let Some(slot) = self.slots.get_mut(me.index()) {
                        slot.cancelled.insert(id);
                    }
                }
                Effect::Note(text) => self.trace.push(self.now, Ev::Note { node: me, text }),
            }
        }
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: N::Msg) {
        self.next_msg += 1;
        let id = self.next_msg;
        self.stats.messages += 1;
        if to.index() >= self.ids.len() {
            let text = format!("sent m{id} to {to}, which does not exist");
            self.trace.push(self.now, Ev::Note { node: from, text });
            return;
        }
        let net = self.config.net.clone();
        let (lost, mut delays) = self.fate(from.index() as u64, to.index() as u64, &net);
        let cut = self.blocked(from, to);
        if let Some(extra) = self.slow.get(&(from, to)) {
            for delay in &mut delays {
                *delay += extra;
            }
        }
        self.trace.push(
            self.now,
            Ev::Send {
                id,
                from,
                to,
                msg: msg.clone(),
                lost: lost || cut,
                copies: delays.len() as u8,
            },
        );
        if lost || cut {
            self.stats.lost += 1;
            return;
        }
        if let Some(held) = self.held.get_mut(&(from, to)) {
            held.push((id, msg, delays));
            let text = format!("m{id}→{to} held");
            self.trace.push(self.now, Ev::Note { node: from, text });
            return;
        }
        self.put_in_flight(id, from, to, msg, delays);
    }

    /// Queues message `id` on the link `from → to`, one copy per delay.
    fn put_in_flight(&mut self, id: u64, from: NodeId, to: NodeId, msg: N::Msg, delays: Vec<Tick>) {
        let lane = (LANE_LINK, from.index() as u64, to.index() as u64);
        for delay in delays {
            let event = Event::Message {
                id,
                from,
                to,
                msg: msg.clone(),
            };
            self.push(self.now + delay, lane, event);
        }
    }

    fn reply(&mut self, from: NodeId, rid: RequestId, resp: N::Response) {
        self.next_msg += 1;
        let id = self.next_msg;
        self.trace.push(
            self.now,
            Ev::Reply {
                id,
                from,
                rid,
                resp: resp.clone(),
            },
        );
        let client_end = CLIENT_BIT | u64::from(rid.client.0);
        let net = self.config.client_net.clone();
        let (lost, delays) = self.fate(from.index() as u64, client_end, &net);
        if lost {
            self.trace.push(
                self.now,
                Ev::ClientDrop {
                    id,
                    client: rid.client,
                },
            );
            return;
        }
        let lane = (LANE_LINK, from.index() as u64, client_end);
        for delay in delays {
            let event = Event::Response {
                id,
                rid,
                resp: resp.clone(),
            };
            self.push(self.now + delay, lane, event);
        }
    }

    // ----- faults ------------------------------------------------------------------------------

    /// [`Fault::Clock`]: `id`'s clock runs at `rate_ppm` from now on, and its pending timers move
    /// to the true time at which the new rate brings the clock to their due reading.
    fn set_clock_rate(&mut self, id: NodeId, rate_ppm: u64) {
        let now = self.now;
        let Some(slot) = self.slots.get_mut(id.index()) else {
            let problem = format!(
                "Fault::Clock changes the clock of {id}, but the cluster has {} nodes",
                self.ids.len()
            );
            self.failure = Some(self.fail("the schedule is valid", problem));
            return;
        };
        if rate_ppm == 0 {
            let problem = format!(
                "Fault::Clock gives {id} a rate of 0 ppm, a clock that stops: to pause a node, \
                 crash it; for a slow clock use e.g. 900_000 (10% slow)"
            );
            self.failure = Some(self.fail("the schedule is valid", problem));
            return;
        }
        slot.clock = slot.clock.with_rate(now, rate_ppm);
        let clock = slot.clock;
        let timers: Vec<Key> = self
            .queue
            .iter()
            .filter(|(_, e)| matches!(e, Event::Timer { node, .. } if *node == id))
            .map(|(k, _)| *k)
            .collect();
        for key in timers {
            if let Some(event) = self.queue.remove(&key) {
                let due = match &event {
                    Event::Timer { due_local, .. } => clock.true_time(*due_local).max(now + 1),
                    _ => key.0,
                };
                self.queue.insert((due, key.1, key.2), event);
            }
        }
        self.trace.push(
            now,
            Ev::Partition(format!(
                "{id}'s clock runs at {}.{:06} from now",
                rate_ppm / Clock::PERFECT,
                rate_ppm % Clock::PERFECT
            )),
        );
    }

    fn apply_fault(&mut self, fault: Fault) {
        match fault {
            Fault::Crash(id) => {
                let Some(slot) = self.slots.get_mut(id.index()) else {
                    return;
                };
                if slot.node.take().is_some() {
                    slot.incarnation += 1;
                    slot.cancelled.clear();
                    self.trace.push(self.now, Ev::Crash(id));
                }
            }
            Fault::Restart(id) => {
                if self.slots.get(id.index()).is_some_and(|s| s.node.is_none()) {
                    self.trace.push(self.now, Ev::Restart(id));
                    self.boot(id);
                }
            }
            Fault::Partition(groups) => {
                let mut assignment = vec![0u32; self.ids.len()];
                for (g, group) in groups.iter().enumerate() {
                    for id in group {
                        if let Some(slot) = assignment.get_mut(id.index()) {
                            *slot = g as u32 + 1;
                        }
                    }
                }
                self.set_groups(assignment);
            }
            Fault::Isolate(id) => {
                let mut assignment = vec![0u32; self.ids.len()];
                if let Some(slot) = assignment.get_mut(id.index()) {
                    *slot = 1;
                }
                self.set_groups(assignment);
            }
            Fault::Cut(pairs) => {
                let mut names = Vec::new();
                for (a, b) in pairs {
                    if a != b {
                        self.cuts.insert((a.min(b), a.max(b)));
                        names.push(format!("{a}-{b}"));
                    }
                }
                self.trace.push(
                    self.now,
                    Ev::Partition(format!("links cut: {}", names.join(" "))),
                );
            }
            Fault::Block(pairs) => {
                let names = Self::link_names(&pairs, "↛");
                self.blocked
                    .extend(pairs.into_iter().filter(|(a, b)| a != b));
                self.trace
                    .push(self.now, Ev::Partition(format!("links blocked: {names}")));
            }
            Fault::Hold(pairs) => {
                let names = Self::link_names(&pairs, "→");
                for pair in pairs.into_iter().filter(|(a, b)| a != b) {
                    self.held.entry(pair).or_default();
                }
                self.trace
                    .push(self.now, Ev::Partition(format!("links held: {names}")));
            }
            Fault::Release(pairs) => {
                let names = Self::link_names(&pairs, "→");
                self.trace
                    .push(self.now, Ev::Partition(format!("links released: {names}")));
                for pair in pairs {
                    self.release(pair);
                }
            }
            Fault::Slow(pairs, extra) => {
                let names = Self::link_names(&pairs, "→");
                for pair in pairs.into_iter().filter(|(a, b)| a != b) {
                    if extra == 0 {
                        self.slow.remove(&pair);
                    } else {
                        self.slow.insert(pair, extra);
                    }
                }
                self.trace.push(
                    self.now,
                    Ev::Partition(format!("links {names} slowed by {extra} ticks")),
                );
            }
            Fault::Clock(id, rate_ppm) => self.set_clock_rate(id, rate_ppm),
            Fault::Heal => {
                let split = self.groups.iter().any(|&g| Some(&g) != self.groups.first());
                let faulty = !self.cuts.is_empty()
                    || !self.blocked.is_empty()
                    || !self.held.is_empty()
                    || !self.slow.is_empty();
                if split || faulty {
                    self.groups = vec![0; self.ids.len()];
                    self.cuts.clear();
                    self.blocked.clear();
                    self.slow.clear();
                    self.trace.push(self.now, Ev::Heal);
                    let holds: Vec<(NodeId, NodeId)> = self.held.keys().copied().collect();
                    for pair in holds {
                        self.release(pair);
                    }
                }
            }
        }
    }

    /// Ends the hold on `from → to` and sends what it held, in order.
    fn release(&mut self, (from, to): (NodeId, NodeId)) {
        for (id, msg, delays) in self.held.remove(&(from, to)).unwrap_or_default() {
            self.put_in_flight(id, from, to, msg, delays);
        }
    }

    /// Renders one-way links as `n0→n1 n0→n2`.
    fn link_names(pairs: &[(NodeId, NodeId)], arrow: &str) -> String {
        pairs
            .iter()
            .map(|(a, b)| format!("{a}{arrow}{b}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn set_groups(&mut self, groups: Vec<u32>) {
        self.groups = groups;
        let text = describe_groups(&self.groups);
        self.trace.push(self.now, Ev::Partition(text));
    }

    fn nemesis_tick(&mut self) {
        let Some((nemesis, mut rng)) = self.nemesis.take() else {
            return;
        };
        if self.now >= nemesis.stop {
            self.nemesis = Some((nemesis, rng));
            return;
        }
        let n = self.ids.len();
        let duration = rng.range(nemesis.duration.0..=nemesis.duration.1);
        let mut kinds = Vec::new();
        if nemesis.partitions && n > 1 {
            kinds.push(0);
        }
        let max_down = nemesis.max_down.unwrap_or((n.saturating_sub(1)) / 2);
        let down = self.ids.iter().filter(|id| !self.is_up(**id)).count();
        if nemesis.crashes && down < max_down {
            kinds.push(1);
        }
        let until = (self.now + duration).min(nemesis.stop);
        match rng.pick(&kinds) {
            Some(0) => {
                let mut order = self.ids.clone();
                rng.shuffle(&mut order);
                let cut = rng.range(1..=n as u64 - 1) as usize;
                let (a, b) = order.split_at(cut);
                self.apply_fault(Fault::Partition(vec![a.to_vec(), b.to_vec()]));
                self.schedule(until, Fault::Heal);
            }
            Some(_) => {
                let up: Vec<NodeId> = self
                    .ids
                    .iter()
                    .copied()
                    .filter(|id| self.is_up(*id))
                    .collect();
                if let Some(&victim) = rng.pick(&up) {
                    self.apply_fault(Fault::Crash(victim));
                    self.schedule(until, Fault::Restart(victim));
                }
            }
            None => {}
        }
        let next = self.now + rng.range(nemesis.interval.0..=nemesis.interval.1);
        self.nemesis = Some((nemesis, rng));
        if next < self.nemesis.as_ref().map_or(0, |(n, _)| n.stop) {
            self.push(next, (LANE_FAULT, 1, 0), Event::NemesisTick);
        }
    }

    // ----- clients -----------------------------------------------------------------------------

    fn client_wake(&mut self, c: usize) {
        let Some(client) = self.clients.get_mut(c) else {
            return;
        };
        if let Some(current) = client.current.as_mut() {
            // The backoff before a retry is over: send the next attempt.
            if let Some(target) = current.retry_at.take() {
                current.attempt += 1;
                current.target = target;
                let (rid, attempt, op) = (current.rid, current.attempt, current.op);
                self.send_attempt(c, op, rid, target, attempt);
            }
            return;
        }
        if client.done {
            return;
        }
        let Some(w) = client.workload else {
            return;
        };
        let Some(workload) = self.workloads.get_mut(w) else {
            return;
        };
        if workload.stop.is_some_and(|stop| self.now >= stop) {
            client.done = true;
            return;
        }
        let Some(count) = self.started.get_mut(w) else {
            return;
        };
        let mut ctx = OpCtx {
            client: client.id,
            seq: client.seq + 1,
            count: *count,
            now: self.now,
            rng: &mut client.rng,
        };
        let Some(req) = (workload.generate)(&mut ctx) else {
            client.done = true;
            return;
        };
        *count += 1;
        let n = self.ids.len();
        let target = match workload.target {
            Target::Random => NodeId(client.rng.below(n as u64) as u32),
            Target::RoundRobin => {
                client.rr += 1;
                NodeId((client.rr % n.max(1)) as u32)
            }
            Target::Node(node) => node,
        };
        self.start_op(c, target, req);
    }

    fn start_op(&mut self, c: usize, to: NodeId, req: N::Request) -> RequestId {
        let Some(client) = self.clients.get_mut(c) else {
            return RequestId {
                client: ClientId(c as u32),
                seq: 0,
            };
        };
        client.seq += 1;
        let rid = RequestId {
            client: client.id,
            seq: client.seq,
        };
        let op = self.history.push(Op {
            id: rid,
            request: req,
            invoked: self.now,
            nodes: Vec::new(),
            outcome: Outcome::Pending,
        });
        if let Some(client) = self.clients.get_mut(c) {
            client.current = Some(Current {
                op,
                rid,
                attempt: 1,
                target: to,
                timed_out: false,
                retry_at: None,
            });
        }
        self.send_attempt(c, op, rid, to, 1);
        rid
    }

    fn send_attempt(&mut self, c: usize, op: usize, rid: RequestId, to: NodeId, attempt: u32) {
        let Some(entry) = self.history.op_mut(op) else {
            return;
        };
        entry.nodes.push(to);
        let req = entry.request.clone();
        self.next_msg += 1;
        let id = self.next_msg;
        self.trace.push(
            self.now,
            Ev::Invoke {
                id,
                rid,
                to,
                req: req.clone(),
                attempt,
            },
        );
        let client_end = CLIENT_BIT | u64::from(rid.client.0);
        let timeout = self.client_timeout_ticks(c);
        if let Some(timeout) = timeout {
            self.push(
                self.now + timeout,
                (LANE_CLIENT, u64::from(rid.client.0), 1),
                Event::ClientTimeout { rid, attempt },
            );
        }
        if to.index() >= self.ids.len() {
            return;
        }
        let net = self.config.client_net.clone();
        let (lost, delays) = self.fate(client_end, to.index() as u64, &net);
        if lost {
            self.trace.push(
                self.now,
                Ev::ClientDrop {
                    id,
                    client: rid.client,
                },
            );
            return;
        }
        let lane = (LANE_LINK, client_end, to.index() as u64);
        for delay in delays {
            let event = Event::Request {
                id,
                rid,
                to,
                req: req.clone(),
            };
            self.push(self.now + delay, lane, event);
        }
    }

    fn client_timeout_ticks(&self, c: usize) -> Option<Tick> {
        let w = self.clients.get(c)?.workload?;
        self.workloads.get(w).map(|w| w.timeout)
    }

    fn client_response(&mut self, id: u64, rid: RequestId, resp: N::Response) {
        let c = rid.client.0 as usize;
        let is_current = self
            .clients
            .get(c)
            .and_then(|cl| cl.current.as_ref())
            .is_some_and(|cur| cur.rid == rid && cur.retry_at.is_none());
        if !is_current {
            self.trace.push(
                self.now,
                Ev::Answer {
                    id,
                    rid,
                    resp,
                    what: "(late, ignored)",
                },
            );
            return;
        }
        let workload = self.clients.get(c).and_then(|cl| cl.workload);
        let verdict = workload
            .and_then(|w| self.workloads.get(w))
            .map_or(Verdict::Done, |w| (w.verdict)(&resp));
        let max_attempts = workload
            .and_then(|w| self.workloads.get(w))
            .map_or(1, |w| w.attempts);
        let retry_to = match verdict {
            Verdict::Done => None,
            Verdict::Retry => Some(None),
            Verdict::RetryAt(node) => Some(Some(node)),
        };
        let Some(current) = self.clients.get_mut(c).and_then(|cl| cl.current.as_mut()) else {
            return;
        };
        match retry_to {
            None => {
                self.trace.push(
                    self.now,
                    Ev::Answer {
                        id,
                        rid,
                        resp: resp.clone(),
                        what: "✓",
                    },
                );
                let op = current.op;
                self.finish(
                    c,
                    op,
                    Outcome::Ok {
                        response: resp,
                        at: self.now,
                    },
                );
            }
            Some(hint) if current.attempt < max_attempts => {
                let n = self.ids.len().max(1) as u32;
                let next = hint.unwrap_or(NodeId((current.target.0 + 1) % n));
                current.retry_at = Some(next);
                self.trace.push(
                    self.now,
                    Ev::Answer {
                        id,
                        rid,
                        resp,
                        what: "↻ retry",
                    },
                );
                let backoff = workload
                    .and_then(|w| self.workloads.get(w))
                    .map_or(1, |w| w.backoff.max(1));
                self.push(
                    self.now + backoff,
                    (LANE_CLIENT, u64::from(rid.client.0), 0),
                    Event::ClientWake(rid.client),
                );
            }
            Some(_) => {
                let (op, timed_out) = (current.op, current.timed_out);
                self.trace.push(
                    self.now,
                    Ev::Answer {
                        id,
                        rid,
                        resp: resp.clone(),
                        what: "✗ gave up",
                    },
                );
                let outcome = if timed_out {
                    Outcome::Indefinite { at: self.now }
                } else {
                    Outcome::Rejected {
                        response: resp,
                        at: self.now,
                    }
                };
                self.finish(c, op, outcome);
            }
        }
    }

    fn client_timeout(&mut self, rid: RequestId, attempt: u32) {
        let c = rid.client.0 as usize;
        let Some(w) = self.clients.get(c).and_then(|cl| cl.workload) else {
            return;
        };
        let Some((retry, same, max_attempts, backoff)) = self.workloads.get(w).map(|w| {
            let same = w.retry_same_node;
            (w.retry_on_timeout, same, w.attempts, w.backoff.max(1))
        }) else {
            return;
        };
        let n = self.ids.len().max(1) as u32;
        let Some(current) = self.clients.get_mut(c).and_then(|cl| cl.current.as_mut()) else {
            return;
        };
        if current.rid != rid || current.attempt != attempt || current.retry_at.is_some() {
            return;
        }
        current.timed_out = true;
        if retry && current.attempt < max_attempts {
            let next = if same {
                current.target
            } else {
                NodeId((current.target.0 + 1) % n)
            };
            current.retry_at = Some(next);
            self.trace.push(
                self.now,
                Ev::Timeout {
                    rid,
                    what: "timeout, will retry",
                },
            );
            self.push(
                self.now + backoff,
                (LANE_CLIENT, u64::from(rid.client.0), 0),
                Event::ClientWake(rid.client),
            );
        } else {
            let op = current.op;
            self.trace.push(
                self.now,
                Ev::Timeout {
                    rid,
                    what: "timeout, gave up (indefinite)",
                },
            );
            self.finish(c, op, Outcome::Indefinite { at: self.now });
        }
    }

    /// Ends a client's current operation and schedules its next one.
    fn finish(&mut self, c: usize, op: usize, outcome: Outcome<N::Response>) {
        match &outcome {
            Outcome::Ok { at, .. } => {
                self.stats.ops_ok += 1;
                if let Some(entry) = self.history.ops().get(op) {
                    self.stats.latencies.push(at - entry.invoked);
                }
            }
            Outcome::Rejected { .. } => self.stats.ops_rejected += 1,
            Outcome::Indefinite { .. } => self.stats.ops_indefinite += 1,
            Outcome::Pending => {}
        }
        if let Some(entry) = self.history.op_mut(op) {
            entry.outcome = outcome;
        }
        let Some(client) = self.clients.get_mut(c) else {
            return;
        };
        client.current = None;
        let Some(w) = client.workload else {
            return;
        };
        let Some((lo, hi)) = self.workloads.get(w).map(|w| w.think) else {
            return;
        };
        let pause = client.rng.range(lo..=hi).max(1);
        let id = client.id;
        self.push(
            self.now + pause,
            (LANE_CLIENT, u64::from(id.0), 0),
            Event::ClientWake(id),
        );
    }
}

impl<N: Node> std::fmt::Debug for Sim<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut up = String::new();
        for (id, slot) in self.ids.iter().zip(&self.slots) {
            let _ = write!(
                up,
                "{id}:{} ",
                if slot.node.is_some() { "up" } else { "down" }
            );
        }
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("nodes", &up.trim_end())
            .field("partition", &describe_groups(&self.groups))
            .field("events", &self.events)
            .finish()
    }
}
