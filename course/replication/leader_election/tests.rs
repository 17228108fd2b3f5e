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
        // It may have won a later term since, legitimately; it must not lead its old one.
        if sim
            .node(old)
            .is_some_and(|n| n.is_leader() && n.term() == old_term)
        {
            return Err(sim.fail(
                "a stale leader steps down",
                format!(
                    "{new} became leader of term {new_term} while {old} was cut off; 500 ticks after \
                     the partition healed, {old} still leads term {old_term}. When a node sees a \
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

/// The nodes other than `leader`, in order.
fn others(sim: &Sim<RaftNode>, leader: NodeId) -> Vec<NodeId> {
    sim.ids()
        .iter()
        .copied()
        .filter(|id| *id != leader)
        .collect()
}

#[test]
fn a_voter_that_restarts_never_votes_twice_in_a_term() {
    // A scripted schedule, not luck. Three nodes; the leader L becomes the only voter two
    // candidates can reach (they cannot reach each other), and L's answers are held on the way
    // back. The first candidate's request reaches L, which votes for it; L crashes and restarts
    // at once; then the second candidate's request of the same term arrives. Once the held
    // votes are let through, a voter that forgot its vote (or never checked it) has made two
    // leaders of one term.
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(3));
        watch_safety(&mut sim);
        let voter = wait_for_leader(&mut sim, 1_000, "on a reliable network")?;
        sim.run_for(100)?;
        let term = sim.node(voter).map_or(0, RaftNode::term);
        let [a, b] = others(&sim, voter)[..] else {
            return Ok(());
        };
        sim.apply(Fault::Cut(vec![(a, b)]));
        sim.apply(Fault::Hold(vec![(voter, a), (voter, b)]));
        // The first candidate's request arrives: the voter moves to its term.
        let deadline = sim.now() + 600;
        sim.run_while(deadline, |s| {
            s.node(voter).is_some_and(|n| n.term() == term)
        })?;
        let candidate_term = sim.node(voter).map_or(0, RaftNode::term);
        sim.crash(voter);
        sim.restart(voter);
        // Both candidates reach that term; the second one's request reaches the restarted voter.
        let deadline = sim.now() + 600;
        let reached =
            |s: &Sim<RaftNode>, id| s.node(id).is_some_and(|n| n.term() >= candidate_term);
        sim.run_while(deadline, |s| !(reached(s, a) && reached(s, b)))?;
        sim.run_for(20)?;
        sim.heal();
        sim.run_for(100)?;
        wait_for_leader(&mut sim, 2_000, "after the votes were let through")?;
        Ok(())
    });
}

#[test]
fn a_leader_steps_down_on_a_reply_with_a_higher_term() {
    // The old leader is cut off, a new leader is elected; then the network heals except that
    // the new leader's own messages never reach the old one. The old leader only learns of the
    // new term from the replies to its heartbeats: that must be enough to step down.
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let old = wait_for_leader(&mut sim, 1_000, "on a reliable network")?;
        sim.apply(Fault::Isolate(old));
        let deadline = sim.now() + 1_500;
        sim.run_while(deadline, |s| {
            !s.nodes_up().any(|(id, n)| id != old && n.is_leader())
        })?;
        let Some(new) = sim
            .nodes_up()
            .find(|(id, n)| *id != old && n.is_leader())
            .map(|(id, _)| id)
        else {
            return Err(sim.fail(
                "the majority replaces a cut-off leader",
                format!("{old} was cut off; 1500 ticks later the other four have no leader"),
            ));
        };
        let old_term = sim.node(old).map_or(0, RaftNode::term);
        sim.heal();
        sim.apply(Fault::Block(vec![(new, old)]));
        // It may well win a later term again; what matters is that it leaves this one.
        let leads_old_term = |s: &Sim<RaftNode>| {
            s.node(old)
                .is_some_and(|n| n.is_leader() && n.term() == old_term)
        };
        let deadline = sim.now() + 300;
        sim.run_while(deadline, leads_old_term)?;
        if leads_old_term(&sim) {
            return Err(sim.fail(
                "a leader steps down on a reply with a higher term",
                format!(
                    "{new} leads a newer term; {old}'s heartbeats reach the followers and their \
                     replies carry that newer term, yet 300 ticks later {old} still leads term \
                     {old_term}. A reply with a higher term than yours means the same as a request \
                     with one."
                ),
            ));
        }
        Ok(())
    });
}

#[test]
fn a_vote_from_an_earlier_term_is_not_counted() {
    // Scripted. Three nodes; two candidates that cannot reach each other, and a voter whose
    // answers are held. The voter grants the first candidate's request; then it hears nothing
    // more (the candidates' later requests are lost) while both candidates time out into a
    // later term. When the held answers arrive, the vote they carry is for a term that is over.
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(3));
        watch_safety(&mut sim);
        let voter = wait_for_leader(&mut sim, 1_000, "on a reliable network")?;
        sim.run_for(100)?;
        let term = sim.node(voter).map_or(0, RaftNode::term);
        let [a, b] = others(&sim, voter)[..] else {
            return Ok(());
        };
        sim.apply(Fault::Cut(vec![(a, b)]));
        sim.apply(Fault::Hold(vec![(voter, a), (voter, b)]));
        let deadline = sim.now() + 600;
        sim.run_while(deadline, |s| {
            s.node(voter).is_some_and(|n| n.term() == term)
        })?;
        let voted_in = sim.node(voter).map_or(0, RaftNode::term);
        sim.apply(Fault::Block(vec![(a, voter), (b, voter)]));
        let deadline = sim.now() + 1_000;
        let past = |s: &Sim<RaftNode>, id| s.node(id).is_some_and(|n| n.term() > voted_in);
        sim.run_while(deadline, |s| !(past(s, a) && past(s, b)))?;
        sim.invariant("a leader was voted for in its own term", move |s| {
            for (id, node) in s.nodes_up() {
                if node.is_leader() && node.term() > voted_in {
                    return Err(format!(
                        "{id} became leader of term {} with the vote {voter} gave in term \
                         {voted_in}: {voter} is still in term {voted_in} and never voted in term \
                         {}. A vote counts only in the term it was given for.",
                        node.term(),
                        node.term()
                    ));
                }
            }
            Ok(())
        });
        sim.apply(Fault::Release(vec![(voter, a), (voter, b)]));
        sim.run_for(30)
    });
}

#[test]
fn duplicated_votes_do_not_make_a_majority() {
    // Every message is delivered twice. Two nodes cut off from three: a candidate there has its
    // own vote and its one peer's, twice; counted as three votes of five, a minority elects a
    // leader.
    seeds(5).check(|seed| {
        let config = Config::new(5).net(Net::reliable().duplicating(1.0));
        let mut sim = Sim::<RaftNode>::new(seed, config);
        watch_safety(&mut sim);
        let minority = [NodeId(0), NodeId(1)];
        sim.apply(Fault::Partition(vec![minority.to_vec()]));
        sim.invariant("a minority never elects a leader", move |s| {
            for id in minority {
                if s.node(id).is_some_and(RaftNode::is_leader) {
                    return Err(format!(
                        "{id} became leader with only n0 and n1 on its side, on a network that \
                         delivers every message twice: count the voters, not the votes"
                    ));
                }
            }
            Ok(())
        });
        sim.run_for(2_000)
    });
}
