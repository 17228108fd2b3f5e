//! One limit for a whole cluster: every node admits requests against a global quota per window
//! and learns the others' counts by gossip over the simulated network.
//!
//! ## Why the overshoot is bounded
//!
//! A node can never know what its peers admitted since they last told it, so a cluster that only
//! gossips counts overshoots by however much traffic arrives during one gossip delay: unbounded.
//! This design bounds it with *confirmations*: each gossip message carries the sender's whole
//! view of the window, so it also tells the receiver how much of the receiver's own count the
//! sender has seen. A node refuses once `share` of its admissions are still unconfirmed by some
//! peer, where `share = slack / (nodes - 1)`.
//!
//! Take the node `i` that admitted the window's last request. Its view then added up to less
//! than `limit`. Any other node `j` admitted its own last request earlier, and at that moment had
//! at most `share - 1` admissions that `i` had not confirmed; `i`'s confirmation of `j`'s count
//! was sent before that moment, so `i`'s view of `j` was at least that high when `i` admitted.
//! Hence `j`'s final count is at most `i`'s view of `j` plus `share`, and the whole cluster
//! admitted at most `limit + (nodes - 1) * share <= limit + slack`. The argument holds whatever
//! the network does: loss, duplicates, reordering and partitions only delay confirmations.

use std::fmt;
use std::marker::PhantomData;

use katas_sim::{Context, Node, NodeId, RequestId, Tick};

/// What a node does while a peer cannot be heard: the consistency/availability choice of a
/// distributed rate limiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    /// Availability first. A peer silent for longer than [`QuotaConfig::suspect_after`] is
    /// presumed unreachable: the node stops waiting for its confirmations and limits with the
    /// counts it can still see. Each side of a partition then admits up to `limit + slack` per
    /// window on its own; a cluster split in two may admit twice that.
    Open,
    /// The limit first. A node waits for every peer's confirmations, reachable or not, so the
    /// cluster never admits more than `limit + slack` in a window whatever the network does.
    /// While a peer is cut off, each node admits only its share of the slack per window.
    Closed,
}

/// How a cluster shares its quota. Every node of the cluster must use the same configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaConfig {
    /// How many requests the whole cluster may admit per window.
    pub limit: u64,
    /// The length of a window in ticks of the node's clock: window `k` is
    /// `[k * window, (k + 1) * window)`. Must not be zero.
    pub window: Tick,
    /// How many requests over `limit` the cluster may admit in one window, at most: the price of
    /// not asking every peer before every request. Each node may have `slack / (nodes - 1)`
    /// admissions its peers have not confirmed, so a slack below `nodes - 1` refuses everything.
    pub slack: u64,
    /// Every node sends its view of the window to every peer this often, in ticks.
    pub gossip_every: Tick,
    /// With [`FailMode::Open`]: a peer not heard from for longer than this many ticks is
    /// presumed unreachable.
    pub suspect_after: Tick,
    /// What to do while a peer cannot be heard.
    pub mode: FailMode,
}

/// Gives a [`QuotaNode`] its configuration.
///
/// The simulator builds nodes with [`Node::init`], which takes nothing but a context, so the
/// configuration travels in the node's type: `QuotaNode<MySettings>`, where `MySettings`
/// implements this trait with an associated constant.
pub trait QuotaSettings: 'static {
    /// The configuration of every node of the cluster.
    const CONFIG: QuotaConfig;
}

/// What a client asks a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaRequest {
    /// May one more request go through?
    Acquire,
}

/// A node's answer, given at once by the node that was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaResponse {
    /// Yes: the request counts against this window's quota.
    Allowed,
    /// No: the quota is used up, or this node cannot be sure enough that it is not.
    Refused,
}

/// The message nodes gossip: the sender's view of one window's counts.
#[derive(Clone, PartialEq, Eq)]
pub struct QuotaGossip {
    /// The window the counts belong to.
    pub window: u64,
    /// `counts[j]`: the most node `j` is known by the sender to have admitted in `window`.
    pub counts: Vec<u64>,
}

/// Short enough for a timeline column: `w3 [12 0 7 5 9]` is window 3's counts of n0..n4.
impl fmt::Debug for QuotaGossip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "w{} [", self.window)?;
        for (j, count) in self.counts.iter().enumerate() {
            let sep = if j == 0 { "" } else { " " };
            write!(f, "{sep}{count}")?;
        }
        write!(f, "]")
    }
}

/// The timer that makes a node gossip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GossipTick;

/// What one node knows about the current window.
#[derive(Clone, Debug, PartialEq, Eq)]
struct WindowView {
    /// The window these numbers belong to.
    window: u64,
    /// `counts[j]`: the most node `j` is known to have admitted in `window`. Merging takes the
    /// maximum, so an entry never goes down and never exceeds the truth (every value in it was
    /// once node `j`'s own count): duplicated or reordered gossip cannot inflate it.
    counts: Vec<u64>,
    /// `confirmed[j]`: the largest count of this node's that node `j` has reported seeing.
    confirmed: Vec<u64>,
}

impl WindowView {
    fn new(window: u64, nodes: usize) -> Self {
        Self {
            window,
            counts: vec![0; nodes],
            confirmed: vec![0; nodes],
        }
    }

    /// Moves on to `window` if it is newer: a new window starts from zero everywhere.
    fn roll_to(&mut self, window: u64) {
        if window > self.window {
            *self = Self::new(window, self.counts.len());
        }
    }

    /// The number of requests the cluster is known to have admitted in this window.
    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Folds in `from`'s view. Views of other windows are ignored: an older window's counts say
    /// nothing about this one, and a newer one's will come again once this node's clock is there.
    fn merge(&mut self, me: NodeId, from: NodeId, gossip: &QuotaGossip) {
        if gossip.window != self.window {
            return;
        }
        for (j, (known, reported)) in self.counts.iter_mut().zip(&gossip.counts).enumerate() {
            // A node's own entry is exact; what others report of it can only be older.
            if j != me.index() {
                *known = (*known).max(*reported);
            }
        }
        if let (Some(confirmed), Some(&seen)) = (
            self.confirmed.get_mut(from.index()),
            gossip.counts.get(me.index()),
        ) {
            *confirmed = (*confirmed).max(seen);
        }
    }
}

/// A node of a cluster that shares one quota of [`QuotaConfig::limit`] requests per window.
///
/// Clients send [`QuotaRequest::Acquire`] to any node; the node answers at once. It admits while
/// its view of the window's total is under the limit and fewer than its share of the slack of
/// its own admissions are unconfirmed (see the module documentation for why that bounds the
/// overshoot). Every [`QuotaConfig::gossip_every`] ticks it sends its view to every peer.
pub struct QuotaNode<S> {
    me: NodeId,
    view: WindowView,
    /// When (on this node's clock) each peer was last heard from.
    last_heard: Vec<Tick>,
    /// Which peers this node presumes unreachable ([`FailMode::Open`] only), kept to write
    /// notes into the timeline when that changes.
    suspected: Vec<bool>,
    settings: PhantomData<S>,
}

impl<S: QuotaSettings> QuotaNode<S> {
    const CONFIG: QuotaConfig = S::CONFIG;

    /// The window that contains `now`.
    fn window_of(now: Tick) -> u64 {
        now / Self::CONFIG.window
    }

    /// How many of this node's admissions may be unconfirmed at once: its share of the slack.
    fn share(&self) -> u64 {
        match self.view.counts.len().checked_sub(1) {
            Some(peers) if peers > 0 => Self::CONFIG.slack / peers as u64,
            // Alone, a node knows the exact total: nothing is ever unconfirmed.
            _ => Self::CONFIG.slack,
        }
    }

    fn peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.view.counts.len())
            .map(|j| NodeId(j as u32))
            .filter(|&j| j != self.me)
    }

    /// Whether this node must wait for `peer`'s confirmations: always when failing closed; when
    /// failing open, only while the peer has been heard from recently.
    fn must_confirm(&self, peer: NodeId, now: Tick) -> bool {
        match Self::CONFIG.mode {
            FailMode::Closed => true,
            FailMode::Open => !self.is_silent(peer, now),
        }
    }

    fn is_silent(&self, peer: NodeId, now: Tick) -> bool {
        let heard = self.last_heard.get(peer.index()).copied().unwrap_or(0);
        now.saturating_sub(heard) > Self::CONFIG.suspect_after
    }

    /// This node's admissions in the current window that some peer it waits for has not
    /// confirmed yet.
    fn unconfirmed(&self, now: Tick) -> u64 {
        let own = self.view.counts[self.me.index()];
        self.peers()
            .filter(|&peer| self.must_confirm(peer, now))
            .map(|peer| self.view.confirmed[peer.index()])
            .min()
            .map_or(0, |confirmed| own.saturating_sub(confirmed))
    }

    /// Decides one request.
    fn admit(&mut self, now: Tick) -> QuotaResponse {
        self.view.roll_to(Self::window_of(now));
        if self.view.total() >= Self::CONFIG.limit || self.unconfirmed(now) >= self.share() {
            return QuotaResponse::Refused;
        }
        self.view.counts[self.me.index()] += 1;
        QuotaResponse::Allowed
    }

    /// Records which peers are silent and notes every change in the timeline, so that a
    /// failing run shows when a node started (and stopped) presuming a peer gone.
    fn note_suspicions(&mut self, ctx: &mut Context<'_, Self>) {
        if Self::CONFIG.mode == FailMode::Closed {
            return;
        }
        let now = ctx.now();
        let peers: Vec<NodeId> = self.peers().collect();
        for peer in peers {
            let silent = self.is_silent(peer, now);
            if silent != self.suspected[peer.index()] {
                self.suspected[peer.index()] = silent;
                ctx.note(if silent {
                    format!("presumes {peer} unreachable")
                } else {
                    format!("hears {peer} again")
                });
            }
        }
    }
}

impl<S: QuotaSettings> Node for QuotaNode<S> {
    type Msg = QuotaGossip;
    type Request = QuotaRequest;
    type Response = QuotaResponse;
    type Timer = GossipTick;

    fn init(ctx: &mut Context<'_, Self>) -> Self {
        const { assert!(S::CONFIG.window > 0, "QuotaConfig::window must not be zero") };
        let nodes = ctx.cluster_size();
        let now = ctx.now();
        ctx.set_timer(Self::CONFIG.gossip_every, GossipTick);
        Self {
            me: ctx.me(),
            view: WindowView::new(Self::window_of(now), nodes),
            // Every peer counts as just heard at start, or a fail-open node would begin by
            // presuming the whole cluster gone.
            last_heard: vec![now; nodes],
            suspected: vec![false; nodes],
            settings: PhantomData,
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, req: QuotaRequest) {
        match req {
            QuotaRequest::Acquire => {
                let verdict = self.admit(ctx.now());
                ctx.reply(id, verdict);
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, gossip: QuotaGossip) {
        let now = ctx.now();
        if let Some(heard) = self.last_heard.get_mut(from.index()) {
            *heard = now;
        }
        self.note_suspicions(ctx);
        self.view.roll_to(Self::window_of(now));
        self.view.merge(self.me, from, &gossip);
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: GossipTick) {
        self.view.roll_to(Self::window_of(ctx.now()));
        self.note_suspicions(ctx);
        // The whole view, every time: a lost message needs no retry (the next one carries
        // everything again), and a duplicate changes nothing (merging takes maxima).
        ctx.broadcast(QuotaGossip {
            window: self.view.window,
            counts: self.view.counts.clone(),
        });
        ctx.set_timer(Self::CONFIG.gossip_every, GossipTick);
    }
}
