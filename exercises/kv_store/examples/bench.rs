//! The benchmark of the `performance` stage: how many requests per second your server answers,
//! one request per round trip and in pipelines, through your own `Client`.
//!
//! It needs the `Client` of that stage, so it is only built when asked for:
//!
//! ```text
//! cargo run --release --example bench --features bench
//! ```
//!
//! Always measure a release build: a debug build is many times slower and says little about
//! your design. Run it a few times; the figures vary with the machine and what else runs on it.

use std::error::Error;
use std::net::SocketAddr;
use std::time::Instant;

use kv_store::{Client, Command, LogStore, Reply, serve};
use tokio::task::JoinSet;

/// Clients working at the same time, each on its own connection.
const CLIENTS: usize = 8;
/// Requests each client sends one at a time, waiting for each reply.
const ROUND_TRIPS: usize = 2_000;
/// Pipelines each client sends, and requests per pipeline.
const PIPELINES: usize = 25;
const PIPELINE_LEN: usize = 1_000;
/// The size of every value written.
const VALUE_LEN: usize = 100;

type BoxError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let dir = tempfile::tempdir()?;
    let store = LogStore::open(dir.path())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, store, async {
        let _ = stopped.await;
    }));

    println!("kv_store benchmark: {CLIENTS} clients, {VALUE_LEN}-byte values, half SET, half GET");
    let (requests, seconds) = measure(addr, round_trips).await?;
    report("one request per round trip", requests, seconds);
    let (requests, seconds) = measure(addr, pipelined).await?;
    report(
        &format!("pipelines of {PIPELINE_LEN} requests"),
        requests,
        seconds,
    );

    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// Runs `work` on `CLIENTS` connections at once; returns the requests sent and the seconds taken.
async fn measure<F, Fut>(addr: SocketAddr, work: F) -> Result<(usize, f64), BoxError>
where
    F: Fn(Client, usize) -> Fut,
    Fut: Future<Output = Result<usize, BoxError>> + Send + 'static,
{
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(Client::connect(addr).await?);
    }
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for (id, client) in clients.into_iter().enumerate() {
        tasks.spawn(work(client, id));
    }
    let mut requests = 0;
    while let Some(done) = tasks.join_next().await {
        requests += done??;
    }
    Ok((requests, start.elapsed().as_secs_f64()))
}

/// The `i`-th request of client `id`: a SET, or a GET of the key the SET before it wrote.
fn request(id: usize, i: usize) -> (Command, Reply) {
    let key = format!("client-{id}-key-{}", (i / 2) % 1_000);
    let value = format!("{key:-<VALUE_LEN$}");
    if i.is_multiple_of(2) {
        (Command::Set { key, value }, Reply::Ok)
    } else {
        (Command::Get { key }, Reply::Value(value))
    }
}

async fn round_trips(mut client: Client, id: usize) -> Result<usize, BoxError> {
    for i in 0..ROUND_TRIPS {
        let (command, expected) = request(id, i);
        let reply = client.execute(command).await?;
        check(&reply, &expected)?;
    }
    Ok(ROUND_TRIPS)
}

async fn pipelined(mut client: Client, id: usize) -> Result<usize, BoxError> {
    for p in 0..PIPELINES {
        let (commands, expected): (Vec<_>, Vec<_>) = (0..PIPELINE_LEN)
            .map(|i| request(id, p * PIPELINE_LEN + i))
            .unzip();
        let replies = client.pipeline(&commands).await?;
        if replies.len() != expected.len() {
            return Err(format!("{} replies to {} requests", replies.len(), expected.len()).into());
        }
        for (reply, expected) in replies.iter().zip(&expected) {
            check(reply, expected)?;
        }
    }
    Ok(PIPELINES * PIPELINE_LEN)
}

/// A benchmark that does not check its answers measures nothing.
fn check(reply: &Reply, expected: &Reply) -> Result<(), BoxError> {
    if reply == expected {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {reply:?}").into())
    }
}

fn report(what: &str, requests: usize, seconds: f64) {
    let rate = requests as f64 / seconds;
    println!("{what:>32}: {requests:>7} requests in {seconds:6.2} s = {rate:>9.0} requests/s");
}
