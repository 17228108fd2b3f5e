//! Stage 5 (leader_election): Raft elections. At most one leader per term, always; a node's term
//! never goes back, even across crashes; a leader is elected and stays while the network is
//! healthy; a minority never elects one; a cut-off leader is replaced, and steps down on return.
//!
//! Every test runs a fixed set of seeds. A failure prints the seed and a timeline of the run;
//! `KATAS_SEED=<seed>` replays exactly that run, `KATAS_SEEDS=200` tries more seeds.

use std::collections::BTreeMap;

use katas_sim::{Config, Failure, Fault, Nemesis, Net, NodeId, Sim, Tick, seeds};
use replication::raft::RaftNode;

/// Checks, after every event, that no two nodes are ever leader of the same term, and that no
/// node's term ever decreases (across its crashes too).
fn watch_safety(sim: &mut Sim<RaftNode>) {
    let mut leaders: BTreeMap<u64, NodeId> = BTreeMap::new();
    sim.invariant("at most one leader per term", move |s| {
        for (id, node) in s.nodes_up() {
            if !node.is_leader() {
                continue;
            }
            let term = node.term();
            let first = *leaders.entry(term).or_insert(id);
            if first != id {
                return Err(format!(
                    "{first} and {id} were both leader of term {term}. A candidate needs a majority \
                     of votes and two majorities share a node: did that node vote twice in term \
                     {term}? Look for a RESTARTED node that had voted before its crash."
                ));
            }
        }
        Ok(())
    });
    let mut highest: BTreeMap<NodeId, u64> = BTreeMap::new();
    sim.invariant("a node's term never goes back", move |s| {
        for (id, node) in s.nodes_up() {
            let term = node.term();
            let seen = highest.entry(id).or_insert(term);
            if term < *seen {
                return Err(format!(
                    "{id}'s term went back from {seen} to {term}. Terms only grow; after a crash, \
                     where would the node find the term it was in?"
                ));
            }
            *seen = term;
        }
        Ok(())
    });
}

/// The leader a majority of the cluster follows (same term), if any.
fn settled_leader(sim: &Sim<RaftNode>) -> Option<NodeId> {
    let majority = sim.ids().len() / 2 + 1;
    let follows = |term: u64| sim.nodes_up().filter(|(_, n)| n.term() == term).count();
    sim.nodes_up()
        .find(|(_, n)| n.is_leader() && follows(n.term()) >= majority)
        .map(|(id, _)| id)
}

/// Runs until a leader is followed by a majority, at most `within` ticks.
fn wait_for_leader(sim: &mut Sim<RaftNode>, within: Tick, why: &str) -> Result<NodeId, Failure> {
    let deadline = sim.now() + within;
    sim.run_while(deadline, |s| settled_leader(s).is_none())?;
    settled_leader(sim).ok_or_else(|| {
        let states: Vec<String> = sim
            .ids()
            .iter()
            .map(|id| match sim.node(*id) {
                Some(n) if n.is_leader() => format!("{id}: leader of term {}", n.term()),
                Some(n) => format!("{id}: term {}", n.term()),
                None => format!("{id}: down"),
            })
            .collect();
        sim.fail(
            "a leader is elected",
            format!(
                "no leader followed by a majority within {within} ticks ({why}). Nodes: {}.\nDo \
                 followers start an election when they hear nothing? Are election timeouts random, so \
                 that candidates do not keep splitting the vote? Does a leader send heartbeats?",
                states.join(", ")
            ),
        )
    })
}

#[test]
fn a_leader_is_elected_and_everyone_follows_it() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let leader = wait_for_leader(&mut sim, 1_000, "on a reliable network")?;
        sim.run_for(200)?;
        let term = sim.node(leader).map_or(0, RaftNode::term);
        for (id, node) in sim.nodes_up() {
            if node.term() != term || (id != leader && node.is_leader()) {
                return Err(sim.fail(
                    "everyone follows the leader",
                    format!(
                        "200 ticks after {leader} became leader of term {term}, {id} is in term {}{}: \
                         do the leader's heartbeats reach everyone and tell them its term?",
                        node.term(),
                        if node.is_leader() { " and leader" } else { "" }
                    ),
                ));
            }
        }
        Ok(())
    });
}

#[test]
fn the_leader_stays_while_the_network_is_healthy() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let leader = wait_for_leader(&mut sim, 1_000, "on a reliable network")?;
        let term = sim.node(leader).map_or(0, RaftNode::term);
        sim.run_for(3_000)?;
        let now_term = sim.node(leader).map_or(0, RaftNode::term);
        let still = sim.node(leader).is_some_and(RaftNode::is_leader);
        if !still || now_term != term {
            return Err(sim.fail(
                "a healthy leader stays leader",
                format!(
                    "{leader} became leader of term {term}; 3000 ticks later, with no fault at all, \
                     it is {}in term {now_term}. Does the leader send heartbeats well within the \
                     smallest election timeout, and does a follower reset its timeout on each one?",
                    if still { "leader " } else { "not leader " }
                ),
            ));
        }
        Ok(())
    });
}

#[test]
fn a_minority_never_elects_a_leader() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let minority = [NodeId(0), NodeId(1)];
        sim.apply(Fault::Partition(vec![minority.to_vec()]));
        sim.invariant("a minority never elects a leader", move |s| {
            for id in minority {
                if s.node(id).is_some_and(RaftNode::is_leader) {
                    return Err(format!(
                        "{id} became leader while it could only reach {} nodes of 5: a leader needs \
                         the votes of a majority (3 of 5), itself included",
                        minority.len()
                    ));
                }
            }
            Ok(())
        });
        wait_for_leader(&mut sim, 1_500, "n2, n3 and n4 are a majority")?;
        sim.run_for(2_000)
    });
}

#[test]
fn a_cut_off_leader_is_replaced_and_steps_down() {
    seeds(8).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let old = wait_for_leader(&mut sim, 1_000, "on a reliable network")?;
        let old_term = sim.node(old).map_or(0, RaftNode::term);
        sim.apply(Fault::Isolate(old));
        let deadline = sim.now() + 1_500;
        sim.run_while(deadline, |s| {
            settled_leader(s).is_none_or(|l| l == old)
                && !s.nodes_up().any(|(id, n)| id != old && n.is_leader())
        })?;
        let Some((new, node)) = sim.nodes_up().find(|(id, n)| *id != old && n.is_leader()) else {
            return Err(sim.fail(
                "the majority replaces a cut-off leader",
                format!(
                    "{old} (leader of term {old_term}) was cut off; 1500 ticks later the other four \
                     nodes still have no leader. Do followers time out when heartbeats stop?"
                ),
            ));
        };
        let new_term = node.term();
        sim.heal();
        sim.run_for(500)?;
        if sim.node(old).is_some_and(RaftNode::is_leader) {
            let term = sim.node(old).map_or(0, RaftNode::term);
            return Err(sim.fail(
                "a stale leader steps down",
                format!(
                    "{new} became leader of term {new_term} while {old} was cut off; 500 ticks after \
                     the partition healed, {old} still leads (term {term}). When a node sees a \
                     message with a higher term than its own, what must it do?"
                ),
            ));
        }
        Ok(())
    });
}

#[test]
fn at_most_one_leader_per_term_under_faults() {
    seeds(10).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5).net(Net::lossy(0.1)));
        watch_safety(&mut sim);
        sim.nemesis(
            Nemesis::between(0, 4_000)
                .partitions()
                .crashes()
                .every(80, 250)
                .lasting(50, 500),
        );
        sim.run_until(4_000)?;
        wait_for_leader(
            &mut sim,
            2_000,
            "after the faults stopped: every node up, network healed",
        )?;
        Ok(())
    });
}

#[test]
fn votes_survive_crashes() {
    // Three nodes crashing and restarting every few ticks, in the middle of elections: a node
    // that forgets whom it voted for will sooner or later vote twice in one term.
    seeds(20).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(3).net(Net::lossy(0.05)));
        watch_safety(&mut sim);
        sim.nemesis(
            Nemesis::between(0, 5_000)
                .crashes()
                .partitions()
                .max_down(1)
                .every(10, 60)
                .lasting(5, 40),
        );
        sim.run_until(5_000)?;
        wait_for_leader(&mut sim, 2_000, "after the faults stopped")?;
        Ok(())
    });
}
