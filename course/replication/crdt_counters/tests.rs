//! Stage 3 (crdt_counters): grow-only and positive-negative counters whose merge is commutative,
//! associative and idempotent (checked with property tests), and a cluster of counter nodes that
//! converges to the sum of every acknowledged addition despite loss, partitions and crashes.
//!
//! The property tests use a fixed seed; a failure shows the smallest counterexample proptest
//! found. The simulation tests run a fixed set of seeds: `KATAS_SEED=<seed>` replays one run.

use std::collections::BTreeSet;

use katas_sim::{Config, Failure, Fault, Nemesis, Net, NodeId, Sim, Tick, Workload, seeds};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use replication::crdt::{CounterNode, CounterRequest, CounterResponse, Crdt, GCounter, PnCounter};

// ----- the data types ---------------------------------------------------------------------------

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        rng_seed: RngSeed::Fixed(7),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Increments (node, amount) on 4 nodes.
fn increments() -> impl Strategy<Value = Vec<(u32, u64)>> {
    prop::collection::vec((0..4u32, 0..50u64), 0..20)
}

/// Additions (node, delta) on 4 nodes, negative deltas included.
fn additions() -> impl Strategy<Value = Vec<(u32, i64)>> {
    prop::collection::vec((0..4u32, -50..50i64), 0..20)
}

fn gcounter(ops: &[(u32, u64)]) -> GCounter {
    let mut c = GCounter::new();
    for &(node, by) in ops {
        c.increment(NodeId(node), by);
    }
    c
}

fn pncounter(ops: &[(u32, i64)]) -> PnCounter {
    let mut c = PnCounter::new();
    for &(node, delta) in ops {
        c.add(NodeId(node), delta);
    }
    c
}

/// `a ⊔ b`, leaving both untouched.
fn merged<C: Crdt + Clone>(a: &C, b: &C) -> C {
    let mut out = a.clone();
    out.merge(b);
    out
}

/// One step of a replicated history: a replica adds, or a replica merges another's state.
#[derive(Clone, Debug)]
enum Step {
    Add(usize, i64),
    Merge { from: usize, into: usize },
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        (0..3usize, -20..20i64).prop_map(|(r, d)| Step::Add(r, d)),
        (0..3usize, 0..3usize).prop_map(|(from, into)| Step::Merge { from, into }),
    ];
    prop::collection::vec(step, 0..40)
}

#[test]
fn counters_count_increments_and_decrements() {
    let mut g = GCounter::new();
    assert_eq!(g.value(), 0, "a new GCounter is 0");
    g.increment(NodeId(0), 5);
    g.increment(NodeId(1), 2);
    g.increment(NodeId(0), 1);
    assert_eq!(g.value(), 8, "GCounter: 5 + 2 + 1 on two nodes");
    let mut pn = PnCounter::new();
    assert_eq!(pn.value(), 0, "a new PnCounter is 0");
    pn.add(NodeId(0), 5);
    pn.add(NodeId(0), -3);
    pn.add(NodeId(1), -4);
    assert_eq!(pn.value(), -2, "PnCounter: 5 - 3 - 4 should be -2");
}

#[test]
fn merging_replicas_of_different_nodes_adds_their_counts() {
    let mut a = GCounter::new();
    a.increment(NodeId(0), 3);
    let mut b = GCounter::new();
    b.increment(NodeId(1), 2);
    a.merge(&b);
    assert_eq!(
        a.value(),
        5,
        "n0 counted 3 and n1 counted 2: after merging, the counter must be 5, not the larger of \
         the two totals (each node's count is kept separately)"
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn gcounter_merge_is_commutative(a in increments(), b in increments()) {
        let (a, b) = (gcounter(&a), gcounter(&b));
        prop_assert_eq!(merged(&a, &b), merged(&b, &a), "a ⊔ b must equal b ⊔ a");
    }

    #[test]
    fn gcounter_merge_is_associative(a in increments(), b in increments(), c in increments()) {
        let (a, b, c) = (gcounter(&a), gcounter(&b), gcounter(&c));
        prop_assert_eq!(
            merged(&merged(&a, &b), &c),
            merged(&a, &merged(&b, &c)),
            "(a ⊔ b) ⊔ c must equal a ⊔ (b ⊔ c)"
        );
    }

    #[test]
    fn gcounter_merge_is_idempotent(a in increments(), b in increments()) {
        let (a, b) = (gcounter(&a), gcounter(&b));
        prop_assert_eq!(merged(&a, &a), a.clone(), "a ⊔ a must equal a: merging a state twice must not count it twice");
        let ab = merged(&a, &b);
        prop_assert_eq!(merged(&ab, &b), ab, "(a ⊔ b) ⊔ b must equal a ⊔ b");
    }

    #[test]
    fn pncounter_merge_is_commutative_associative_idempotent(
        a in additions(), b in additions(), c in additions()
    ) {
        let (a, b, c) = (pncounter(&a), pncounter(&b), pncounter(&c));
        prop_assert_eq!(merged(&a, &b), merged(&b, &a), "a ⊔ b must equal b ⊔ a");
        prop_assert_eq!(
            merged(&merged(&a, &b), &c),
            merged(&a, &merged(&b, &c)),
            "(a ⊔ b) ⊔ c must equal a ⊔ (b ⊔ c)"
        );
        prop_assert_eq!(merged(&a, &a), a, "a ⊔ a must equal a");
    }

    #[test]
    fn replicas_converge_to_the_sum_whatever_the_merge_order(steps in steps()) {
        // Three replicas; replica i adds only on behalf of node i, and merges others' states in
        // whatever order the steps say. Finally every replica merges every other.
        let mut replicas = vec![PnCounter::new(); 3];
        let mut total = 0i64;
        for step in &steps {
            match *step {
                Step::Add(r, delta) => {
                    replicas[r].add(NodeId(r as u32), delta);
                    total += delta;
                }
                Step::Merge { from, into } => {
                    let state = replicas[from].clone();
                    replicas[into].merge(&state);
                }
            }
        }
        let all = replicas.iter().fold(PnCounter::new(), |acc, r| merged(&acc, r));
        for (i, r) in replicas.iter().enumerate() {
            let done = merged(r, &all);
            prop_assert_eq!(
                done.value(),
                total,
                "replica {} ended at {} but the additions sum to {}: did a merge lose a decrement \
                 (a node's entry that went down looks older than it is)?",
                i, done.value(), total
            );
            prop_assert_eq!(&done, &all, "replica {} did not converge to the same state", i);
        }
    }
}

// ----- the cluster ------------------------------------------------------------------------------

const NODES: usize = 5;

/// `clients` clients adding small deltas (-5..=10) until `until`.
fn adds(clients: usize, until: Tick) -> Workload<CounterNode> {
    Workload::new(clients, |op| {
        Some(CounterRequest::Add(op.rng.range(0..=15) as i64 - 5))
    })
    .think(5, 30)
    .timeout(50)
    .until(until)
}

/// All sums reachable by adding a subset of `deltas`.
fn subset_sums(deltas: &[i64]) -> BTreeSet<i64> {
    let mut sums = BTreeSet::from([0]);
    for d in deltas {
        let shifted: Vec<i64> = sums.iter().map(|s| s + d).collect();
        sums.extend(shifted);
    }
    sums
}

/// Settles, then reads every node: all must read the same value, which must be the sum of every
/// acknowledged addition plus some of the additions whose outcome the client never learned.
fn check_converged(sim: &mut Sim<CounterNode>, settle: Tick) -> Result<(), Failure> {
    sim.run_for(settle)?;
    let mut acked = 0i64;
    let mut unknown = Vec::new();
    for op in sim.history().ops() {
        if let CounterRequest::Add(d) = op.request {
            if op.response() == Some(&CounterResponse::AddOk) {
                acked += d;
            } else if op.is_indefinite() {
                unknown.push(d);
            }
        }
    }
    let possible = subset_sums(&unknown);
    let mut first: Option<(NodeId, i64)> = None;
    for node in sim.ids().to_vec() {
        let value = match sim.call(node, CounterRequest::Read, 100)? {
            Some(CounterResponse::Value(v)) => v,
            other => {
                return Err(sim.fail(
                    "Read is answered with Value",
                    format!(
                        "{node} answered a Read with {other:?} (None: no answer within 100 ticks)"
                    ),
                ));
            }
        };
        if !possible.contains(&(value - acked)) {
            return Err(sim.fail(
                "the counter is the sum of the additions",
                format!(
                    "{node} reads {value}, but the acknowledged additions sum to {acked} and the {} \
                     additions with unknown outcome ({unknown:?}) cannot make up the difference of {}.\n\
                     Too low: an acknowledged addition was lost (not durable? swallowed by a merge?). \
                     Too high: an addition was counted twice (a duplicated message applied again?).",
                    unknown.len(),
                    value - acked
                ),
            ));
        }
        match first {
            None => first = Some((node, value)),
            Some((other, theirs)) if theirs != value => {
                return Err(sim.fail(
                    "all nodes converge to the same value",
                    format!(
                        "{settle} ticks after the faults stopped, {other} reads {theirs} but {node} reads {value}"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[test]
fn a_node_reads_its_own_adds() {
    seeds(3).check(|seed| {
        let mut sim = Sim::<CounterNode>::new(seed, Config::new(3));
        for delta in [5, -2, 10] {
            let answer = sim.call(NodeId(1), CounterRequest::Add(delta), 100)?;
            if answer != Some(CounterResponse::AddOk) {
                return Err(sim.fail(
                    "Add is answered with AddOk",
                    format!("Add({delta}) to n1 was answered {answer:?}"),
                ));
            }
        }
        let read = sim.call(NodeId(1), CounterRequest::Read, 100)?;
        if read != Some(CounterResponse::Value(13)) {
            return Err(sim.fail(
                "a node counts the additions made on it",
                format!("after Add(5), Add(-2), Add(10) on n1, Read on n1 answered {read:?}, expected Value(13)"),
            ));
        }
        Ok(())
    });
}

#[test]
fn a_restarted_node_keeps_its_own_count() {
    seeds(3).check(|seed| {
        let mut sim = Sim::<CounterNode>::new(seed, Config::new(3));
        let n1 = NodeId(1);
        sim.call(n1, CounterRequest::Add(10), 100)?;
        sim.run_for(300)?;
        // n1 crashes and comes back cut off from its peers: only its own storage can tell it
        // what it had counted.
        sim.crash(n1);
        sim.restart(n1);
        sim.apply(Fault::Isolate(n1));
        let answer = sim.call(n1, CounterRequest::Add(1), 100)?;
        if answer != Some(CounterResponse::AddOk) {
            return Err(sim.fail(
                "Add is answered with AddOk",
                format!("Add(1) to the restarted n1 was answered {answer:?}"),
            ));
        }
        let read = sim.call(n1, CounterRequest::Read, 100)?;
        if read != Some(CounterResponse::Value(11)) {
            return Err(sim.fail(
                "a restarted node keeps its own count",
                format!(
                    "n1 acknowledged Add(10), crashed, restarted, acknowledged Add(1): it should read \
                     Value(11) but read {read:?}. What did n1 find in its storage when it restarted?"
                ),
            ));
        }
        sim.heal();
        check_converged(&mut sim, 500)?;
        let read = sim.call(NodeId(0), CounterRequest::Read, 100)?;
        if read != Some(CounterResponse::Value(11)) {
            return Err(sim.fail(
                "a restarted node keeps its own count",
                format!(
                    "after healing, n0 reads {read:?}, expected Value(11): if n1 restarted from 0, its \
                     entry (1) is below the 10 its peers remember, and merging with max swallows the \
                     new addition"
                ),
            ));
        }
        Ok(())
    });
}

#[test]
fn counters_converge_despite_loss_and_duplicates() {
    seeds(5).check(|seed| {
        let net = Net::lossy(0.3).duplicating(0.2);
        let mut sim = Sim::<CounterNode>::new(seed, Config::new(NODES).net(net));
        sim.workload(adds(4, 2_000));
        sim.run_until(2_000)?;
        check_converged(&mut sim, 1_000)
    });
}

#[test]
fn counters_converge_after_partitions_heal() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<CounterNode>::new(seed, Config::new(NODES).net(Net::lossy(0.1)));
        sim.nemesis(
            Nemesis::between(0, 2_500)
                .partitions()
                .every(100, 300)
                .lasting(200, 700),
        );
        sim.workload(adds(4, 2_500));
        sim.run_until(2_500)?;
        check_converged(&mut sim, 1_000)
    });
}

#[test]
fn acknowledged_adds_survive_crashes() {
    seeds(8).check(|seed| {
        let mut sim = Sim::<CounterNode>::new(seed, Config::new(NODES).net(Net::lossy(0.1)));
        sim.nemesis(
            Nemesis::between(0, 2_500)
                .crashes()
                .every(30, 120)
                .lasting(20, 150),
        );
        sim.workload(adds(4, 2_500));
        sim.run_until(2_500)?;
        check_converged(&mut sim, 1_000)
    });
}
