//! What clients saw: every operation with its invocation, its outcome, and when.

use std::collections::BTreeMap;
use std::fmt;

use crate::node::{NodeId, RequestId, Tick};

/// How an operation ended, as far as its client knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<R> {
    /// Still waiting for an answer.
    Pending,
    /// Answered, and the client accepted the answer ([`crate::Verdict::Done`]).
    Ok {
        /// The answer.
        response: R,
        /// When the client received it.
        at: Tick,
    },
    /// Every attempt was answered with a "retry elsewhere" response and the client ran out of
    /// attempts: the operation must not have taken effect.
    Rejected {
        /// The last answer.
        response: R,
        /// When the client gave up.
        at: Tick,
    },
    /// The client gave up after a timeout: the operation may or may not have taken effect, now
    /// or at any later time. A checker must allow both.
    Indefinite {
        /// When the client gave up.
        at: Tick,
    },
}

/// One client operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op<Req, Resp> {
    /// The operation's id (the same for every attempt).
    pub id: RequestId,
    /// What was asked.
    pub request: Req,
    /// When the client first sent it.
    pub invoked: Tick,
    /// The node each attempt went to, in order.
    pub nodes: Vec<NodeId>,
    /// How it ended.
    pub outcome: Outcome<Resp>,
}

impl<Req, Resp> Op<Req, Resp> {
    /// The accepted response, if the operation completed.
    pub fn response(&self) -> Option<&Resp> {
        match &self.outcome {
            Outcome::Ok { response, .. } => Some(response),
            _ => None,
        }
    }

    /// When the client received the accepted response, if it did.
    pub fn completed_at(&self) -> Option<Tick> {
        match self.outcome {
            Outcome::Ok { at, .. } => Some(at),
            _ => None,
        }
    }

    /// Ticks from invocation to accepted response.
    pub fn latency(&self) -> Option<Tick> {
        self.completed_at().map(|at| at - self.invoked)
    }

    /// True if the operation may or may not have taken effect (timed out or still pending).
    pub fn is_indefinite(&self) -> bool {
        matches!(self.outcome, Outcome::Indefinite { .. } | Outcome::Pending)
    }
}

impl<Req: fmt::Debug, Resp: fmt::Debug> fmt::Display for Op<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} invoked at {}",
            self.id, self.request, self.invoked
        )?;
        match &self.outcome {
            Outcome::Pending => write!(f, ", no answer yet"),
            Outcome::Ok { response, at } => write!(f, ", answered {response:?} at {at}"),
            Outcome::Rejected { response, at } => write!(f, ", rejected {response:?} at {at}"),
            Outcome::Indefinite { at } => write!(f, ", timed out at {at} (indefinite)"),
        }
    }
}

/// Every client operation of a run, in invocation order.
#[derive(Clone, Debug)]
pub struct History<Req, Resp> {
    ops: Vec<Op<Req, Resp>>,
    by_id: BTreeMap<RequestId, usize>,
}

impl<Req, Resp> Default for History<Req, Resp> {
    fn default() -> Self {
        History {
            ops: Vec::new(),
            by_id: BTreeMap::new(),
        }
    }
}

impl<Req, Resp> History<Req, Resp> {
    /// All operations, in invocation order.
    pub fn ops(&self) -> &[Op<Req, Resp>] {
        &self.ops
    }

    /// The operation with this id.
    pub fn get(&self, id: RequestId) -> Option<&Op<Req, Resp>> {
        self.by_id.get(&id).and_then(|&i| self.ops.get(i))
    }

    /// The accepted response to operation `id`, if it completed.
    pub fn response(&self, id: RequestId) -> Option<&Resp> {
        self.get(id).and_then(Op::response)
    }

    /// The operations that completed, with their responses.
    pub fn completed(&self) -> impl Iterator<Item = (&Op<Req, Resp>, &Resp)> {
        self.ops
            .iter()
            .filter_map(|op| op.response().map(|r| (op, r)))
    }

    /// How many operations there are.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True if no operation was invoked.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub(crate) fn push(&mut self, op: Op<Req, Resp>) -> usize {
        let index = self.ops.len();
        self.by_id.insert(op.id, index);
        self.ops.push(op);
        index
    }

    pub(crate) fn op_mut(&mut self, index: usize) -> Option<&mut Op<Req, Resp>> {
        self.ops.get_mut(index)
    }
}
