//! Stage 1: answer requests, and hand out ids that are unique across the whole cluster without
//! asking anyone.

use katas_sim::{Context, Node, NodeId, RequestId};

/// What a client can ask a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdRequest {
    /// Answer with this text.
    Echo(String),
    /// Answer with an id no node has ever given out, nor ever will.
    Generate,
}

/// What a node answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdResponse {
    /// The text of an `Echo` request.
    Echo(String),
    /// A fresh id, for a `Generate` request.
    Id(u64),
}

/// A node that echoes and generates unique ids.
pub struct IdNode {
    // Your fields: what must a node remember to never repeat an id?
}

impl Node for IdNode {
    /// Nodes need not talk to each other in this stage.
    type Msg = ();
    type Request = IdRequest;
    type Response = IdResponse;
    type Timer = ();

    /// Called when the node starts, and again after every crash: `ctx.storage()` then holds what
    /// the previous run of this node wrote.
    fn init(ctx: &mut Context<'_, Self>) -> Self {
        let _ = ctx;
        todo!("build the node")
    }

    /// Answer every request with `ctx.reply(id, ...)`.
    fn on_request(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, req: IdRequest) {
        let _ = (ctx, id, req);
        todo!("answer Echo and Generate")
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}
}
