//! Stage 8 (lease_reads): reads served by the leader without the log, within a budget of two
//! messages between nodes per read, and still linearizable: with drifting clocks (±10%), with a
//! leader cut off while clients keep reading from it, under partitions and crashes.
//!
//! Every test runs a fixed set of seeds. A failure prints the seed and a timeline of the run;
//! `KATAS_SEED=<seed>` replays exactly that run, `KATAS_SEEDS=200` tries more seeds.

use std::cell::Cell;

use katas_sim::lin::kv::{self, KvInput, KvOutput};
use katas_sim::{
    Config, Failure, Fault, LinOp, Nemesis, Net, NodeId, Outcome, Sim, Target, Tick, Verdict,
    Workload, seeds,
};
use replication::raft::{RaftNode, RaftRequest, RaftResponse};

const KEYS: [&str; 3] = ["x", "y", "z"];

/// The clock drift of every test here: each node's clock runs up to 10% fast or slow.
const DRIFT_PPM: u32 = 100_000;

fn drifting(nodes: usize) -> Config {
    Config::new(nodes).clock_drift_ppm(DRIFT_PPM)
}

/// Client behaviour: follow `NotLeader` hints, retry the same request after 100 ticks.
fn retrying(workload: Workload<RaftNode>) -> Workload<RaftNode> {
    workload
        .timeout(100)
        .attempts(20)
        .retry_on_timeout()
        .backoff(10)
        .retry_if(|resp| match resp {
            RaftResponse::NotLeader { leader: Some(l) } => Verdict::RetryAt(*l),
            RaftResponse::NotLeader { leader: None } => Verdict::Retry,
            _ => Verdict::Done,
        })
}

/// For clients pinned to one node: a `NotLeader` answer ends the operation as rejected (it did
/// nothing), any other answer completes it.
fn rejects_not_leader(resp: &RaftResponse) -> Verdict {
    match resp {
        RaftResponse::NotLeader { .. } => Verdict::Retry,
        _ => Verdict::Done,
    }
}

/// Clients mixing reads (`read_percent`%) with puts and appends of unique values.
fn kv_clients(clients: usize, read_percent: u64, until: Tick) -> Workload<RaftNode> {
    let workload = Workload::new(clients, move |op| {
        let key = KEYS[op.rng.below(3) as usize].to_string();
        let value = format!("{}.{};", op.client.0, op.seq);
        let dice = op.rng.below(100);
        Some(if dice < read_percent {
            RaftRequest::Get { key }
        } else if dice % 2 == 0 {
            RaftRequest::Put { key, value }
        } else {
            RaftRequest::Append { key, value }
        })
    });
    retrying(workload.think(0, 20).until(until))
}

/// Checks the history of gets, puts and appends for linearizability.
fn check_linearizable(sim: &Sim<RaftNode>) -> Result<(), Failure> {
    let mut ops = Vec::new();
    for op in sim.history().ops() {
        let input = match &op.request {
            RaftRequest::Get { key } => KvInput::Get(key.clone()),
            RaftRequest::Put { key, value } => KvInput::Put(key.clone(), value.clone()),
            RaftRequest::Append { key, value } => KvInput::Append(key.clone(), value.clone()),
            _ => continue,
        };
        let (output, ret) = match &op.outcome {
            Outcome::Ok { response, at } => {
                let output = match (response, &input) {
                    (RaftResponse::Value(v), KvInput::Get(_)) => KvOutput::Value(v.clone()),
                    (RaftResponse::Done, KvInput::Put(..) | KvInput::Append(..)) => KvOutput::Done,
                    (other, _) => {
                        return Err(sim.fail(
                            "gets are answered Value, puts and appends Done",
                            format!("{op} was answered {other:?}"),
                        ));
                    }
                };
                (Some(output), Some(*at))
            }
            Outcome::Rejected { .. } => continue,
            Outcome::Indefinite { .. } | Outcome::Pending => (None, None),
        };
        ops.push(LinOp {
            label: op.id.to_string(),
            input,
            output,
            call: op.invoked,
            ret,
        });
    }
    kv::check(&ops).into_result().map_err(|report| {
        sim.fail(
            "reads without the log stay linearizable",
            format!(
                "{report}\nA stale read means a node answered from its own state while another \
                 leader could already have committed a newer write: was its lease still valid? A \
                 lease is only safe if no other leader can be elected before it ends, on any of \
                 the drifting clocks, and if the leader has applied every committed entry."
            ),
        )
    })
}

/// The leader followed by a majority, if any.
fn settled_leader(sim: &Sim<RaftNode>) -> Option<NodeId> {
    let majority = sim.ids().len() / 2 + 1;
    let follows = |term: u64| sim.nodes_up().filter(|(_, n)| n.term() == term).count();
    sim.nodes_up()
        .find(|(_, n)| n.is_leader() && follows(n.term()) >= majority)
        .map(|(id, _)| id)
}

fn wait_for_leader(sim: &mut Sim<RaftNode>, within: Tick) -> Result<NodeId, Failure> {
    let deadline = sim.now() + within;
    sim.run_while(deadline, |s| settled_leader(s).is_none())?;
    settled_leader(sim).ok_or_else(|| {
        sim.fail(
            "a leader is elected",
            format!("no leader followed by a majority within {within} ticks"),
        )
    })
}

#[test]
fn reads_cost_at_most_two_messages_each() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, drifting(5));
        let leader = wait_for_leader(&mut sim, 1_000)?;
        for key in KEYS {
            let put = RaftRequest::Put {
                key: key.into(),
                value: "v".into(),
            };
            sim.call(leader, put, 300)?;
        }
        sim.run_for(100)?;
        sim.reset_stats();
        let reads = Workload::new(5, |op| {
            Some(RaftRequest::Get {
                key: KEYS[op.rng.below(3) as usize].to_string(),
            })
        });
        let until = sim.now() + 2_000;
        sim.workload(retrying(reads.think(0, 5).target(Target::Node(leader)).until(until)));
        sim.run_until(until)?;
        let stats = sim.stats().clone();
        println!("seed {seed}: reads only: {stats}");
        let per_read = stats.messages_per_op();
        if stats.ops_ok < 200 || per_read > 2.0 {
            return Err(sim.fail(
                "at most 2 messages between nodes per read",
                format!(
                    "{} reads completed at the leader in 2000 ticks, with {} messages between nodes: \
                     {per_read:.1} per read (the budget is 2.0, and at least 200 reads should \
                     complete). A read through the log costs a round of AppendEntries to every \
                     follower; can the leader know it is still the leader without asking, for a \
                     while after a majority answered its last heartbeat?",
                    stats.ops_ok, stats.messages
                ),
            ));
        }
        check_linearizable(&sim)
    });
}

#[test]
fn linearizable_with_drifting_clocks() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, drifting(5));
        sim.workload(kv_clients(5, 70, 3_000).starting_at(400));
        sim.run_until(3_300)?;
        println!("seed {seed}: {}", sim.stats());
        check_linearizable(&sim)
    });
}

#[test]
fn a_cut_off_leader_stops_reading_before_a_new_leader_writes() {
    seeds(10).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, drifting(5));
        let old = wait_for_leader(&mut sim, 1_000)?;
        let put = |value: &str| RaftRequest::Put {
            key: "x".into(),
            value: value.into(),
        };
        sim.call(old, put("1"), 300)?;
        // Let a few heartbeat rounds renew the lease, then cut the leader off.
        sim.run_for(120)?;
        sim.apply(Fault::Isolate(old));
        // One client keeps reading from the old leader; another writes as soon as it can,
        // through whichever leader the majority elects.
        let start = sim.now();
        let readers = Workload::new(1, |_| {
            Some(RaftRequest::Get {
                key: "x".to_string(),
            })
        })
        .target(Target::Node(old))
        .think(2, 6)
        .timeout(400)
        .retry_if(rejects_not_leader)
        .until(start + 800)
        .starting_at(start);
        sim.workload(readers);
        let writers = Workload::new(1, |op| {
            Some(RaftRequest::Put {
                key: "x".to_string(),
                value: format!("w{}", op.seq),
            })
        })
        .target(Target::RoundRobin)
        .think(0, 3)
        .until(start + 800)
        .starting_at(start);
        sim.workload(retrying(writers));
        sim.run_for(1_000)?;
        check_linearizable(&sim)
    });
}

#[test]
fn a_disruptive_candidate_cannot_unseat_a_leasing_leader() {
    // The leader loses its links to two nodes but still reaches a majority through the other
    // two. The two cut-off nodes time out and campaign with ever higher terms. If the middle
    // nodes vote for them, a second leader commits writes while the first, still holding a
    // lease it believes valid, keeps answering reads.
    seeds(20).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, drifting(5));
        let leader = wait_for_leader(&mut sim, 1_000)?;
        sim.call(
            leader,
            RaftRequest::Put {
                key: "x".into(),
                value: "0".into(),
            },
            300,
        )?;
        sim.run_for(100)?;
        let others: Vec<NodeId> = sim
            .ids()
            .iter()
            .copied()
            .filter(|id| *id != leader)
            .collect();
        let cut: Vec<(NodeId, NodeId)> = others.iter().take(2).map(|far| (leader, *far)).collect();
        sim.apply(Fault::Cut(cut));
        let start = sim.now();
        let readers = Workload::new(1, |_| {
            Some(RaftRequest::Get {
                key: "x".to_string(),
            })
        })
        .target(Target::Node(leader))
        .think(2, 6)
        .timeout(400)
        .retry_if(rejects_not_leader)
        .until(start + 1_500)
        .starting_at(start);
        sim.workload(readers);
        // The writers only ever talk to the two cut-off nodes: their writes can only commit if
        // one of those two becomes leader.
        let (far_a, far_b) = (others[0], others[1]);
        let flip = Cell::new(false);
        let writers = Workload::new(2, |op| {
            Some(RaftRequest::Put {
                key: "x".to_string(),
                value: format!("{}.{}", op.client.0, op.seq),
            })
        })
        .target(Target::Node(far_a))
        .think(0, 10)
        .timeout(100)
        .attempts(1_000)
        .backoff(5)
        .retry_if(move |resp| match resp {
            RaftResponse::NotLeader { .. } => {
                // Alternate between the two cut-off nodes, never following hints.
                flip.set(!flip.get());
                Verdict::RetryAt(if flip.get() { far_b } else { far_a })
            }
            _ => Verdict::Done,
        })
        .until(start + 1_500)
        .starting_at(start);
        sim.workload(writers);
        sim.run_for(1_700)?;
        check_linearizable(&sim)
    });
}

#[test]
fn linearizable_under_partitions_crashes_and_drift() {
    seeds(10).check(|seed| {
        let config = drifting(5)
            .net(Net::lossy(0.1))
            .client_net(Net::lossy(0.05).duplicating(0.0));
        let mut sim = Sim::<RaftNode>::new(seed, config);
        sim.nemesis(
            Nemesis::between(300, 3_500)
                .partitions()
                .crashes()
                .every(100, 300)
                .lasting(100, 600),
        );
        sim.workload(kv_clients(4, 60, 3_500).starting_at(300));
        sim.run_until(3_800)?;
        check_linearizable(&sim)
    });
}

/// The nodes other than `these`, in order.
fn all_but(sim: &Sim<RaftNode>, these: &[NodeId]) -> Vec<NodeId> {
    sim.ids()
        .iter()
        .copied()
        .filter(|id| !these.contains(id))
        .collect()
}

/// Two clients reading `x` from `node` every few ticks from now until `ticks` from now; a
/// `NotLeader` answer ends a read as rejected, and a read not answered within 30 ticks is given
/// up (indefinite), so that the clients keep probing.
fn readers_at(sim: &Sim<RaftNode>, node: NodeId, ticks: Tick) -> Workload<RaftNode> {
    let start = sim.now();
    Workload::new(2, |_| {
        Some(RaftRequest::Get {
            key: "x".to_string(),
        })
    })
    .target(Target::Node(node))
    .think(1, 3)
    .timeout(30)
    .retry_if(rejects_not_leader)
    .until(start + ticks)
    .starting_at(start)
}

/// One client writing `x` through whichever leader `among` elect, from now on.
fn writers_among(sim: &Sim<RaftNode>, among: Vec<NodeId>, ticks: Tick) -> Workload<RaftNode> {
    let start = sim.now();
    let first = among.first().copied().unwrap_or(NodeId(0));
    let next = Cell::new(0usize);
    Workload::new(1, |op| {
        Some(RaftRequest::Put {
            key: "x".to_string(),
            value: format!("w{}", op.seq),
        })
    })
    .target(Target::Node(first))
    .think(0, 3)
    .timeout(100)
    .attempts(1_000)
    .backoff(5)
    .retry_if(move |resp| match resp {
        RaftResponse::NotLeader { leader: Some(l) } if among.contains(l) => Verdict::RetryAt(*l),
        RaftResponse::NotLeader { .. } => {
            next.set(next.get() + 1);
            Verdict::RetryAt(among[next.get() % among.len()])
        }
        _ => Verdict::Done,
    })
    .until(start + ticks)
    .starting_at(start)
}

#[test]
fn a_lease_runs_from_when_the_heartbeat_was_sent() {
    // Scripted. The followers' acknowledgements to the leader become very slow (300 ticks);
    // 60 ticks later the leader's own messages stop reaching them. The followers last heard the
    // leader then, so they may elect another one 150 ticks later, and it writes. The slow
    // acknowledgements of the leader's last heartbeats arrive after that: a lease counted from
    // their arrival, instead of from when those heartbeats were sent, is still running while the
    // new leader's writes commit, and the old leader answers reads with the old value.
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        let old = wait_for_leader(&mut sim, 1_000)?;
        let put = RaftRequest::Put {
            key: "x".into(),
            value: "0".into(),
        };
        sim.call(old, put, 300)?;
        sim.run_for(100)?;
        let followers = all_but(&sim, &[old]);
        let acks: Vec<_> = followers.iter().map(|f| (*f, old)).collect();
        let beats: Vec<_> = followers.iter().map(|f| (old, *f)).collect();
        sim.apply(Fault::Slow(acks, 300));
        sim.run_for(60)?;
        sim.apply(Fault::Block(beats));
        sim.workload(readers_at(&sim, old, 600));
        sim.workload(writers_among(&sim, followers, 600));
        sim.run_for(700)?;
        check_linearizable(&sim)
    });
}

#[test]
fn a_lease_needs_a_majority_of_acknowledgements() {
    // The leader keeps one follower; the other three elect a leader and write. The one
    // follower's acknowledgements keep coming: they are not a majority, so they must not keep a
    // lease alive.
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        let old = wait_for_leader(&mut sim, 1_000)?;
        let put = RaftRequest::Put {
            key: "x".into(),
            value: "0".into(),
        };
        sim.call(old, put, 300)?;
        sim.run_for(100)?;
        let buddy = all_but(&sim, &[old])[0];
        let rest = all_but(&sim, &[old, buddy]);
        sim.apply(Fault::Partition(vec![vec![old, buddy]]));
        sim.workload(readers_at(&sim, old, 800));
        sim.workload(writers_among(&sim, rest, 800));
        sim.run_for(900)?;
        check_linearizable(&sim)
    });
}

#[test]
fn a_new_leader_reads_only_once_its_own_entry_is_committed() {
    // Scripted. Two followers F1, F2 are cut off from the leader, which commits x = 2 and 150
    // more writes with the two others, M1 and M2. Then the leader, M1 and M2 crash, and only M1
    // comes back: its log holds every committed write, but after a restart it knows nothing is
    // committed yet. M1 wins (F1 and F2 lack entries) and starts repairing their logs; their
    // first answers, refusals, already acknowledge M1's heartbeats. A lease granted before an
    // entry of M1's own term is committed reads from a state machine that has applied nothing.
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        let old = wait_for_leader(&mut sim, 1_000)?;
        let put = |key: &str, value: &str| RaftRequest::Put {
            key: key.into(),
            value: value.into(),
        };
        sim.call(old, put("x", "1"), 300)?;
        sim.run_for(100)?;
        let others = all_but(&sim, &[old]);
        let (m1, m2, f1, f2) = (others[0], others[1], others[2], others[3]);
        sim.apply(Fault::Cut(vec![(old, f1), (old, f2)]));
        let answer = sim.call(old, put("x", "2"), 300)?;
        if answer != Some(RaftResponse::Done) {
            return Err(sim.fail(
                "a leader with a majority commits",
                format!(
                    "Put x=2 to {old}, which reaches 2 of 4 followers, was answered {answer:?}"
                ),
            ));
        }
        let more: Vec<_> = (0..150)
            .map(|i| sim.request(old, put(&format!("k{i}"), "v")))
            .collect();
        let deadline = sim.now() + 600;
        sim.run_while(deadline, |s| {
            more.iter().any(|id| s.history().response(*id).is_none())
        })?;
        for id in [old, m1, m2] {
            sim.crash(id);
        }
        sim.heal();
        sim.restart(m1);
        sim.workload(readers_at(&sim, m1, 1_500));
        sim.run_for(1_600)?;
        check_linearizable(&sim)
    });
}

/// One run of the slow-leader schedule of `a_lease_allows_for_a_slow_leader_clock`, the cut-off
/// follower's campaigns released `release` ticks after the leader is isolated. Returns how the old
/// leader answered a read sent once the new leader had committed x = 2 (`None`: not answered).
fn slow_leader_run(seed: u64, release: Tick) -> Result<Option<RaftResponse>, Failure> {
    let net = Net::reliable().delays(1, 1);
    let config = Config::new(3).net(net.clone()).client_net(net);
    let mut sim = Sim::<RaftNode>::new(seed, config);
    let old = wait_for_leader(&mut sim, 1_000)?;
    let put = |value: &str| RaftRequest::Put {
        key: "x".into(),
        value: value.into(),
    };
    sim.call(old, put("1"), 300)?;
    sim.run_for(100)?;
    let others = all_but(&sim, &[old]);
    let (near, far) = (others[0], others[1]);
    // The extremes of the ±10% the stage allows: the leader's clock slow, the followers' fast.
    sim.apply(Fault::Clock(old, 900_000));
    sim.apply(Fault::Clock(near, 1_100_000));
    sim.apply(Fault::Clock(far, 1_100_000));
    // `far` stops hearing the leader (what the leader sends it is held, never delivered) and
    // campaigns; its requests to `near` are held too, and `far` cannot reach the leader.
    sim.apply(Fault::Block(vec![(far, old)]));
    sim.apply(Fault::Hold(vec![(old, far), (far, near)]));
    sim.run_for(400)?;
    // The leader's next heartbeat shows as one more message held on its link to `far`; `near`
    // gets its copy a tick later and its acknowledgement is back a tick after that. Then the
    // leader is cut off: its lease runs from that heartbeat.
    let held = sim.held_on(old, far);
    let deadline = sim.now() + 400;
    sim.run_while(deadline, |s| s.held_on(old, far) == held)?;
    sim.run_for(2)?;
    sim.apply(Fault::Isolate(old));
    let isolated = sim.now();
    sim.run_until(isolated + release)?;
    // `near` now gets `far`'s campaign at once: it may vote as soon as it no longer follows the
    // old leader.
    sim.apply(Fault::Release(vec![(far, near)]));
    let deadline = sim.now() + 1_000;
    let leads = |s: &Sim<RaftNode>, id: NodeId| s.node(id).is_some_and(|n| n.is_leader());
    sim.run_while(deadline, |s| !leads(s, near) && !leads(s, far))?;
    let Some(new) = [near, far].into_iter().find(|id| leads(&sim, *id)) else {
        return Err(sim.fail(
            "the majority elects a new leader",
            format!("neither {near} nor {far} leads 1000 ticks after {old} was cut off"),
        ));
    };
    let write = sim.call(new, put("2"), 300)?;
    if write != Some(RaftResponse::Done) {
        return Err(sim.fail(
            "a new leader with a majority commits",
            format!("Put x=2 to {new}, leader of both followers, was answered {write:?}"),
        ));
    }
    let read = sim.request(
        old,
        RaftRequest::Get {
            key: "x".to_string(),
        },
    );
    sim.run_for(20)?;
    let answer = sim.history().response(read).cloned();
    if answer == Some(RaftResponse::Value(Some("1".to_string()))) {
        let at = sim.history().get(read).and_then(|op| op.completed_at());
        return Err(sim.fail(
            "a lease allows for drifting clocks",
            format!(
                "{old}, cut off at tick {isolated}, answered x = \"1\" (at tick {}) after {new} \
                 was elected and committed x = \"2\". {old}'s clock ran 10% slow, {near}'s and \
                 {far}'s 10% fast: how many true ticks does your lease last on a slow clock, and \
                 how soon may a follower on a fast clock vote again?",
                at.unwrap_or(sim.now())
            ),
        ));
    }
    check_linearizable(&sim)?;
    Ok(answer)
}

#[test]
fn a_lease_allows_for_a_slow_leader_clock() {
    // Scripted. Three nodes, every message takes exactly one tick. The leader's clock runs 10%
    // slow and both followers' 10% fast, the widest gap the stage allows. One follower, cut off
    // from the leader, campaigns; the other keeps the leader's lease alive until the leader is
    // cut off just after a heartbeat. The campaign reaches the other follower at each instant
    // from 1 to 300 ticks later (one run each): once that follower may vote, a leader is elected
    // and commits x = 2, and then the old leader is asked for x. A lease as long as a follower's
    // election timeout, or shortened for one clock's drift only, is still running on the slow
    // clock when the fast followers are already free to elect: a stale read.
    seeds(2).check(|seed| {
        for release in 1..=300 {
            slow_leader_run(seed, release)?;
        }
        Ok(())
    });
}
