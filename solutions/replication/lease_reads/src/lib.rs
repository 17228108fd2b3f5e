//! Replication, built one stage at a time on a simulated network.
//!
//! Every node you write is a [`katas_sim::Node`]: a state machine that reacts to client requests,
//! messages from its peers and timers. The simulator runs a cluster of them on logical time with
//! seeded faults, so every failure you see replays exactly with `KATAS_SEED=<seed>`.
//!
//! Each stage adds a module; the tests of every stage you have reached keep running.

pub mod broadcast;
pub mod crdt;
pub mod primary_backup;
pub mod raft;
pub mod unique_ids;
