//! Stage 7, `distributed_quota`: a cluster of five nodes shares one quota over katas-sim's
//! simulated network, with a slack that bounds the overshoot and a choice of failing open or
//! closed while the network is partitioned.
//!
//! Every test runs a fixed set of seeds. A failure names the seed, what was violated and shows the
//! end of the run as a timeline (`KATAS_TRACE=all` shows all of it); `KATAS_SEED=<seed>` replays
//! exactly that run and `KATAS_SEEDS=<n>` runs seeds 1 to n.

use std::collections::{BTreeMap, BTreeSet};

use katas_sim::{
    Config, Failure, Fault, Nemesis, Net, NodeId, Op, Outcome, Sim, Target, Tick, Workload, seeds,
};
use rate_limiter::{FailMode, QuotaConfig, QuotaNode, QuotaRequest, QuotaResponse, QuotaSettings};

const NODES: usize = 5;
const LIMIT: u64 = 50;
const SLACK: u64 = 20;
const WINDOW: Tick = 1_000;

const fn quota(mode: FailMode) -> QuotaConfig {
    QuotaConfig {
        limit: LIMIT,
        window: WINDOW,
        slack: SLACK,
        gossip_every: 5,
        suspect_after: 50,
        mode,
    }
}

/// 50 requests per 1000 ticks for the whole cluster, 20 of slack, failing closed.
struct Closed;
impl QuotaSettings for Closed {
    const CONFIG: QuotaConfig = quota(FailMode::Closed);
}

/// The same quota, failing open.
struct Open;
impl QuotaSettings for Open {
    const CONFIG: QuotaConfig = quota(FailMode::Open);
}

/// Failing open, but a peer must be silent for 200 ticks before it is presumed gone: a cut of
/// 100 ticks then raises no suspicion.
struct OpenPatient;
impl QuotaSettings for OpenPatient {
    const CONFIG: QuotaConfig = QuotaConfig {
        suspect_after: 200,
        ..quota(FailMode::Open)
    };
}

type Cluster<S> = Sim<QuotaNode<S>>;

/// `nodes` nodes with `net` between them. Clients reach a node in exactly one tick and its answer
/// comes back in one, so an answer the client got at tick `t` was given at `t - 1`: that is the
/// tick whose window the admission counts in.
fn world(nodes: usize, net: Net) -> Config {
    Config::new(nodes)
        .net(net)
        .client_net(Net::reliable().delays(1, 1))
}

/// `clients` clients that ask `target` for one request after another, 0 to 4 ticks apart, from
/// tick `from` until `until`.
fn demand<S: QuotaSettings>(
    clients: usize,
    target: Target,
    from: Tick,
    until: Tick,
) -> Workload<QuotaNode<S>> {
    Workload::new(clients, |_| Some(QuotaRequest::Acquire))
        .target(target)
        .think(0, 4)
        .starting_at(from)
        .until(until)
}

/// The window an answer the client received at `at` was given in.
fn window_of_answer(at: Tick) -> u64 {
    at.saturating_sub(1) / WINDOW
}

/// Requests answered `Allowed`, per window and per node.
#[derive(Default)]
struct Admitted {
    by_window: BTreeMap<u64, Vec<u64>>,
}

impl Admitted {
    /// Everything admitted so far in `sim`'s history.
    fn of<S: QuotaSettings>(sim: &Cluster<S>) -> Self {
        let mut admitted = Admitted::default();
        for op in sim.history().ops() {
            if let Outcome::Ok {
                response: QuotaResponse::Allowed,
                at,
            } = op.outcome
            {
                admitted.record(sim.ids().len(), window_of_answer(at), op.nodes.last());
            }
        }
        admitted
    }

    fn record(&mut self, nodes: usize, window: u64, node: Option<&NodeId>) {
        let counts = self
            .by_window
            .entry(window)
            .or_insert_with(|| vec![0; nodes]);
        if let Some(count) = node.and_then(|node| counts.get_mut(node.index())) {
            *count += 1;
        }
    }

    /// Admissions per node in `window`.
    fn window(&self, nodes: usize, window: u64) -> Vec<u64> {
        self.by_window
            .get(&window)
            .cloned()
            .unwrap_or_else(|| vec![0; nodes])
    }
}

/// "n0 12, n1 9, ..." for the timeline-free part of a failure message.
fn per_node(counts: &[u64]) -> String {
    counts
        .iter()
        .enumerate()
        .map(|(j, count)| format!("n{j} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ticks window `window` covers, for messages.
fn ticks_of(window: u64) -> String {
    format!("ticks {}..{}", window * WINDOW, (window + 1) * WINDOW - 1)
}

/// Checks `check(window, admissions per node in that window)` after every event that admitted a
/// request, so a violation stops the run at the very answer that broke it: the timeline then
/// ends where the overshoot happened.
fn watch_admissions<S: QuotaSettings>(
    sim: &mut Cluster<S>,
    property: &str,
    check: impl Fn(u64, &[u64]) -> Result<(), String> + 'static,
) {
    let nodes = sim.ids().len();
    let mut seen = 0;
    let mut pending: Vec<usize> = Vec::new();
    let mut admitted = Admitted::default();
    sim.invariant(property, move |sim| {
        let ops = sim.history().ops();
        pending.extend(seen..ops.len());
        seen = ops.len();
        let mut changed = BTreeSet::new();
        pending.retain(|&i| match ops.get(i).map(|op| (&op.outcome, op)) {
            Some((Outcome::Pending, _)) => true,
            Some((
                Outcome::Ok {
                    response: QuotaResponse::Allowed,
                    at,
                },
                op,
            )) => {
                let window = window_of_answer(*at);
                admitted.record(nodes, window, op.nodes.last());
                changed.insert(window);
                false
            }
            _ => false,
        });
        changed
            .into_iter()
            .try_for_each(|window| check(window, &admitted.window(nodes, window)))
    });
}

/// The cluster never admits more than `limit + slack` in a window.
fn within_limit_and_slack(window: u64, counts: &[u64]) -> Result<(), String> {
    let total: u64 = counts.iter().sum();
    if total <= LIMIT + SLACK {
        return Ok(());
    }
    Err(format!(
        "in window {window} ({}) the cluster admitted {total} requests ({}), over the limit of \
         {LIMIT} plus the slack of {SLACK}.\nEach node admits against its own view of the \
         window, and that view is late: how many admissions can a node make that its peers \
         have not yet seen (and confirmed back to it), and does anything stop it?",
        ticks_of(window),
        per_node(counts)
    ))
}

/// No client gave up waiting: a node must answer each `Acquire` at once.
fn every_request_answered<S: QuotaSettings>(sim: &Cluster<S>) -> Result<(), Failure> {
    let timed_out = |op: &&Op<_, _>| matches!(op.outcome, Outcome::Indefinite { .. });
    match sim.history().ops().iter().find(timed_out) {
        None => Ok(()),
        Some(op) => Err(sim.fail(
            "every Acquire is answered at once",
            format!(
                "{op}: the node that received it never answered. Reply Allowed or Refused in \
                 the same handler that received the request."
            ),
        )),
    }
}

/// Fails unless the nodes in `nodes` admitted at least `at_least` requests together in each of
/// `windows` (in which their clients kept asking for many more than that).
fn expect_admitted<S: QuotaSettings>(
    sim: &Cluster<S>,
    windows: impl IntoIterator<Item = u64>,
    nodes: &[usize],
    at_least: u64,
    why: &str,
) -> Result<(), Failure> {
    every_request_answered(sim)?;
    let admitted = Admitted::of(sim);
    for window in windows {
        let counts = admitted.window(sim.ids().len(), window);
        let total: u64 = nodes.iter().filter_map(|&j| counts.get(j)).sum();
        if total < at_least {
            let who = if nodes.len() == sim.ids().len() {
                "the cluster".to_string()
            } else {
                let names: Vec<String> = nodes.iter().map(|j| format!("n{j}")).collect();
                names.join(" + ")
            };
            return Err(sim.fail(
                "the quota is used, not wasted",
                format!(
                    "in window {window} ({}) {who} admitted only {total} requests ({}) although \
                     its clients asked for far more; expected at least {at_least}.\n{why}",
                    ticks_of(window),
                    per_node(&counts)
                ),
            ));
        }
    }
    Ok(())
}

/// Sends one `Acquire` to `node` from a new client and waits for the answer.
fn acquire<S: QuotaSettings>(sim: &mut Cluster<S>, node: NodeId) -> Result<QuotaResponse, Failure> {
    match sim.call(node, QuotaRequest::Acquire, 10)? {
        Some(answer) => Ok(answer),
        None => Err(sim.fail(
            "every Acquire is answered at once",
            format!("{node} did not answer an Acquire within 10 ticks"),
        )),
    }
}

#[test]
fn a_lone_node_admits_exactly_the_limit_each_window() {
    seeds(2).check(|seed| {
        let mut sim = Cluster::<Closed>::new(seed, world(1, Net::reliable()));
        let n0 = NodeId(0);
        for i in 1..=LIMIT {
            let answer = acquire(&mut sim, n0)?;
            if answer != QuotaResponse::Allowed {
                return Err(sim.fail(
                    "a node admits up to the limit",
                    format!(
                        "request {i} of a window with a limit of {LIMIT} was answered \
                         {answer:?}; a node alone knows the exact total"
                    ),
                ));
            }
        }
        // The next request arrives at tick 998, still in window 0; the one after at 1000, the
        // first tick of window 1.
        sim.run_until(WINDOW - 3)?;
        let answer = acquire(&mut sim, n0)?;
        if answer != QuotaResponse::Refused {
            return Err(sim.fail(
                "a node admits no more than the limit",
                format!(
                    "request {} of window 0 (at tick {}) was answered {answer:?}: the limit is \
                     {LIMIT} per window",
                    LIMIT + 1,
                    WINDOW - 2
                ),
            ));
        }
        sim.run_until(WINDOW - 1)?;
        for i in 1..=LIMIT {
            let answer = acquire(&mut sim, n0)?;
            if answer != QuotaResponse::Allowed {
                return Err(sim.fail(
                    "a new window starts from zero",
                    format!(
                        "request {i} of window 1 (from tick {WINDOW}) was answered {answer:?}: \
                         the count of window 0 must not carry over"
                    ),
                ));
            }
        }
        let answer = acquire(&mut sim, n0)?;
        if answer != QuotaResponse::Refused {
            return Err(sim.fail(
                "a node admits no more than the limit",
                format!(
                    "request {} of window 1 was answered {answer:?}: the limit is {LIMIT} per \
                     window",
                    LIMIT + 1
                ),
            ));
        }
        Ok(())
    });
}

/// Five windows of heavy traffic spread over every node, on a network that loses and
/// duplicates messages; the cluster must admit at least the limit and at most limit + slack in
/// each.
fn shares_one_quota<S: QuotaSettings>(seed: u64) -> Result<(), Failure> {
    let net = Net::lossy(0.2).duplicating(0.2);
    let mut sim = Cluster::<S>::new(seed, world(NODES, net));
    watch_admissions(
        &mut sim,
        "the cluster admits at most limit + slack per window",
        within_limit_and_slack,
    );
    for window in 0..5 {
        let start = window * WINDOW;
        sim.workload(demand(20, Target::Random, start, start + 400));
    }
    sim.run_until(5 * WINDOW)?;
    expect_admitted(
        &sim,
        0..5,
        &[0, 1, 2, 3, 4],
        LIMIT,
        "Every node could reach every other: did a node add a peer's reported count to what it \
         already knew (counting it twice), instead of keeping the larger of the two?",
    )
}

#[test]
fn the_cluster_admits_the_limit_and_no_more() {
    seeds(4).check(shares_one_quota::<Closed>);
    seeds(4).check(shares_one_quota::<Open>);
}

#[test]
fn one_busy_node_can_use_the_whole_limit() {
    seeds(3).check(|seed| {
        let mut sim = Cluster::<Closed>::new(seed, world(NODES, Net::reliable()));
        watch_admissions(
            &mut sim,
            "the cluster admits at most limit + slack per window",
            within_limit_and_slack,
        );
        // Window k: all traffic goes to node k.
        for k in 0..NODES as u64 {
            let start = k * WINDOW;
            let target = Target::Node(NodeId(k as u32));
            sim.workload(demand(6, target, start, start + 800));
        }
        sim.run_until(NODES as u64 * WINDOW)?;
        for k in 0..NODES {
            expect_admitted(
                &sim,
                [k as u64],
                &[k],
                LIMIT,
                "The quota belongs to the cluster: a node that gets all the traffic may use all \
                 of it. Does this node send its count to its peers (so that they can confirm \
                 it), and does it learn that they admitted nothing?",
            )?;
        }
        Ok(())
    });
}

#[test]
fn fail_closed_overshoot_stays_within_the_slack_during_partitions() {
    seeds(5).check(|seed| {
        let mut sim = Cluster::<Closed>::new(seed, world(NODES, Net::lossy(0.1)));
        watch_admissions(
            &mut sim,
            "failing closed, the cluster admits at most limit + slack per window",
            within_limit_and_slack,
        );
        sim.nemesis(
            Nemesis::between(0, 6 * WINDOW)
                .partitions()
                .every(100, 300)
                .lasting(200, 800),
        );
        for window in 0..8 {
            let start = window * WINDOW;
            sim.workload(demand(12, Target::Random, start, start + 600));
        }
        sim.run_until(8 * WINDOW)?;
        // The nemesis healed everything at tick 6000: window 7 must be back to normal.
        expect_admitted(
            &sim,
            [7],
            &[0, 1, 2, 3, 4],
            LIMIT,
            "Every partition healed at tick 6000, a whole window earlier. Does a node that \
             refused while cut off start admitting again once its peers confirm its count?",
        )
    });
}

/// n0 is cut off from the other four nodes from tick 500 to 2900, so windows 1 and 2 lie wholly
/// inside the partition. 4 clients keep asking n0 and one client keeps asking each of n1..n4,
/// until tick 4990.
fn isolated_n0<S: QuotaSettings>(seed: u64) -> Cluster<S> {
    let mut sim = Cluster::<S>::new(seed, world(NODES, Net::reliable()));
    sim.schedule(500, Fault::Isolate(NodeId(0)));
    sim.schedule(2_900, Fault::Heal);
    sim.workload(demand(4, Target::Node(NodeId(0)), 0, 5 * WINDOW - 10));
    for j in 1..NODES as u32 {
        sim.workload(demand(1, Target::Node(NodeId(j)), 0, 5 * WINDOW - 10));
    }
    sim
}

#[test]
fn fail_closed_an_isolated_node_cannot_double_the_quota() {
    seeds(3).check(|seed| {
        let mut sim = isolated_n0::<Closed>(seed);
        watch_admissions(
            &mut sim,
            "failing closed, the cluster admits at most limit + slack per window",
            |window, counts| {
                within_limit_and_slack(window, counts).map_err(|detail| {
                    format!(
                        "{detail}\nn0 was cut off from tick 500 to 2900. Failing closed, a node \
                         that cannot hear a peer cannot know what that peer admits: what may it \
                         still admit on its own?"
                    )
                })
            },
        );
        sim.run_until(5 * WINDOW)?;
        every_request_answered(&sim)
    });
}

#[test]
fn fail_closed_recovers_once_the_partition_heals() {
    seeds(3).check(|seed| {
        let mut sim = isolated_n0::<Closed>(seed);
        sim.run_until(5 * WINDOW)?;
        expect_admitted(
            &sim,
            [3, 4],
            &[0, 1, 2, 3, 4],
            LIMIT,
            "n0 was cut off from tick 500 to 2900; windows 3 and 4 came after the heal. Does a \
             node stay closed after it hears its peers again? Which of its numbers still \
             belong to the partition?",
        )?;
        // Every node, n0 included, admits the first request of a fresh window.
        sim.run_until(6 * WINDOW)?;
        for j in 0..NODES as u32 {
            let node = NodeId(j);
            let answer = acquire(&mut sim, node)?;
            if answer != QuotaResponse::Allowed {
                return Err(sim.fail(
                    "failing closed recovers after the partition heals",
                    format!(
                        "{node}'s first request of window 6, 3100 ticks after the partition \
                         healed and with no other traffic, was answered {answer:?}"
                    ),
                ));
            }
        }
        Ok(())
    });
}

#[test]
fn fail_open_keeps_both_sides_serving_within_a_limit_each() {
    seeds(3).check(|seed| {
        let mut sim = isolated_n0::<Open>(seed);
        watch_admissions(
            &mut sim,
            "failing open, each side of the partition admits at most limit + slack per window",
            |window, counts| {
                let n0 = counts.first().copied().unwrap_or(0);
                let rest: u64 = counts.iter().skip(1).sum();
                let inside = window == 1 || window == 2;
                if inside && n0.max(rest) > LIMIT + SLACK {
                    let (side, total) = if n0 > rest {
                        ("n0 alone", n0)
                    } else {
                        ("n1..n4 together", rest)
                    };
                    return Err(format!(
                        "in window {window} ({}), inside the partition, {side} admitted {total} \
                         requests ({}), over the limit of {LIMIT} plus the slack of {SLACK}.\n\
                         Failing open means serving without the unreachable peers, not without \
                         a limit: each side still limits with the counts it can see.",
                        ticks_of(window),
                        per_node(counts)
                    ));
                }
                if window >= 3 {
                    return within_limit_and_slack(window, counts).map_err(|detail| {
                        format!(
                            "{detail}\nThe partition healed at tick 2900, before this window \
                             began: does a node wait for a peer's confirmations again once it \
                             hears from it?"
                        )
                    });
                }
                if n0 + rest > 2 * (LIMIT + SLACK) {
                    return Err(format!(
                        "in window {window} the two sides admitted {} requests ({}), more than \
                         twice the limit plus the slack: each side of a partition may use the \
                         quota once, not more",
                        n0 + rest,
                        per_node(counts)
                    ));
                }
                Ok(())
            },
        );
        sim.run_until(5 * WINDOW)?;
        expect_admitted(
            &sim,
            [1, 2],
            &[0],
            LIMIT,
            "n0 was cut off from everyone for the whole window. Failing open, a node stops \
             waiting for peers it has not heard from for suspect_after ticks: alone, it should \
             serve up to the limit.",
        )?;
        expect_admitted(
            &sim,
            [1, 2],
            &[1, 2, 3, 4],
            LIMIT,
            "n1..n4 could reach each other but not n0 for the whole window. Failing open, they \
             should stop waiting for n0's confirmations and share the limit among themselves.",
        )?;
        expect_admitted(
            &sim,
            [3, 4],
            &[0, 1, 2, 3, 4],
            LIMIT,
            "The partition healed at tick 2900: the whole cluster should share the limit again.",
        )
    });
}

#[test]
fn fail_open_still_counts_what_a_silent_peer_admitted() {
    seeds(3).check(|seed| {
        let mut sim = Cluster::<Open>::new(seed, world(NODES, Net::reliable()));
        watch_admissions(
            &mut sim,
            "failing open, the quota a suspected peer used stays used",
            |window, counts| {
                within_limit_and_slack(window, counts).map_err(|detail| {
                    format!(
                        "{detail}\nn1..n4 used the quota before tick 400 and n0 heard of it; n0 \
                         was cut off at tick 500 and asked from tick 600. Presuming a peer gone \
                         means no longer waiting for its confirmations: does n0 also forget what \
                         that peer is known to have admitted?"
                    )
                })
            },
        );
        for j in 1..NODES as u32 {
            sim.workload(demand(5, Target::Node(NodeId(j)), 0, 400));
        }
        sim.schedule(500, Fault::Isolate(NodeId(0)));
        sim.workload(demand(10, Target::Node(NodeId(0)), 600, WINDOW - 10));
        sim.run_until(WINDOW)?;
        every_request_answered(&sim)
    });
}

#[test]
fn fail_open_lifts_a_suspicion_once_the_peer_is_heard_again() {
    seeds(3).check(|seed| {
        let mut sim = Cluster::<OpenPatient>::new(seed, world(NODES, Net::reliable()));
        watch_admissions(
            &mut sim,
            "failing open, the cluster admits at most limit + slack while nobody is suspected",
            |window, counts| {
                if window != 2 {
                    return Ok(());
                }
                within_limit_and_slack(window, counts).map_err(|detail| {
                    format!(
                        "{detail}\nn0 was cut off from tick 100 to 1400 (long enough to be \
                         presumed gone, with suspect_after = 200), then heard again for 900 \
                         ticks, then cut off from 2300 to 2400: too short to be presumed gone \
                         again. Does a node wait for a peer's confirmations again once it hears \
                         from it, or does a suspicion last forever?"
                    )
                })
            },
        );
        sim.schedule(100, Fault::Isolate(NodeId(0)));
        sim.schedule(1_400, Fault::Heal);
        sim.schedule(2_300, Fault::Isolate(NodeId(0)));
        sim.schedule(2_400, Fault::Heal);
        sim.workload(demand(10, Target::Node(NodeId(0)), 2_300, 2_400));
        for j in 1..NODES as u32 {
            sim.workload(demand(5, Target::Node(NodeId(j)), 2_300, 2_400));
        }
        sim.run_until(3 * WINDOW)?;
        every_request_answered(&sim)
    });
}
