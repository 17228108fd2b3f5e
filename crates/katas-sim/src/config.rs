//! How the simulated world behaves: the network, the clocks, and the faults.

use crate::node::{NodeId, Tick};

/// How one kind of link behaves: the delay of each message, and how often one is lost or
/// delivered twice. Different delays reorder messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Net {
    /// The shortest delay of a message, in ticks (at least 1).
    pub min_delay: Tick,
    /// The longest delay of a message, in ticks.
    pub max_delay: Tick,
    /// The probability that a message is lost.
    pub drop: f64,
    /// The probability that a message is delivered twice (the copy has its own delay).
    pub duplicate: f64,
}

impl Net {
    /// No loss, no duplicates, delays of 1 to 10 ticks (so messages are reordered).
    pub fn reliable() -> Self {
        Net {
            min_delay: 1,
            max_delay: 10,
            drop: 0.0,
            duplicate: 0.0,
        }
    }

    /// Like [`Net::reliable`], but a fraction `drop` of messages is lost and 5% are duplicated.
    pub fn lossy(drop: f64) -> Self {
        Net {
            drop,
            duplicate: 0.05,
            ..Net::reliable()
        }
    }

    /// The same network with delays of `min..=max` ticks.
    pub fn delays(self, min: Tick, max: Tick) -> Self {
        Net {
            min_delay: min.max(1),
            max_delay: max.max(min.max(1)),
            ..self
        }
    }

    /// The same network with a probability `p` of duplicating a message.
    pub fn duplicating(self, p: f64) -> Self {
        Net {
            duplicate: p,
            ..self
        }
    }
}

impl Default for Net {
    fn default() -> Self {
        Net::reliable()
    }
}

/// The shape of a simulated world.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// How many nodes the cluster has (`n0` .. `n{nodes-1}`).
    pub nodes: usize,
    /// The links between nodes.
    pub net: Net,
    /// The links between clients and nodes. Partitions never cut them: clients can reach every
    /// node that is up (as in Jepsen), which is how a stale leader gets to answer a client.
    pub client_net: Net,
    /// The largest clock drift, in parts per million: each node's clock runs at a rate drawn from
    /// `1 ± drift` and starts at its own offset. 0 (the default) means perfect clocks.
    pub clock_drift_ppm: u32,
    /// Clocks placed by the test on given nodes ([`Config::node_clock`]): they replace the
    /// random draw of [`Config::clock_drift_ppm`] for those nodes. Empty by default.
    pub clocks: Vec<NodeClock>,
    /// The run stops with a failure after this many events (a node that floods the network).
    pub max_events: u64,
}

/// One node's clock, placed by a test rather than drawn at random: the node reads
/// `offset + true_time * rate_ppm / 1_000_000` (rounded down) from [`crate::Context::now`], and its
/// timers fire when that reading reaches their due time.
///
/// A scripted test uses it to build the schedule a clock bug needs, exactly: a leader whose clock
/// runs slow by the largest drift a protocol claims to tolerate, next to followers whose clocks
/// run fast by as much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeClock {
    /// The node whose clock this is.
    pub node: NodeId,
    /// The clock's rate in parts per million of true time: `1_000_000` keeps time, `900_000`
    /// runs 10% slow, `1_100_000` 10% fast. Must be positive.
    pub rate_ppm: u64,
    /// What the clock reads at true time 0.
    pub offset: Tick,
}

impl Config {
    /// `nodes` nodes on a reliable network, perfect clocks.
    pub fn new(nodes: usize) -> Self {
        Config {
            nodes,
            net: Net::reliable(),
            client_net: Net::reliable(),
            clock_drift_ppm: 0,
            clocks: Vec::new(),
            max_events: 5_000_000,
        }
    }

    /// The same world with `net` between nodes.
    pub fn net(self, net: Net) -> Self {
        Config { net, ..self }
    }

    /// The same world with `net` between clients and nodes.
    pub fn client_net(self, client_net: Net) -> Self {
        Config { client_net, ..self }
    }

    /// The same world with clocks that drift by up to `ppm` parts per million.
    pub fn clock_drift_ppm(self, ppm: u32) -> Self {
        Config {
            clock_drift_ppm: ppm,
            ..self
        }
    }

    /// The same world with `node`'s clock placed: it runs at `rate_ppm` parts per million of true
    /// time (`900_000` is 10% slow) and reads `offset` at tick 0, whatever
    /// [`Config::clock_drift_ppm`] says; the other nodes keep the clocks they would have had
    /// without it (each node's random clock comes from its own stream of the seed). Placing the
    /// same node twice keeps the last. A node outside the cluster or a rate of 0 makes the run
    /// fail at once, saying so.
    ///
    /// ```
    /// use katas_sim::{Config, NodeId};
    /// // n0 runs 10% slow, n1 and n2 10% fast, as far apart as a ±10% drift bound allows.
    /// let config = Config::new(3)
    ///     .node_clock(NodeId(0), 900_000, 0)
    ///     .node_clock(NodeId(1), 1_100_000, 0)
    ///     .node_clock(NodeId(2), 1_100_000, 5_000);
    /// assert_eq!(config.clocks.len(), 3);
    /// ```
    pub fn node_clock(mut self, node: NodeId, rate_ppm: u64, offset: Tick) -> Self {
        self.clocks.retain(|c| c.node != node);
        self.clocks.push(NodeClock {
            node,
            rate_ppm,
            offset,
        });
        self
    }
}

/// A fault the simulator injects, on a schedule ([`crate::Sim::schedule`]) or at random
/// ([`Nemesis`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The node stops: its memory and timers are lost, messages to it are dropped.
    Crash(NodeId),
    /// A crashed node starts again from its durable storage.
    Restart(NodeId),
    /// Splits the cluster into groups that cannot talk to each other. Nodes not named form one
    /// more group. Replaces any previous partition.
    Partition(Vec<Vec<NodeId>>),
    /// Cuts one node off from all others.
    Isolate(NodeId),
    /// Cuts the links between these pairs of nodes (both ways), in addition to any partition:
    /// with it, `a` can reach `b` and `b` can reach `c` while `a` cannot reach `c` (Jepsen's
    /// "bridge"). Healed by [`Fault::Heal`].
    Cut(Vec<(NodeId, NodeId)>),
    /// Cuts these links one way only: messages from the first node of a pair to the second are
    /// lost (those sent from now on, and those in flight), while the second still reaches the
    /// first. With it a leader can keep hearing its followers' acknowledgements while they no
    /// longer hear it. Healed by [`Fault::Heal`].
    Block(Vec<(NodeId, NodeId)>),
    /// Holds the messages sent from now on from the first node of each pair to the second: they
    /// wait, neither delivered nor lost, until [`Fault::Release`] (or [`Fault::Heal`]) sends them
    /// on in the order they were sent. A scripted test uses it to place a message exactly where a
    /// bug needs it: a vote that arrives after the voter restarted, acknowledgements that come
    /// back late and all at once.
    Hold(Vec<(NodeId, NodeId)>),
    /// Ends the hold on these one-way links: what they held leaves now, each message with the
    /// delay it was given when sent, and new messages flow normally again.
    Release(Vec<(NodeId, NodeId)>),
    /// Messages sent from now on from the first node of each pair to the second take `extra`
    /// ticks more than the network's delay (a slow, congested or far-away link). `extra` 0 ends
    /// it; so does [`Fault::Heal`].
    Slow(Vec<(NodeId, NodeId)>, Tick),
    /// From now on the node's clock runs at this rate, in parts per million of true time
    /// (`900_000` is 10% slow); its reading goes on from where it is, without a jump, and its
    /// timers fire when the clock reaches their due reading at the new rate. A scripted test
    /// uses it once the roles are known: to slow down the clock of the node that became leader.
    /// [`Fault::Heal`] does not undo it. A rate of 0 makes the run fail.
    Clock(NodeId, u64),
    /// Ends every partition, every cut, blocked and slow link, and every hold (held messages
    /// leave now).
    Heal,
}

/// A seeded source of random faults: partitions that start and heal, crashes and restarts.
///
/// Between `start` and `stop` it injects a fault every `interval` ticks (drawn from the range);
/// each lasts `duration` ticks (drawn) before it heals or the node restarts. At `stop` every
/// partition heals and every crashed node restarts, so a test can then check that the system
/// recovers.
#[derive(Clone, Debug, PartialEq)]
pub struct Nemesis {
    /// When the first fault may happen.
    pub start: Tick,
    /// When faults stop: everything heals and restarts then.
    pub stop: Tick,
    /// The time between two faults, drawn from `interval.0..=interval.1`.
    pub interval: (Tick, Tick),
    /// How long a fault lasts, drawn from `duration.0..=duration.1`.
    pub duration: (Tick, Tick),
    /// Whether to partition the network.
    pub partitions: bool,
    /// Whether to crash and restart nodes.
    pub crashes: bool,
    /// At most this many nodes are down at once (default: a minority).
    pub max_down: Option<usize>,
}

impl Nemesis {
    /// Faults from `start` to `stop`, one every 100 to 300 ticks, lasting 50 to 400 ticks; no
    /// kind is enabled yet: add [`Nemesis::partitions`] and/or [`Nemesis::crashes`].
    pub fn between(start: Tick, stop: Tick) -> Self {
        Nemesis {
            start,
            stop,
            interval: (100, 300),
            duration: (50, 400),
            partitions: false,
            crashes: false,
            max_down: None,
        }
    }

    /// Also inject partitions (random splits into two groups, or one node cut off).
    pub fn partitions(self) -> Self {
        Nemesis {
            partitions: true,
            ..self
        }
    }

    /// Also crash nodes and restart them later.
    pub fn crashes(self) -> Self {
        Nemesis {
            crashes: true,
            ..self
        }
    }

    /// Sets the time between faults.
    pub fn every(self, min: Tick, max: Tick) -> Self {
        Nemesis {
            interval: (min.max(1), max.max(min.max(1))),
            ..self
        }
    }

    /// Sets how long each fault lasts.
    pub fn lasting(self, min: Tick, max: Tick) -> Self {
        Nemesis {
            duration: (min.max(1), max.max(min.max(1))),
            ..self
        }
    }

    /// Sets how many nodes may be down at once.
    pub fn max_down(self, n: usize) -> Self {
        Nemesis {
            max_down: Some(n),
            ..self
        }
    }
}
