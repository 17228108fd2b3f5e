//! A linearizability checker for histories of client operations.
//!
//! A history is linearizable if every operation can be given one instant, between its invocation
//! and its response, such that executing the operations one at a time in the order of those
//! instants, on a sequential model of the object, produces exactly the results the clients saw.
//! Operations whose result is unknown (the client timed out) may take effect at any instant after
//! their invocation, or never.
//!
//! The search is Wing and Gong's, with Lowe's memoisation of (linearized set, model state) pairs,
//! as in Anish Athalye's Porcupine; a key-value history is first split by key (linearizability is
//! compositional), which keeps each search small. `stateright`'s tester was considered: it builds
//! quickly, but searches without memoisation or per-key splitting, which is exponential on the
//! histories a partitioned cluster produces, and reports no partial order to help a learner.

use std::collections::{BTreeMap, HashSet};
use std::fmt::{self, Debug, Write as _};
use std::hash::Hash;

use crate::node::Tick;

/// A sequential specification: the object as if it were on one machine, one operation at a time.
pub trait Model: Clone + Eq + Hash + Debug {
    /// An operation's input (what the client asked).
    type Input: Debug;
    /// An operation's output (what the client was told).
    type Output: Debug;

    /// Applies `input` to this state. Returns the new state if `output` is what the sequential
    /// object would answer, `None` if it could not. `output` is `None` for an operation whose
    /// result is unknown: then any result is possible, and `step` must return `Some`.
    fn step(&self, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self>;
}

/// One operation of a history, as the checker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinOp<I, O> {
    /// How to name the operation in a report, e.g. `c1#3`.
    pub label: String,
    /// What was asked.
    pub input: I,
    /// What was answered; `None` if unknown (timed out).
    pub output: Option<O>,
    /// When it was invoked.
    pub call: Tick,
    /// When the answer arrived; `None` if it never did.
    pub ret: Option<Tick>,
}

impl<I: Debug, O: Debug> fmt::Display for LinOp<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.output, self.ret) {
            (Some(out), Some(ret)) => write!(
                f,
                "{:<8} [{:>5} .. {:>5}]  {:?} → {:?}",
                self.label, self.call, ret, self.input, out
            ),
            _ => write!(
                f,
                "{:<8} [{:>5} .. never]  {:?} → unknown (timed out: may take effect any time later, or never)",
                self.label, self.call, self.input
            ),
        }
    }
}

/// The checker's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinResult {
    /// Some order of the operations explains every result.
    Linearizable,
    /// No order does; the report says where the search got stuck.
    NotLinearizable(String),
    /// The search gave up (too many states); treat as "not proven wrong".
    Unknown,
}

impl LinResult {
    /// `Err(report)` if not linearizable, `Ok` otherwise (including [`LinResult::Unknown`]).
    pub fn into_result(self) -> Result<(), String> {
        match self {
            LinResult::NotLinearizable(report) => Err(report),
            LinResult::Linearizable | LinResult::Unknown => Ok(()),
        }
    }
}

/// How many search steps one partition may take before the checker gives up.
const STEP_BUDGET: u64 = 3_000_000;

const NIL: usize = usize::MAX;

/// One node of the search's doubly linked list of call and return events.
struct Entry {
    op: usize,
    is_call: bool,
    partner: usize,
}

/// The result of searching one partition.
enum Search {
    Found,
    Stuck { best: Vec<usize> },
    GaveUp,
}

/// Checks `ops` against `init` (no splitting).
pub fn check<M: Model>(init: &M, ops: &[LinOp<M::Input, M::Output>]) -> LinResult {
    let refs: Vec<&LinOp<M::Input, M::Output>> = ops.iter().collect();
    check_refs(init, &refs, "")
}

/// Checks `ops` against `init`, one partition per `key`: operations on different keys never
/// constrain each other.
pub fn check_by_key<M: Model, K: Ord + Debug>(
    init: &M,
    ops: &[LinOp<M::Input, M::Output>],
    key: impl Fn(&M::Input) -> K,
) -> LinResult {
    type Part<'a, M> = Vec<&'a LinOp<<M as Model>::Input, <M as Model>::Output>>;
    let mut partitions: BTreeMap<K, Part<'_, M>> = BTreeMap::new();
    for op in ops {
        partitions.entry(key(&op.input)).or_default().push(op);
    }
    let mut unknown = false;
    for (k, part) in &partitions {
        match check_refs(init, part, &format!(" on key {k:?}")) {
            LinResult::Linearizable => {}
            LinResult::Unknown => unknown = true,
            bad @ LinResult::NotLinearizable(_) => return bad,
        }
    }
    if unknown {
        LinResult::Unknown
    } else {
        LinResult::Linearizable
    }
}

fn check_refs<M: Model>(init: &M, ops: &[&LinOp<M::Input, M::Output>], what: &str) -> LinResult {
    let complete: Vec<&LinOp<M::Input, M::Output>> = ops
        .iter()
        .copied()
        .filter(|op| op.output.is_some() == op.ret.is_some())
        .collect();
    match search(init, &complete) {
        Search::Found => LinResult::Linearizable,
        Search::GaveUp => LinResult::Unknown,
        Search::Stuck { best } => LinResult::NotLinearizable(report(&complete, &best, what)),
    }
}

/// Builds the list of call and return events, sorted by time; at equal times calls come first,
/// so operations that merely touch are treated as concurrent (the permissive reading).
fn entries<I, O>(ops: &[&LinOp<I, O>]) -> Vec<Entry> {
    let mut events: Vec<(Tick, u8, usize)> = Vec::with_capacity(ops.len() * 2);
    for (i, op) in ops.iter().enumerate() {
        events.push((op.call, 0, i));
        events.push((op.ret.unwrap_or(Tick::MAX), 1, i));
    }
    events.sort_unstable();
    let mut call_at = vec![NIL; ops.len()];
    let mut ret_at = vec![NIL; ops.len()];
    // Position 0 is the list head; events take positions 1..=2n.
    let mut list = vec![Entry {
        op: NIL,
        is_call: false,
        partner: NIL,
    }];
    for (pos, &(_, kind, op)) in events.iter().enumerate() {
        if kind == 0 {
            call_at[op] = pos + 1;
        } else {
            ret_at[op] = pos + 1;
        }
        list.push(Entry {
            op,
            is_call: kind == 0,
            partner: NIL,
        });
    }
    for op in 0..ops.len() {
        if let (Some(c), Some(r)) = (call_at.get(op), ret_at.get(op)) {
            if let Some(e) = list.get_mut(*c) {
                e.partner = *r;
            }
        }
    }
    list
}

/// Wing-Gong-Lowe search. Returns `Found`, or the longest linearized prefix found.
fn search<M: Model>(init: &M, ops: &[&LinOp<M::Input, M::Output>]) -> Search {
    let list = entries(ops);
    let len = list.len();
    let mut next: Vec<usize> = (0..len)
        .map(|i| if i + 1 < len { i + 1 } else { NIL })
        .collect();
    let mut prev: Vec<usize> = (0..len).map(|i| i.wrapping_sub(1)).collect();
    if let Some(p) = prev.first_mut() {
        *p = NIL;
    }
    let words = ops.len().div_ceil(64).max(1);
    let mut linearized = vec![0u64; words];
    let mut cache: HashSet<(Vec<u64>, M)> = HashSet::new();
    let mut calls: Vec<(usize, M)> = Vec::new();
    let mut state = init.clone();
    let mut definite_left = ops.iter().filter(|op| op.output.is_some()).count();
    let mut best: Vec<usize> = Vec::new();
    let mut steps: u64 = 0;
    let mut entry = next.first().copied().unwrap_or(NIL);

    let lift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize, partner: usize| {
        for x in [e, partner] {
            let (p, n) = (prev[x], next[x]);
            next[p] = n;
            if n != NIL {
                prev[n] = p;
            }
        }
    };
    let unlift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize, partner: usize| {
        for x in [partner, e] {
            let (p, n) = (prev[x], next[x]);
            next[p] = x;
            if n != NIL {
                prev[n] = x;
            }
        }
    };

    while definite_left > 0 {
        steps += 1;
        if steps > STEP_BUDGET {
            return Search::GaveUp;
        }
        if entry == NIL {
            // Every remaining call was tried: back up.
            let Some((e, previous)) = calls.pop() else {
                return Search::Stuck { best };
            };
            let op = list[e].op;
            linearized[op / 64] &= !(1 << (op % 64));
            if ops[op].output.is_some() {
                definite_left += 1;
            }
            state = previous;
            unlift(&mut next, &mut prev, e, list[e].partner);
            entry = next[e];
            continue;
        }
        let current = &list[entry];
        if current.is_call {
            let op = current.op;
            if let Some(new_state) = state.step(&ops[op].input, ops[op].output.as_ref()) {
                let mut with_op = linearized.clone();
                with_op[op / 64] |= 1 << (op % 64);
                if cache.insert((with_op.clone(), new_state.clone())) {
                    calls.push((entry, std::mem::replace(&mut state, new_state)));
                    linearized = with_op;
                    if ops[op].output.is_some() {
                        definite_left -= 1;
                    }
                    if calls.len() > best.len() {
                        best = calls.iter().map(|(e, _)| list[*e].op).collect();
                    }
                    lift(&mut next, &mut prev, entry, current.partner);
                    entry = next[0];
                    continue;
                }
            }
            entry = next[entry];
        } else {
            // A return: the operation it ends must have been linearized before this point.
            let Some((e, previous)) = calls.pop() else {
                return Search::Stuck { best };
            };
            let op = list[e].op;
            linearized[op / 64] &= !(1 << (op % 64));
            if ops[op].output.is_some() {
                definite_left += 1;
            }
            state = previous;
            unlift(&mut next, &mut prev, e, list[e].partner);
            entry = next[e];
        }
    }
    Search::Found
}

/// Explains a failed search: the longest order found, then the operations none of which could
/// come next.
fn report<I: Debug, O: Debug>(ops: &[&LinOp<I, O>], best: &[usize], what: &str) -> String {
    let mut out = format!(
        "the history{what} is not linearizable: no order of its {} operations, each taking effect at one instant between its call and its return, explains every result.\n",
        ops.len()
    );
    let placed: HashSet<usize> = best.iter().copied().collect();
    let shown = best.len().min(8);
    let _ = writeln!(
        out,
        "The longest order that works places {} of them; its last {shown}:",
        best.len()
    );
    for &op in &best[best.len() - shown..] {
        let _ = writeln!(out, "    {}", ops[op]);
    }
    let mut rest: Vec<usize> = (0..ops.len()).filter(|i| !placed.contains(i)).collect();
    rest.sort_by_key(|&i| (ops[i].call, i));
    let _ = writeln!(
        out,
        "After it, none of these can take effect next without contradicting a result or a real-time order (first {} shown):",
        rest.len().min(10)
    );
    for &op in rest.iter().take(10) {
        let _ = writeln!(out, "    {}", ops[op]);
    }
    out.push_str("(times are ticks: [call .. return]; look for a read that returned a value older than one already returned, or a value written twice.)");
    out
}

/// A key-value store model: `get`, `put` and `append` on string keys and values.
pub mod kv {
    use super::{LinOp, LinResult, Model};

    /// A key-value operation.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub enum KvInput {
        /// Read the key's value.
        Get(String),
        /// Set the key's value.
        Put(String, String),
        /// Append to the key's value (an absent key is empty).
        Append(String, String),
    }

    impl KvInput {
        /// The key the operation is on.
        pub fn key(&self) -> &str {
            match self {
                KvInput::Get(k) | KvInput::Put(k, _) | KvInput::Append(k, _) => k,
            }
        }
    }

    /// A key-value result.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub enum KvOutput {
        /// The value a `Get` read (`None`: the key is absent).
        Value(Option<String>),
        /// A `Put` or `Append` is done.
        Done,
    }

    /// One key's value: the model each per-key partition is checked against.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Register(pub Option<String>);

    impl Model for Register {
        type Input = KvInput;
        type Output = KvOutput;

        fn step(&self, input: &KvInput, output: Option<&KvOutput>) -> Option<Self> {
            match (input, output) {
                (KvInput::Get(_), None) => Some(self.clone()),
                (KvInput::Get(_), Some(KvOutput::Value(v))) => (*v == self.0).then(|| self.clone()),
                (KvInput::Put(_, v), None | Some(KvOutput::Done)) => {
                    Some(Register(Some(v.clone())))
                }
                (KvInput::Append(_, v), None | Some(KvOutput::Done)) => {
                    let mut value = self.0.clone().unwrap_or_default();
                    value.push_str(v);
                    Some(Register(Some(value)))
                }
                _ => None,
            }
        }
    }

    /// Checks a key-value history, key by key.
    pub fn check(ops: &[LinOp<KvInput, KvOutput>]) -> LinResult {
        super::check_by_key(&Register::default(), ops, |input| input.key().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::kv::{KvInput, KvOutput, check as check_kv};
    use super::*;

    fn op(
        label: &str,
        input: KvInput,
        output: KvOutput,
        call: Tick,
        ret: Tick,
    ) -> LinOp<KvInput, KvOutput> {
        LinOp {
            label: label.to_string(),
            input,
            output: Some(output),
            call,
            ret: Some(ret),
        }
    }
    fn timed_out(label: &str, input: KvInput, call: Tick) -> LinOp<KvInput, KvOutput> {
        LinOp {
            label: label.to_string(),
            input,
            output: None,
            call,
            ret: None,
        }
    }
    fn put(k: &str, v: &str) -> KvInput {
        KvInput::Put(k.into(), v.into())
    }
    fn append(k: &str, v: &str) -> KvInput {
        KvInput::Append(k.into(), v.into())
    }
    fn get(k: &str) -> KvInput {
        KvInput::Get(k.into())
    }
    fn val(v: Option<&str>) -> KvOutput {
        KvOutput::Value(v.map(str::to_string))
    }

    #[test]
    fn sequential_history_is_linearizable() {
        let h = vec![
            op("a", put("x", "1"), KvOutput::Done, 0, 10),
            op("b", get("x"), val(Some("1")), 11, 20),
            op("c", append("x", "2"), KvOutput::Done, 21, 30),
            op("d", get("x"), val(Some("12")), 31, 40),
        ];
        assert_eq!(check_kv(&h), LinResult::Linearizable);
    }

    #[test]
    fn read_of_a_value_overwritten_before_it_started_is_not() {
        let h = vec![
            op("a", put("x", "1"), KvOutput::Done, 0, 10),
            op("b", put("x", "2"), KvOutput::Done, 11, 20),
            op("c", get("x"), val(Some("1")), 21, 30),
        ];
        let LinResult::NotLinearizable(report) = check_kv(&h) else {
            panic!("a stale read must not be linearizable");
        };
        assert!(report.contains("on key \"x\""), "{report}");
    }

    #[test]
    fn concurrent_read_may_see_old_or_new() {
        for seen in [None, Some("1")] {
            let h = vec![
                op("w", put("x", "1"), KvOutput::Done, 0, 50),
                op("r", get("x"), val(seen), 10, 20),
            ];
            assert_eq!(check_kv(&h), LinResult::Linearizable, "read saw {seen:?}");
        }
    }

    #[test]
    fn new_then_old_reads_during_one_write_are_not() {
        // The write is concurrent with both reads, but the second read starts after the first
        // returned the new value: it must not go back to the old one.
        let h = vec![
            op("w", put("x", "1"), KvOutput::Done, 0, 100),
            op("r1", get("x"), val(Some("1")), 10, 20),
            op("r2", get("x"), val(None), 30, 40),
        ];
        assert!(matches!(check_kv(&h), LinResult::NotLinearizable(_)));
    }

    #[test]
    fn an_append_applied_twice_is_caught() {
        let h = vec![
            op("a", append("x", "a"), KvOutput::Done, 0, 10),
            op("g", get("x"), val(Some("aa")), 20, 30),
        ];
        assert!(matches!(check_kv(&h), LinResult::NotLinearizable(_)));
    }

    #[test]
    fn a_timed_out_write_may_take_effect_late_or_never() {
        let late = vec![
            timed_out("w", put("x", "1"), 0),
            op("r1", get("x"), val(None), 10, 20),
            op("r2", get("x"), val(Some("1")), 500, 510),
        ];
        assert_eq!(check_kv(&late), LinResult::Linearizable);
        let never = vec![
            timed_out("w", put("x", "1"), 0),
            op("r1", get("x"), val(None), 500, 510),
        ];
        assert_eq!(check_kv(&never), LinResult::Linearizable);
        let undone = vec![
            timed_out("w", put("x", "1"), 0),
            op("r1", get("x"), val(Some("1")), 10, 20),
            op("r2", get("x"), val(None), 30, 40),
        ];
        assert!(matches!(check_kv(&undone), LinResult::NotLinearizable(_)));
    }

    #[test]
    fn keys_are_checked_independently() {
        let h = vec![
            op("a", put("x", "1"), KvOutput::Done, 0, 10),
            op("b", put("y", "1"), KvOutput::Done, 0, 10),
            op("c", get("x"), val(Some("1")), 20, 30),
            op("d", get("y"), val(None), 20, 30),
        ];
        let LinResult::NotLinearizable(report) = check_kv(&h) else {
            panic!("the read of y is stale");
        };
        assert!(report.contains("on key \"y\""), "{report}");
    }

    #[test]
    fn many_concurrent_operations_check_quickly() {
        // 8 clients, 400 operations on one key, each put a unique value and each read the value
        // of the latest put that returned before it: linearizable, and the memoised search must
        // not blow up.
        let mut h = Vec::new();
        let mut last = None;
        for i in 0..400u64 {
            let t = i * 10;
            if i % 2 == 0 {
                let v = i.to_string();
                h.push(op(
                    &format!("w{i}"),
                    put("x", &v),
                    KvOutput::Done,
                    t,
                    t + 25,
                ));
                last = Some(v);
            } else {
                h.push(op(
                    &format!("r{i}"),
                    get("x"),
                    val(last.as_deref()),
                    t,
                    t + 35,
                ));
            }
        }
        assert_eq!(check_kv(&h), LinResult::Linearizable);
    }
}
