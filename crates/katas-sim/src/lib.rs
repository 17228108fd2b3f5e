//! # katas-sim: a deterministic network simulator for learning distributed systems
//!
//! You write a node as a message handler (a [`Node`]): it receives client requests and messages
//! from its peers, sends messages, replies, sets timers and writes to a durable [`Storage`] that
//! survives crashes while everything else is lost. The simulator ([`Sim`]) runs a cluster of
//! such nodes on logical time, with a faulty network (delay, loss, duplication, reordering),
//! partitions that start and heal, crashes and restarts, drifting clocks, and clients whose
//! operations it records in a [`History`]. Checkers then judge the history: linearizability
//! ([`lin`]), convergence ([`converged`]), invariants checked after every event
//! ([`Sim::invariant`]) and efficiency budgets ([`Stats`]).
//!
//! **Every run is a function of its seed.** Same seed and same node code, same run, event for
//! event: there are no threads, no wall clock, no hash-map iteration in the simulator, and each
//! link, node, client and the fault injector draw from their own stream of the seed. A test runs
//! a fixed set of seeds ([`seeds`]); when one fails, the report names the seed, the violated
//! property and the end of the run as a timeline with one column per node, and
//! `KATAS_SEED=<seed>` replays exactly that run. `KATAS_SEEDS=<n>` runs more seeds,
//! `KATAS_TRACE=all` prints the whole timeline.
//!
//! ## Example
//!
//! A node that hands out ids, tested under partitions and crashes on three seeds:
//!
//! ```
//! use std::collections::BTreeSet;
//! use katas_sim::{seeds, Config, Context, Nemesis, Net, Node, NodeId, RequestId, Sim, Workload};
//!
//! /// Ids `(node, boot, counter)` packed into a u64; the boot count is durable, so a restarted
//! /// node never repeats an id it gave out before its crash.
//! struct Ids { boot: u64, counter: u64 }
//!
//! impl Node for Ids {
//!     type Msg = ();
//!     type Request = ();
//!     type Response = u64;
//!     type Timer = ();
//!
//!     fn init(ctx: &mut Context<'_, Self>) -> Self {
//!         let boot = ctx.storage().get_u64("boot").unwrap_or(0) + 1;
//!         ctx.storage().put_u64("boot", boot);
//!         Ids { boot, counter: 0 }
//!     }
//!     fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, _req: ()) {
//!         self.counter += 1;
//!         let node = u64::from(ctx.me().0);
//!         ctx.reply(id, node << 56 | self.boot << 32 | self.counter);
//!     }
//!     fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}
//! }
//!
//! seeds(3).check(|seed| {
//!     let mut sim = Sim::<Ids>::new(seed, Config::new(3).net(Net::lossy(0.1)));
//!     sim.nemesis(Nemesis::between(0, 1_000).partitions().crashes());
//!     sim.workload(Workload::new(4, |_| Some(())).until(1_000));
//!     sim.run_until(1_200)?;
//!     let mut seen = BTreeSet::new();
//!     for (op, id) in sim.history().completed() {
//!         if !seen.insert(*id) {
//!             return Err(sim.fail("ids are unique", format!("{} got id {id}, given out before", op.id)));
//!         }
//!     }
//!     println!("{}", sim.stats());
//!     Ok(())
//! });
//! ```
//!
//! ## Scripted schedules
//!
//! Random seeds find many bugs; the famous ones need an exact schedule. A test can build it
//! itself, step by step, with [`Sim::run_while`] (run until the cluster reaches a state: a node
//! leads, a term changes, a request is answered) and faults applied at that instant:
//! [`Fault::Partition`], [`Fault::Cut`] and one-way [`Fault::Block`] links, [`Fault::Hold`] to
//! keep a link's messages back and [`Fault::Release`] them later in one burst, [`Fault::Slow`]
//! links, crashes and restarts, and [`Sim::resend`] for a client that retries a request with the
//! same id. Clocks can be placed too: [`Config::node_clock`] gives one node a clock of a chosen
//! rate and offset instead of a random drift, and [`Fault::Clock`] changes a node's rate
//! mid-run (slow down whichever node became leader). The
//! replication course scripts Raft's figure 8 this way, a vote given twice around a restart, a
//! lease dated from an acknowledgement, a lease that forgets drift, and a retried request applied
//! twice.
//!
//! ## What a failure looks like
//!
//! ```text
//! ✗ at most one leader per term (seed 7, tick 1532)
//!   n1 and n3 both became leader of term 4
//!   run: 0 ops ok, ...; 212 messages between nodes (0.0 per op, 9 lost)
//!
//!    tick │ n0                       │ n1                       │ n2                       │ clients
//!    1520 │ m201→n1 Vote { term: 4 } │                          │                          │
//!    1524 │                          │ m201←n0 Vote { term: 4 } │                          │
//!    1524 │                          │ · leader of term 4       │                          │
//! ```
//!
//! Each message is numbered (`m201`) where it is sent and where it arrives; `✗` marks a message
//! lost to the network, a partition or a crashed node.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod check;
mod config;
mod history;
pub mod lin;
mod node;
mod rng;
mod sim;
mod stats;
mod trace;
mod workload;

pub use check::{Failure, Seeds, converged, seeds, within_budget};
pub use config::{Config, Fault, Nemesis, Net, NodeClock};
pub use history::{History, Op, Outcome};
pub use lin::{LinOp, LinResult, Model};
pub use node::{ClientId, Context, Node, NodeId, RequestId, Storage, Tick, TimerId};
pub use rng::Rng;
pub use sim::Sim;
pub use stats::Stats;
pub use workload::{OpCtx, Target, Verdict, Workload};
