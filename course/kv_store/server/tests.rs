//! Stage `server`: `serve` speaks enough RESP (PING, GET, SET, DEL) for a real Redis client,
//! serves many clients at once, answers bad input with errors, and shuts down gracefully.
//!
//! The server runs on a tokio runtime owned by the test; the clients are the `redis` crate's
//! blocking client and raw TCP sockets, on ordinary threads. Every socket read has a 10-second
//! timeout, so a server that never answers fails the test instead of hanging it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use kv_store::{EngineKind, KvError, KvStore, KvsEngine, LogStore, serve};
use redis::Value;
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A server running on its own runtime, serving a `LogStore` in a temporary directory.
struct TestServer {
    addr: SocketAddr,
    dir: TempDir,
    runtime: Runtime,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<kv_store::Result<()>>>,
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
        TestServer::serving(dir, store)
    }

    /// A server of `engine`; `dir` is kept for the test's own use.
    fn serving<E: KvsEngine + Clone + Send + Sync + 'static>(dir: TempDir, store: E) -> TestServer {
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
        let task = runtime.spawn(serve(listener, store, async move {
            let _ = signal.await;
        }));
        TestServer {
            addr,
            dir,
            runtime,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// A connected `redis` client.
    fn client(&self) -> redis::Connection {
        let client = match redis::Client::open(format!("redis://{}/", self.addr)) {
            Ok(client) => client,
            Err(err) => panic!("redis::Client::open failed: {err}"),
        };
        let con = match client.get_connection_with_timeout(TIMEOUT) {
            Ok(con) => con,
            Err(err) => panic!(
                "the redis client could not connect to the server at {}: {err}. (Right after \
                 connecting it sends CLIENT SETINFO twice and accepts an error reply to both.)",
                self.addr
            ),
        };
        if let Err(err) = con
            .set_read_timeout(Some(TIMEOUT))
            .and_then(|()| con.set_write_timeout(Some(TIMEOUT)))
        {
            panic!("setting the client's timeouts failed: {err}");
        }
        con
    }

    /// A raw TCP connection, for sending bytes no client library would send.
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

    /// Sends the shutdown signal, without waiting for `serve` to return.
    fn signal_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Waits (at most 10 s) until the server refuses new connections: it has seen the shutdown.
    fn wait_until_refusing(&self) {
        let deadline = Instant::now() + TIMEOUT;
        while TcpStream::connect(self.addr).is_ok() {
            assert!(
                Instant::now() < deadline,
                "10 s after the shutdown signal the server still accepts connections: does serve \
                 stop accepting (drop the listener) as soon as the shutdown future completes?"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Triggers the shutdown and waits (at most 10 s) for `serve` to return `Ok`.
    fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let Some(task) = self.task.take() else {
            return;
        };
        let outcome = self
            .runtime
            .block_on(async { tokio::time::timeout(TIMEOUT, task).await });
        match outcome {
            Err(_) => panic!(
                "serve did not return within 10 s of the shutdown signal: does it stop \
                 accepting, close idle connections, and stop waiting for clients that stay \
                 connected?"
            ),
            Ok(Err(join_error)) => panic!("serve panicked: {join_error}"),
            Ok(Ok(Err(err))) => panic!("serve returned an error after the shutdown: {err}"),
            Ok(Ok(Ok(()))) => {}
        }
    }
}

fn query(con: &mut redis::Connection, cmd: &mut redis::Cmd) -> Value {
    match cmd.query::<Value>(con) {
        Ok(value) => value,
        Err(err) => panic!("the server answered {cmd:?} with an error: {err}"),
    }
}

fn set(con: &mut redis::Connection, key: &str, value: &str) {
    let reply = query(con, redis::cmd("SET").arg(key).arg(value));
    assert_eq!(
        reply,
        Value::Okay,
        "SET {key:?} should be answered with +OK, but was {reply:?}"
    );
}

fn get(con: &mut redis::Connection, key: &str) -> Option<String> {
    match query(con, redis::cmd("GET").arg(key)) {
        Value::Nil => None,
        Value::BulkString(bytes) => match String::from_utf8(bytes) {
            Ok(value) => Some(value),
            Err(err) => panic!("GET {key:?} returned bytes that are not UTF-8: {err}"),
        },
        other => panic!(
            "GET {key:?} should be answered with a bulk string or the null bulk string ($-1), \
             but was {other:?}"
        ),
    }
}

fn del(con: &mut redis::Connection, keys: &[&str]) -> i64 {
    match query(con, redis::cmd("DEL").arg(keys)) {
        Value::Int(n) => n,
        other => panic!("DEL {keys:?} should be answered with an integer, but was {other:?}"),
    }
}

/// Reads one reply line (up to and including "\r\n") from a raw socket.
fn read_line(reader: &mut impl BufRead, what: &str) -> String {
    let mut line = Vec::new();
    match reader.read_until(b'\n', &mut line) {
        Ok(0) => panic!("{what}: the server closed the connection without replying"),
        Ok(_) => String::from_utf8_lossy(&line).into_owned(),
        Err(err) => panic!("{what}: no reply within 10 s ({err})"),
    }
}

fn write_all(stream: &mut TcpStream, bytes: &[u8]) {
    if let Err(err) = stream.write_all(bytes).and_then(|()| stream.flush()) {
        panic!("writing to the server failed: {err}");
    }
}

#[test]
fn a_redis_client_can_ping_set_get_and_del() {
    let server = TestServer::start();
    let mut con = server.client();
    let pong = query(&mut con, &mut redis::cmd("PING"));
    assert_eq!(
        pong,
        Value::SimpleString("PONG".to_owned()),
        "PING should be answered with +PONG"
    );
    set(&mut con, "a", "1");
    assert_eq!(
        get(&mut con, "a").as_deref(),
        Some("1"),
        "GET a after SET a 1"
    );
    assert_eq!(
        get(&mut con, "missing"),
        None,
        "GET of a missing key is $-1"
    );
    set(&mut con, "a", "2");
    assert_eq!(
        get(&mut con, "a").as_deref(),
        Some("2"),
        "GET a after SET a 2"
    );
    assert_eq!(
        del(&mut con, &["a"]),
        1,
        "DEL of an existing key answers :1"
    );
    assert_eq!(del(&mut con, &["a"]), 0, "DEL of a missing key answers :0");
    assert_eq!(get(&mut con, "a"), None, "GET a after DEL a is $-1");
    set(&mut con, "x", "1");
    set(&mut con, "y", "2");
    assert_eq!(
        del(&mut con, &["x", "y", "z"]),
        2,
        "DEL x y z, where x and y exist, answers :2 (the number of keys removed)"
    );
}

#[test]
fn any_value_survives_the_protocol() {
    let server = TestServer::start();
    let mut con = server.client();
    let values = [
        "",
        "hello world",
        "line one\r\nline two\n",
        "$5\r\n*2\r\n:1\r\n",
        "-ERR not an error",
        "clé 🔑 値",
    ];
    for (i, value) in values.iter().enumerate() {
        let key = format!("key with spaces {i}");
        set(&mut con, &key, value);
        assert_eq!(
            get(&mut con, &key).as_deref(),
            Some(*value),
            "the value {value:?} should come back unchanged: bulk strings are length-prefixed, \
             so they may hold anything, even \\r\\n and protocol characters"
        );
    }
    let big = "v".repeat(1 << 20);
    set(&mut con, "big", &big);
    assert!(
        get(&mut con, "big").as_deref() == Some(big.as_str()),
        "a 1 MiB value should come back whole: does the server read bulk strings larger than \
         one read from the socket?"
    );
}

#[test]
fn requests_split_across_many_tcp_writes_are_reassembled() {
    let server = TestServer::start();
    let mut stream = server.raw();
    let request = b"*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n$11\r\nhello world\r\n";
    for byte in request {
        write_all(&mut stream, std::slice::from_ref(byte));
    }
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(clone) => clone,
        Err(err) => panic!("cloning the socket failed: {err}"),
    });
    let reply = read_line(&mut reader, "a SET sent one byte at a time");
    assert_eq!(
        reply, "+OK\r\n",
        "a SET sent one byte per write should be answered +OK: a request may arrive in any \
         number of pieces, and the server must wait for the rest"
    );
    write_all(&mut stream, b"*2\r\n$3\r\nGET\r\n$5\r\nsplit\r\n");
    let header = read_line(&mut reader, "GET split");
    let body = read_line(&mut reader, "GET split (body)");
    assert_eq!(
        (header.as_str(), body.as_str()),
        ("$11\r\n", "hello world\r\n"),
        "GET split should be answered with the bulk string \"hello world\""
    );
}

#[test]
fn unknown_commands_and_wrong_arguments_get_errors_and_the_connection_stays_usable() {
    let server = TestServer::start();
    let mut con = server.client();
    let bad: [(&str, redis::Cmd); 4] = [
        ("an unknown command", redis::cmd("FLUSHALL")),
        ("GET without a key", redis::cmd("GET")),
        ("SET without a value", {
            let mut cmd = redis::cmd("SET");
            cmd.arg("a");
            cmd
        }),
        ("DEL without a key", redis::cmd("DEL")),
    ];
    for (what, cmd) in bad {
        let result = cmd.query::<Value>(&mut con);
        assert!(
            result.is_err(),
            "{what} should be answered with an error (-ERR ...), but was {result:?}"
        );
        let pong = query(&mut con, &mut redis::cmd("PING"));
        assert_eq!(
            pong,
            Value::SimpleString("PONG".to_owned()),
            "after an error reply to {what}, the same connection should keep working"
        );
    }
    set(&mut con, "lower", "case");
    let reply = query(&mut con, redis::cmd("get").arg("lower"));
    assert_eq!(
        reply,
        Value::BulkString(b"case".to_vec()),
        "command names are case-insensitive: \"get\" is GET"
    );
}

#[test]
fn malformed_input_gets_an_error_reply_and_the_server_keeps_serving() {
    let server = TestServer::start();
    let garbage: [(&str, &[u8]); 3] = [
        (
            "a bulk string longer than announced",
            b"*1\r\n$4\r\nPINGXX\r\n",
        ),
        ("an array length that is not a number", b"*abc\r\n"),
        (
            "a bulk length that is not a number",
            b"*1\r\n$x\r\nPING\r\n",
        ),
    ];
    for (what, bytes) in garbage {
        let mut stream = server.raw();
        write_all(&mut stream, bytes);
        let mut reader = BufReader::new(&mut stream);
        let reply = read_line(&mut reader, what);
        assert!(
            reply.starts_with('-'),
            "{what} ({:?}) should be answered with an error reply (a line starting with '-'), \
             but was {reply:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    let mut con = server.client();
    set(&mut con, "still", "serving");
    assert_eq!(
        get(&mut con, "still").as_deref(),
        Some("serving"),
        "after malformed input on other connections, the server should keep serving new clients"
    );
}

#[test]
fn sixteen_clients_at_once() {
    const CLIENTS: usize = 16;
    let server = TestServer::start();
    let barrier = Barrier::new(CLIENTS);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let server = &server;
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut con = server.client();
                    barrier.wait();
                    for i in 0..60 {
                        let key = format!("client-{c}-key-{}", i % 10);
                        let value = format!("client {c} write {i}");
                        set(&mut con, &key, &value);
                        assert_eq!(
                            get(&mut con, &key),
                            Some(value),
                            "client {c} should read back its own write to {key:?}"
                        );
                        if i % 7 == 0 {
                            assert_eq!(del(&mut con, &[&key]), 1, "client {c}: DEL {key:?}");
                        }
                    }
                })
            })
            .collect();
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    let mut con = server.client();
    for c in 0..CLIENTS {
        for k in 0..10 {
            let key = format!("client-{c}-key-{k}");
            let last = (0..60).filter(|i| i % 10 == k).max().unwrap_or(0);
            let expected = (last % 7 != 0).then(|| format!("client {c} write {last}"));
            assert_eq!(
                get(&mut con, &key),
                expected,
                "after all clients finished, {key:?} should hold its client's last write"
            );
        }
    }
}

#[test]
fn shutdown_returns_even_with_an_idle_client_connected() {
    let mut server = TestServer::start();
    let mut idle = server.client();
    let _ = query(&mut idle, &mut redis::cmd("PING"));
    server.stop();
    let result = redis::cmd("PING").query::<Value>(&mut idle);
    assert!(
        result.is_err(),
        "after serve returned, the idle client's connection should be closed, but PING got \
         {result:?}"
    );
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "after serve returned, the listening socket should be closed (new connections refused)"
    );
}

#[test]
fn writes_made_through_the_server_are_in_the_store_after_shutdown() {
    let mut server = TestServer::start();
    let mut con = server.client();
    for i in 0..20 {
        set(&mut con, &format!("k{i}"), &format!("v{i}"));
    }
    del(&mut con, &["k0"]);
    server.stop();
    let store = match LogStore::open(server.dir.path()) {
        Ok(store) => store,
        Err(err) => panic!("reopening the store after the server stopped failed: {err}"),
    };
    for i in 1..20 {
        assert_eq!(
            store.get(&format!("k{i}")).ok().flatten(),
            Some(format!("v{i}")),
            "k{i} was set through the server and should be in the store's directory"
        );
    }
    assert_eq!(
        store.get("k0").ok().flatten(),
        None,
        "k0 was deleted through the server"
    );
}

#[test]
fn a_client_that_disconnects_mid_request_does_not_disturb_others() {
    let server = TestServer::start();
    let mut stream = server.raw();
    write_all(&mut stream, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nonly");
    drop(stream);
    let mut con = server.client();
    assert_eq!(
        get(&mut con, "k"),
        None,
        "a SET whose value never fully arrived must not be executed"
    );
    set(&mut con, "k", "complete");
    assert_eq!(get(&mut con, "k").as_deref(), Some("complete"));
    let mut stream = server.raw();
    write_all(&mut stream, b"*1\r\n$4\r\nPING\r\n");
    let mut reply = [0u8; 7];
    if let Err(err) = stream.read_exact(&mut reply) {
        panic!("PING on a fresh connection got no full reply: {err}");
    }
    assert_eq!(&reply, b"+PONG\r\n", "PING on a fresh connection");
}

/// An engine for the tests: an in-memory store whose every operation on the key "fail" fails
/// (with a real `KvError`), and whose `set` of the key "slow" waits until the test opens a gate.
#[derive(Clone, Default)]
struct TestEngine {
    store: Arc<Mutex<KvStore>>,
    gate: Arc<Gate>,
}

/// Where a `set` of "slow" waits: (a set is waiting, the gate is open).
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, bool)>,
    changed: Condvar,
}

impl Gate {
    fn lock(&self) -> std::sync::MutexGuard<'_, (bool, bool)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Called by the engine: says it is waiting, then waits for the gate.
    fn pass(&self) {
        let mut state = self.lock();
        state.0 = true;
        self.changed.notify_all();
        while !state.1 {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Called by the test: waits (at most 10 s) until a `set` of "slow" is waiting at the gate.
    fn wait_for_a_request(&self) {
        let mut state = self.lock();
        while !state.0 {
            let (next, timeout) = self
                .changed
                .wait_timeout(state, TIMEOUT)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            assert!(
                !timeout.timed_out(),
                "SET slow was sent, but the server did not call the engine's set within 10 s"
            );
            state = next;
        }
    }

    fn open(&self) {
        self.lock().1 = true;
        self.changed.notify_all();
    }
}

/// A real `KvError`, whatever its variants: the error of parsing an unknown engine name.
fn engine_error() -> KvError {
    match "no-such-engine".parse::<EngineKind>() {
        Err(err) => err,
        Ok(kind) => panic!("\"no-such-engine\" parsed as the engine {kind:?}"),
    }
}

impl KvsEngine for TestEngine {
    fn set(&mut self, key: String, value: String) -> kv_store::Result<()> {
        match key.as_str() {
            "fail" => return Err(engine_error()),
            "slow" => self.gate.pass(),
            _ => {}
        }
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        store.set(key, value);
        Ok(())
    }

    fn get(&self, key: &str) -> kv_store::Result<Option<String>> {
        if key == "fail" {
            return Err(engine_error());
        }
        let store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(store.get(key))
    }

    fn remove(&mut self, key: &str) -> kv_store::Result<Option<String>> {
        if key == "fail" {
            return Err(engine_error());
        }
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(store.remove(key))
    }
}

fn test_engine_server() -> (TestServer, TestEngine) {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(err) => panic!("the test could not create a temporary directory: {err}"),
    };
    let engine = TestEngine::default();
    (TestServer::serving(dir, engine.clone()), engine)
}

#[test]
fn ping_with_a_message_echoes_it() {
    let server = TestServer::start();
    let mut con = server.client();
    let reply = query(&mut con, redis::cmd("PING").arg("hello world"));
    assert_eq!(
        reply,
        Value::BulkString(b"hello world".to_vec()),
        "PING with a message should reply the message as a bulk string, as Redis does"
    );
    let result = redis::cmd("PING")
        .arg("a")
        .arg("b")
        .query::<Value>(&mut con);
    assert!(
        result.is_err(),
        "PING with two arguments is the wrong number of arguments, an error, but was {result:?}"
    );
}

#[test]
fn set_with_extra_arguments_is_an_error_and_sets_nothing() {
    let server = TestServer::start();
    let mut con = server.client();
    let result = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .arg("EX")
        .arg("10")
        .query::<Value>(&mut con);
    assert!(
        result.is_err(),
        "SET k v EX 10 has arguments this server does not support: it should be an error, not \
         a SET that ignores them, but was {result:?}"
    );
    assert_eq!(
        get(&mut con, "k"),
        None,
        "a SET answered with an error must not have stored anything"
    );
}

#[test]
fn keys_and_values_that_are_not_utf8_are_rejected() {
    let server = TestServer::start();
    let mut stream = server.raw();
    write_all(
        &mut stream,
        b"*3\r\n$3\r\nSET\r\n$2\r\nk\xff\r\n$1\r\nv\r\n",
    );
    let mut reader = BufReader::new(&mut stream);
    let reply = read_line(&mut reader, "SET with a key that is not UTF-8");
    assert!(
        reply.starts_with('-'),
        "a SET whose key is not valid UTF-8 should get an error reply, but got {reply:?}"
    );
    let mut con = server.client();
    assert_eq!(
        get(&mut con, "k\u{fffd}"),
        None,
        "the invalid key must not have been stored under a lossy conversion of it"
    );
}

#[test]
fn an_engine_error_is_an_error_reply_and_the_connection_carries_on() {
    let (server, _engine) = test_engine_server();
    let mut con = server.client();
    for (what, cmd) in [
        ("SET fail 1", redis::cmd("SET").arg("fail").arg("1").clone()),
        ("GET fail", redis::cmd("GET").arg("fail").clone()),
        ("DEL fail", redis::cmd("DEL").arg("fail").clone()),
    ] {
        let result = cmd.query::<Value>(&mut con);
        assert!(
            result.is_err(),
            "the engine failed on {what}: the reply should be an error (-ERR ...), but was \
             {result:?}"
        );
        let pong = redis::cmd("PING").query::<Value>(&mut con);
        assert_eq!(
            pong.ok(),
            Some(Value::SimpleString("PONG".to_owned())),
            "after the engine failed on {what}, the same connection should keep working: an \
             engine error is a reply, never a crash or a closed connection"
        );
    }
    set(&mut con, "ok", "1");
    assert_eq!(get(&mut con, "ok").as_deref(), Some("1"));
}

#[test]
fn shutdown_lets_a_request_in_flight_finish_and_reply() {
    let (mut server, engine) = test_engine_server();
    let mut stream = server.raw();
    write_all(
        &mut stream,
        b"*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$5\r\nvalue\r\n",
    );
    // The SET is inside the engine when the shutdown comes.
    engine.gate.wait_for_a_request();
    server.signal_shutdown();
    server.wait_until_refusing();
    engine.gate.open();
    let mut reader = BufReader::new(&mut stream);
    let reply = read_line(&mut reader, "a SET in flight during the shutdown");
    assert_eq!(
        reply, "+OK\r\n",
        "a request being executed when the shutdown came must finish and send its reply before \
         its connection closes"
    );
    server.stop();
    let store = engine
        .store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    assert_eq!(
        store.get("slow").as_deref(),
        Some("value"),
        "the SET in flight was executed"
    );
}
