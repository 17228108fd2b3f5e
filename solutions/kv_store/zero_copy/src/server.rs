//! A TCP server that serves an engine to Redis clients, with pipelining and graceful shutdown.
//!
//! One task per connection. Each connection reads into its own buffer and takes *every* complete
//! request the buffer holds as one batch: the batch runs in a single trip to tokio's blocking pool
//! (engines do blocking file I/O, which must not stall the threads that drive the sockets), and
//! its replies go back in a single write. A client that pipelines N requests thus costs one read,
//! one thread hand-off and one write instead of N of each; a client that sends one request at a
//! time is answered as before. An incomplete request at the end of the buffer waits for its
//! bytes, but never holds back the replies to the complete ones before it.
//!
//! On shutdown the listener closes at once; each connection finishes the batch it is executing,
//! sends the replies, and closes; idle connections close immediately; `serve` returns when all of
//! them are done, so the engine is no longer in use.

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::command::{Command, Reply};
use crate::engine::KvsEngine;
use crate::error::{KvError, Result};
use crate::frame::{self, FrameError};
use crate::resp::Frame;

/// How long to wait before accepting again after `accept` failed (for example when the process
/// ran out of file descriptors): retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The most requests executed as one batch: bounds the memory for replies and lets a long
/// pipeline's first replies leave before its last requests are parsed.
const MAX_BATCH: usize = 1024;

/// The initial size of a connection's read buffer; it grows for larger requests.
const READ_BUFFER: usize = 16 * 1024;

/// Serves `engine` to RESP clients connecting to `listener`, until `shutdown` completes.
///
/// Every connection gets its own clone of the engine, so `E`'s clones must share one store (as
/// [`LogStore`](crate::LogStore)'s do). Returns once the listener is closed and every connection
/// has finished.
pub async fn serve<E, F>(listener: TcpListener, engine: E, shutdown: F) -> Result<()>
where
    E: KvsEngine + Clone + Send + Sync + 'static,
    F: Future<Output = ()> + Send,
{
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, _peer)) => {
                    connections.spawn(connection(socket, engine.clone(), stopped.clone()));
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
            // Reap finished connections as we go, so the set does not grow with every client.
            Some(_) = connections.join_next() => {}
        }
    }
    drop(listener);
    // Every receiver sees this, including those of connections accepted a moment ago.
    stop.send_replace(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// Serves one client until it disconnects, sends a malformed request, or the server stops.
async fn connection<E>(mut socket: TcpStream, engine: E, mut stopped: watch::Receiver<bool>)
where
    E: KvsEngine + Send + 'static,
{
    // Replies leave in one write per batch; Nagle's algorithm would only delay them.
    let _ = socket.set_nodelay(true);
    let mut input = Vec::with_capacity(READ_BUFFER);
    let mut output = Vec::new();
    let mut engine = Some(engine);
    loop {
        let (batch, rest) = take_requests(&mut input);
        if !batch.is_empty() {
            let (frames, returned) = execute(batch, engine.take()).await;
            engine = returned;
            frames.iter().for_each(|frame| frame.encode(&mut output));
        }
        if let Rest::Malformed(err) = &rest {
            Frame::Error(err.to_string()).encode(&mut output);
        }
        if !output.is_empty() {
            if socket.write_all(&output).await.is_err() {
                break;
            }
            output.clear();
        }
        match rest {
            _ if engine.is_none() => break,
            Rest::Malformed(_) => break,
            // Complete requests are still waiting in the buffer: take them before reading.
            Rest::BatchFull => continue,
            Rest::NeedMore => {}
        }
        tokio::select! {
            read = socket.read_buf(&mut input) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            },
            // Waiting for input, so idle: a stop closes the connection now.
            _ = stopped.wait_for(|&stop| stop) => break,
        }
    }
    let _ = socket.shutdown().await;
}

/// What is left in the input after [`take_requests`].
#[derive(Debug)]
enum Rest {
    /// Nothing, or the start of a request: read more.
    NeedMore,
    /// The batch is full; more complete requests may follow.
    BatchFull,
    /// Bytes that break the protocol (the requests before them were taken).
    Malformed(FrameError),
}

/// A request of a batch, or the error message to reply with.
type Parsed = std::result::Result<Request, String>;

/// Takes the complete requests at the front of `input` (at most [`MAX_BATCH`]) out of it.
///
/// The frames borrow `input`, so each is turned into an owned [`Request`] (copying just the keys
/// and values the engine will keep) before `input` may be drained.
fn take_requests(input: &mut Vec<u8>) -> (Vec<Parsed>, Rest) {
    let mut batch = Vec::new();
    let mut used = 0;
    let rest = loop {
        if batch.len() == MAX_BATCH {
            break Rest::BatchFull;
        }
        match frame::parse_frame(&input[used..]) {
            Ok(Some((frame, len))) => {
                used += len;
                // An empty inline line is ignored, as Redis does.
                if !frame.is_empty() {
                    batch.push(parse_request(frame));
                }
            }
            Ok(None) => break Rest::NeedMore,
            Err(err) => break Rest::Malformed(err),
        }
    };
    input.drain(..used);
    (batch, rest)
}

/// What a request asks for.
#[derive(Debug)]
enum Request {
    Ping(Option<String>),
    Command(Command),
    /// `DEL` with several keys: executed one by one, counted together.
    DelMany(Vec<String>),
}

/// Runs a batch of requests, in order, in one trip to the blocking pool. The connection's engine
/// handle moves into the blocking task and back out with the replies; it comes back `None` only
/// if the task panicked, and the connection then closes.
async fn execute<E>(batch: Vec<Parsed>, engine: Option<E>) -> (Vec<Frame>, Option<E>)
where
    E: KvsEngine + Send + 'static,
{
    let Some(mut engine) = engine else {
        let shutting_down = Frame::Error("the server is shutting down".to_owned());
        return (vec![shutting_down; batch.len()], None);
    };
    let count = batch.len();
    let task = tokio::task::spawn_blocking(move || {
        let frames = batch
            .into_iter()
            .map(|parsed| match parsed {
                Ok(request) => run(&mut engine, request),
                Err(message) => Frame::Error(message),
            })
            .collect();
        (frames, engine)
    });
    match task.await {
        Ok((frames, engine)) => (frames, Some(engine)),
        Err(_) => (vec![Frame::Error("internal error".to_owned()); count], None),
    }
}

/// Executes a parsed request against the engine.
fn run<E: KvsEngine>(engine: &mut E, request: Request) -> Frame {
    let result = match request {
        Request::Ping(None) => return Frame::Simple("PONG"),
        Request::Ping(Some(message)) => return Frame::Bulk(message),
        Request::Command(command) => engine.execute(command).map(reply_frame),
        Request::DelMany(keys) => keys
            .into_iter()
            .try_fold(0, |deleted, key| {
                Ok::<_, KvError>(deleted + u64::from(engine.remove(&key)?.is_some()))
            })
            .map(Frame::Integer),
    };
    result.unwrap_or_else(|err| Frame::Error(err.to_string()))
}

/// The RESP form of an engine's reply.
fn reply_frame(reply: Reply) -> Frame {
    match reply {
        Reply::Ok => Frame::Simple("OK"),
        Reply::Value(value) => Frame::Bulk(value),
        Reply::Nil => Frame::Null,
        Reply::Deleted(n) => Frame::Integer(n),
    }
}

/// The commands the server knows, so that a name is recognised without allocating.
const COMMANDS: [&str; 4] = ["PING", "GET", "SET", "DEL"];

/// Turns a request frame into a [`Request`], or the error message to reply with.
///
/// Only the keys and values are copied out of the frame: they must outlive the input buffer (the
/// batch runs on another thread, and the buffer is refilled meanwhile), and the engine keeps them.
fn parse_request(frame: frame::Frame<'_>) -> std::result::Result<Request, String> {
    let mut args = frame.args();
    let Some(name) = args.next() else {
        return Err("empty request".to_owned());
    };
    let Ok(name) = std::str::from_utf8(name) else {
        return Err("the command name is not valid UTF-8".to_owned());
    };
    let Some(command) = COMMANDS
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(name))
    else {
        return Err(format!("unknown command '{}'", name.to_ascii_uppercase()));
    };
    let argc = args.len();
    // The arity is checked before any argument is taken, so `next` always finds one.
    let mut next = || owned(args.next().unwrap_or_default());
    let request = match (command, argc) {
        ("PING", 0) => Request::Ping(None),
        ("PING", 1) => Request::Ping(Some(next()?)),
        ("GET", 1) => Request::Command(Command::Get { key: next()? }),
        ("SET", 2) => Request::Command(Command::Set {
            key: next()?,
            value: next()?,
        }),
        ("SET", 3..) => return Err("syntax error (SET options are not supported)".to_owned()),
        ("DEL", 1..) => Request::DelMany(args.map(owned).collect::<std::result::Result<_, _>>()?),
        _ => {
            return Err(format!(
                "wrong number of arguments for '{}' command",
                command.to_lowercase()
            ));
        }
    };
    Ok(request)
}

/// An owned copy of a key or value, which must be UTF-8.
fn owned(arg: &[u8]) -> std::result::Result<String, String> {
    std::str::from_utf8(arg)
        .map(str::to_owned)
        .map_err(|err| format!("keys and values must be valid UTF-8: {err}"))
}
