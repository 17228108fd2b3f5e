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

/// The nodes other than `these`, in order.
fn all_but(sim: &Sim<RaftNode>, these: &[NodeId]) -> Vec<NodeId> {
    sim.ids()
        .iter()
        .copied()
        .filter(|id| !these.contains(id))
        .collect()
}

/// Cuts `node` off from every other node by cutting its links (on top of any partition).
fn cut_off(sim: &mut Sim<RaftNode>, node: NodeId) {
    let links = all_but(sim, &[node])
        .into_iter()
        .map(|o| (node, o))
        .collect();
    sim.apply(Fault::Cut(links));
}

/// Runs until one of `among` leads a term above `above`; returns it.
fn wait_for_leader_among(
    sim: &mut Sim<RaftNode>,
    among: &[NodeId],
    above: u64,
    within: Tick,
) -> Result<NodeId, Failure> {
    let leader = |s: &Sim<RaftNode>| {
        among.iter().copied().find(|id| {
            s.node(*id)
                .is_some_and(|n| n.is_leader() && n.term() > above)
        })
    };
    let deadline = sim.now() + within;
    sim.run_while(deadline, |s| leader(s).is_none())?;
    leader(sim).ok_or_else(|| {
        sim.fail(
            "a leader is elected",
            format!(
                "none of {among:?} became leader of a term above {above} within {within} ticks"
            ),
        )
    })
}

#[test]
fn a_leader_never_commits_an_old_terms_entry_by_counting_replicas() {
    // Raft's figure 8, scripted. Leader A and its buddy B store 100 entries of A's term that no
    // one else has. The other three elect X, whose first entries never leave it; X crashes. A or
    // B becomes leader of a newer term and starts copying the 100 old entries to the others,
    // a batch at a time. As soon as the first batch is on a third node, the old entries are
    // stored on a majority, but they are not committed: only an entry of the leader's own term,
    // stored on a majority, commits (and everything before it). If the leader counts replicas
    // of the old entries and commits them, then crashes with its buddy, X comes back and wins
    // (its log ends with a newer term than theirs) and replaces what was applied.
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let a = wait_for_leader(&mut sim, 1_000)?;
        sim.run_for(200)?;
        let rest = all_but(&sim, &[a]);
        let b = rest[0];
        let (ab, others) = ([a, b], all_but(&sim, &[a, b]));
        sim.apply(Fault::Partition(vec![ab.to_vec()]));
        for v in 1..=100 {
            sim.request(a, RaftRequest::Propose(v));
        }
        sim.run_for(100)?;
        let old_term = sim.node(a).map_or(0, RaftNode::term);
        let x = wait_for_leader_among(&mut sim, &others, old_term, 1_500)?;
        // X's entries of its new term stay on X alone.
        cut_off(&mut sim, x);
        sim.request(x, RaftRequest::Propose(999_999));
        sim.run_for(20)?;
        let x_term = sim.node(x).map_or(0, RaftNode::term);
        sim.crash(x);
        sim.heal();
        let l = wait_for_leader_among(&mut sim, &ab, x_term, 1_500)?;
        let before = sim.node(l).map_or(0, |n| n.applied().len());
        let deadline = sim.now() + 60;
        sim.run_while(deadline, |s| {
            s.node(l).map_or(0, |n| n.applied().len()) == before
        })?;
        // Whatever the leader committed, it and its buddy now vanish, and X is back.
        sim.apply(Fault::Partition(vec![ab.to_vec()]));
        sim.crash(a);
        sim.crash(b);
        sim.restart(x);
        let survivors = all_but(&sim, &ab);
        let leader = wait_for_leader_among(&mut sim, &survivors, 0, 1_500)?;
        sim.call(leader, RaftRequest::Propose(777), 300)?;
        sim.run_for(100)?;
        sim.heal();
        sim.restart(a);
        sim.restart(b);
        check_converged(&mut sim, 1_000)
    });
}

#[test]
fn a_follower_drops_its_conflicting_suffix() {
    // Scripted. Leader O and follower F store three entries of O's term no one else has. The
    // other three elect X (F and O cut off); X's entries reach M but not Q. F rejoins X and M:
    // X's entries conflict with F's three at the same indexes; F must drop all three, not only
    // the ones X overwrote, or F's log ends with an entry of O's old term after X's newer
    // ones. X's proposal commits on X, M and F. Then X and M crash, and O, F and Q are left
    // (F and Q cannot talk). O asks F and Q for their votes: Q has never seen X's term, and an F
    // that kept O's stale entry looks exactly as up to date as O, so O wins, and overwrites the
    // committed proposal with its old entries.
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let o = wait_for_leader(&mut sim, 1_000)?;
        sim.run_for(200)?;
        let f = all_but(&sim, &[o])[0];
        let rest = all_but(&sim, &[o, f]);
        sim.apply(Fault::Partition(vec![vec![o, f]]));
        for v in 1..=3 {
            sim.request(o, RaftRequest::Propose(v));
        }
        sim.run_for(60)?;
        let old_term = sim.node(o).map_or(0, RaftNode::term);
        sim.apply(Fault::Partition(vec![vec![o], vec![f]]));
        let x = wait_for_leader_among(&mut sim, &rest, old_term, 1_500)?;
        let others = all_but(&sim, &[o, f, x]);
        let (m, q) = (others[0], others[1]);
        cut_off(&mut sim, q);
        let proposal = sim.request(x, RaftRequest::Propose(100));
        sim.run_for(20)?;
        // F rejoins X and M; O stays alone and Q stays cut off.
        sim.heal();
        sim.apply(Fault::Partition(vec![vec![o]]));
        cut_off(&mut sim, q);
        let deadline = sim.now() + 600;
        sim.run_while(deadline, |s| s.history().response(proposal).is_none())?;
        if sim.history().response(proposal).is_none() {
            return Err(sim.fail(
                "a leader with a majority commits",
                format!(
                    "{x} leads {x}, {m} and {f}, yet Propose(100) was not committed in 600 ticks"
                ),
            ));
        }
        sim.run_for(60)?;
        sim.crash(x);
        sim.crash(m);
        sim.heal();
        sim.apply(Fault::Cut(vec![(f, q)]));
        sim.run_for(1_000)?;
        sim.heal();
        sim.restart(x);
        sim.restart(m);
        check_converged(&mut sim, 1_000)
    });
}

#[test]
fn a_follower_commits_no_further_than_what_the_leader_sent_it() {
    // Scripted. All five nodes store 100 committed proposals of leader O's term. O and F are
    // cut off together: O appends 200 more proposals, which reach F only and never commit. The
    // other three elect L1, which commits 100 proposals of its own; L1 crashes and F joins the
    // two left, who elect one of them. Its log ends with L1's term, F's with O's, so its first
    // AppendEntries is refused, and it backs up towards F's first entry of O's term: maybe to
    // the start of the log, and then its next AppendEntries carries only the first entries,
    // which F already has, with a commit index far beyond them. Past those entries, F's log
    // still holds O's uncommitted proposals: F may commit only up to the last entry that
    // AppendEntries carried (Raft: min(leaderCommit, index of last new entry)).
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let o = wait_for_leader(&mut sim, 1_000)?;
        for v in 1..=100 {
            sim.request(o, RaftRequest::Propose(v));
        }
        sim.run_for(300)?;
        let f = all_but(&sim, &[o])[0];
        let rest = all_but(&sim, &[o, f]);
        sim.apply(Fault::Partition(vec![vec![o, f]]));
        for v in 1_001..=1_200 {
            sim.request(o, RaftRequest::Propose(v));
        }
        sim.run_for(200)?;
        let old_term = sim.node(o).map_or(0, RaftNode::term);
        let l1 = wait_for_leader_among(&mut sim, &rest, old_term, 1_500)?;
        for v in 2_001..=2_100 {
            sim.request(l1, RaftRequest::Propose(v));
        }
        sim.run_for(300)?;
        let l1_term = sim.node(l1).map_or(0, RaftNode::term);
        sim.crash(l1);
        sim.apply(Fault::Partition(vec![vec![o]]));
        let left = all_but(&sim, &[o, f, l1]);
        wait_for_leader_among(&mut sim, &left, l1_term, 1_500)?;
        sim.run_for(1_000)?;
        sim.heal();
        sim.restart(l1);
        check_converged(&mut sim, 1_000)
    });
}

#[test]
fn a_leader_ignores_acknowledgements_from_its_earlier_terms() {
    // Scripted. Leader N of term 1 and follower X are cut off together; N appends 40 proposals,
    // X stores them, and X's acknowledgements ("I store up to entry 41") are held back; then X
    // crashes. The other three elect L, whose entries replace N's 40 when N rejoins: N's log is
    // short again, but ends with an entry of L's only N has. L crashes; only N can win now. N
    // leads term 3 and appends P, which reaches one follower, M2, but not M3. Then X's old
    // acknowledgements arrive: they answer N's term-1 AppendEntries, about a log N no longer has.
    // Counted, they make P look stored on N, M2 and X, a majority, and N commits P; then N and M2
    // crash, and M3, L and X elect M3, which never had P, and replace it.
    seeds(5).check(|seed| {
        let mut sim = Sim::<RaftNode>::new(seed, Config::new(5));
        watch_safety(&mut sim);
        let n = wait_for_leader(&mut sim, 1_000)?;
        sim.run_for(100)?;
        let others = all_but(&sim, &[n]);
        let x = others[0];
        let ms = all_but(&sim, &[n, x]);
        sim.apply(Fault::Hold(vec![(x, n)]));
        sim.apply(Fault::Partition(vec![vec![n, x]]));
        for v in 1..=40 {
            sim.request(n, RaftRequest::Propose(v));
        }
        sim.run_for(100)?;
        sim.crash(x);
        let term_1 = sim.node(n).map_or(0, RaftNode::term);
        let l = wait_for_leader_among(&mut sim, &ms, term_1, 1_500)?;
        sim.run_for(50)?;
        let (m2, m3) = {
            let rest = all_but(&sim, &[n, x, l]);
            (rest[0], rest[1])
        };
        // L's next entry reaches N only: N's log now ends with it, the others' do not.
        sim.apply(Fault::Cut(vec![(l, m2), (l, m3)]));
        sim.apply(Fault::Partition(Vec::new()));
        sim.request(l, RaftRequest::Propose(500));
        sim.run_for(50)?;
        let term_2 = sim.node(l).map_or(0, RaftNode::term);
        sim.crash(l);
        wait_for_leader_among(&mut sim, &[n], term_2, 2_000)?;
        sim.run_for(50)?;
        sim.apply(Fault::Block(vec![(n, m3)]));
        sim.request(n, RaftRequest::Propose(600));
        sim.run_for(20)?;
        sim.apply(Fault::Release(vec![(x, n)]));
        sim.run_for(20)?;
        sim.crash(n);
        sim.crash(m2);
        sim.heal();
        sim.restart(l);
        sim.restart(x);
        let term_3 = sim.node(m3).map_or(0, RaftNode::term);
        let leader = wait_for_leader_among(&mut sim, &[m3, l, x], term_3, 2_000)?;
        sim.call(leader, RaftRequest::Propose(700), 300)?;
        sim.run_for(100)?;
        sim.restart(n);
        sim.restart(m2);
        check_converged(&mut sim, 1_000)
    });
}
