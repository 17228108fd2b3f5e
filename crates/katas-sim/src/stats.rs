//! Efficiency: messages per operation and latency in ticks, as Gossip Glomers reports them.

use std::fmt;

use crate::node::Tick;

/// Counters of a run (or of the part since [`crate::Sim::reset_stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages nodes sent to nodes (lost ones included, network duplicates not).
    pub messages: u64,
    /// Messages delivered to a running node.
    pub delivered: u64,
    /// Messages lost: by the network, to a partition, or to a crashed node.
    pub lost: u64,
    /// Operations that completed with an accepted answer.
    pub ops_ok: u64,
    /// Operations rejected after every attempt.
    pub ops_rejected: u64,
    /// Operations the client gave up on (indefinite).
    pub ops_indefinite: u64,
    /// The latency of each completed operation, in ticks, in completion order.
    pub latencies: Vec<Tick>,
}

impl Stats {
    /// Messages between nodes per completed operation (0 if none completed).
    pub fn messages_per_op(&self) -> f64 {
        if self.ops_ok == 0 {
            0.0
        } else {
            self.messages as f64 / self.ops_ok as f64
        }
    }

    /// The latency at percentile `p` (0 to 100) of completed operations, in ticks.
    pub fn latency_percentile(&self, p: u32) -> Option<Tick> {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let last = sorted.len().checked_sub(1)?;
        let rank = (last * p.min(100) as usize).div_ceil(100);
        sorted.get(rank).copied()
    }

    /// The median latency, in ticks.
    pub fn latency_median(&self) -> Option<Tick> {
        self.latency_percentile(50)
    }

    /// The largest latency, in ticks.
    pub fn latency_max(&self) -> Option<Tick> {
        self.latencies.iter().copied().max()
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ops ok, {} rejected, {} indefinite; {} messages between nodes ({:.1} per op, {} lost)",
            self.ops_ok,
            self.ops_rejected,
            self.ops_indefinite,
            self.messages,
            self.messages_per_op(),
            self.lost
        )?;
        if let (Some(median), Some(max)) = (self.latency_median(), self.latency_max()) {
            write!(f, "; latency median {median} ticks, max {max} ticks")?;
        }
        Ok(())
    }
}
