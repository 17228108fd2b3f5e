//! Stage 1 (unique_ids): echo, then ids unique across nodes, partitions and crashes.
//!
//! Every test runs a fixed set of seeds. A failure prints the seed and a timeline of the run;
//! `KATAS_SEED=<seed>` replays exactly that run, `KATAS_SEEDS=200` tries more seeds.

use std::collections::BTreeMap;

use katas_sim::{
    Config, Failure, Nemesis, Net, NodeId, Outcome, RequestId, Sim, Target, Workload, seeds,
};
use replication::unique_ids::{IdNode, IdRequest, IdResponse};

/// `clients` clients asking for `total` ids in all, one request at a time each.
fn generate(clients: usize, total: u64) -> Workload<IdNode> {
    Workload::new(clients, move |op| {
        (op.count < total).then_some(IdRequest::Generate)
    })
    .think(0, 3)
    .timeout(60)
}

/// Fails unless every answered `Generate` got an `Id` that no other request got.
fn check_unique(sim: &Sim<IdNode>) -> Result<(), Failure> {
    let mut seen: BTreeMap<u64, (RequestId, NodeId)> = BTreeMap::new();
    for (op, response) in sim.history().completed() {
        let node = op.nodes.last().copied().unwrap_or(NodeId(0));
        let id = match response {
            IdResponse::Id(id) => *id,
            other => {
                return Err(sim.fail(
                    "Generate is answered with an Id",
                    format!("{} asked {node} for an id and got {other:?}", op.id),
                ));
            }
        };
        if let Some((first, first_node)) = seen.insert(id, (op.id, node)) {
            return Err(sim.fail(
                "ids are unique",
                format!(
                    "{first} (answered by {first_node}) and {} (answered by {node}) both got id {id}.\n\
                     If the two nodes differ: do their id ranges overlap? If it is one node: did it \
                     restart (look for RESTARTED in the timeline) and count again from where?",
                    op.id
                ),
            ));
        }
    }
    Ok(())
}

/// Fails unless every operation of the run was answered.
fn check_all_answered(sim: &Sim<IdNode>, why: &str) -> Result<(), Failure> {
    for op in sim.history().ops() {
        if !matches!(op.outcome, Outcome::Ok { .. }) {
            return Err(sim.fail("every request is answered", format!("{op}.\n{why}")));
        }
    }
    Ok(())
}

#[test]
fn echo_answers_with_the_same_text() {
    seeds(3).check(|seed| {
        let mut sim = Sim::<IdNode>::new(seed, Config::new(3));
        sim.workload(Workload::new(2, |op| {
            (op.count < 20).then(|| IdRequest::Echo(format!("hello {}", op.count)))
        }));
        sim.run_until(2_000)?;
        check_all_answered(
            &sim,
            "A node must reply to every Echo with ctx.reply(id, ...).",
        )?;
        for op in sim.history().ops() {
            let IdRequest::Echo(text) = &op.request else {
                continue;
            };
            let expected = IdResponse::Echo(text.clone());
            if op.response() != Some(&expected) {
                return Err(sim.fail(
                    "Echo answers with the same text",
                    format!("{op}; expected {expected:?}"),
                ));
            }
        }
        Ok(())
    });
}

#[test]
fn every_generate_is_answered_with_an_id() {
    seeds(3).check(|seed| {
        let mut sim = Sim::<IdNode>::new(seed, Config::new(3));
        sim.workload(generate(3, 300));
        sim.run_until(10_000)?;
        check_all_answered(
            &sim,
            "On a reliable network every Generate must be answered, by the node that got it.",
        )?;
        if sim.history().len() != 300 {
            return Err(sim.fail(
                "every request is answered",
                format!(
                    "only {} of 300 requests were made: some client never got its answer",
                    sim.history().len()
                ),
            ));
        }
        check_unique(&sim)
    });
}

#[test]
fn ids_are_unique_across_nodes() {
    // 1200 ids per node: more than a node-number-times-1000 scheme has room for.
    seeds(3).check(|seed| {
        let mut sim = Sim::<IdNode>::new(seed, Config::new(5));
        sim.workload(generate(5, 6_000).target(Target::RoundRobin));
        sim.run_until(40_000)?;
        check_all_answered(
            &sim,
            "On a reliable network every Generate must be answered.",
        )?;
        check_unique(&sim)
    });
}

#[test]
fn ids_stay_unique_and_available_during_partitions() {
    seeds(5).check(|seed| {
        let config = Config::new(5).net(Net::lossy(0.2));
        let mut sim = Sim::<IdNode>::new(seed, config);
        sim.nemesis(
            Nemesis::between(0, 3_000)
                .partitions()
                .every(50, 150)
                .lasting(100, 600),
        );
        sim.workload(generate(6, 1_500).until(3_000));
        sim.run_until(3_500)?;
        check_all_answered(
            &sim,
            "Clients can reach every node even when the nodes cannot reach each other. A node that \
             waits for another node before answering is unavailable during a partition: can each \
             node decide on its own?",
        )?;
        check_unique(&sim)
    });
}

#[test]
fn ids_stay_unique_across_crashes() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<IdNode>::new(seed, Config::new(3));
        sim.nemesis(
            Nemesis::between(0, 4_000)
                .crashes()
                .max_down(2)
                .every(20, 80)
                .lasting(10, 100),
        );
        sim.workload(generate(6, 4_000).until(4_000));
        sim.run_until(4_500)?;
        check_unique(&sim)
    });
}

#[test]
fn a_node_that_crashes_right_after_an_id_never_repeats_it() {
    // Scripted: one node gives out exactly k ids, crashes, restarts and gives out k more, for k
    // around the edges where a node that saves its progress in steps could lose some: after the
    // first id, and around a thousand.
    for k in [1, 2, 999, 1_000, 1_001] {
        seeds(1).check(|seed| {
            let mut sim = Sim::<IdNode>::new(seed, Config::new(3));
            let n0 = NodeId(0);
            for _ in 0..k {
                sim.call(n0, IdRequest::Generate, 50)?;
            }
            sim.crash(n0);
            sim.restart(n0);
            for _ in 0..k {
                sim.call(n0, IdRequest::Generate, 50)?;
            }
            check_all_answered(&sim, "n0 is up and nothing is lost")?;
            check_unique(&sim)
        });
    }
}

#[test]
fn ids_are_unique_when_requests_arrive_together() {
    // Twenty requests reach one node at the same tick.
    seeds(3).check(|seed| {
        let mut sim = Sim::<IdNode>::new(
            seed,
            Config::new(3).client_net(Net::reliable().delays(1, 1)),
        );
        for _ in 0..20 {
            sim.request(NodeId(1), IdRequest::Generate);
        }
        sim.run_for(50)?;
        check_all_answered(&sim, "nothing is lost on a reliable network")?;
        check_unique(&sim)
    });
}
