//! The run's trace, and its rendering as a timeline with one column per node (a Lamport diagram
//! turned on its side: time flows down, each message is numbered where it is sent and where it
//! arrives).

use std::collections::VecDeque;
use std::fmt::{self, Debug, Write as _};

use crate::node::{ClientId, Node, NodeId, RequestId, Tick};

/// How many trace entries a simulation keeps (the oldest are forgotten first).
pub(crate) const TRACE_CAPACITY: usize = 50_000;

/// Rows shown by default when a run fails.
const DEFAULT_ROWS: usize = 40;

/// Width of one column, in characters.
const DEFAULT_WIDTH: usize = 24;

/// Why a message never arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lost {
    Partition,
    Down,
}

impl fmt::Display for Lost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lost::Partition => "partitioned",
            Lost::Down => "node down",
        })
    }
}

/// One thing that happened.
pub(crate) enum Ev<N: Node> {
    Send {
        id: u64,
        from: NodeId,
        to: NodeId,
        msg: N::Msg,
        lost: bool,
        copies: u8,
    },
    Deliver {
        id: u64,
        from: NodeId,
        to: NodeId,
        msg: N::Msg,
    },
    Drop {
        id: u64,
        at: NodeId,
        why: Lost,
    },
    Invoke {
        id: u64,
        rid: RequestId,
        to: NodeId,
        req: N::Request,
        attempt: u32,
    },
    Arrive {
        id: u64,
        rid: RequestId,
        to: NodeId,
        req: N::Request,
    },
    Reply {
        id: u64,
        from: NodeId,
        rid: RequestId,
        resp: N::Response,
    },
    Answer {
        id: u64,
        rid: RequestId,
        resp: N::Response,
        what: &'static str,
    },
    ClientDrop {
        id: u64,
        client: ClientId,
    },
    Timeout {
        rid: RequestId,
        what: &'static str,
    },
    Timer {
        node: NodeId,
        timer: N::Timer,
    },
    Crash(NodeId),
    Restart(NodeId),
    Partition(String),
    Heal,
    Note {
        node: NodeId,
        text: String,
    },
    Violation(String),
}

/// Where a row's text goes.
enum Column {
    Node(NodeId),
    Clients,
    All,
}

impl<N: Node> Ev<N> {
    fn render(&self) -> (Column, String) {
        use Column::{All, Clients, Node as At};
        match self {
            Ev::Send {
                id,
                to,
                msg,
                lost,
                copies,
                from,
            } => {
                let mark = if *lost {
                    " ✗lost"
                } else if *copies > 1 {
                    " (×2)"
                } else {
                    ""
                };
                (At(*from), format!("m{id}→{to}{mark} {msg:?}"))
            }
            Ev::Deliver { id, from, to, msg } => (At(*to), format!("m{id}←{from} {msg:?}")),
            Ev::Drop { id, at, why } => (At(*at), format!("m{id} ✗ {why}")),
            Ev::Invoke {
                rid,
                to,
                req,
                attempt,
                id,
            } => {
                let again = if *attempt > 1 {
                    format!(" (try {attempt})")
                } else {
                    String::new()
                };
                (Clients, format!("m{id} {rid}→{to}{again} {req:?}"))
            }
            Ev::Arrive { id, rid, to, req } => (At(*to), format!("m{id}←{rid} {req:?}")),
            Ev::Reply {
                id,
                from,
                rid,
                resp,
            } => (At(*from), format!("m{id}→{rid} {resp:?}")),
            Ev::Answer {
                id,
                rid,
                resp,
                what,
            } => (Clients, format!("m{id} {rid} {what} {resp:?}")),
            Ev::ClientDrop { id, client } => (Clients, format!("m{id} ✗ lost to {client}")),
            Ev::Timeout { rid, what } => (Clients, format!("{rid} ⌛ {what}")),
            Ev::Timer { node, timer } => (At(*node), format!("timer {timer:?}")),
            Ev::Crash(n) => (At(*n), "✗✗ CRASHED ✗✗".to_string()),
            Ev::Restart(n) => (At(*n), "↑↑ RESTARTED ↑↑".to_string()),
            Ev::Partition(groups) => (All, format!("partition {groups}")),
            Ev::Heal => (All, "partition healed".to_string()),
            Ev::Note { node, text } => (At(*node), format!("· {text}")),
            Ev::Violation(text) => (All, format!("VIOLATION: {text}")),
        }
    }
}

/// A trace entry: when, and what.
pub(crate) struct Entry<N: Node> {
    pub(crate) at: Tick,
    pub(crate) ev: Ev<N>,
}

/// The retained tail of a run's events.
pub(crate) struct Trace<N: Node> {
    entries: VecDeque<Entry<N>>,
    total: u64,
}

impl<N: Node> Default for Trace<N> {
    fn default() -> Self {
        Trace {
            entries: VecDeque::new(),
            total: 0,
        }
    }
}

/// How many rows to show, from `KATAS_TRACE` (`all` or a number).
pub(crate) fn rows_wanted() -> usize {
    match std::env::var("KATAS_TRACE") {
        Ok(v) if v.trim() == "all" => usize::MAX,
        Ok(v) => v.trim().parse().unwrap_or(DEFAULT_ROWS),
        Err(_) => DEFAULT_ROWS,
    }
}

/// Fits `text` into `width` characters, cutting with an ellipsis.
fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        let mut s = text.to_string();
        s.extend(std::iter::repeat_n(' ', width - count));
        s
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

impl<N: Node> Trace<N> {
    pub(crate) fn push(&mut self, at: Tick, ev: Ev<N>) {
        if self.entries.len() == TRACE_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry { at, ev });
        self.total += 1;
    }

    /// How many entries were ever pushed.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// Forgets the last entry if it is the one numbered `total` (i.e. nothing came after it).
    pub(crate) fn forget_last_if(&mut self, total: u64) {
        if self.total == total && self.entries.pop_back().is_some() {
            self.total -= 1;
        }
    }

    /// Every retained entry, rendered one per line (for determinism checks and debugging).
    pub(crate) fn lines(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| {
                let (col, text) = e.ev.render();
                let place = match col {
                    Column::Node(n) => n.to_string(),
                    Column::Clients => "clients".to_string(),
                    Column::All => "all".to_string(),
                };
                format!("{} {place} {text}", e.at)
            })
            .collect()
    }

    /// The timeline of the last rows (how many: `KATAS_TRACE`, default 40).
    pub(crate) fn timeline(&self, nodes: usize) -> String {
        self.timeline_rows(nodes, rows_wanted())
    }

    /// The timeline of the last `rows` entries.
    pub(crate) fn timeline_rows(&self, nodes: usize, rows: usize) -> String {
        let shown = rows.min(self.entries.len());
        let skip = self.entries.len() - shown;
        let note = ((shown as u64) < self.total).then(|| {
            format!(
                "the last {shown} of {} events (KATAS_TRACE=all shows every kept event, KATAS_TRACE=200 the last 200):",
                self.total
            )
        });
        self.render(nodes, (skip..self.entries.len()).collect(), note)
    }

    /// The timeline around what a failure's `detail` names: the events of the first request
    /// it names (`c1#3`, as checkers name operations) and those just after, with the crashes,
    /// restarts and partitions before them. `None` when it names no request the trace holds,
    /// or when they are among the last `rows` events anyway.
    pub(crate) fn timeline_around(
        &self,
        nodes: usize,
        rows: usize,
        detail: &str,
    ) -> Option<String> {
        let names = request_names(detail);
        let first = self.entries.iter().position(|e| {
            let (_, text) = e.ev.render();
            names.iter().any(|name| mentions(&text, name))
        })?;
        let tail_start = self.entries.len().saturating_sub(rows);
        if first >= tail_start {
            return None;
        }
        let start = first.saturating_sub(rows / 4);
        let end = (start + rows).min(self.entries.len());
        // The faults before the window: what the nodes went through before the operation.
        let mut shown: Vec<usize> = (0..start)
            .filter(|&i| {
                matches!(
                    self.entries[i].ev,
                    Ev::Crash(_) | Ev::Restart(_) | Ev::Partition(_) | Ev::Heal
                )
            })
            .collect();
        shown = shown.split_off(shown.len().saturating_sub(rows / 4));
        shown.extend(start..end);
        let note = format!(
            "{} of {} events, around {} (named above), with the faults before it (KATAS_TRACE=all shows every kept event):",
            shown.len(),
            self.total,
            names.first().map_or("", String::as_str),
        );
        Some(self.render(nodes, shown, Some(note)))
    }

    /// The entries at `indices` (ascending) as rows; a `…` row where some are left out.
    fn render(&self, nodes: usize, indices: Vec<usize>, note: Option<String>) -> String {
        let width = std::env::var("KATAS_TRACE_WIDTH")
            .ok()
            .and_then(|w| w.trim().parse().ok())
            .unwrap_or(DEFAULT_WIDTH)
            .max(8);
        let mut out = String::new();
        if let Some(note) = note {
            let _ = writeln!(out, "{note}");
        }
        let mut header = format!("{:>7} │", "tick");
        for i in 0..nodes {
            let _ = write!(header, " {} │", fit(&format!("n{i}"), width));
        }
        header.push_str(" clients");
        out.push_str(header.trim_end());
        out.push('\n');
        let full = (width + 3) * (nodes + 1);
        let mut previous: Option<usize> = None;
        for index in indices {
            if previous.is_some_and(|p| index > p + 1) {
                let _ = writeln!(out, "{:>7} │", "…");
            }
            previous = Some(index);
            let entry = &self.entries[index];
            let (col, text) = entry.ev.render();
            let mut line = format!("{:>7} │", entry.at);
            match col {
                Column::All => {
                    let _ = write!(line, " ── {} ", text);
                    let pad = full.saturating_sub(text.chars().count() + 4);
                    line.extend(std::iter::repeat_n('─', pad.min(full)));
                }
                Column::Clients => {
                    for _ in 0..nodes {
                        let _ = write!(line, " {} │", fit("", width));
                    }
                    let _ = write!(line, " {text}");
                }
                Column::Node(n) => {
                    for i in 0..nodes {
                        let cell = if i == n.index() { text.as_str() } else { "" };
                        let _ = write!(line, " {} │", fit(cell, width));
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// The request ids a text names, in order: `c1#3` (a client and its operation number).
fn request_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i] == 'c' && (i == 0 || !chars[i - 1].is_alphanumeric());
        if starts {
            let digits = |from: usize| {
                let mut j = from;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
                j
            };
            let client_end = digits(i + 1);
            if client_end > i + 1 && chars.get(client_end) == Some(&'#') {
                let seq_end = digits(client_end + 1);
                if seq_end > client_end + 1 {
                    let name: String = chars[i..seq_end].iter().collect();
                    if !names.contains(&name) {
                        names.push(name);
                    }
                    i = seq_end;
                    continue;
                }
            }
        }
        i += 1;
    }
    names
}

/// Whether `text` names `name` (`c1#3`, not `c1#30`).
fn mentions(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let after = text[i + name.len()..].chars().next();
        let before = text[..i].chars().next_back();
        !after.is_some_and(|c| c.is_ascii_digit()) && !before.is_some_and(char::is_alphanumeric)
    })
}

impl<N: Node> Debug for Trace<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Trace({} kept of {} events)",
            self.entries.len(),
            self.total
        )
    }
}
