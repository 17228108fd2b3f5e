//! Stage `performance`: a `Client` that pipelines, and a server that answers pipelined requests
//! correctly and in order, however they are cut into TCP segments.
//!
//! These tests check correctness only; speed is measured by the benchmark
//! (`cargo run --release --example bench --features bench`).

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use kv_store::{Client, Command, LogStore, Reply, serve};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

const TIMEOUT: Duration = Duration::from_secs(20);

/// A server on its own runtime, serving a `LogStore` in a temporary directory. Dropping it stops
/// everything.
struct TestServer {
    addr: SocketAddr,
    runtime: Runtime,
    _dir: TempDir,
    _shutdown: oneshot::Sender<()>,
}

impl TestServer {
    fn start() -> TestServer {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(err) => panic!("the test could not create a temporary directory: {err}"),
        };
        let store = match LogStore::open(dir.path()) {
            Ok(store) => store,
            Err(err) => panic!("LogStore::open failed: {err}"),
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(err) => panic!("the test could not start a tokio runtime: {err}"),
        };
        let listener = match runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")) {
            Ok(listener) => listener,
            Err(err) => panic!("the test could not bind 127.0.0.1:0: {err}"),
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(err) => panic!("the test could not read the listener's address: {err}"),
        };
        let (shutdown, signal) = oneshot::channel::<()>();
        runtime.spawn(serve(listener, store, async move {
            let _ = signal.await;
        }));
        TestServer {
            addr,
            runtime,
            _dir: dir,
            _shutdown: shutdown,
        }
    }

    /// Runs `f` on the server's runtime, failing the test if it takes more than 20 s.
    fn run<T>(&self, what: &str, f: impl Future<Output = T>) -> T {
        match self
            .runtime
            .block_on(async { tokio::time::timeout(TIMEOUT, f).await })
        {
            Ok(value) => value,
            Err(_) => panic!("{what} did not finish within 20 s"),
        }
    }

    fn raw(&self) -> TcpStream {
        let stream = match TcpStream::connect(self.addr) {
            Ok(stream) => stream,
            Err(err) => panic!("could not connect to the server at {}: {err}", self.addr),
        };
        if let Err(err) = stream
            .set_read_timeout(Some(TIMEOUT))
            .and_then(|()| stream.set_nodelay(true))
        {
            panic!("setting up the raw socket failed: {err}");
        }
        stream
    }
}

async fn connect(addr: SocketAddr) -> Client {
    match Client::connect(addr).await {
        Ok(client) => client,
        Err(err) => panic!("Client::connect({addr}) failed: {err}"),
    }
}

async fn pipeline(client: &mut Client, commands: &[Command], what: &str) -> Vec<Reply> {
    let replies = match client.pipeline(commands).await {
        Ok(replies) => replies,
        Err(err) => panic!(
            "{what}: pipeline of {} commands failed: {err}",
            commands.len()
        ),
    };
    assert_eq!(
        replies.len(),
        commands.len(),
        "{what}: a pipeline of {} commands should return one reply per command",
        commands.len()
    );
    replies
}

fn set(key: &str, value: &str) -> Command {
    Command::Set {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn get(key: &str) -> Command {
    Command::Get {
        key: key.to_owned(),
    }
}

fn del(key: &str) -> Command {
    Command::Del {
        key: key.to_owned(),
    }
}

fn value(key: &str, version: usize, len: usize) -> String {
    format!("{key}@{version}:{}", "v".repeat(len))
}

/// Checks replies against expectations, naming the first mismatch.
fn check_replies(what: &str, commands: &[Command], replies: &[Reply], expected: &[Reply]) {
    for (i, ((command, got), want)) in commands.iter().zip(replies).zip(expected).enumerate() {
        assert_eq!(
            got, want,
            "{what}: the reply to command #{i} ({command}) should be {want:?} but was {got:?}: \
             are replies returned in the order of the commands, one per command?"
        );
    }
}

/// A tiny deterministic pseudo-random generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn the_client_executes_one_command_at_a_time() {
    let server = TestServer::start();
    server.run("single commands", async {
        let mut client = connect(server.addr).await;
        let script = [
            (get("a"), Reply::Nil),
            (set("a", "1"), Reply::Ok),
            (get("a"), Reply::Value("1".to_owned())),
            (set("a", "hello world\r\n"), Reply::Ok),
            (get("a"), Reply::Value("hello world\r\n".to_owned())),
            (del("a"), Reply::Deleted(1)),
            (del("a"), Reply::Deleted(0)),
            (get("a"), Reply::Nil),
        ];
        for (command, expected) in script {
            match client.execute(command.clone()).await {
                Ok(reply) => assert_eq!(
                    reply, expected,
                    "Client::execute({command}) should return {expected:?}"
                ),
                Err(err) => panic!("Client::execute({command}) failed: {err}"),
            }
        }
    });
}

#[test]
fn a_pipeline_of_two_thousand_mixed_commands_is_answered_in_order() {
    let server = TestServer::start();
    let mut rng = Rng(0x9199_e11e_0000_0009);
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    let mut commands = Vec::new();
    let mut expected = Vec::new();
    for i in 0..2_000 {
        let key = format!("k{}", rng.below(50));
        match rng.below(3) {
            0 => {
                let v = value(&key, i, 20);
                commands.push(set(&key, &v));
                expected.push(Reply::Ok);
                model.insert(key, v);
            }
            1 => {
                commands.push(get(&key));
                expected.push(model.get(&key).cloned().map_or(Reply::Nil, Reply::Value));
            }
            _ => {
                commands.push(del(&key));
                expected.push(Reply::Deleted(u64::from(model.remove(&key).is_some())));
            }
        }
    }
    server.run("a pipeline of 2,000 commands", async {
        let mut client = connect(server.addr).await;
        let replies = pipeline(&mut client, &commands, "2,000 mixed commands").await;
        check_replies("2,000 mixed commands", &commands, &replies, &expected);
        let empty = pipeline(&mut client, &[], "an empty pipeline").await;
        assert!(empty.is_empty(), "an empty pipeline has no replies");
        match client.execute(get("k0")).await {
            Ok(reply) => assert_eq!(
                reply,
                model.get("k0").cloned().map_or(Reply::Nil, Reply::Value),
                "after the pipeline, the same client should still get the right answers"
            ),
            Err(err) => panic!("a command after the pipeline failed: {err}"),
        }
    });
}

#[test]
fn pipelines_with_large_values_stay_in_order() {
    let server = TestServer::start();
    let big = "B".repeat(1 << 20);
    let commands = [
        set("small-1", "1"),
        set("big", &big),
        get("big"),
        set("small-2", "2"),
        get("small-1"),
        get("big"),
        get("small-2"),
        del("big"),
        get("big"),
    ];
    let expected = [
        Reply::Ok,
        Reply::Ok,
        Reply::Value(big.clone()),
        Reply::Ok,
        Reply::Value("1".to_owned()),
        Reply::Value(big.clone()),
        Reply::Value("2".to_owned()),
        Reply::Deleted(1),
        Reply::Nil,
    ];
    server.run("a pipeline with 1 MiB values", async {
        let mut client = connect(server.addr).await;
        let replies = pipeline(&mut client, &commands, "1 MiB values").await;
        for (i, (got, want)) in replies.iter().zip(&expected).enumerate() {
            assert!(
                got == want,
                "the reply to command #{i} of a pipeline with 1 MiB values is wrong (got a {}, \
                 expected a {}): do the server and the client handle values larger than one read?",
                describe(got),
                describe(want)
            );
        }
    });
}

fn describe(reply: &Reply) -> String {
    match reply {
        Reply::Value(v) => format!("value of {} bytes", v.len()),
        other => format!("{other:?}"),
    }
}

#[test]
fn a_ten_thousand_command_pipeline_of_large_values_completes() {
    const COUNT: usize = 10_000;
    let server = TestServer::start();
    let keys: Vec<String> = (0..COUNT).map(|i| format!("key-{i:05}")).collect();
    let sets: Vec<Command> = keys.iter().map(|k| set(k, &value(k, 0, 1_000))).collect();
    let gets: Vec<Command> = keys.iter().map(|k| get(k)).collect();
    server.run(
        "a pipeline of 10,000 commands with 1 kB values (about 10 MB each way; a client that \
         only reads replies after sending everything can fill both directions' socket buffers \
         and wait forever)",
        async {
            let mut client = connect(server.addr).await;
            let replies = pipeline(&mut client, &sets, "10,000 SETs").await;
            assert!(
                replies.iter().all(|r| *r == Reply::Ok),
                "every SET of the 10,000-command pipeline should reply Ok"
            );
            let replies = pipeline(&mut client, &gets, "10,000 GETs").await;
            for (key, reply) in keys.iter().zip(&replies) {
                assert!(
                    *reply == Reply::Value(value(key, 0, 1_000)),
                    "in the 10,000-GET pipeline, {key:?} got a wrong reply ({})",
                    describe(reply)
                );
            }
        },
    );
}

#[test]
fn eight_clients_pipelining_at_once_each_get_their_own_replies() {
    let server = TestServer::start();
    server.run("eight clients pipelining at once", async {
        let mut tasks = tokio::task::JoinSet::new();
        for c in 0..8 {
            let addr = server.addr;
            tasks.spawn(async move {
                let mut client = connect(addr).await;
                for round in 0..10 {
                    let keys: Vec<String> = (0..200).map(|i| format!("c{c}-k{i}")).collect();
                    let mut commands = Vec::new();
                    let mut expected = Vec::new();
                    for key in &keys {
                        let v = value(key, round, 30);
                        commands.push(set(key, &v));
                        expected.push(Reply::Ok);
                        commands.push(get(key));
                        expected.push(Reply::Value(v));
                    }
                    let what = format!("client {c}, round {round}");
                    let replies = pipeline(&mut client, &commands, &what).await;
                    check_replies(&what, &commands, &replies, &expected);
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(err) = done {
                match err.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(err) => panic!("a client task failed: {err}"),
                }
            }
        }
    });
}

fn write_all(stream: &mut TcpStream, bytes: &[u8]) {
    if let Err(err) = stream.write_all(bytes).and_then(|()| stream.flush()) {
        panic!("writing to the server failed: {err}");
    }
}

fn read_line(reader: &mut impl BufRead, what: &str) -> String {
    let mut line = Vec::new();
    match reader.read_until(b'\n', &mut line) {
        Ok(0) => panic!("{what}: the server closed the connection"),
        Ok(_) => String::from_utf8_lossy(&line).into_owned(),
        Err(err) => panic!("{what}: no reply within 20 s ({err})"),
    }
}

#[test]
fn replies_to_complete_requests_are_not_held_back_by_an_incomplete_one() {
    let server = TestServer::start();
    let mut stream = server.raw();
    let mut bytes = b"*1\r\n$4\r\nPING\r\n".repeat(10);
    bytes.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nke");
    write_all(&mut stream, &bytes);
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(clone) => clone,
        Err(err) => panic!("cloning the socket failed: {err}"),
    });
    for i in 0..10 {
        let reply = read_line(
            &mut reader,
            &format!(
                "ten PINGs followed by the first half of a GET, all in one write: PING #{i} \
                 (is the server waiting for the incomplete GET before answering the complete \
                 requests?)"
            ),
        );
        assert_eq!(reply, "+PONG\r\n", "reply #{i} to ten pipelined PINGs");
    }
    write_all(&mut stream, b"y\r\n");
    let reply = read_line(&mut reader, "the GET completed by a second write");
    assert_eq!(
        reply, "$-1\r\n",
        "the GET whose second half arrived later should be answered $-1 (no such key)"
    );
}

/// What a reply read from a raw socket must be.
enum Expect {
    /// Exactly this line.
    Line(&'static str),
    /// Any error (a line starting with '-').
    Error,
    /// A bulk string with this content.
    Bulk(String),
}

fn bulk(text: &str) -> String {
    format!("${}\r\n{text}\r\n", text.len())
}

#[test]
fn a_raw_pipeline_with_errors_in_the_middle_is_answered_in_order() {
    let server = TestServer::start();
    let mut stream = server.raw();
    let mut request = String::new();
    let mut expected = Vec::new();
    for group in 0..20 {
        let key = format!("k{group}");
        let v = format!("value {group}");
        request.push_str(&format!("*3\r\n$3\r\nSET\r\n{}{}", bulk(&key), bulk(&v)));
        expected.push(Expect::Line("+OK\r\n"));
        request.push_str(&format!("*2\r\n$3\r\nGET\r\n{}", bulk(&key)));
        expected.push(Expect::Bulk(v));
        request.push_str("*1\r\n$4\r\nPING\r\n");
        expected.push(Expect::Line("+PONG\r\n"));
        request.push_str("*1\r\n$8\r\nNOTACMD!\r\n");
        expected.push(Expect::Error);
        request.push_str(&format!("*2\r\n$3\r\nDEL\r\n{}", bulk(&key)));
        expected.push(Expect::Line(":1\r\n"));
    }
    write_all(&mut stream, request.as_bytes());
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(clone) => clone,
        Err(err) => panic!("cloning the socket failed: {err}"),
    });
    for (i, want) in expected.iter().enumerate() {
        let what = format!("reply #{i} of 100 pipelined requests sent in one write");
        let line = read_line(&mut reader, &what);
        match want {
            Expect::Line(want) => assert_eq!(
                line, *want,
                "{what}: replies must come in the order of the requests, errors included"
            ),
            Expect::Error => assert!(
                line.starts_with('-'),
                "{what} answers an unknown command and should be an error, but was {line:?}: \
                 replies must come in the order of the requests, errors included"
            ),
            Expect::Bulk(value) => {
                let body = read_line(&mut reader, &what);
                assert_eq!(
                    format!("{line}{body}"),
                    bulk(value),
                    "{what} answers a GET and should be the bulk string {value:?}"
                );
            }
        }
    }
}

#[test]
fn the_client_reads_replies_that_arrive_in_pieces() {
    // A fake server that sends its replies in awkward pieces.
    let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(listener) => listener,
        Err(err) => panic!("the test could not bind 127.0.0.1:0: {err}"),
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(err) => panic!("the test could not read the listener's address: {err}"),
    };
    let fake = std::thread::spawn(move || {
        let Ok((mut socket, _)) = listener.accept() else {
            return;
        };
        let _ = socket.set_nodelay(true);
        let pieces: [&[u8]; 7] = [
            b"+O",
            b"K\r\n$11\r\nhello",
            b" world\r\n$-",
            b"1\r\n:",
            b"1\r\n-ERR something went wrong",
            b"\r\n$2\r\nok\r\n",
            b"$5\r\nafter\r\n",
        ];
        for piece in pieces {
            if socket
                .write_all(piece)
                .and_then(|()| socket.flush())
                .is_err()
            {
                return;
            }
        }
        // Keep the connection open until the client is done.
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut socket, &mut sink);
    });
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => panic!("the test could not start a tokio runtime: {err}"),
    };
    runtime.block_on(async {
        let outcome = tokio::time::timeout(TIMEOUT, async {
            let mut client = connect(addr).await;
            let replies = pipeline(
                &mut client,
                &[set("a", "1"), get("a"), get("b"), del("a")],
                "four commands to a fake server",
            )
            .await;
            assert_eq!(
                replies,
                vec![
                    Reply::Ok,
                    Reply::Value("hello world".to_owned()),
                    Reply::Nil,
                    Reply::Deleted(1),
                ],
                "the client should decode +OK, a bulk string, $-1 and :1, even when they arrive \
                 cut at arbitrary places"
            );
            let failed = client.pipeline(&[get("x"), get("y")]).await;
            assert!(
                failed.is_err(),
                "a pipeline in which the server answers an error (-ERR ...) should return Err, \
                 but returned {failed:?}"
            );
            let next = client.execute(get("z")).await;
            assert_eq!(
                next.ok(),
                Some(Reply::Value("after".to_owned())),
                "after a pipeline with an error reply, the next command should get its own reply \
                 (\"after\"): does pipeline read every reply, the ones after the error \
                 included, before it returns Err?"
            );
        })
        .await;
        if outcome.is_err() {
            panic!("the client did not finish reading the fake server's replies within 20 s");
        }
    });
    drop(runtime);
    let _ = fake.join();
}

/// Reads one request (an array of bulk strings) and throws it away.
fn skip_request(reader: &mut impl BufRead) -> std::io::Result<()> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let count: usize = line.trim().trim_start_matches('*').parse().unwrap_or(0);
    for _ in 0..count {
        line.clear();
        reader.read_line(&mut line)?;
        let len: u64 = line.trim().trim_start_matches('$').parse().unwrap_or(0);
        std::io::copy(&mut reader.take(len + 2), &mut std::io::sink())?;
    }
    Ok(())
}

#[test]
fn the_client_reads_replies_while_it_is_still_sending() {
    const COUNT: usize = 24;
    const BIG: usize = 1 << 20;
    // A fake server that answers each request with 1 MiB before it reads the next one, as a
    // busy server may. A client that only starts reading after it has sent all 24 MiB of
    // requests waits for the server to read, while the server waits for it to read: deadlock.
    let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
        Ok(listener) => listener,
        Err(err) => panic!("the test could not bind 127.0.0.1:0: {err}"),
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(err) => panic!("the test could not read the listener's address: {err}"),
    };
    let fake = std::thread::spawn(move || {
        let Ok((socket, _)) = listener.accept() else {
            return;
        };
        let Ok(read_half) = socket.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(read_half);
        let mut writer = socket;
        let mut reply = format!("${BIG}\r\n").into_bytes();
        reply.resize(reply.len() + BIG, b'r');
        reply.extend_from_slice(b"\r\n");
        for _ in 0..COUNT {
            if skip_request(&mut reader).is_err() || writer.write_all(&reply).is_err() {
                return;
            }
        }
    });
    let commands: Vec<Command> = (0..COUNT)
        .map(|i| get(&format!("{i}-{}", "k".repeat(BIG))))
        .collect();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => panic!("the test could not start a tokio runtime: {err}"),
    };
    runtime.block_on(async {
        let mut client = connect(addr).await;
        match tokio::time::timeout(TIMEOUT, client.pipeline(&commands)).await {
            Err(_) => panic!(
                "a pipeline of 24 requests of 1 MiB, each answered with 1 MiB, did not finish \
                 within 20 s: does the client read replies only after sending everything? Then \
                 both directions' socket buffers fill up and each side waits for the other"
            ),
            Ok(Err(err)) => panic!("the pipeline of 24 large requests failed: {err}"),
            Ok(Ok(replies)) => {
                assert_eq!(replies.len(), COUNT, "one reply per request");
                assert!(
                    replies
                        .iter()
                        .all(|r| matches!(r, Reply::Value(v) if v.len() == BIG)),
                    "every reply should be the fake server's 1 MiB value"
                );
            }
        }
    });
    drop(runtime);
    let _ = fake.join();
}

#[test]
fn connecting_to_a_closed_port_is_an_error() {
    let addr = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr,
        Err(err) => panic!("the test could not bind 127.0.0.1:0: {err}"),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => panic!("the test could not start a tokio runtime: {err}"),
    };
    let result = runtime.block_on(Client::connect(addr));
    assert!(
        result.is_err(),
        "connecting to a port nobody listens on should return Err, not succeed"
    );
}

/// Sends `count` PINGs in one write and reads their replies.
fn ping_burst(server: &TestServer, count: usize) {
    let mut stream = server.raw();
    write_all(&mut stream, &b"*1\r\n$4\r\nPING\r\n".repeat(count));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(clone) => clone,
        Err(err) => panic!("cloning the socket failed: {err}"),
    });
    for i in 0..count {
        let reply = read_line(
            &mut reader,
            &format!(
                "reply #{i} of {count} PINGs sent in one write, and nothing after them (when a \
                 batch is full, does the server take the requests still in its buffer before it \
                 reads again?)"
            ),
        );
        assert_eq!(reply, "+PONG\r\n", "reply #{i} of {count} pipelined PINGs");
    }
}

#[test]
fn a_burst_larger_than_a_batch_is_answered_without_more_input() {
    let server = TestServer::start();
    // Enough requests in one read to fill any reasonable batch, then nothing: the client waits.
    for count in [1100, 2000, 5000] {
        ping_burst(&server, count);
    }
}

#[test]
fn valid_requests_followed_by_garbage_in_one_write_get_their_replies_first() {
    let server = TestServer::start();
    let mut stream = server.raw();
    let mut bytes = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n".to_vec();
    bytes.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n");
    bytes.extend_from_slice(b"*abc\r\n");
    write_all(&mut stream, &bytes);
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(clone) => clone,
        Err(err) => panic!("cloning the socket failed: {err}"),
    });
    let what = "SET, GET and PING followed by a malformed request, all in one write";
    let replies: Vec<String> = (0..5).map(|_| read_line(&mut reader, what)).collect();
    assert_eq!(
        replies[..4],
        ["+OK\r\n", "$1\r\n", "1\r\n", "+PONG\r\n"],
        "{what}: the three valid requests must be answered, in order, before the error"
    );
    assert!(
        replies[4].starts_with('-'),
        "{what}: the malformed request should then get an error reply, but got {:?}",
        replies[4]
    );
}
