//! The simulator's own tests: determinism, each fault kind, clients and histories, failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashSet};

use katas_sim::{
    Config, Context, Fault, Nemesis, Net, Node, NodeId, Outcome, RequestId, Seeds, Sim, Target,
    Verdict, Workload, seeds,
};

/// A test node driven by client commands.
struct Probe {
    /// Messages received, in order: (from, payload).
    got: Vec<(NodeId, u64)>,
    /// Local times at which timers fired.
    fired: Vec<u64>,
    /// How many times this node has started (durable).
    boots: u64,
}

#[derive(Clone, Debug, PartialEq)]
enum Cmd {
    /// Send payloads `from..to` to a node, in order.
    Send(NodeId, u64, u64),
    /// Set a timer.
    Timer(u64),
    /// Answer with the payloads received so far.
    Read,
    /// Answer "try elsewhere".
    Elsewhere,
    /// Never answer.
    Ignore,
    /// Panic.
    Panic,
    /// Answer with some element of a HashSet (non-deterministic on purpose).
    HashOrder,
}

#[derive(Clone, Debug, PartialEq)]
enum Out {
    Ok,
    Payloads(Vec<u64>),
    Elsewhere,
    Node(NodeId),
    Value(u64),
}

impl Node for Probe {
    type Msg = u64;
    type Request = Cmd;
    type Response = Out;
    type Timer = u64;

    fn init(ctx: &mut Context<'_, Self>) -> Self {
        let boots = ctx.storage().get_u64("boots").unwrap_or(0) + 1;
        ctx.storage().put_u64("boots", boots);
        Probe {
            got: Vec::new(),
            fired: Vec::new(),
            boots,
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, req: Cmd) {
        match req {
            Cmd::Send(to, from, until) => {
                for p in from..until {
                    ctx.send(to, p);
                }
                ctx.reply(id, Out::Ok);
            }
            Cmd::Timer(after) => {
                ctx.set_timer(after, after);
                ctx.reply(id, Out::Ok);
            }
            Cmd::Read => {
                let payloads = self.got.iter().map(|(_, p)| *p).collect();
                ctx.reply(id, Out::Payloads(payloads));
            }
            Cmd::Elsewhere => ctx.reply(id, Out::Elsewhere),
            Cmd::Ignore => {}
            Cmd::Panic => panic!("asked to panic"),
            Cmd::HashOrder => {
                let set: HashSet<u64> = (0..64).collect();
                let first = set.iter().next().copied().unwrap_or(0);
                ctx.note(format!("first of the set: {first}"));
                ctx.reply(id, Out::Value(first));
            }
        }
        ctx.note(format!("served {id}"));
        let _ = Out::Node(ctx.me());
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, from: NodeId, msg: u64) {
        self.got.push((from, msg));
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: u64) {
        self.fired.push(ctx.now());
    }
}

fn n(i: u32) -> NodeId {
    NodeId(i)
}

fn received(sim: &Sim<Probe>, node: NodeId) -> Vec<u64> {
    sim.node(node)
        .unwrap()
        .got
        .iter()
        .map(|(_, p)| *p)
        .collect()
}

/// A busy run: lossy, duplicating network, partitions and crashes, clients.
fn busy_run(seed: u64) -> Sim<Probe> {
    let mut sim = Sim::<Probe>::new(seed, Config::new(4).net(Net::lossy(0.2)));
    sim.nemesis(
        Nemesis::between(0, 800)
            .partitions()
            .crashes()
            .every(50, 100),
    );
    sim.workload(
        Workload::new(3, |op| {
            let to = NodeId(op.rng.below(4) as u32);
            Some(Cmd::Send(to, op.count * 10, op.count * 10 + 3))
        })
        .until(800)
        .timeout(30),
    );
    sim.run_until(1_000).unwrap();
    sim
}

#[test]
fn same_seed_gives_the_identical_run() {
    let a = busy_run(42).trace_lines();
    let b = busy_run(42).trace_lines();
    assert!(
        a.len() > 500,
        "the busy run should have many events, had {}",
        a.len()
    );
    assert_eq!(a, b, "two runs of seed 42 differ");
    assert_ne!(
        a,
        busy_run(43).trace_lines(),
        "seeds 42 and 43 gave the same run"
    );
}

#[test]
fn reliable_network_delivers_everything_within_the_delay_bounds() {
    let mut sim = Sim::<Probe>::new(1, Config::new(2).net(Net::reliable().delays(3, 7)));
    sim.request(n(0), Cmd::Send(n(1), 0, 100));
    sim.run_for(2).unwrap();
    assert!(
        received(&sim, n(1)).is_empty(),
        "nothing may arrive before the minimum delay"
    );
    // The request itself takes up to 10 ticks to reach n0 on the client network.
    sim.run_for(20).unwrap();
    let mut got = received(&sim, n(1));
    got.sort_unstable();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    assert_eq!(sim.stats().messages, 100);
    assert_eq!(sim.stats().lost, 0);
}

#[test]
fn delays_reorder_messages() {
    let mut sim = Sim::<Probe>::new(2, Config::new(2));
    sim.request(n(0), Cmd::Send(n(1), 0, 50));
    sim.run_for(50).unwrap();
    let got = received(&sim, n(1));
    assert_eq!(got.len(), 50);
    assert!(
        got.windows(2).any(|w| w[0] > w[1]),
        "50 messages with random delays should arrive out of order: {got:?}"
    );
}

#[test]
fn lossy_network_loses_about_the_given_fraction() {
    let mut sim = Sim::<Probe>::new(3, Config::new(2).net(Net::lossy(0.3).duplicating(0.0)));
    sim.request(n(0), Cmd::Send(n(1), 0, 1_000));
    sim.run_for(50).unwrap();
    let got = received(&sim, n(1)).len();
    assert!(
        (600..800).contains(&got),
        "about 700 of 1000 should arrive at 30% loss, got {got}"
    );
    assert_eq!(sim.stats().lost as usize, 1_000 - got);
}

#[test]
fn duplication_delivers_copies() {
    let mut sim = Sim::<Probe>::new(4, Config::new(2).net(Net::reliable().duplicating(1.0)));
    sim.request(n(0), Cmd::Send(n(1), 0, 10));
    sim.run_for(50).unwrap();
    let mut got = received(&sim, n(1));
    got.sort_unstable();
    let twice: Vec<u64> = (0..10).flat_map(|p| [p, p]).collect();
    assert_eq!(got, twice, "every message should arrive exactly twice");
}

#[test]
fn partitions_cut_links_until_healed() {
    let mut sim = Sim::<Probe>::new(5, Config::new(3));
    sim.apply(Fault::Partition(vec![vec![n(0)], vec![n(1), n(2)]]));
    assert!(sim.partitioned(n(0), n(1)) && !sim.partitioned(n(1), n(2)));
    sim.request(n(0), Cmd::Send(n(1), 0, 5));
    sim.request(n(2), Cmd::Send(n(1), 100, 105));
    sim.run_for(40).unwrap();
    assert_eq!(
        received(&sim, n(1)).into_iter().collect::<BTreeSet<_>>(),
        (100..105).collect(),
        "n1 should hear only n2 while n0 is cut off"
    );
    sim.heal();
    sim.request(n(0), Cmd::Send(n(1), 5, 10));
    sim.run_for(40).unwrap();
    assert!(
        received(&sim, n(1)).contains(&5),
        "after healing, n0 reaches n1"
    );
    // Messages in flight when a partition starts are lost too.
    sim.request(n(0), Cmd::Send(n(1), 200, 201));
    sim.run_while(1_000, |s| s.stats().messages < 16).unwrap();
    sim.apply(Fault::Isolate(n(1)));
    sim.run_for(40).unwrap();
    assert!(
        !received(&sim, n(1)).contains(&200),
        "a message in flight across a new partition is lost"
    );
}

#[test]
fn cut_links_make_non_transitive_partitions() {
    let mut sim = Sim::<Probe>::new(18, Config::new(3));
    sim.apply(Fault::Cut(vec![(n(0), n(2))]));
    assert!(
        sim.partitioned(n(2), n(0)) && !sim.partitioned(n(0), n(1)) && !sim.partitioned(n(1), n(2))
    );
    sim.request(n(0), Cmd::Send(n(2), 0, 3));
    sim.request(n(0), Cmd::Send(n(1), 10, 13));
    sim.request(n(1), Cmd::Send(n(2), 20, 23));
    sim.run_for(40).unwrap();
    assert!(
        received(&sim, n(2)).iter().all(|p| *p >= 20),
        "n0 cannot reach n2"
    );
    assert_eq!(received(&sim, n(2)).len(), 3, "n1 reaches n2");
    assert_eq!(received(&sim, n(1)).len(), 3, "n0 reaches n1");
    sim.heal();
    assert!(!sim.partitioned(n(0), n(2)));
}

#[test]
fn crash_loses_memory_and_timers_but_not_storage() {
    let mut sim = Sim::<Probe>::new(6, Config::new(2));
    sim.request(n(0), Cmd::Send(n(1), 0, 3));
    sim.request(n(1), Cmd::Timer(100));
    sim.run_for(30).unwrap();
    assert_eq!(received(&sim, n(1)).len(), 3);
    sim.crash(n(1));
    assert!(sim.node(n(1)).is_none());
    sim.request(n(0), Cmd::Send(n(1), 10, 13));
    sim.run_for(30).unwrap();
    sim.restart(n(1));
    let node = sim.node(n(1)).unwrap();
    assert!(
        node.got.is_empty(),
        "memory must not survive a crash: {:?}",
        node.got
    );
    assert_eq!(node.boots, 2, "storage must survive a crash (boot counter)");
    sim.run_for(200).unwrap();
    let node = sim.node(n(1)).unwrap();
    assert!(
        node.fired.is_empty(),
        "a timer set before the crash must not fire after the restart"
    );
    assert!(
        node.got.is_empty(),
        "messages sent while the node was down are lost"
    );
    assert_eq!(sim.storage(n(1)).unwrap().get_u64("boots"), Some(2));
}

#[test]
fn requests_to_a_crashed_node_time_out_as_indefinite() {
    let mut sim = Sim::<Probe>::new(7, Config::new(2));
    sim.crash(n(0));
    sim.workload(
        Workload::new(1, |op| (op.count == 0).then_some(Cmd::Read))
            .target(Target::Node(n(0)))
            .timeout(20),
    );
    sim.run_for(100).unwrap();
    let op = &sim.history().ops()[0];
    assert!(matches!(op.outcome, Outcome::Indefinite { .. }), "{op}");
    assert_eq!(sim.stats().ops_indefinite, 1);
}

#[test]
fn clients_retry_with_the_same_request_id_at_the_next_node() {
    let mut sim = Sim::<Probe>::new(8, Config::new(3));
    sim.workload(
        Workload::new(1, |op| (op.count == 0).then_some(Cmd::Elsewhere))
            .target(Target::Node(n(0)))
            .attempts(3)
            .retry_if(|out| {
                if *out == Out::Elsewhere {
                    Verdict::Retry
                } else {
                    Verdict::Done
                }
            }),
    );
    sim.run_for(200).unwrap();
    let op = &sim.history().ops()[0];
    assert_eq!(
        op.nodes,
        vec![n(0), n(1), n(2)],
        "three attempts, one per node in turn"
    );
    assert!(matches!(op.outcome, Outcome::Rejected { .. }), "{op}");
    let lines = sim.trace_lines();
    assert_eq!(
        lines.iter().filter(|l| l.contains("c0#1→")).count(),
        3,
        "{lines:#?}"
    );
}

#[test]
fn retry_on_timeout_then_success_is_recorded_once() {
    let mut sim = Sim::<Probe>::new(9, Config::new(2));
    sim.crash(n(0));
    sim.workload(
        Workload::new(1, |op| (op.count == 0).then_some(Cmd::Read))
            .target(Target::Node(n(0)))
            .timeout(30)
            .attempts(2)
            .retry_on_timeout(),
    );
    sim.run_for(200).unwrap();
    assert_eq!(sim.history().len(), 1);
    let op = &sim.history().ops()[0];
    assert_eq!(op.nodes, vec![n(0), n(1)]);
    assert_eq!(op.response(), Some(&Out::Payloads(vec![])));
    assert!(op.latency().unwrap() >= 30);
}

#[test]
fn retry_at_same_node_resends_to_the_same_node() {
    let mut sim = Sim::<Probe>::new(17, Config::new(3));
    sim.workload(
        Workload::new(1, |op| (op.count == 0).then_some(Cmd::Ignore))
            .target(Target::Node(n(1)))
            .timeout(20)
            .attempts(3)
            .retry_at_same_node(),
    );
    sim.run_for(200).unwrap();
    let op = &sim.history().ops()[0];
    assert_eq!(op.nodes, vec![n(1), n(1), n(1)]);
    assert!(matches!(op.outcome, Outcome::Indefinite { .. }), "{op}");
}

#[test]
fn workload_clients_are_sequential_and_stop() {
    let mut sim = Sim::<Probe>::new(10, Config::new(3));
    sim.workload(Workload::new(4, |op| (op.count < 40).then_some(Cmd::Read)).think(1, 3));
    sim.run_for(2_000).unwrap();
    let h = sim.history();
    assert_eq!(h.len(), 40);
    for c in 0..4u32 {
        let ops: Vec<_> = h.ops().iter().filter(|o| o.id.client.0 == c).collect();
        for w in ops.windows(2) {
            assert!(
                w[0].completed_at().unwrap() < w[1].invoked,
                "a client must not overlap its own operations"
            );
            assert_eq!(w[0].id.seq + 1, w[1].id.seq);
        }
    }
    assert_eq!(sim.stats().ops_ok, 40);
    assert!(sim.stats().latency_median().unwrap() >= 2);
}

#[test]
fn ignored_requests_stay_pending_and_call_returns_none() {
    let mut sim = Sim::<Probe>::new(11, Config::new(1));
    assert_eq!(sim.call(n(0), Cmd::Ignore, 50).unwrap(), None);
    assert_eq!(
        sim.call(n(0), Cmd::Read, 50).unwrap(),
        Some(Out::Payloads(vec![]))
    );
    assert!(matches!(sim.history().ops()[0].outcome, Outcome::Pending));
}

#[test]
fn drifting_clocks_fire_timers_at_different_true_times() {
    let mut sim = Sim::<Probe>::new(12, Config::new(3).clock_drift_ppm(200_000));
    for i in 0..3 {
        sim.request(n(i), Cmd::Timer(1_000));
    }
    let start = sim.now();
    // Record the true time at which each node's timer fires.
    let mut fired_at = [0u64; 3];
    while fired_at.contains(&0) && sim.now() < 3_000 {
        sim.run_for(1).unwrap();
        for (i, at) in fired_at.iter_mut().enumerate() {
            if *at == 0 && !sim.node(n(i as u32)).unwrap().fired.is_empty() {
                *at = sim.now() - start;
            }
        }
    }
    for t in fired_at {
        assert!(
            (800..=1_300).contains(&t),
            "a 1000-tick timer at ±20% drift fired after {t} true ticks"
        );
    }
    assert!(
        fired_at.iter().collect::<BTreeSet<_>>().len() > 1,
        "drifting clocks should not all agree: {fired_at:?}"
    );
}

#[test]
fn nemesis_injects_faults_then_heals_and_restarts_everything() {
    let mut sim = Sim::<Probe>::new(13, Config::new(5));
    sim.nemesis(
        Nemesis::between(0, 2_000)
            .partitions()
            .crashes()
            .every(50, 150),
    );
    let mut saw_down = false;
    let mut saw_partition = false;
    while sim.now() < 2_000 {
        sim.run_for(10).unwrap();
        let down = sim.ids().iter().filter(|id| !sim.is_up(**id)).count();
        assert!(down <= 2, "at most a minority may be down, {down} were");
        saw_down |= down > 0;
        saw_partition |= sim
            .ids()
            .iter()
            .any(|a| sim.ids().iter().any(|b| sim.partitioned(*a, *b)));
    }
    assert!(
        saw_down && saw_partition,
        "the nemesis should have crashed nodes and partitioned the network"
    );
    sim.run_for(1).unwrap();
    assert!(
        sim.ids().iter().all(|id| sim.is_up(*id)),
        "all nodes up after the nemesis stops"
    );
    assert!(
        !sim.partitioned(n(0), n(4)),
        "healed after the nemesis stops"
    );
    let restarts = sim
        .trace_lines()
        .iter()
        .filter(|l| l.contains("RESTARTED"))
        .count();
    assert!(restarts > 0);
    assert!(sim.node(n(0)).unwrap().boots >= 1);
}

#[test]
fn invariant_violation_stops_the_run_with_a_timeline() {
    let mut sim = Sim::<Probe>::new(14, Config::new(3));
    sim.invariant("n1 receives at most 3 messages", |s| {
        let got = s.node(NodeId(1)).map_or(0, |p| p.got.len());
        if got > 3 {
            Err(format!("n1 received {got} messages"))
        } else {
            Ok(())
        }
    });
    sim.request(n(0), Cmd::Send(n(1), 0, 10));
    let failure = sim.run_for(100).unwrap_err();
    assert_eq!(failure.seed(), 14);
    assert_eq!(failure.property(), "n1 receives at most 3 messages");
    assert!(
        failure.detail().contains("received 4 messages"),
        "{}",
        failure.detail()
    );
    let text = failure.to_string();
    assert!(
        text.contains("│ n0") && text.contains("n1") && text.contains("clients"),
        "{text}"
    );
    assert!(
        text.contains("←n0"),
        "the timeline shows deliveries: {text}"
    );
    assert!(text.contains("VIOLATION"), "{text}");
    // A stopped run stays stopped.
    assert!(sim.run_for(10).is_err());
}

#[test]
fn a_panicking_node_becomes_a_failure_naming_it() {
    let mut sim = Sim::<Probe>::new(15, Config::new(2));
    sim.request(n(1), Cmd::Panic);
    let failure = sim.run_for(50).unwrap_err();
    assert_eq!(failure.property(), "nodes do not panic");
    assert!(
        failure.detail().contains("n1 panicked") && failure.detail().contains("asked to panic"),
        "{}",
        failure.detail()
    );
}

#[test]
fn seed_runner_reports_seed_property_and_replay_command() {
    let result = std::panic::catch_unwind(|| {
        Seeds::only([3, 4, 5]).check(|seed| {
            let sim = Sim::<Probe>::new(seed, Config::new(2));
            if seed == 4 {
                Err(sim.fail("seed 4 is unlucky", "it just is"))
            } else {
                Ok(())
            }
        });
    });
    let payload = result.unwrap_err();
    let text = payload.downcast_ref::<String>().unwrap();
    assert!(text.contains("seed 4 is unlucky (seed 4"), "{text}");
    assert!(text.contains("KATAS_SEED=4 cargo test"), "{text}");
    // The crate's folder names the track (here katas-sim's own folder stands for it).
    assert!(
        text.contains("katas run katas-sim --seed 4 --test "),
        "{text}"
    );
    let folder = env!("CARGO_MANIFEST_DIR");
    assert!(
        text.contains(&format!("in {folder}: KATAS_SEED=4")),
        "the replay line names the folder to run it in: {text}"
    );
    assert!(
        !text.contains("WARNING"),
        "a deterministic failure must not warn: {text}"
    );
}

#[test]
fn seed_runner_warns_when_a_replay_differs() {
    let result = std::panic::catch_unwind(|| {
        Seeds::only([1]).check(|seed| {
            let mut sim = Sim::<Probe>::new(seed, Config::new(1));
            // Enough draws that two hash orders almost surely differ somewhere.
            for _ in 0..8 {
                sim.request(n(0), Cmd::HashOrder);
            }
            sim.run_for(50)?;
            Err(sim.fail("always fails", "to trigger the replay"))
        });
    });
    let text = result
        .unwrap_err()
        .downcast_ref::<String>()
        .cloned()
        .unwrap();
    assert!(
        text.contains("WARNING: running this seed again did not give the same events"),
        "{text}"
    );
}

#[test]
fn default_seeds_pass_quietly() {
    let mut runs = 0;
    seeds(5).check(|_| {
        runs += 1;
        Ok(())
    });
    assert!(runs >= 1);
}

#[test]
fn stats_count_messages_per_op_and_latency() {
    let mut sim = Sim::<Probe>::new(16, Config::new(2));
    sim.workload(
        Workload::new(1, |op| {
            (op.count < 10).then_some(Cmd::Send(NodeId(1), 0, 3))
        })
        .target(Target::Node(n(0))),
    );
    sim.run_for(1_000).unwrap();
    let stats = sim.stats();
    assert_eq!(stats.ops_ok, 10);
    assert_eq!(stats.messages, 30);
    assert!((stats.messages_per_op() - 3.0).abs() < 1e-9);
    assert_eq!(stats.latencies.len(), 10);
    assert!(stats.to_string().contains("3.0 per op"), "{stats}");
    sim.reset_stats();
    assert_eq!(sim.stats().messages, 0);
}

#[test]
fn a_failure_reads_as_seed_property_stats_and_a_column_per_node() {
    let sim = busy_run(42);
    let report = sim.fail("demo", "a demo failure\nsecond line").to_string();
    assert!(report.contains("demo (seed 42"), "{report}");
    assert!(
        report.contains("a demo failure") && report.contains("second line"),
        "{report}"
    );
    assert!(report.contains("per op"), "efficiency is shown: {report}");
    let header = report
        .lines()
        .find(|l| l.contains("tick") && l.contains("n0"))
        .expect("a header row");
    for column in ["n0", "n1", "n2", "n3", "clients"] {
        assert!(header.contains(column), "no column {column}: {header}");
    }
}

#[test]
fn a_blocked_link_loses_messages_one_way_only() {
    let mut sim = Sim::<Probe>::new(21, Config::new(2));
    sim.request(n(0), Cmd::Send(n(1), 0, 3));
    // Block right away: the three messages are in flight and lost at delivery.
    sim.run_for(0).unwrap();
    sim.apply(Fault::Block(vec![(n(0), n(1))]));
    assert!(sim.blocked(n(0), n(1)) && !sim.blocked(n(1), n(0)));
    sim.request(n(0), Cmd::Send(n(1), 10, 13));
    sim.request(n(1), Cmd::Send(n(0), 20, 23));
    sim.run_for(40).unwrap();
    assert!(received(&sim, n(1)).is_empty(), "n0 → n1 is blocked");
    assert_eq!(received(&sim, n(0)).len(), 3, "n1 → n0 still flows");
    sim.heal();
    sim.request(n(0), Cmd::Send(n(1), 30, 31));
    sim.run_for(40).unwrap();
    assert_eq!(received(&sim, n(1)), [30], "healing unblocks the link");
}

#[test]
fn held_messages_wait_and_leave_in_order_when_released() {
    let mut sim = Sim::<Probe>::new(22, Config::new(3));
    sim.apply(Fault::Hold(vec![(n(0), n(1))]));
    sim.request(n(0), Cmd::Send(n(1), 0, 5));
    sim.request(n(0), Cmd::Send(n(2), 10, 12));
    sim.run_for(200).unwrap();
    assert!(
        received(&sim, n(1)).is_empty(),
        "held messages are not delivered"
    );
    assert_eq!(sim.held(), 5);
    assert_eq!(sim.held_on(n(0), n(1)), 5);
    assert_eq!(sim.held_on(n(1), n(0)), 0, "a hold is one way");
    assert_eq!(received(&sim, n(2)).len(), 2, "other links are not held");
    let released_at = sim.now();
    sim.apply(Fault::Release(vec![(n(0), n(1))]));
    assert_eq!(sim.held(), 0);
    sim.run_for(20).unwrap();
    let mut got = received(&sim, n(1));
    got.sort_unstable();
    assert_eq!(
        got,
        [0, 1, 2, 3, 4],
        "every held message arrives once released"
    );
    assert!(sim.now() >= released_at);
    // After the release the link flows normally again.
    sim.request(n(0), Cmd::Send(n(1), 5, 6));
    sim.run_for(20).unwrap();
    assert!(received(&sim, n(1)).contains(&5));
}

#[test]
fn held_messages_survive_the_senders_crash_and_heal_releases_them() {
    let mut sim = Sim::<Probe>::new(23, Config::new(2));
    sim.apply(Fault::Hold(vec![(n(0), n(1))]));
    sim.request(n(0), Cmd::Send(n(1), 0, 2));
    sim.run_for(20).unwrap();
    sim.crash(n(0));
    sim.heal();
    sim.run_for(20).unwrap();
    assert_eq!(
        received(&sim, n(1)).len(),
        2,
        "a crash does not recall messages sent"
    );
}

#[test]
fn a_slow_link_adds_delay_to_every_message_sent_on_it() {
    let mut sim = Sim::<Probe>::new(24, Config::new(2));
    sim.apply(Fault::Slow(vec![(n(0), n(1))], 100));
    sim.request(n(0), Cmd::Send(n(1), 0, 3));
    sim.run_for(100).unwrap();
    assert!(
        received(&sim, n(1)).is_empty(),
        "nothing arrives before 100 extra ticks"
    );
    sim.run_for(20).unwrap();
    assert_eq!(received(&sim, n(1)).len(), 3);
    sim.apply(Fault::Slow(vec![(n(0), n(1))], 0));
    sim.request(n(0), Cmd::Send(n(1), 3, 4));
    sim.run_for(15).unwrap();
    assert_eq!(received(&sim, n(1)).len(), 4, "extra 0 ends the slowness");
}

#[test]
fn resend_retries_a_pending_request_with_the_same_id() {
    let mut sim = Sim::<Probe>::new(25, Config::new(2));
    let rid = sim.request(n(0), Cmd::Ignore);
    sim.run_for(30).unwrap();
    assert!(sim.history().response(rid).is_none());
    assert!(sim.resend(rid, n(1)));
    sim.run_for(30).unwrap();
    let op = sim.history().get(rid).unwrap();
    assert_eq!(op.nodes, [n(0), n(1)], "both attempts are recorded, one id");
    // An answered request cannot be resent.
    let answered = sim.request(n(0), Cmd::Read);
    sim.run_for(30).unwrap();
    assert!(sim.history().response(answered).is_some());
    assert!(!sim.resend(answered, n(1)));
}

#[test]
fn a_failure_naming_an_early_operation_shows_the_events_around_it() {
    // A checker at the end of a busy run names an operation from near its start: the
    // timeline must show that operation, not the last rows of the run.
    let sim = busy_run(42);
    let lines = sim.trace_lines();
    let early = lines
        .iter()
        .skip(lines.len() / 4)
        .take(lines.len() / 4)
        .find_map(|l| {
            let at = l.find("c1#")?;
            let name: String = l[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '#')
                .collect();
            Some(name)
        })
        .expect("an early operation of client 1");
    let report = sim
        .fail("not linearizable", format!("no order explains {early}"))
        .to_string();
    assert!(
        report.contains(&format!("around {early}")),
        "the timeline says what it is around: {report}"
    );
    let rows: Vec<&str> = report.lines().filter(|l| l.contains(" │")).collect();
    assert!(
        rows.iter().any(|r| r.contains(&early)),
        "the named operation's row is shown: {report}"
    );
    assert!(
        rows.len() <= 1 + 40 + 10 + 10,
        "fitted: {} rows",
        rows.len()
    );
    // The faults before it are kept (busy_run crashes and partitions from tick 0), and a `…`
    // row marks the events left out between them and the window.
    assert!(
        rows.iter()
            .any(|r| r.contains("CRASHED") || r.contains("partition")),
        "{report}"
    );
    assert!(
        rows.iter().any(|r| r.trim_start().starts_with("… │")),
        "{report}"
    );

    // A detail that names nothing keeps the end of the run.
    let plain = sim.fail("demo", "nothing named").to_string();
    assert!(plain.contains("the last 40 of"), "{plain}");
}

/// Runs until every node's timer has fired, and returns the true tick of each firing.
fn timer_firings(sim: &mut Sim<Probe>, after: u64) -> Vec<u64> {
    let nodes = sim.ids().len();
    for i in 0..nodes {
        sim.request(n(i as u32), Cmd::Timer(after));
    }
    let start = sim.now();
    let mut fired_at = vec![0u64; nodes];
    while fired_at.contains(&0) && sim.now() < start + 10 * after {
        sim.run_for(1).unwrap();
        for (i, at) in fired_at.iter_mut().enumerate() {
            if *at == 0 && !sim.node(n(i as u32)).unwrap().fired.is_empty() {
                *at = sim.now() - start;
            }
        }
    }
    fired_at
}

#[test]
fn a_placed_clock_sets_the_rate_and_offset_of_one_node() {
    let config = Config::new(3)
        .node_clock(n(0), 900_000, 0)
        .node_clock(n(1), 1_100_000, 5_000)
        .node_clock(n(2), 1_000_000, 0);
    let mut sim = Sim::<Probe>::new(1, config);
    sim.run_until(1_000).unwrap();
    assert_eq!(sim.local_time(n(0)), Some(900));
    assert_eq!(sim.local_time(n(1)), Some(6_100));
    assert_eq!(sim.local_time(n(2)), Some(1_000));
    assert_eq!(sim.local_time(n(3)), None);
    // A 990-tick timer: 1100 true ticks on a clock 10% slow, 900 on one 10% fast. Requests
    // arrive after a client delay, so the timers start at slightly different true times.
    let fired = timer_firings(&mut sim, 990);
    assert!(
        (1_100..=1_110).contains(&fired[0]),
        "slow clock fired after {fired:?}"
    );
    assert!(
        (900..=910).contains(&fired[1]),
        "fast clock fired after {fired:?}"
    );
    assert!(
        (990..=1_000).contains(&fired[2]),
        "perfect clock fired after {fired:?}"
    );
    // The node sees its own clock: the timer's firing time, read locally, is offset + rate * t.
    let local = sim.node(n(1)).unwrap().fired[0];
    assert!(local >= 6_100 + 990, "n1 read {local} when its timer fired");
}

#[test]
fn placing_one_clock_leaves_the_other_drifting_clocks_as_they_were() {
    let drifting = || Config::new(3).clock_drift_ppm(100_000);
    let mut plain = Sim::<Probe>::new(5, drifting());
    let mut placed = Sim::<Probe>::new(5, drifting().node_clock(n(1), 1_000_000, 0));
    plain.run_until(10_000).unwrap();
    placed.run_until(10_000).unwrap();
    assert_eq!(placed.local_time(n(1)), Some(10_000));
    for i in [0, 2] {
        assert_eq!(placed.local_time(n(i)), plain.local_time(n(i)));
    }
    assert_ne!(
        plain.local_time(n(1)),
        Some(10_000),
        "seed 5 should draw a drifting clock for n1 (pick another seed)"
    );
}

#[test]
fn placing_a_clock_twice_keeps_the_last() {
    let config = Config::new(2)
        .node_clock(n(0), 900_000, 0)
        .node_clock(n(0), 1_100_000, 7);
    assert_eq!(config.clocks.len(), 1);
    let mut sim = Sim::<Probe>::new(1, config);
    sim.run_until(100).unwrap();
    assert_eq!(sim.local_time(n(0)), Some(117));
}

#[test]
fn a_clock_placed_outside_the_cluster_or_stopped_fails_the_run_saying_so() {
    let mut outside = Sim::<Probe>::new(1, Config::new(3).node_clock(n(3), 900_000, 0));
    let failure = outside.run_until(10).unwrap_err().to_string();
    assert!(failure.contains("n3"), "{failure}");
    assert!(failure.contains("3 nodes"), "{failure}");
    let mut stopped = Sim::<Probe>::new(1, Config::new(3).node_clock(n(1), 0, 0));
    let failure = stopped.run_until(10).unwrap_err().to_string();
    assert!(failure.contains("rate of 0"), "{failure}");
    assert!(
        stopped.node(n(0)).is_none(),
        "no node starts in an invalid world"
    );
}

#[test]
fn a_clock_fault_changes_the_rate_from_now_without_a_jump_and_moves_pending_timers() {
    let mut sim = Sim::<Probe>::new(3, Config::new(2));
    sim.request(n(0), Cmd::Timer(1_000));
    sim.request(n(1), Cmd::Timer(1_000));
    sim.run_until(500).unwrap();
    let before = sim.local_time(n(0)).unwrap();
    sim.apply(Fault::Clock(n(0), 500_000));
    assert_eq!(
        sim.local_time(n(0)),
        Some(before),
        "the reading must not jump"
    );
    sim.run_until(1_100).unwrap();
    assert!(sim.node(n(1)).unwrap().fired.len() == 1, "n1 keeps time");
    assert!(
        sim.node(n(0)).unwrap().fired.is_empty(),
        "n0's timer is due 500 local ticks after the change: 1000 true ticks at half speed"
    );
    assert_eq!(sim.local_time(n(0)), Some(before + 300));
    sim.run_until(1_520).unwrap();
    let fired = &sim.node(n(0)).unwrap().fired;
    assert_eq!(fired.len(), 1, "n0's timer fires by tick 1520");
    assert!(
        fired[0] >= 1_000,
        "it fired when n0's clock read {}",
        fired[0]
    );
    // Faster again: the reading still goes on from where it was.
    let before = sim.local_time(n(0)).unwrap();
    sim.apply(Fault::Clock(n(0), 1_100_000));
    sim.run_for(100).unwrap();
    assert_eq!(sim.local_time(n(0)), Some(before + 110));
}

#[test]
fn a_clock_fault_with_a_stopped_clock_fails_the_run_saying_so() {
    let mut sim = Sim::<Probe>::new(3, Config::new(2));
    sim.schedule(10, Fault::Clock(n(1), 0));
    let failure = sim.run_until(20).unwrap_err().to_string();
    assert!(failure.contains("rate of 0"), "{failure}");
}
