//! Stage 6 (log_replication): proposals are appended by the leader, replicated with the
//! consistency check, committed on a majority and applied in order. Checked after every event:
//! one leader per term, and every node applies the same values in the same order (a committed
//! entry is never lost or replaced). At the end: every acknowledged proposal applied everywhere.
//!
//! Every test runs a fixed set of seeds. A failure prints the seed and a timeline of the run;
//! `KATAS_SEED=<seed>` replays exactly that run, `KATAS_SEEDS=200` tries more seeds.

use std::collections::{BTreeMap, BTreeSet};

use katas_sim::{
    Config, Failure, Fault, Nemesis, Net, NodeId, Sim, Tick, Verdict, Workload, seeds,
};
use replication::raft::{RaftNode, RaftRequest, RaftResponse};

/// Clients proposing distinct values 1, 2, 3, ...; `NotLeader` sends them to the leader it names.
fn proposals(clients: usize, until: Tick) -> Workload<RaftNode> {
    Workload::new(clients, |op| Some(RaftRequest::Propose(op.count + 1)))
        .think(5, 30)
        .timeout(300)
        .attempts(10)
        .backoff(10)
        .retry_if(|resp| match resp {
            RaftResponse::NotLeader { leader: Some(l) } => Verdict::RetryAt(*l),
            RaftResponse::NotLeader { leader: None } => Verdict::Retry,
            _ => Verdict::Done,
        })
        .until(until)
}

/// Checks after every event: at most one leader per term, and all nodes apply one sequence.
fn watch_safety(sim: &mut Sim<RaftNode>) {
    let mut leaders: BTreeMap<u64, NodeId> = BTreeMap::new();
    sim.invariant("at most one leader per term", move |s| {
        for (id, node) in s.nodes_up() {
            if node.is_leader() {
                let term = node.term();
                let first = *leaders.entry(term).or_insert(id);
                if first != id {
                    return Err(format!("{first} and {id} were both leader of term {term}"));
                }
            }
        }
        Ok(())
    });
    // The longest applied sequence seen so far, and who applied each position first.
    let mut sequence: Vec<(u64, NodeId)> = Vec::new();
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    sim.invariant("every node applies the same values in the same order", move |s| {
        for (id, node) in s.nodes_up() {
            for (i, &value) in node.applied().iter().enumerate() {
                match sequence.get(i) {
                    Some(&(first, by)) if first != value => {
                        return Err(format!(
                            "{id} applied {value} as value #{} but {by} applied {first} there. Two \
                             different entries were committed at the same place: was a committed \
                             entry overwritten by a leader that lacked it (did the leader's \
                             election check how up to date the voters' logs were)? Or was an entry \
                             committed without a majority?",
                            i + 1
                        ));
                    }
                    Some(_) => {}
                    None => {
                        if !seen.insert(value) {
                            return Err(format!(
                                "value {value} was applied twice (again as #{} by {id}): was one \
                                 proposal appended to the log twice?",
                                i + 1
                            ));
                        }
                        sequence.push((value, id));
                    }
                }
            }
        }
        Ok(())
    });
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

/// Settles, then checks that every node applied the same values, including every value whose
/// proposal was answered `Committed`, and that no two proposals were given the same index.
fn check_converged(sim: &mut Sim<RaftNode>, settle: Tick) -> Result<(), Failure> {
    sim.run_for(settle)?;
    let mut acked = BTreeSet::new();
    let mut indexes: BTreeMap<u64, u64> = BTreeMap::new();
    for (op, resp) in sim.history().completed() {
        if let (RaftRequest::Propose(v), RaftResponse::Committed { index }) = (&op.request, resp) {
            acked.insert(*v);
            if let Some(other) = indexes.insert(*index, *v) {
                return Err(sim.fail(
                    "each committed proposal has its own index",
                    format!("proposals {other} and {v} were both answered Committed {{ index: {index} }}"),
                ));
            }
        }
    }
    let Some((first, reference)) = sim
        .nodes_up()
        .map(|(id, n)| (id, n.applied().to_vec()))
        .max_by_key(|(_, a)| a.len())
    else {
        return Ok(());
    };
    let have: BTreeSet<u64> = reference.iter().copied().collect();
    if let Some(lost) = acked.iter().find(|v| !have.contains(v)) {
        return Err(sim.fail(
            "every committed proposal is applied",
            format!(
                "proposal {lost} was answered Committed, but {settle} ticks after the faults stopped \
                 no node has applied it ({first} applied the most: {} values). A committed entry was \
                 lost: was it really stored on a majority before the answer?",
                reference.len()
            ),
        ));
    }
    for (id, node) in sim.nodes_up() {
        if node.applied() != reference.as_slice() {
            return Err(sim.fail(
                "every node applies every committed entry",
                format!(
                    "{settle} ticks after the faults stopped, {first} has applied {} values but {id} \
                     only {}. Does the leader keep sending a follower the entries it lacks, and \
                     does it tell followers how far it has committed?",
                    reference.len(),
                    node.applied().len()
                ),
            ));
        }
    }
    Ok(())
}

/// Fails unless at least `percent`% of the proposals invoked in `[from, to)` were committed.
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
            "proposals commit while a majority is up and connected",
            format!(
                "only {done} of the {} proposals invoked between ticks {from} and {to} were \
                 committed (at least {percent}% should be)",
                ops.len()
            ),
        ));
    }
    Ok(())
}

#[test]
fn a_proposal_is_committed_and_applied_everywhere() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let leader = wait_for_leader(&mut sim, 1_000)?;
        let answer = sim.call(leader, RaftRequest::Propose(7), 300)?;
        if !matches!(answer, Some(RaftResponse::Committed { .. })) {
            return Err(sim.fail(
                "the leader commits a proposal",
                format!(
                    "Propose(7) to the leader {leader} was answered {answer:?} within 300 ticks"
                ),
            ));
        }
        let follower = sim
            .ids()
            .iter()
            .copied()
            .find(|id| *id != leader)
            .unwrap_or(leader);
        let redirect = sim.call(follower, RaftRequest::Propose(8), 100)?;
        let expected = Some(RaftResponse::NotLeader {
            leader: Some(leader),
        });
        if redirect != expected {
            return Err(sim.fail(
                "a follower redirects to the leader",
                format!(
                    "Propose(8) to {follower} was answered {redirect:?}, expected {expected:?}"
                ),
            ));
        }
        sim.run_for(200)?;
        for (id, node) in sim.nodes_up() {
            if node.applied() != [7] {
                return Err(sim.fail(
                    "a committed proposal is applied everywhere",
                    format!(
                        "200 ticks after 7 was committed, {id} has applied {:?}, expected [7] (and \
                         nothing from the follower's refused proposal)",
                        node.applied()
                    ),
                ));
            }
        }
        Ok(())
    });
}

#[test]
fn proposals_commit_on_a_healthy_cluster() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        sim.workload(proposals(4, 3_000).starting_at(500));
        sim.run_until(3_000)?;
        println!("seed {seed}: {}", sim.stats());
        check_available(&sim, 500, 3_000, 95)?;
        check_converged(&mut sim, 500)
    });
}

#[test]
fn a_leader_in_the_minority_commits_nothing() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let old = wait_for_leader(&mut sim, 1_000)?;
        let buddy = sim.ids().iter().copied().find(|id| *id != old).unwrap_or(old);
        sim.apply(Fault::Partition(vec![vec![old, buddy]]));
        let stale: Vec<_> = (1..=5)
            .map(|v| sim.request(old, RaftRequest::Propose(1_000 + v)))
            .collect();
        wait_for_leader(&mut sim, 1_500)?;
        sim.workload(proposals(2, sim.now() + 500).starting_at(sim.now()));
        sim.run_for(600)?;
        for id in stale {
            if let Some(RaftResponse::Committed { index }) = sim.history().response(id) {
                return Err(sim.fail(
                    "an entry commits only on a majority",
                    format!(
                        "{old}, cut off with only {buddy}, answered Committed {{ index: {index} }}: 2 \
                         of 5 nodes are not a majority, and the other three have since elected a \
                         leader that will overwrite that entry"
                    ),
                ));
            }
        }
        sim.heal();
        check_converged(&mut sim, 800)
    });
}

#[test]
fn a_stale_node_never_wins_an_election() {
    // A follower misses many commits while cut off, then returns with a high term (it kept
    // starting elections). If the others vote for it, it overwrites committed entries.
    seeds(8).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let leader = wait_for_leader(&mut sim, 1_000)?;
        let stale = sim
            .ids()
            .iter()
            .copied()
            .find(|id| *id != leader)
            .unwrap_or(leader);
        sim.apply(Fault::Isolate(stale));
        sim.workload(proposals(3, 3_000).starting_at(sim.now()));
        sim.run_for(1_200)?;
        sim.heal();
        sim.run_until(3_000)?;
        check_converged(&mut sim, 800)
    });
}

#[test]
fn committed_entries_survive_leader_crashes() {
    seeds(8).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5).net(Net::lossy(0.05)));
        watch_safety(&mut sim);
        sim.workload(proposals(4, 4_000).starting_at(300));
        for _ in 0..5 {
            sim.run_for(500)?;
            let leader = sim
                .nodes_up()
                .find(|(_, n)| n.is_leader())
                .map(|(id, _)| id);
            if let Some(leader) = leader {
                sim.crash(leader);
                sim.run_for(250)?;
                sim.restart(leader);
            }
        }
        sim.run_until(4_000)?;
        check_converged(&mut sim, 1_000)
    });
}

#[test]
fn committed_entries_survive_a_full_restart() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        sim.workload(proposals(3, 1_500).starting_at(300));
        sim.run_until(1_800)?;
        // Power failure: every node at once. Only storage survives.
        let ids = sim.ids().to_vec();
        for id in &ids {
            sim.crash(*id);
        }
        sim.run_for(50)?;
        for id in &ids {
            sim.restart(*id);
        }
        let leader = wait_for_leader(&mut sim, 1_500)?;
        // A proposal of the new term lets the new leader commit what the old terms left.
        sim.call(leader, RaftRequest::Propose(1_000_000), 300)?;
        check_converged(&mut sim, 500)
    });
}

#[test]
fn committed_entries_survive_partitions_and_crashes() {
    seeds(10).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5).net(Net::lossy(0.1)));
        watch_safety(&mut sim);
        sim.nemesis(
            Nemesis::between(300, 4_000)
                .partitions()
                .crashes()
                .every(100, 300)
                .lasting(100, 600),
        );
        sim.workload(proposals(4, 4_000).starting_at(300));
        sim.run_until(4_000)?;
        wait_for_leader(&mut sim, 2_000)?;
        check_converged(&mut sim, 1_000)
    });
}
