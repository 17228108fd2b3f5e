//! Stage `zero_copy`: a request parser whose frames borrow from the connection's buffer, so that a
//! pipelined batch is parsed without allocating, and a server that uses it without ever losing a
//! request cut between two reads.
//!
//! Allocations are counted by a global allocator in this test binary; each test thread counts
//! its own, so tests running in parallel do not disturb each other. What zero-copy buys in time is
//! measured by the benchmark (`cargo run --release --example zero_copy --features bench-zero-copy`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use kv_store::frame::{Frame, parse_frame};
use kv_store::{LogStore, serve};
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

// ---------------------------------------------------------------------------------------------
// Counting allocations

/// The system allocator, counting the allocations each thread makes.
struct CountingAllocator;

thread_local! {
    /// Allocations (and reallocations) made by this thread so far. A `const` thread-local of a
    /// `Cell<usize>` needs no allocation and no destructor, so the allocator may use it.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: a thread being torn down may still allocate after its thread-locals are gone.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

// SAFETY: every call is passed on unchanged to `System`, which upholds `GlobalAlloc`'s contract;
// counting touches only a thread-local `Cell`, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's guarantees for `alloc` are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Runs `f` and returns its result with the number of allocations it made on this thread.
fn allocations_in<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    let after = ALLOCATIONS.with(Cell::get);
    (value, after - before)
}

// ---------------------------------------------------------------------------------------------
// Building requests

/// A request as a Redis client sends it: an array of bulk strings.
fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The pipeline most tests cut up: requests of every shape, with values that look like protocol.
fn varied_requests() -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
    let arrays: [&[&[u8]]; 7] = [
        &[b"PING"],
        &[b"SET", b"greeting", b"hello\r\nworld"],
        &[b"GET", b"greeting"],
        &[b"SET", b"empty", b""],
        &[b"SET", b"lookalike", b"$3\r\n*1\r\n:0\r\n"],
        &[b"DEL", b"a", b"bb", b"ccc"],
        &[b"SET", b"long", &[b'x'; 40]],
    ];
    let mut requests: Vec<(Vec<u8>, Vec<Vec<u8>>)> = arrays
        .iter()
        .map(|args| (encode(args), args.iter().map(|arg| arg.to_vec()).collect()))
        .collect();
    requests.insert(
        3,
        (
            b"GET  inline\r\n".to_vec(),
            vec![b"GET".to_vec(), b"inline".to_vec()],
        ),
    );
    requests
}

fn show(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

/// Parses `buf`, failing the test on an error.
fn parse<'a>(buf: &'a [u8], what: &str) -> Option<(Frame<'a>, usize)> {
    match parse_frame(buf) {
        Ok(parsed) => parsed,
        Err(err) => panic!("{what}: parse_frame({}) failed: {err}", show(buf)),
    }
}

/// The arguments of a frame, copied so that they can be compared after the buffer changed.
fn owned_args(frame: &Frame<'_>) -> Vec<Vec<u8>> {
    frame.args().map(<[u8]>::to_vec).collect()
}

/// The first argument of the request at the front of `buf`. This compiles only if the arguments
/// live as long as the buffer: `frame` is a local of this function, dropped when it returns.
fn first_arg(buf: &[u8]) -> Option<&[u8]> {
    let (frame, _len) = parse_frame(buf).ok()??;
    frame.args().next()
}

/// What a server's connection does with its buffer: append what a read delivered, take every
/// complete request out of it (copying the arguments, as a server must before the buffer is
/// refilled), and keep the bytes of an incomplete request for the next read.
#[derive(Default)]
struct Connection {
    buffer: Vec<u8>,
    requests: Vec<Vec<Vec<u8>>>,
}

impl Connection {
    fn receive(&mut self, bytes: &[u8], what: &str) {
        self.buffer.extend_from_slice(bytes);
        let mut used = 0;
        while let Some((frame, len)) = parse(&self.buffer[used..], what) {
            assert!(
                len > 0 && len <= self.buffer.len() - used,
                "{what}: parse_frame said a request took {len} bytes of a {}-byte buffer",
                self.buffer.len() - used
            );
            self.requests.push(owned_args(&frame));
            used += len;
        }
        self.buffer.drain(..used);
    }
}

// ---------------------------------------------------------------------------------------------
// The parser

#[test]
fn a_frame_borrows_its_arguments_from_the_buffer() {
    let buf = encode(&[b"SET", b"key", b"value"]);
    let Some((frame, len)) = parse(&buf, "SET key value") else {
        panic!("a complete SET request should parse, but parse_frame said it needs more bytes");
    };
    assert_eq!(len, buf.len(), "the request took the whole buffer");
    assert_eq!(frame.len(), 3, "SET key value has three arguments");
    assert!(!frame.is_empty(), "SET key value is not an empty request");
    let start = buf.as_ptr() as usize;
    let expected = [(b"SET".as_slice(), 8), (b"key", 17), (b"value", 26)];
    let args: Vec<&[u8]> = frame.args().collect();
    assert_eq!(args.len(), 3, "args() yields every argument once");
    for (arg, (want, offset)) in args.iter().zip(expected) {
        assert_eq!(*arg, want, "the arguments come in order");
        assert_eq!(
            arg.as_ptr() as usize - start,
            offset,
            "the argument {} should be the slice of the buffer at byte {offset}: a frame \
             borrows its arguments from the buffer instead of copying them",
            show(want)
        );
    }
    assert_eq!(
        first_arg(&buf),
        Some(b"SET".as_slice()),
        "an argument outlives the frame"
    );
    let args_again: Vec<&[u8]> = frame.args().collect();
    assert_eq!(
        args, args_again,
        "args() can be called again and starts over"
    );
}

#[test]
fn parsing_a_pipelined_batch_allocates_nothing() {
    let mut batch = Vec::new();
    let mut expected_bytes = 0;
    for i in 0..1_000 {
        let key = format!("key-{i}");
        let args: &[&[u8]] = if i % 2 == 0 {
            &[b"SET", key.as_bytes(), &[b'v'; 100]]
        } else {
            &[b"GET", key.as_bytes()]
        };
        expected_bytes += args.iter().map(|arg| arg.len()).sum::<usize>();
        batch.extend(encode(args));
    }
    batch.extend_from_slice(b"PING\r\n");
    expected_bytes += 4;
    let incomplete = b"*2\r\n$3\r\nGET\r\n$3\r\nke";
    batch.extend_from_slice(incomplete);
    let ((requests, args, bytes, rest), allocations) = allocations_in(|| {
        let (mut requests, mut args, mut bytes, mut used) = (0, 0, 0, 0);
        while let Ok(Some((frame, len))) = parse_frame(&batch[used..]) {
            requests += 1;
            for arg in frame.args() {
                args += 1;
                bytes += arg.len();
            }
            used += len;
        }
        (requests, args, bytes, batch.len() - used)
    });
    assert_eq!(
        (requests, args),
        (1_001, 2_501),
        "1,000 pipelined requests and a PING hold 2,501 arguments"
    );
    assert_eq!(
        bytes, expected_bytes,
        "the arguments hold every byte of the keys and values"
    );
    assert_eq!(
        rest,
        incomplete.len(),
        "the incomplete GET at the end is left for the next read"
    );
    assert_eq!(
        allocations, 0,
        "parsing a batch of 1,001 requests and reading every argument made {allocations} \
         allocations; a zero-copy frame borrows everything from the buffer, its list of \
         arguments included (read them lazily in `args()` instead of collecting them into a Vec)"
    );
}

#[test]
fn an_incomplete_request_asks_for_more_bytes_at_every_cut() {
    let requests = [
        encode(&[b"GET", b"hello"]),
        encode(&[b"SET", b"k", b"a\r\nb"]),
        encode(&[b"SET", b"k", b""]),
        encode(&[b"PING"]),
        b"*0\r\n".to_vec(),
        b"PING\r\n".to_vec(),
    ];
    for request in &requests {
        for end in 0..request.len() {
            match parse_frame(&request[..end]) {
                Ok(None) => {}
                Ok(Some((frame, len))) => panic!(
                    "the first {end} bytes of {} are not a whole request, but parse_frame \
                     returned {frame:?} taking {len} bytes; it should return Ok(None) until \
                     every argument and its final \\r\\n has arrived",
                    show(request)
                ),
                Err(err) => panic!(
                    "the first {end} bytes of {} are a valid start, but parse_frame failed: \
                     {err}; an incomplete request is Ok(None), not an error",
                    show(request)
                ),
            }
        }
        let mut followed = request.clone();
        followed.extend_from_slice(b"*1\r\n$4\r\nPI");
        for buf in [request, &followed] {
            let len = parse(buf, "a whole request").map(|(_, len)| len);
            assert_eq!(
                len,
                Some(request.len()),
                "{} is one whole request of {} bytes (whatever follows it)",
                show(buf),
                request.len()
            );
        }
    }
}

#[test]
fn a_pipeline_cut_at_every_byte_offset_is_parsed_whole() {
    let requests = varied_requests();
    let pipeline: Vec<u8> = requests
        .iter()
        .flat_map(|(bytes, _)| bytes.clone())
        .collect();
    let expected: Vec<Vec<Vec<u8>>> = requests.iter().map(|(_, args)| args.clone()).collect();
    let mut ends = Vec::new();
    let mut end = 0;
    for (bytes, _) in &requests {
        end += bytes.len();
        ends.push(end);
    }
    for cut in 0..=pipeline.len() {
        let what = format!(
            "a pipeline of {} requests cut at byte {cut}",
            requests.len()
        );
        let mut connection = Connection::default();
        connection.receive(&pipeline[..cut], &what);
        let complete = ends.iter().filter(|&&end| end <= cut).count();
        assert_eq!(
            connection.requests,
            expected[..complete],
            "{what}: the first read holds {complete} whole requests, and only those may be taken"
        );
        connection.receive(&pipeline[cut..], &what);
        assert_eq!(
            connection.requests, expected,
            "{what}: once the rest arrived, every request should have been parsed whole, in \
             order (is the incomplete request kept in the buffer for the next read?)"
        );
        assert!(connection.buffer.is_empty(), "{what}: nothing is left over");
    }
    let mut trickle = Connection::default();
    for byte in pipeline.chunks(1) {
        trickle.receive(byte, "the pipeline arriving one byte at a time");
    }
    assert_eq!(
        trickle.requests, expected,
        "the pipeline arriving one byte at a time"
    );
}

#[test]
fn values_are_taken_by_their_length_not_up_to_a_line_end() {
    let value: &[u8] = b"one\r\ntwo\r\n$5\r\n\r\n";
    let buf = encode(&[b"SET", b"k", value]);
    let args =
        parse(&buf, "a value holding line ends").map(|(frame, len)| (owned_args(&frame), len));
    assert_eq!(
        args,
        Some((
            vec![b"SET".to_vec(), b"k".to_vec(), value.to_vec()],
            buf.len()
        )),
        "a bulk string is exactly as long as its length says, whatever bytes it holds"
    );
    let binary: Vec<u8> = (0..=255).collect();
    let buf = encode(&[b"SET", &binary, &binary]);
    let args = parse(&buf, "binary keys and values").map(|(frame, _)| owned_args(&frame));
    assert_eq!(
        args,
        Some(vec![b"SET".to_vec(), binary.clone(), binary]),
        "every byte value survives"
    );
}

#[test]
fn lengths_that_lie_are_errors_not_waits() {
    let lies: [(&str, &[u8]); 14] = [
        (
            "a bulk string longer than announced",
            b"*1\r\n$2\r\nabc\r\n",
        ),
        (
            "a bulk string shorter than announced",
            b"*2\r\n$5\r\nabc\r\n$1\r\nx\r\n",
        ),
        ("a negative bulk length", b"*1\r\n$-1\r\n"),
        ("a negative bulk length", b"*2\r\n$-3\r\nGET\r\n"),
        ("a negative array length", b"*-1\r\n"),
        ("a negative array length", b"*-2\r\n$3\r\nGET\r\n"),
        ("a bulk length with a sign", b"*1\r\n$+4\r\nPING\r\n"),
        ("an empty bulk length", b"*1\r\n$\r\nPING\r\n"),
        ("an array length that is not a number", b"*two\r\n"),
        (
            "a bulk length over 512 MiB",
            b"*2\r\n$3\r\nGET\r\n$536870913\r\n",
        ),
        (
            "a bulk length that overflows",
            b"*1\r\n$18446744073709551615\r\n",
        ),
        (
            "a bulk length of 40 digits",
            b"*1\r\n$9999999999999999999999999999999999999999\r\n",
        ),
        ("an array length over a million", b"*1048577\r\n"),
        ("an element that is not a bulk string", b"*1\r\n:1\r\n"),
    ];
    for (what, bytes) in lies {
        match parse_frame(bytes) {
            Err(_) => {}
            Ok(None) => panic!(
                "{what} ({}) breaks the protocol, but parse_frame asks for more bytes: a \
                 server would wait (or buffer) forever; return an error",
                show(bytes)
            ),
            Ok(Some((frame, len))) => panic!(
                "{what} ({}) breaks the protocol, but parse_frame returned {frame:?} taking \
                 {len} bytes",
                show(bytes)
            ),
        }
    }
    let huge_but_allowed = b"*2\r\n$3\r\nSET\r\n$536870912\r\nxx";
    assert!(
        matches!(parse_frame(huge_but_allowed), Ok(None)),
        "a bulk string of exactly 512 MiB is allowed: its first bytes mean 'read more'"
    );
    let endless = [b"*1\r\n$".as_slice(), &[b'1'; 70_000]].concat();
    assert!(
        parse_frame(&endless).is_err(),
        "a header line with no line end in its first 64 KiB is refused, so that a client \
         cannot make the server buffer without limit"
    );
}

#[test]
fn inline_requests_are_split_into_words() {
    let cases: [(&[u8], &[&[u8]]); 4] = [
        (b"PING\r\n", &[b"PING"]),
        (b"  SET   k \t v  \r\n", &[b"SET", b"k", b"v"]),
        (b"GET k\n", &[b"GET", b"k"]),
        (b"\r\n", &[]),
    ];
    for (line, want) in cases {
        let Some((frame, len)) = parse(line, "an inline request") else {
            panic!("the inline request {} is complete", show(line));
        };
        let got: Vec<&[u8]> = frame.args().collect();
        assert_eq!(
            (got.as_slice(), frame.len(), len),
            (want, want.len(), line.len()),
            "the inline request {}: its words, their count, and the bytes it took",
            show(line)
        );
        assert_eq!(
            frame.is_empty(),
            want.is_empty(),
            "is_empty of {}",
            show(line)
        );
    }
    let empty_array = parse(b"*0\r\n", "*0").map(|(frame, len)| (frame.is_empty(), len));
    assert_eq!(
        empty_array,
        Some((true, 4)),
        "*0 is an empty request of 4 bytes"
    );
}

// ---------------------------------------------------------------------------------------------
// The server, which must use the parser without losing a request cut between two reads

const TIMEOUT: Duration = Duration::from_secs(20);

/// A server on its own runtime, serving a `LogStore` in a temporary directory. Dropping it stops
/// everything.
struct TestServer {
    addr: SocketAddr,
    _runtime: Runtime,
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
            _runtime: runtime,
            _dir: dir,
            _shutdown: shutdown,
        }
    }

    fn raw(&self) -> (TcpStream, BufReader<TcpStream>) {
        let stream = match TcpStream::connect(self.addr) {
            Ok(stream) => stream,
            Err(err) => panic!("could not connect to the server at {}: {err}", self.addr),
        };
        let reader = stream
            .set_read_timeout(Some(TIMEOUT))
            .and_then(|()| stream.set_nodelay(true))
            .and_then(|()| stream.try_clone());
        match reader {
            Ok(reader) => (stream, BufReader::new(reader)),
            Err(err) => panic!("setting up the raw socket failed: {err}"),
        }
    }

    fn redis(&self) -> redis::Connection {
        let client = match redis::Client::open(format!("redis://{}/", self.addr)) {
            Ok(client) => client,
            Err(err) => panic!("redis::Client::open failed: {err}"),
        };
        match client.get_connection_with_timeout(TIMEOUT) {
            Ok(con) => con,
            Err(err) => panic!("the redis crate could not connect to the server: {err}"),
        }
    }
}

fn write_all(stream: &mut TcpStream, bytes: &[u8], what: &str) {
    if let Err(err) = stream.write_all(bytes) {
        panic!("{what}: writing to the server failed: {err}");
    }
}

/// Reads one whole reply: its line and, for a bulk string, its bytes.
fn read_reply(reader: &mut BufReader<TcpStream>, what: &str) -> Vec<u8> {
    let mut reply = Vec::new();
    match reader.read_until(b'\n', &mut reply) {
        Ok(0) => panic!("{what}: the server closed the connection instead of replying"),
        Ok(_) => {}
        Err(err) => panic!("{what}: no reply within 20 s ({err})"),
    }
    let len = std::str::from_utf8(&reply)
        .ok()
        .and_then(|line| line.strip_prefix('$'))
        .and_then(|len| len.trim_end().parse::<usize>().ok());
    if let Some(len) = len {
        let mut bytes = vec![0; len + 2];
        if let Err(err) = reader.read_exact(&mut bytes) {
            panic!("{what}: the {len} bytes of a bulk reply did not arrive: {err}");
        }
        reply.extend(bytes);
    }
    reply
}

#[test]
fn the_server_keeps_a_request_cut_between_two_reads() {
    let server = TestServer::start();
    let requests = varied_requests();
    let pipeline: Vec<u8> = requests
        .iter()
        .flat_map(|(bytes, _)| bytes.clone())
        .collect();
    let expected: [&[u8]; 8] = [
        b"+PONG\r\n",
        b"+OK\r\n",
        b"$12\r\nhello\r\nworld\r\n",
        b"$-1\r\n",
        b"+OK\r\n",
        b"+OK\r\n",
        b":0\r\n",
        b"+OK\r\n",
    ];
    let mut ends = Vec::new();
    let mut end = 0;
    for (bytes, _) in &requests {
        end += bytes.len();
        ends.push(end);
    }
    for cut in 1..pipeline.len() {
        let what = format!(
            "a pipeline of {} requests (`nc` style GET among them), sent in two writes cut at \
             byte {cut} of {}",
            requests.len(),
            pipeline.len()
        );
        let (mut stream, mut reader) = server.raw();
        let complete = ends.iter().filter(|&&end| end <= cut).count();
        write_all(&mut stream, &pipeline[..cut], &what);
        let mut replies = Vec::new();
        // Reading the replies the first write earned before sending the rest makes the server
        // see the cut: it must answer what is complete and keep the rest for its next read.
        for _ in 0..complete {
            replies.push(read_reply(&mut reader, &what));
        }
        write_all(&mut stream, &pipeline[cut..], &what);
        for _ in complete..requests.len() {
            replies.push(read_reply(&mut reader, &what));
        }
        for (i, (got, want)) in replies.iter().zip(expected).enumerate() {
            assert_eq!(
                show(got),
                show(want),
                "{what}: reply #{i} (is the start of a request that was cut kept in the \
                 buffer for the next read?)"
            );
        }
    }
}

#[test]
fn the_server_refuses_a_lying_length_at_once() {
    let server = TestServer::start();
    let lies: [(&str, &[u8]); 3] = [
        ("a negative bulk length", b"*1\r\n$-1\r\n"),
        (
            "a bulk length of 40 digits",
            b"*1\r\n$9999999999999999999999999999999999999999\r\n",
        ),
        (
            "a bulk length over 512 MiB",
            b"*2\r\n$3\r\nGET\r\n$600000000\r\n",
        ),
    ];
    for (what, bytes) in lies {
        let (mut stream, mut reader) = server.raw();
        write_all(&mut stream, b"*1\r\n$4\r\nPING\r\n", what);
        write_all(&mut stream, bytes, what);
        let what = format!("PING, then {what} ({})", show(bytes));
        assert_eq!(read_reply(&mut reader, &what), b"+PONG\r\n", "{what}");
        let reply = read_reply(&mut reader, &what);
        assert!(
            reply.starts_with(b"-"),
            "{what}: the server should reply with an error at once, not wait for more bytes; \
             got {}",
            show(&reply)
        );
    }
}

#[test]
fn a_redis_pipeline_larger_than_any_read_buffer_is_answered_in_order() {
    let server = TestServer::start();
    let mut con = server.redis();
    let mut sets = redis::pipe();
    let mut latest = vec![String::new(); 50];
    for (i, slot) in (0..300_usize).zip((0..50).cycle()) {
        // Values from 0 bytes to 40 kB, holding line ends: the reads cut requests anywhere, and
        // some requests are larger than a read buffer of a few kilobytes.
        let value = format!("{i}\r\n{}", "z".repeat((i * 7_919) % 40_000));
        sets.cmd("SET").arg(format!("key-{slot}")).arg(&value);
        latest[slot] = value;
    }
    // The replies to SETs are small: the redis crate writes the whole pipeline before reading.
    let oks: Vec<String> = match sets.query(&mut con) {
        Ok(oks) => oks,
        Err(err) => panic!("a redis pipeline of 300 SETs of up to 40 kB failed: {err}"),
    };
    assert!(
        oks.len() == 300 && oks.iter().all(|ok| ok == "OK"),
        "300 SETs should get 300 OKs"
    );
    let mut gets = redis::pipe();
    for slot in 0..50 {
        gets.cmd("GET").arg(format!("key-{slot}"));
    }
    let values: Vec<String> = match gets.query(&mut con) {
        Ok(values) => values,
        Err(err) => panic!("a redis pipeline of 50 GETs failed: {err}"),
    };
    assert_eq!(values.len(), 50, "one reply per GET");
    for (slot, (got, want)) in values.iter().zip(&latest).enumerate() {
        assert!(
            got == want,
            "GET key-{slot} returned a value of {} bytes starting {:?}, expected the last one \
             set, {} bytes starting {:?}: requests cut by the reads must be reassembled exactly",
            got.len(),
            &got[..got.len().min(12)],
            want.len(),
            &want[..want.len().min(12)]
        );
    }
}
