//! A TCP server that serves an engine to Redis clients, with graceful shutdown.
//!
//! One task per connection. Engines do blocking file I/O, so every command runs on tokio's
//! blocking thread pool (`spawn_blocking`), never on the threads that drive the sockets. On
//! shutdown the listener closes at once; each connection finishes the request it is executing,
//! sends the reply, and closes; idle connections close immediately; `serve` returns when all of
//! them are done, so the engine is no longer in use.

use std::future::Future;
use std::mem::take;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::command::{Command, Reply};
use crate::engine::KvsEngine;
use crate::error::{KvError, Result};
use crate::resp::{self, Frame, ProtocolError};

/// How long to wait before accepting again after `accept` failed (for example when the process
/// ran out of file descriptors): retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

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
async fn connection<E>(socket: TcpStream, engine: E, mut stopped: watch::Receiver<bool>)
where
    E: KvsEngine + Send + 'static,
{
    // Replies are small; without this, Nagle's algorithm can hold each one back for a while.
    let _ = socket.set_nodelay(true);
    let (read, write) = socket.into_split();
    let mut reader = BufReader::new(read);
    let mut writer = BufWriter::new(write);
    let mut engine = Some(engine);
    let mut out = Vec::new();
    loop {
        let request = tokio::select! {
            request = resp::read_request(&mut reader) => request,
            // Idle between requests: a stop closes the connection now.
            _ = stopped.wait_for(|&stop| stop) => break,
        };
        out.clear();
        let keep_going = match request {
            Ok(None) => break,
            Ok(Some(args)) if args.is_empty() => continue,
            Ok(Some(args)) => {
                let (frame, returned) = execute(args, engine.take()).await;
                engine = returned;
                frame.encode(&mut out);
                engine.is_some()
            }
            Err(ProtocolError::Io(_)) => break,
            Err(err @ ProtocolError::Malformed(_)) => {
                Frame::Error(err.to_string()).encode(&mut out);
                false
            }
        };
        if writer.write_all(&out).await.is_err() || writer.flush().await.is_err() {
            break;
        }
        if !keep_going {
            break;
        }
    }
    let _ = writer.shutdown().await;
}

/// What a request asks for.
#[derive(Debug)]
enum Request {
    Ping(Option<String>),
    Command(Command),
    /// `DEL` with several keys: executed one by one, counted together.
    DelMany(Vec<String>),
}

/// Runs one request on the blocking pool. The connection's engine handle moves into the blocking
/// task and back out with the reply; it comes back `None` only if the task panicked, and the
/// connection then closes.
async fn execute<E>(args: Vec<Vec<u8>>, engine: Option<E>) -> (Frame, Option<E>)
where
    E: KvsEngine + Send + 'static,
{
    let request = match parse_request(args) {
        Ok(request) => request,
        Err(message) => return (Frame::Error(message), engine),
    };
    let Some(mut engine) = engine else {
        return (Frame::Error("the server is shutting down".to_owned()), None);
    };
    let task = tokio::task::spawn_blocking(move || {
        let frame = run(&mut engine, request);
        (frame, engine)
    });
    match task.await {
        Ok((frame, engine)) => (frame, Some(engine)),
        Err(_) => (Frame::Error("internal error".to_owned()), None),
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

/// Turns a request's arguments into a [`Request`], or the error message to reply with.
fn parse_request(args: Vec<Vec<u8>>) -> std::result::Result<Request, String> {
    let mut args = args.into_iter().map(String::from_utf8);
    let name = match args.next() {
        Some(Ok(name)) => name.to_ascii_uppercase(),
        Some(Err(_)) => return Err("the command name is not valid UTF-8".to_owned()),
        None => return Err("empty request".to_owned()),
    };
    let mut args = args
        .collect::<std::result::Result<Vec<String>, _>>()
        .map_err(|_| "keys and values must be valid UTF-8".to_owned())?;
    let arity = || {
        format!(
            "wrong number of arguments for '{}' command",
            name.to_lowercase()
        )
    };
    let request = match (name.as_str(), args.as_mut_slice()) {
        ("PING", []) => Request::Ping(None),
        ("PING", [message]) => Request::Ping(Some(take(message))),
        ("GET", [key]) => Request::Command(Command::Get { key: take(key) }),
        ("SET", [key, value]) => Request::Command(Command::Set {
            key: take(key),
            value: take(value),
        }),
        ("SET", [_, _, _, ..]) => {
            return Err("syntax error (SET options are not supported)".to_owned());
        }
        ("DEL", [_, ..]) => Request::DelMany(take(&mut args)),
        ("PING" | "GET" | "SET" | "DEL", _) => return Err(arity()),
        _ => return Err(format!("unknown command '{name}'")),
    };
    Ok(request)
}
