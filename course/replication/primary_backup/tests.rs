//! Stage 4 (primary_backup): writes acknowledged only once every backup has them, reads that
//! never show a write that could still be lost, and failovers that lose no acknowledged write.
//! Histories are checked for linearizability.
//!
//! Every test runs a fixed set of seeds. A failure prints the seed and a timeline of the run;
//! `KATAS_SEED=<seed>` replays exactly that run, `KATAS_SEEDS=200` tries more seeds.

use katas_sim::lin::kv::{self, KvInput, KvOutput};
use katas_sim::{
    Config, Failure, Fault, LinOp, Net, NodeId, Outcome, Rng, Sim, Tick, Verdict, Workload, seeds,
};
use replication::primary_backup::{PbNode, PbRequest, PbResponse};

const N0: NodeId = NodeId(0);
const N1: NodeId = NodeId(1);
const N2: NodeId = NodeId(2);

fn put(key: &str, value: &str) -> PbRequest {
    PbRequest::Put {
        key: key.to_string(),
        value: value.to_string(),
    }
}

fn get(key: &str) -> PbRequest {
    PbRequest::Get {
        key: key.to_string(),
    }
}

/// Clients doing puts (of unique values) and gets on three keys; a `NotPrimary` answer sends the
/// client to the primary it names. A timeout ends the operation as indefinite.
fn kv_clients(clients: usize, until: Tick) -> Workload<PbNode> {
    Workload::new(clients, |op| {
        let key = ["x", "y", "z"][op.rng.below(3) as usize];
        Some(if op.rng.chance(0.5) {
            put(key, &format!("{}.{}", op.client.0, op.seq))
        } else {
            get(key)
        })
    })
    .think(0, 20)
    .timeout(150)
    .attempts(4)
    .retry_if(|resp| match resp {
        PbResponse::NotPrimary { primary: Some(p) } => Verdict::RetryAt(*p),
        PbResponse::NotPrimary { primary: None } => Verdict::Retry,
        _ => Verdict::Done,
    })
    .until(until)
}

/// Checks the history of puts and gets for linearizability.
fn check_linearizable(sim: &Sim<PbNode>) -> Result<(), Failure> {
    let mut ops = Vec::new();
    for op in sim.history().ops() {
        let input = match &op.request {
            PbRequest::Put { key, value } => KvInput::Put(key.clone(), value.clone()),
            PbRequest::Get { key } => KvInput::Get(key.clone()),
            PbRequest::Promote { .. } => continue,
        };
        let (output, ret) = match &op.outcome {
            Outcome::Ok { response, at } => {
                let output = match (response, &input) {
                    (PbResponse::PutOk, KvInput::Put(..)) => KvOutput::Done,
                    (PbResponse::Value(v), KvInput::Get(_)) => KvOutput::Value(v.clone()),
                    (other, _) => {
                        return Err(sim.fail(
                            "puts are answered PutOk and gets Value",
                            format!("{op} was answered {other:?}"),
                        ));
                    }
                };
                (Some(output), Some(*at))
            }
            // Every attempt was told "not the primary": nothing happened.
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
            "the store is linearizable",
            format!(
                "{report}\nA read returned a value that no single order of the writes explains. Was a \
                 write acknowledged (or shown to a read) before every backup had it, and then lost \
                 in a failover? Did a backup apply writes out of order?"
            ),
        )
    })
}

/// Fails unless at least `percent`% of the operations invoked in `[from, to)` completed, among
/// those that never went to one of the `dead` nodes (a request to a crashed node is lost).
fn check_available(
    sim: &Sim<PbNode>,
    from: Tick,
    to: Tick,
    percent: usize,
    dead: &[NodeId],
) -> Result<(), Failure> {
    let ops: Vec<_> = sim
        .history()
        .ops()
        .iter()
        .filter(|op| (from..to).contains(&op.invoked))
        .filter(|op| !matches!(op.request, PbRequest::Promote { .. }))
        .filter(|op| !op.nodes.iter().any(|n| dead.contains(n)))
        .collect();
    let done = ops.iter().filter(|op| op.response().is_some()).count();
    if done * 100 < ops.len() * percent {
        let stuck = ops.iter().find(|op| op.response().is_none());
        return Err(sim.fail(
            "the store stays available",
            format!(
                "only {done} of the {} operations sent to live nodes between ticks {from} and {to} \
                 completed (at least {percent}% should). For example: {}.\nDoes the primary resend writes that a \
                 backup has not acknowledged? Does a new primary bring its backups up to date?",
                ops.len(),
                stuck.map_or_else(String::new, |op| op.to_string())
            ),
        ));
    }
    Ok(())
}

/// Sends `req` to `node` and fails unless the answer is `expected` within `within` ticks.
fn expect(
    sim: &mut Sim<PbNode>,
    node: NodeId,
    req: PbRequest,
    expected: Option<PbResponse>,
    within: Tick,
    why: &str,
) -> Result<(), Failure> {
    let shown = format!("{req:?}");
    let answer = sim.call(node, req, within)?;
    if answer != expected {
        return Err(sim.fail(
            why.to_string(),
            format!("{shown} to {node} was answered {answer:?} within {within} ticks, expected {expected:?}"),
        ));
    }
    Ok(())
}

#[test]
fn the_primary_serves_and_backups_redirect() {
    seeds(3).check(|seed| {
        let mut sim = Sim::<PbNode>::new(seed, Config::new(3));
        let why = "n0 starts as the primary and serves puts and gets";
        expect(
            &mut sim,
            N0,
            put("x", "1"),
            Some(PbResponse::PutOk),
            200,
            why,
        )?;
        let one = Some(PbResponse::Value(Some("1".into())));
        expect(&mut sim, N0, get("x"), one, 200, why)?;
        expect(
            &mut sim,
            N0,
            get("nope"),
            Some(PbResponse::Value(None)),
            200,
            why,
        )?;
        let redirect = Some(PbResponse::NotPrimary { primary: Some(N0) });
        let why = "a backup answers NotPrimary, naming the primary";
        expect(&mut sim, N1, get("x"), redirect.clone(), 200, why)?;
        expect(&mut sim, N2, put("x", "2"), redirect, 200, why)
    });
}

#[test]
fn a_put_is_acknowledged_only_once_every_backup_has_it() {
    seeds(3).check(|seed| {
        let mut sim = Sim::<PbNode>::new(seed, Config::new(3));
        sim.apply(Fault::Isolate(N2));
        let write = sim.request(N0, put("x", "1"));
        sim.run_for(300)?;
        if let Some(answer) = sim.history().response(write) {
            return Err(sim.fail(
                "a put is acknowledged only once every backup has it",
                format!(
                    "n2 was cut off from n0 the whole time, yet n0 answered {answer:?}: if n0 crashed \
                     now and the operator promoted n2, that acknowledged write would be gone"
                ),
            ));
        }
        sim.heal();
        sim.run_for(300)?;
        if sim.history().response(write) != Some(&PbResponse::PutOk) {
            return Err(sim.fail(
                "a put completes once the backups are reachable",
                "300 ticks after the partition healed, the put was still not acknowledged: does the \
                 primary keep resending writes that a backup has not acknowledged?",
            ));
        }
        Ok(())
    });
}

#[test]
fn reads_never_show_a_write_that_could_still_be_lost() {
    seeds(3).check(|seed| {
        let mut sim = Sim::<PbNode>::new(seed, Config::new(3));
        sim.apply(Fault::Isolate(N2));
        sim.request(N0, put("x", "1"));
        sim.run_for(100)?;
        // The put is not acknowledged and n2 lacks it: a read that shows it...
        sim.call(N0, get("x"), 100)?;
        // ...would be contradicted after a failover to n2.
        sim.crash(N0);
        sim.heal();
        let promoted = sim.call(N2, PbRequest::Promote { backups: vec![N1] }, 100)?;
        if promoted != Some(PbResponse::Promoted) {
            return Err(sim.fail(
                "Promote is answered Promoted",
                format!("n2 answered {promoted:?}"),
            ));
        }
        sim.run_for(100)?;
        sim.call(N2, get("x"), 200)?;
        check_linearizable(&sim)
    });
}

#[test]
fn linearizable_without_failures() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<PbNode>::new(seed, Config::new(3));
        sim.workload(kv_clients(4, 1_500));
        sim.run_until(2_000)?;
        check_available(&sim, 0, 1_500, 100, &[])?;
        check_linearizable(&sim)
    });
}

#[test]
fn writes_complete_despite_message_loss() {
    seeds(5).check(|seed| {
        let mut sim = Sim::<PbNode>::new(seed, Config::new(3).net(Net::lossy(0.2)));
        sim.workload(kv_clients(4, 1_500));
        sim.run_until(2_000)?;
        check_available(&sim, 0, 1_500, 90, &[])?;
        check_linearizable(&sim)
    });
}

/// Crashes the primary `old` at a random time in `window`, promotes `new` with `backups` 30
/// ticks later, and returns the time of the crash.
fn fail_over(
    sim: &mut Sim<PbNode>,
    rng: &mut Rng,
    window: (Tick, Tick),
    old: NodeId,
    new: NodeId,
    backups: Vec<NodeId>,
) -> Result<Tick, Failure> {
    let at = rng.range(window.0..=window.1);
    sim.run_until(at)?;
    sim.crash(old);
    sim.run_for(30)?;
    let promoted = sim.call(new, PbRequest::Promote { backups }, 100)?;
    if promoted != Some(PbResponse::Promoted) {
        return Err(sim.fail(
            "Promote is answered Promoted",
            format!("{new} answered {promoted:?}"),
        ));
    }
    Ok(at)
}

/// Final reads of every key at `primary`, so that lost writes show up in the history.
fn read_everything(sim: &mut Sim<PbNode>, primary: NodeId) -> Result<(), Failure> {
    for key in ["x", "y", "z"] {
        sim.call(primary, get(key), 200)?;
    }
    Ok(())
}

#[test]
fn no_acknowledged_write_is_lost_when_the_primary_crashes() {
    seeds(10).check(|seed| {
        let mut sim = Sim::<PbNode>::new(seed, Config::new(3).net(Net::lossy(0.1)));
        let mut rng = Rng::new(seed);
        sim.workload(kv_clients(4, 2_000));
        let crash = fail_over(&mut sim, &mut rng, (200, 800), N0, N1, vec![N2])?;
        sim.run_until(2_300)?;
        read_everything(&mut sim, N1)?;
        check_linearizable(&sim)?;
        check_available(&sim, crash + 300, 2_000, 80, &[N0])
    });
}

#[test]
fn a_second_failover_loses_nothing_either() {
    seeds(10).check(|seed| {
        let mut sim = Sim::<PbNode>::new(seed, Config::new(3).net(Net::lossy(0.1)));
        let mut rng = Rng::new(seed);
        sim.workload(kv_clients(4, 2_500));
        fail_over(&mut sim, &mut rng, (200, 600), N0, N1, vec![N2])?;
        let second = fail_over(&mut sim, &mut rng, (900, 1_400), N1, N2, vec![])?;
        sim.run_until(2_800)?;
        read_everything(&mut sim, N2)?;
        check_linearizable(&sim)?;
        check_available(&sim, second + 300, 2_500, 80, &[N0, N1])
    });
}

#[test]
fn a_deposed_primary_cannot_write_through_the_backups() {
    // Scripted. The operator promotes n1 (backup n2) while n0, wrongly thought dead, is still
    // up: n0 keeps accepting writes and sending them to its old backups. They belong to a view
    // that is over, and n1 and n2 must ignore them. If they apply them, n0's write numbers mix
    // with n1's: n2 then acknowledges a write of n1 it skipped as "already applied", and after
    // the next failover to n2 that acknowledged write is gone.
    seeds(3).check(|seed| {
        let mut sim = Sim::<PbNode>::new(seed, Config::new(3));
        let why = "the primary serves puts";
        expect(
            &mut sim,
            N0,
            put("x", "a"),
            Some(PbResponse::PutOk),
            200,
            why,
        )?;
        sim.run_for(50)?;
        let promoted = sim.call(N1, PbRequest::Promote { backups: vec![N2] }, 100)?;
        if promoted != Some(PbResponse::Promoted) {
            return Err(sim.fail(
                "Promote is answered Promoted",
                format!("n1 answered {promoted:?}"),
            ));
        }
        sim.run_for(50)?;
        // n0 does not know: it takes a write and sends it to n1 and n2.
        sim.request(N0, put("y", "from the old primary"));
        sim.run_for(50)?;
        let why = "the new primary serves puts";
        expect(
            &mut sim,
            N1,
            put("x", "c"),
            Some(PbResponse::PutOk),
            200,
            why,
        )?;
        sim.run_for(50)?;
        sim.crash(N0);
        sim.crash(N1);
        sim.run_for(30)?;
        sim.call(N2, PbRequest::Promote { backups: vec![] }, 100)?;
        read_everything(&mut sim, N2)?;
        check_linearizable(&sim)
    });
}
