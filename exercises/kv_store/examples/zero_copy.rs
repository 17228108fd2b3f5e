//! The benchmark of the `zero_copy` stage: what borrowing frames from the read buffer buys, in
//! allocations and in time, for one pipelined batch of requests, against copying the arguments
//! out (what the `performance` stage's parser returned: a `Vec<Vec<u8>>` per request).
//!
//! It needs that stage's `kv_store::frame`, so it is only built when asked for:
//!
//! ```text
//! cargo run --release --example zero_copy --features bench-zero-copy
//! ```
//!
//! Always measure a release build. Allocations are counted exactly (by a global allocator in this
//! program); times vary with the machine, so run it a few times.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use kv_store::frame::parse_frame;

/// Requests in the pipelined batch: half SETs of `VALUE_LEN` bytes, half GETs.
const BATCH: usize = 1_000;
const VALUE_LEN: usize = 100;
/// Times each way of parsing goes through the batch.
const ROUNDS: usize = 2_000;

/// A way of parsing a batch: it returns the bytes of arguments it saw.
type Parser = fn(&[u8]) -> Result<usize, String>;

/// The system allocator, counting allocations.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on unchanged to `System`; counting is one atomic add.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's guarantees are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` through this allocator, with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() -> Result<(), String> {
    let batch = pipeline();
    println!(
        "kv_store zero-copy benchmark: a pipelined batch of {BATCH} requests ({} bytes), \
         half SET of {VALUE_LEN}-byte values, half GET; {ROUNDS} rounds",
        batch.len()
    );
    let ways: [(&str, Parser); 3] = [
        ("borrowed frames (zero-copy)", borrowed),
        ("borrowed, keys and values copied", server_copies),
        ("every argument copied out", owned),
    ];
    for (what, parse) in ways {
        let expected = parse(&batch)?;
        let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
        let start = Instant::now();
        for _ in 0..ROUNDS {
            let bytes = parse(black_box(&batch))?;
            if bytes != expected {
                return Err(format!(
                    "{what}: {bytes} bytes of arguments, then {expected}"
                ));
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations_before;
        let per_batch = seconds / ROUNDS as f64;
        println!(
            "{what:>34}: {:>6} allocations per batch, {:>7.1} µs per batch, {:>6.0} MB/s",
            allocations / ROUNDS,
            per_batch * 1e6,
            batch.len() as f64 / per_batch / 1e6
        );
    }
    Ok(())
}

/// The batch, encoded as a Redis client sends it.
fn pipeline() -> Vec<u8> {
    let mut out = Vec::new();
    let value = "v".repeat(VALUE_LEN);
    for i in 0..BATCH {
        let key = format!("key-{}", i / 2);
        let args: &[&str] = if i % 2 == 0 {
            &["SET", &key, &value]
        } else {
            &["GET", &key]
        };
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for arg in args {
            out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
        }
    }
    out
}

/// Parses every request of `batch` with `each`, returning the total `each` reports.
fn parse_all(
    batch: &[u8],
    mut each: impl FnMut(kv_store::frame::Frame<'_>) -> usize,
) -> Result<usize, String> {
    let mut used = 0;
    let mut total = 0;
    while used < batch.len() {
        match parse_frame(&batch[used..]) {
            Ok(Some((frame, len))) => {
                total += each(frame);
                used += len;
            }
            Ok(None) => {
                return Err(format!(
                    "the batch ends in an incomplete request at byte {used}"
                ));
            }
            Err(err) => return Err(format!("the batch does not parse at byte {used}: {err}")),
        }
    }
    Ok(total)
}

/// Reads every argument in place.
fn borrowed(batch: &[u8]) -> Result<usize, String> {
    parse_all(batch, |frame| frame.args().map(<[u8]>::len).sum())
}

/// What a server must copy before the buffer is refilled: each key and value as a `String`.
fn server_copies(batch: &[u8]) -> Result<usize, String> {
    let mut kept: Vec<(String, Option<String>)> = Vec::with_capacity(BATCH);
    let total = parse_all(batch, |frame| {
        let name = frame.args().next().map_or(0, <[u8]>::len);
        let mut copies = frame
            .args()
            .skip(1)
            .map(|arg| String::from_utf8_lossy(arg).into_owned());
        let (key, value) = (copies.next().unwrap_or_default(), copies.next());
        let len = name + key.len() + value.as_ref().map_or(0, String::len);
        kept.push((key, value));
        len
    })?;
    black_box(&kept);
    Ok(total)
}

/// Copies every argument into its own `Vec<u8>`, one `Vec` per request, one `Vec` per batch.
fn owned(batch: &[u8]) -> Result<usize, String> {
    let mut requests: Vec<Vec<Vec<u8>>> = Vec::new();
    let total = parse_all(batch, |frame| {
        let args: Vec<Vec<u8>> = frame.args().map(<[u8]>::to_vec).collect();
        let len = args.iter().map(Vec::len).sum();
        requests.push(args);
        len
    })?;
    black_box(&requests);
    Ok(total)
}
