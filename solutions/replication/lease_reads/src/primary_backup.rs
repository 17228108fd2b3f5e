//! Stage 4: primary-backup replication of a key-value store, with operator-driven failover.
//!
//! The primary numbers every write, sends it to every backup, and applies it, answers the
//! client and lets reads see it only once every backup has acknowledged it: an acknowledged write
//! is on every node, so whichever backup the operator promotes has it. Backups apply writes
//! strictly in sequence order (buffering early ones) and acknowledge cumulatively ("I have
//! everything up to n"), which makes loss, duplication and reordering harmless; the primary
//! resends whatever a backup has not acknowledged on a timer.
//!
//! A promoted backup starts a new *view* and first brings its backups to exactly its own state
//! with a snapshot; messages of older views are ignored, so a write the old primary never
//! committed cannot resurface. Failure model: the old primary is gone for good (fail-stop) and
//! backups do not crash; the reflection questions explore what breaks when that is not true.

use std::collections::{BTreeMap, BTreeSet};

use katas_sim::{Context, Node, NodeId, RequestId, Tick};

/// What a client (or the operator) can ask a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbRequest {
    /// Set `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Read `key`.
    Get {
        /// The key.
        key: String,
    },
    /// Operator command: the primary is gone; you are the primary now, with these backups.
    Promote {
        /// The backups of the new primary.
        backups: Vec<NodeId>,
    },
}

/// What a node answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbResponse {
    /// The write is on every backup and applied.
    PutOk,
    /// The key's value (`None`: never set).
    Value(Option<String>),
    /// This node is not the primary; the primary it knows of, if any. Nothing was done.
    NotPrimary {
        /// The primary this node believes in.
        primary: Option<NodeId>,
    },
    /// The node is now the primary.
    Promoted,
}

/// A configuration: who is primary with which backups. Higher views supersede lower ones.
type View = u64;

/// What nodes tell each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbMsg {
    /// Write number `seq` of `view`.
    Replicate {
        /// The sender's view.
        view: View,
        /// The write's position.
        seq: u64,
        /// The key written.
        key: String,
        /// The value written.
        value: String,
    },
    /// The whole state of a new primary, which the backup adopts.
    Sync {
        /// The new primary's view.
        view: View,
        /// Every key's value.
        data: BTreeMap<String, String>,
        /// The number of the last write included.
        seq: u64,
    },
    /// The backup has applied every write of `view` up to `seq`.
    Ack {
        /// The view acknowledged.
        view: View,
        /// The last write applied.
        seq: u64,
    },
}

/// The only timer: resend what backups have not acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResendTick;

/// Ticks between two resends.
const RESEND_EVERY: Tick = 20;

/// A write the primary has sent but not yet committed.
#[derive(Clone, Debug)]
struct PendingWrite {
    key: String,
    value: String,
    client: RequestId,
}

/// What the primary tracks about one backup.
#[derive(Clone, Debug, Default)]
struct BackupState {
    /// The last write it acknowledged in the current view.
    acked: u64,
    /// Whether it acknowledged the snapshot of a newly promoted primary.
    synced: bool,
}

/// A node of a primary-backup key-value store.
#[derive(Debug)]
pub struct PbNode {
    view: View,
    primary: NodeId,
    /// The applied, committed data.
    data: BTreeMap<String, String>,
    /// The last write applied to `data`.
    applied: u64,
    /// Primary only: the last write number handed out.
    next_seq: u64,
    /// Primary only: its backups and what they acknowledged.
    backups: BTreeMap<NodeId, BackupState>,
    /// Primary only: writes sent but not yet acknowledged by every backup.
    pending: BTreeMap<u64, PendingWrite>,
    /// Backup only: writes that arrived ahead of a gap, by number.
    early: BTreeMap<u64, (String, String)>,
}

impl PbNode {
    fn is_primary(&self, me: NodeId) -> bool {
        self.primary == me
    }

    /// Sends write `seq` (or the snapshot, if the backup has not taken it) to one backup.
    fn send_to_backup(&self, ctx: &mut Context<'_, Self>, backup: NodeId, state: &BackupState) {
        if !state.synced {
            ctx.send(
                backup,
                PbMsg::Sync {
                    view: self.view,
                    data: self.data.clone(),
                    seq: self.applied,
                },
            );
            return;
        }
        for (&seq, write) in self.pending.range(state.acked + 1..) {
            ctx.send(
                backup,
                PbMsg::Replicate {
                    view: self.view,
                    seq,
                    key: write.key.clone(),
                    value: write.value.clone(),
                },
            );
        }
    }

    /// Commits, in order, every pending write that all backups have acknowledged, answering
    /// their clients.
    fn commit_ready(&mut self, ctx: &mut Context<'_, Self>) {
        let everyone = self
            .backups
            .values()
            .map(|b| if b.synced { b.acked } else { 0 })
            .min()
            .unwrap_or(self.next_seq);
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > everyone {
                break;
            }
            let (seq, write) = entry.remove_entry();
            self.data.insert(write.key, write.value);
            self.applied = seq;
            ctx.reply(write.client, PbResponse::PutOk);
        }
    }

    /// Applies a backup's in-order writes, including any that were waiting for this one.
    fn apply_in_order(&mut self) {
        while let Some((key, value)) = self.early.remove(&(self.applied + 1)) {
            self.data.insert(key, value);
            self.applied += 1;
        }
    }

    fn handle_client(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, req: PbRequest) {
        match req {
            PbRequest::Promote { backups } => {
                self.become_primary(ctx, backups);
                ctx.reply(id, PbResponse::Promoted);
            }
            _ if !self.is_primary(ctx.me()) => ctx.reply(
                id,
                PbResponse::NotPrimary {
                    primary: Some(self.primary),
                },
            ),
            PbRequest::Get { key } => {
                let value = self.data.get(&key).cloned();
                ctx.reply(id, PbResponse::Value(value));
            }
            PbRequest::Put { key, value } => {
                self.next_seq += 1;
                let write = PendingWrite {
                    key,
                    value,
                    client: id,
                };
                self.pending.insert(self.next_seq, write);
                let backups: Vec<(NodeId, BackupState)> =
                    self.backups.iter().map(|(n, s)| (*n, s.clone())).collect();
                for (backup, state) in backups {
                    self.send_to_backup(ctx, backup, &state);
                }
                // With no backups there is nobody to wait for.
                self.commit_ready(ctx);
            }
        }
    }

    /// Starts a new view with this node as primary. As a backup it applied every write the old
    /// primary sent, committed or not; its state, whatever it is, becomes the one every backup
    /// adopts through the snapshot, so all nodes agree again before any new write commits.
    fn become_primary(&mut self, ctx: &mut Context<'_, Self>, backups: Vec<NodeId>) {
        self.view += 1;
        self.primary = ctx.me();
        self.apply_in_order();
        self.early.clear();
        self.next_seq = self.applied;
        self.pending.clear();
        self.backups = backups
            .into_iter()
            .filter(|b| *b != ctx.me())
            .map(|b| (b, BackupState::default()))
            .collect();
        ctx.note(format!("primary of view {}", self.view));
        let backups: Vec<(NodeId, BackupState)> =
            self.backups.iter().map(|(n, s)| (*n, s.clone())).collect();
        for (backup, state) in backups {
            self.send_to_backup(ctx, backup, &state);
        }
    }

    fn handle_peer(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: PbMsg) {
        match msg {
            PbMsg::Replicate {
                view,
                seq,
                key,
                value,
            } => {
                if view < self.view {
                    return;
                }
                if view > self.view {
                    // A primary of a newer view talks to us before its snapshot arrived: wait for
                    // the snapshot, which it keeps resending.
                    return;
                }
                if seq > self.applied {
                    self.early.insert(seq, (key, value));
                    self.apply_in_order();
                }
                // Duplicates and old writes are acknowledged again: the first ack may be lost.
                ctx.send(
                    from,
                    PbMsg::Ack {
                        view: self.view,
                        seq: self.applied,
                    },
                );
            }
            PbMsg::Sync { view, data, seq } => {
                if view < self.view {
                    return;
                }
                if view > self.view || seq > self.applied {
                    self.view = view;
                    self.primary = from;
                    self.data = data;
                    self.applied = seq;
                    self.early.clear();
                    self.apply_in_order();
                }
                ctx.send(
                    from,
                    PbMsg::Ack {
                        view: self.view,
                        seq: self.applied,
                    },
                );
            }
            PbMsg::Ack { view, seq } => {
                if view != self.view || !self.is_primary(ctx.me()) {
                    return;
                }
                if let Some(state) = self.backups.get_mut(&from) {
                    state.synced = true;
                    state.acked = state.acked.max(seq);
                }
                self.commit_ready(ctx);
            }
        }
    }
}

impl Node for PbNode {
    type Msg = PbMsg;
    type Request = PbRequest;
    type Response = PbResponse;
    type Timer = ResendTick;

    /// Every node starts in view 1: `n0` is the primary, every other node its backup, all of
    /// them empty, so they are already in sync.
    fn init(ctx: &mut Context<'_, Self>) -> Self {
        let primary = NodeId(0);
        let backups = if ctx.me() == primary {
            ctx.peers()
                .map(|b| {
                    let state = BackupState {
                        acked: 0,
                        synced: true,
                    };
                    (b, state)
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        ctx.set_timer(RESEND_EVERY, ResendTick);
        PbNode {
            view: 1,
            primary,
            data: BTreeMap::new(),
            applied: 0,
            next_seq: 0,
            backups,
            pending: BTreeMap::new(),
            early: BTreeMap::new(),
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, req: PbRequest) {
        self.handle_client(ctx, id, req);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: PbMsg) {
        self.handle_peer(ctx, from, msg);
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ResendTick) {
        if self.is_primary(ctx.me()) {
            let lagging: BTreeSet<NodeId> = self
                .backups
                .iter()
                .filter(|(_, s)| !s.synced || s.acked < self.next_seq)
                .map(|(n, _)| *n)
                .collect();
            for backup in lagging {
                if let Some(state) = self.backups.get(&backup).cloned() {
                    self.send_to_backup(ctx, backup, &state);
                }
            }
        }
        ctx.set_timer(RESEND_EVERY, ResendTick);
    }
}
