//! Stage 7 (kv_service): a linearizable key-value service on the replicated log. Clients retry
//! with the same request id (after lost requests, lost answers, leader changes), and every
//! operation must take effect exactly once: appends make a double application visible. Every
//! history is checked for linearizability.
//!
//! Every test runs a fixed set of seeds. A failure prints the seed and a timeline of the run;
//! `KATAS_SEED=<seed>` replays exactly that run, `KATAS_SEEDS=200` tries more seeds.

use katas_sim::lin::kv::{self, KvInput, KvOutput};
use katas_sim::{
    Config, Failure, Fault, LinOp, Nemesis, Net, NodeId, Outcome, Sim, Tick, Verdict, Workload,
    seeds,
};
use replication::raft::{RaftNode, RaftRequest, RaftResponse};

const KEYS: [&str; 3] = ["x", "y", "z"];

/// Clients doing gets, puts and appends of unique values on three keys. They follow `NotLeader`
/// hints and, after a timeout, retry the same request (same id) at the next node.
fn kv_clients(clients: usize, until: Tick) -> Workload<RaftNode> {
    let workload = Workload::new(clients, |op| {
        let key = KEYS[op.rng.below(3) as usize].to_string();
        let value = format!("{}.{};", op.client.0, op.seq);
        Some(match op.rng.below(10) {
            0..=3 => RaftRequest::Get { key },
            4..=5 => RaftRequest::Put { key, value },
            _ => RaftRequest::Append { key, value },
        })
    });
    retrying(workload.think(0, 20).until(until))
}

/// Client behaviour: wait 100 ticks per attempt, then retry the same request at the next node;
/// follow `NotLeader` hints; give up (indefinite) after 20 attempts.
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
            // Every attempt was told NotLeader: nothing was appended.
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
            "the key-value service is linearizable",
            format!(
                "{report}\nIf a value shows up twice in an appended string, one request was applied \
                 twice: a retry (same RequestId) must not take effect again. If a read is stale, did \
                 it go through the log, and did the node answering it still lead?"
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

/// Once the faults are over and the other clients stopped: one client reads every key (with
/// retries), so that lost or doubled writes show in the history.
fn read_everything(sim: &mut Sim<RaftNode>) -> Result<(), Failure> {
    wait_for_leader(sim, 2_000)?;
    let start = sim.now();
    let reads = Workload::new(1, |op| {
        KEYS.get(op.count as usize).map(|key| RaftRequest::Get {
            key: key.to_string(),
        })
    });
    sim.workload(retrying(reads).starting_at(start));
    // Until the three reads are answered: on the slowest, lossiest network here a read can take
    // a few hundred ticks (seed 74 of a 500-seed sweep needed more than 1500 for all three).
    let answered = |s: &Sim<RaftNode>| {
        let reads = s.history().ops().iter().filter(|op| op.invoked >= start);
        reads.filter(|op| op.response().is_some()).count() >= KEYS.len()
    };
    sim.run_while(start + 4_000, |s| !answered(s))?;
    for op in sim.history().ops().iter().filter(|op| op.invoked >= start) {
        if !matches!(op.response(), Some(RaftResponse::Value(_))) {
            return Err(sim.fail(
                "the service answers reads once the faults are over",
                format!("{op}, with the network healed and every node up"),
            ));
        }
    }
    Ok(())
}

/// Fails unless at least `percent`% of the operations invoked in `[from, to)` completed.
fn check_available(
    sim: &Sim<RaftNode>,
    from: Tick,
    to: Tick,
    percent: usize,
) -> Result<(), Failure> {
    let ops: Vec<_> = sim
        .history()
        .ops()
        .iter()
        .filter(|op| (from..to).contains(&op.invoked))
        .collect();
    let done = ops.iter().filter(|op| op.response().is_some()).count();
    if done * 100 < ops.len() * percent {
        return Err(sim.fail(
            "the service is available on a healthy cluster",
            format!(
                "only {done} of the {} operations invoked between ticks {from} and {to} completed (at \
                 least {percent}% should)",
                ops.len()
            ),
        ));
    }
    Ok(())
}

#[test]
fn puts_gets_and_appends_work() {
    seeds(3).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        let leader = wait_for_leader(&mut sim, 1_000)?;
        let steps = [
            (RaftRequest::Put { key: "k".into(), value: "a".into() }, RaftResponse::Done),
            (RaftRequest::Append { key: "k".into(), value: "b".into() }, RaftResponse::Done),
            (RaftRequest::Get { key: "k".into() }, RaftResponse::Value(Some("ab".into()))),
            (RaftRequest::Append { key: "new".into(), value: "c".into() }, RaftResponse::Done),
            (RaftRequest::Get { key: "new".into() }, RaftResponse::Value(Some("c".into()))),
            (RaftRequest::Get { key: "none".into() }, RaftResponse::Value(None)),
        ];
        for (req, expected) in steps {
            let shown = format!("{req:?}");
            let answer = sim.call(leader, req, 300)?;
            if answer.as_ref() != Some(&expected) {
                return Err(sim.fail(
                    "the leader serves gets, puts and appends",
                    format!("{shown} to the leader {leader} was answered {answer:?}, expected {expected:?}"),
                ));
            }
        }
        let follower = sim.ids().iter().copied().find(|id| *id != leader).unwrap_or(leader);
        let answer = sim.call(follower, RaftRequest::Get { key: "k".into() }, 100)?;
        let expected = RaftResponse::NotLeader { leader: Some(leader) };
        if answer.as_ref() != Some(&expected) {
            return Err(sim.fail(
                "a follower redirects to the leader",
                format!("Get to {follower} was answered {answer:?}, expected {expected:?}"),
            ));
        }
        Ok(())
    });
}

#[test]
fn linearizable_on_a_healthy_cluster() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        sim.workload(kv_clients(5, 2_500).starting_at(400));
        sim.run_until(2_800)?;
        println!("seed {seed}: {}", sim.stats());
        check_available(&sim, 400, 2_500, 95)?;
        check_linearizable(&sim)
    });
}

#[test]
fn a_cut_off_leader_never_answers_a_stale_read() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        let old = wait_for_leader(&mut sim, 1_000)?;
        let put = |value: &str| RaftRequest::Put {
            key: "x".into(),
            value: value.into(),
        };
        sim.call(old, put("1"), 300)?;
        sim.apply(Fault::Isolate(old));
        let deadline = sim.now() + 1_500;
        sim.run_while(deadline, |s| settled_leader(s).is_none_or(|l| l == old))?;
        let new = wait_for_leader(&mut sim, 100)?;
        let answer = sim.call(new, put("2"), 300)?;
        if answer != Some(RaftResponse::Done) {
            return Err(sim.fail(
                "the new leader serves writes",
                format!("Put x=2 to the new leader {new} was answered {answer:?}"),
            ));
        }
        sim.run_for(5)?;
        // The old leader may not know yet that it was replaced. It must not answer from its
        // own, stale, state.
        sim.call(old, RaftRequest::Get { key: "x".into() }, 300)?;
        check_linearizable(&sim)
    });
}

#[test]
fn retried_requests_take_effect_once() {
    // 15% of the requests and answers between clients and nodes are lost, so clients retry a
    // lot, often after their first attempt took effect.
    seeds(8).check(|seed| {
        // Slow, lossy links between nodes: commits often take longer than a client's timeout,
        // so retries also arrive while the first attempt is still on its way through the log.
        let config = Config::new(3)
            .net(Net::lossy(0.2).delays(5, 40))
            .client_net(Net::lossy(0.15).duplicating(0.0));
        let mut sim = Sim::<RaftNode>::new(seed, config);
        // Impatient clients: they resend to the same node after 40 ticks, often while their
        // first attempt is still on its way through the log.
        let clients = kv_clients(4, 2_500).timeout(40).retry_at_same_node();
        sim.workload(clients.starting_at(400));
        sim.run_until(2_800)?;
        read_everything(&mut sim)?;
        check_linearizable(&sim)
    });
}

#[test]
fn retries_across_leader_changes_take_effect_once() {
    seeds(8).check(|seed| {
        let config = Config::new(5)
            .net(Net::lossy(0.05))
            .client_net(Net::lossy(0.1).duplicating(0.0));
        let mut sim = Sim::<RaftNode>::new(seed, config);
        sim.workload(kv_clients(4, 3_500).starting_at(300));
        for _ in 0..5 {
            sim.run_for(500)?;
            let leader = sim
                .nodes_up()
                .find(|(_, n)| n.is_leader())
                .map(|(id, _)| id);
            if let Some(leader) = leader {
                sim.crash(leader);
                sim.run_for(200)?;
                sim.restart(leader);
            }
        }
        sim.run_until(3_800)?;
        read_everything(&mut sim)?;
        check_linearizable(&sim)
    });
}

#[test]
fn linearizable_under_partitions_and_crashes() {
    seeds(10).check(|seed| {
        let config = Config::new(5)
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
        sim.workload(kv_clients(4, 3_500).starting_at(300));
        sim.run_until(3_800)?;
        read_everything(&mut sim)?;
        check_linearizable(&sim)
    });
}

/// Every node but `node`, as one-way links from each of them to `node`.
fn links_to(sim: &Sim<RaftNode>, node: NodeId) -> Vec<(NodeId, NodeId)> {
    sim.ids()
        .iter()
        .copied()
        .filter(|id| *id != node)
        .map(|id| (id, node))
        .collect()
}

#[test]
fn a_retried_request_takes_effect_once_whenever_it_arrives() {
    // Scripted. (1) A client's Append reaches the leader, which replicates it, but the
    // followers' acknowledgements are held, so it cannot commit; the client gives up waiting and
    // sends the same request (same RequestId) to the same leader: now two copies are in the log.
    // The acknowledgements arrive, both copies commit; only one may take effect. (2) Another
    // Append reaches the leader and is stored by the followers, whose acknowledgements are held
    // again; the leader crashes before it can answer. The next leader commits the entry; the
    // client retries there. It must be answered without appending again.
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        let leader = wait_for_leader(&mut sim, 1_000)?;
        sim.run_for(100)?;
        let append = |value: &str| RaftRequest::Append {
            key: "x".into(),
            value: value.into(),
        };
        let acks = links_to(&sim, leader);
        sim.apply(Fault::Hold(acks.clone()));
        let first = sim.request(leader, append("a"));
        sim.run_for(40)?;
        sim.resend(first, leader);
        sim.run_for(40)?;
        sim.apply(Fault::Release(acks.clone()));
        sim.run_while(sim.now() + 300, |s| s.history().response(first).is_none())?;
        sim.run_for(50)?;
        // (2): the answer never comes from the first leader.
        sim.apply(Fault::Hold(acks));
        let second = sim.request(leader, append("b"));
        sim.run_for(40)?;
        sim.crash(leader);
        sim.heal();
        let deadline = sim.now() + 1_500;
        sim.run_while(deadline, |s| settled_leader(s).is_none_or(|l| l == leader))?;
        let new = wait_for_leader(&mut sim, 100)?;
        sim.run_for(100)?;
        sim.resend(second, new);
        sim.run_while(sim.now() + 300, |s| s.history().response(second).is_none())?;
        sim.restart(leader);
        sim.call(new, RaftRequest::Get { key: "x".into() }, 300)?;
        check_linearizable(&sim)
    });
}
