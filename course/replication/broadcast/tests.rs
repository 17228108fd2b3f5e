//! Stage 2 (broadcast): every node learns every acknowledged value, despite loss, partitions and
//! crashes, within a message budget.
//!
//! Every test runs a fixed set of seeds. A failure prints the seed and a timeline of the run;
//! `KATAS_SEED=<seed>` replays exactly that run, `KATAS_SEEDS=200` tries more seeds.

use std::collections::BTreeSet;

use katas_sim::{Config, Failure, Nemesis, Net, NodeId, Sim, Tick, Workload, seeds};
use replication::broadcast::{BroadcastNode, BroadcastRequest, BroadcastResponse};

const NODES: usize = 5;

/// `clients` clients broadcasting `total` distinct values (0, 1, 2, ...) until `until`.
fn broadcasts(clients: usize, total: u64, until: Tick) -> Workload<BroadcastNode> {
    Workload::new(clients, move |op| {
        (op.count < total).then_some(BroadcastRequest::Broadcast(op.count))
    })
    .think(5, 25)
    .timeout(50)
    .until(until)
}

/// Lets the cluster settle for `settle` ticks, then reads every node and checks that they all
/// know the same values: every acknowledged one, and only values that clients broadcast.
fn check_everyone_knows_everything(
    sim: &mut Sim<BroadcastNode>,
    settle: Tick,
) -> Result<(), Failure> {
    sim.run_for(settle)?;
    let mut sent = BTreeSet::new();
    let mut acked = BTreeSet::new();
    for op in sim.history().ops() {
        if let BroadcastRequest::Broadcast(v) = op.request {
            sent.insert(v);
            if op.response() == Some(&BroadcastResponse::BroadcastOk) {
                acked.insert(v);
            }
        }
    }
    let mut first: Option<(NodeId, Vec<u64>)> = None;
    for node in sim.ids().to_vec() {
        let values = match sim.call(node, BroadcastRequest::Read, 100)? {
            Some(BroadcastResponse::ReadOk(values)) => values,
            other => {
                return Err(sim.fail(
                    "Read is answered with ReadOk",
                    format!(
                        "{node} answered a Read with {other:?} (None: no answer within 100 ticks)"
                    ),
                ));
            }
        };
        if values.windows(2).any(|w| w[0] >= w[1]) {
            return Err(sim.fail(
                "ReadOk lists values in ascending order, each once",
                format!("{node} answered {values:?}"),
            ));
        }
        if let Some(invented) = values.iter().find(|v| !sent.contains(v)) {
            return Err(sim.fail(
                "nodes only know values that clients broadcast",
                format!("{node} knows {invented}, which no client broadcast"),
            ));
        }
        let have: BTreeSet<u64> = values.iter().copied().collect();
        let missing: Vec<u64> = acked.difference(&have).copied().collect();
        if !missing.is_empty() {
            return Err(sim.fail(
                "every acknowledged value reaches every node",
                format!(
                    "{settle} ticks after the last broadcast and with the network healed, {node} still \
                     lacks {} acknowledged value(s): {:?}{}.\nWas a message carrying them lost, and did \
                     anyone send it again? Did a node crash before passing them on?",
                    missing.len(),
                    &missing[..missing.len().min(10)],
                    if missing.len() > 10 { " ..." } else { "" }
                ),
            ));
        }
        match &first {
            None => first = Some((node, values)),
            Some((other, theirs)) if *theirs != values => {
                let only_theirs: Vec<_> = theirs.iter().filter(|v| !have.contains(v)).collect();
                return Err(sim.fail(
                    "all nodes converge to the same values",
                    format!(
                        "{other} knows {only_theirs:?} but {node} does not: a value one node has must \
                         reach all of them, even if its broadcast was never acknowledged"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[test]
fn a_node_reads_its_own_broadcasts() {
    seeds(3).check(|seed| {
        let mut sim = Sim::<BroadcastNode>::new(seed, Config::new(3));
        for v in [7, 3, 5] {
            let answer = sim.call(NodeId(0), BroadcastRequest::Broadcast(v), 100)?;
            if answer != Some(BroadcastResponse::BroadcastOk) {
                return Err(sim.fail(
                    "Broadcast is answered with BroadcastOk",
                    format!("Broadcast({v}) to n0 was answered {answer:?}"),
                ));
            }
        }
        let read = sim.call(NodeId(0), BroadcastRequest::Read, 100)?;
        let expected = Some(BroadcastResponse::ReadOk(vec![3, 5, 7]));
        if read != expected {
            return Err(sim.fail(
                "a node knows the values broadcast to it, in ascending order",
                format!("after broadcasting 7, 3, 5 to n0, Read answered {read:?}, expected {expected:?}"),
            ));
        }
        Ok(())
    });
}

#[test]
fn every_node_learns_every_value() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<BroadcastNode>::new(seed, Config::new(NODES));
        sim.workload(broadcasts(4, 100, 3_000));
        sim.run_until(3_000)?;
        check_everyone_knows_everything(&mut sim, 300)
    });
}

#[test]
fn values_spread_despite_message_loss() {
    seeds(5).check(|seed| {
        let config = Config::new(NODES).net(Net::lossy(0.3));
        let mut sim = Sim::<BroadcastNode>::new(seed, config);
        sim.workload(broadcasts(4, 100, 3_000));
        sim.run_until(3_000)?;
        check_everyone_knows_everything(&mut sim, 1_000)
    });
}

#[test]
fn values_spread_after_partitions_heal() {
    seeds(5).check(|seed| {
        let config = Config::new(NODES).net(Net::lossy(0.1));
        let mut sim = Sim::<BroadcastNode>::new(seed, config);
        sim.nemesis(
            Nemesis::between(0, 3_000)
                .partitions()
                .every(100, 300)
                .lasting(200, 800),
        );
        sim.workload(broadcasts(4, 150, 3_000));
        sim.run_until(3_000)?;
        check_everyone_knows_everything(&mut sim, 1_000)
    });
}

#[test]
fn acknowledged_values_survive_crashes() {
    seeds(8).check(|seed| {
        let config = Config::new(NODES).net(Net::lossy(0.1));
        let mut sim = Sim::<BroadcastNode>::new(seed, config);
        sim.nemesis(
            Nemesis::between(0, 3_000)
                .crashes()
                .every(30, 120)
                .lasting(20, 200),
        );
        sim.workload(broadcasts(4, 150, 3_000));
        sim.run_until(3_000)?;
        check_everyone_knows_everything(&mut sim, 1_000)
    });
}

#[test]
fn broadcast_stays_within_the_message_budget() {
    // Gossip Glomers' budget, scaled to 5 nodes: at most 20 messages between nodes per
    // broadcast, and every value everywhere 300 ticks after the last broadcast.
    seeds(3).check(|seed| {
        let mut sim = Sim::<BroadcastNode>::new(seed, Config::new(NODES));
        sim.workload(broadcasts(4, 200, 4_000));
        sim.run_until(4_000)?;
        let stats = sim.stats().clone();
        let per_op = stats.messages as f64 / stats.ops_ok.max(1) as f64;
        println!("seed {seed}: {stats}");
        if per_op > 20.0 {
            return Err(sim.fail(
                "at most 20 messages between nodes per broadcast",
                format!(
                    "{} messages for {} broadcasts: {per_op:.1} per broadcast. Does every node forward \
                     every value to every other node? Could one node be responsible for delivering a \
                     value, or could one message carry many values?",
                    stats.messages, stats.ops_ok
                ),
            ));
        }
        check_everyone_knows_everything(&mut sim, 300)
    });
}
