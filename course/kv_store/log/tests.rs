//! Stage `log`: `LogStore` appends every change to a log in its directory and replays the log
//! when the directory is opened again.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use kv_store::LogStore;
use tempfile::TempDir;

fn s(text: &str) -> String {
    text.to_owned()
}

fn temp_dir() -> TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(err) => panic!("the test could not create a temporary directory: {err}"),
    }
}

/// Opens the store in `dir`, failing the test with the store's own error if that fails.
fn open(dir: &Path) -> LogStore {
    match LogStore::open(dir) {
        Ok(store) => store,
        Err(err) => panic!("LogStore::open({}) failed: {err}", dir.display()),
    }
}

fn set(store: &mut LogStore, key: &str, value: &str) {
    if let Err(err) = store.set(s(key), s(value)) {
        panic!("set({key:?}, {value:?}) failed: {err}");
    }
}

fn get(store: &LogStore, key: &str) -> Option<String> {
    match store.get(key) {
        Ok(value) => value,
        Err(err) => panic!("get({key:?}) failed: {err}"),
    }
}

fn remove(store: &mut LogStore, key: &str) -> Option<String> {
    match store.remove(key) {
        Ok(value) => value,
        Err(err) => panic!("remove({key:?}) failed: {err}"),
    }
}

/// Simulates the process dying right after the last call returned: the store is leaked, so none
/// of its code runs any more (no destructor, no flush on drop). Only what it had already handed
/// to the operating system is in the files.
fn crash(store: LogStore) {
    std::mem::forget(store);
}

#[test]
fn set_get_and_remove_work_in_one_session() {
    let dir = temp_dir();
    let mut store = open(dir.path());
    assert_eq!(get(&store, "a"), None, "a new store has no value for \"a\"");
    set(&mut store, "a", "1");
    assert_eq!(
        get(&store, "a"),
        Some(s("1")),
        "after set a=1, get(\"a\") is \"1\""
    );
    set(&mut store, "a", "2");
    assert_eq!(
        get(&store, "a"),
        Some(s("2")),
        "after set a=2, get(\"a\") is \"2\""
    );
    assert_eq!(
        remove(&mut store, "a"),
        Some(s("2")),
        "remove(\"a\") returns the value \"a\" had"
    );
    assert_eq!(get(&store, "a"), None, "after remove, get(\"a\") is None");
    assert_eq!(
        remove(&mut store, "a"),
        None,
        "removing a key with no value returns Ok(None), not an error"
    );
}

#[test]
fn values_survive_a_reopen() {
    let dir = temp_dir();
    let mut store = open(dir.path());
    set(&mut store, "a", "1");
    set(&mut store, "b", "2");
    drop(store);

    let store = open(dir.path());
    assert_eq!(
        get(&store, "a"),
        Some(s("1")),
        "after reopening, \"a\" should still be \"1\": was the set written to a file in the \
         store's directory, and is the log replayed by open?"
    );
    assert_eq!(
        get(&store, "b"),
        Some(s("2")),
        "after reopening, \"b\" should be \"2\""
    );
    assert_eq!(get(&store, "c"), None, "\"c\" was never set");
}

#[test]
fn the_last_overwrite_wins_after_a_reopen() {
    let dir = temp_dir();
    let mut store = open(dir.path());
    for i in 0..100 {
        set(&mut store, "counter", &i.to_string());
        set(&mut store, &format!("k{}", i % 7), &i.to_string());
    }
    drop(store);

    let store = open(dir.path());
    assert_eq!(
        get(&store, "counter"),
        Some(s("99")),
        "after setting \"counter\" to 0..=99 and reopening, it should be \"99\" (the last write): \
         is the log replayed from the first record to the last, each record replacing the one \
         before?"
    );
    for k in 0..7 {
        let last = (0..100).filter(|i| i % 7 == k).max().map(|i| i.to_string());
        assert_eq!(
            get(&store, &format!("k{k}")),
            last,
            "after reopening, k{k} should hold its last written value"
        );
    }
}

#[test]
fn removes_survive_a_reopen() {
    let dir = temp_dir();
    let mut store = open(dir.path());
    set(&mut store, "gone", "1");
    set(&mut store, "kept", "2");
    assert_eq!(
        remove(&mut store, "gone"),
        Some(s("1")),
        "remove returns the old value"
    );
    drop(store);

    let store = open(dir.path());
    assert_eq!(
        get(&store, "gone"),
        None,
        "\"gone\" was removed before the reopen but came back: is the remove written to the log, \
         and applied when the log is replayed?"
    );
    assert_eq!(
        get(&store, "kept"),
        Some(s("2")),
        "\"kept\" was not removed and should still be \"2\""
    );
}

#[test]
fn set_remove_set_replays_in_order() {
    let dir = temp_dir();
    let mut store = open(dir.path());
    set(&mut store, "a", "first");
    remove(&mut store, "a");
    set(&mut store, "a", "second");
    set(&mut store, "b", "first");
    remove(&mut store, "b");
    drop(store);

    let store = open(dir.path());
    assert_eq!(
        get(&store, "a"),
        Some(s("second")),
        "\"a\" was set, removed and set again; after reopening it should be \"second\": are \
         the records replayed in the order they were written?"
    );
    assert_eq!(
        get(&store, "b"),
        None,
        "\"b\" was set and then removed; after reopening it should be None"
    );
}

#[test]
fn a_set_survives_a_crash_right_after_it_returned() {
    let dir = temp_dir();
    let mut store = open(dir.path());
    set(&mut store, "a", "1");
    set(&mut store, "b", "2");
    crash(store);

    let store = open(dir.path());
    assert_eq!(
        get(&store, "a"),
        Some(s("1")),
        "the process died right after set(\"a\", \"1\") returned, without running any destructor, \
         and \"a\" was lost: does set hand the record to the operating system (write it out of \
         any buffer, e.g. flush a BufWriter) before returning?"
    );
    assert_eq!(
        get(&store, "b"),
        Some(s("2")),
        "the process died right after set(\"b\", \"2\") returned, and \"b\" was lost: is the last \
         record still sitting in a buffer?"
    );
}

#[test]
fn a_remove_survives_a_crash_right_after_it_returned() {
    let dir = temp_dir();
    let mut store = open(dir.path());
    set(&mut store, "a", "1");
    remove(&mut store, "a");
    crash(store);

    let store = open(dir.path());
    assert_eq!(
        get(&store, "a"),
        None,
        "the process died right after remove(\"a\") returned, and \"a\" came back: is the remove \
         record handed to the operating system before remove returns?"
    );
}

#[test]
fn a_store_reopened_after_a_crash_keeps_working() {
    let dir = temp_dir();
    let mut store = open(dir.path());
    set(&mut store, "a", "1");
    crash(store);

    let mut store = open(dir.path());
    set(&mut store, "b", "2");
    crash(store);

    let store = open(dir.path());
    assert_eq!(
        get(&store, "a"),
        Some(s("1")),
        "\"a\" from the first session is kept"
    );
    assert_eq!(
        get(&store, "b"),
        Some(s("2")),
        "\"b\" was written after a reopen: it should be kept too"
    );
}

#[test]
fn reopening_many_times_keeps_every_session_s_writes() {
    let dir = temp_dir();
    for session in 0..6 {
        let mut store = open(dir.path());
        for earlier in 0..session {
            assert_eq!(
                get(&store, &format!("session-{earlier}")),
                Some(format!("written in session {earlier}")),
                "opening for session {session}, the key written in session {earlier} is missing \
                 or wrong: does open truncate or overwrite the existing log instead of appending \
                 to it?"
            );
        }
        set(
            &mut store,
            &format!("session-{session}"),
            &format!("written in session {session}"),
        );
        set(&mut store, "last-session", &session.to_string());
        drop(store);
    }
    let store = open(dir.path());
    assert_eq!(
        get(&store, "last-session"),
        Some(s("5")),
        "\"last-session\" was overwritten in every session and should be \"5\""
    );
}

#[test]
fn any_string_is_a_valid_key_or_value() {
    let pairs = [
        ("", "the empty key"),
        ("empty value", ""),
        ("spaces in key", "and  in   value"),
        ("newline\nkey", "line one\nline two\r\n"),
        ("quote\"key", "{\"looks\": [\"like\", \"json\"]}"),
        ("tab\tkey", "back\\slash \\n not a newline"),
        ("SET a b", "DEL a"),
        ("clé 🔑", "値 ✓ \u{0}nul"),
    ];
    let dir = temp_dir();
    let mut store = open(dir.path());
    for (key, value) in pairs {
        set(&mut store, key, value);
    }
    drop(store);

    let store = open(dir.path());
    for (key, value) in pairs {
        assert_eq!(
            get(&store, key),
            Some(s(value)),
            "after reopening, {key:?} should be {value:?}: can your log format hold any string \
             (spaces, newlines, quotes, backslashes, NUL, unicode) without mixing up records?"
        );
    }
}

#[test]
fn a_large_value_survives_a_reopen() {
    let dir = temp_dir();
    let big: String = (0..200_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let mut store = open(dir.path());
    set(&mut store, "big", &big);
    set(&mut store, "after", "small");
    drop(store);

    let store = open(dir.path());
    let got = get(&store, "big");
    assert!(
        got.as_deref() == Some(big.as_str()),
        "a 200,000-byte value should come back whole after a reopen, but got {:?} bytes",
        got.map(|v| v.len())
    );
    assert_eq!(
        get(&store, "after"),
        Some(s("small")),
        "the record after a large one should still be readable"
    );
}

#[test]
fn open_creates_a_missing_directory() {
    let dir = temp_dir();
    let nested = dir.path().join("does").join("not").join("exist");
    let mut store = open(&nested);
    set(&mut store, "a", "1");
    drop(store);
    assert!(
        nested.is_dir(),
        "LogStore::open should create the directory it is given when it does not exist"
    );
    let store = open(&nested);
    assert_eq!(
        get(&store, "a"),
        Some(s("1")),
        "\"a\" should survive a reopen"
    );
}

#[test]
fn open_on_a_regular_file_is_an_error_not_a_panic() {
    let dir = temp_dir();
    let file = dir.path().join("not-a-directory");
    if let Err(err) = fs::write(&file, b"hello") {
        panic!("the test could not create {}: {err}", file.display());
    }
    assert!(
        LogStore::open(&file).is_err(),
        "opening a store on a path that is a regular file should return Err"
    );
}

#[test]
fn the_log_lives_in_the_store_s_directory_only() {
    let dir = temp_dir();
    let store_dir = dir.path().join("store");
    let mut store = open(&store_dir);
    set(&mut store, "a", "1");
    remove(&mut store, "a");
    set(&mut store, "b", "2");
    drop(store);

    let outside: Vec<_> = match fs::read_dir(dir.path()) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name())
            .filter(|name| name != "store")
            .collect(),
        Err(err) => panic!("cannot list {}: {err}", dir.path().display()),
    };
    assert!(
        outside.is_empty(),
        "the store must keep its files inside the directory it was opened with, but these \
         appeared next to it: {outside:?}"
    );
    let bytes: u64 = match fs::read_dir(&store_dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok()?.metadata().ok())
            .filter(|meta| meta.is_file())
            .map(|meta| meta.len())
            .sum(),
        Err(err) => panic!("cannot list {}: {err}", store_dir.display()),
    };
    assert!(
        bytes > 0,
        "after three changes the store's directory holds no data: where is the log written?"
    );
}

#[test]
fn two_stores_in_different_directories_are_independent() {
    let (dir_a, dir_b) = (temp_dir(), temp_dir());
    let mut a = open(dir_a.path());
    let mut b = open(dir_b.path());
    set(&mut a, "key", "in a");
    set(&mut b, "key", "in b");
    drop((a, b));
    assert_eq!(
        get(&open(dir_a.path()), "key"),
        Some(s("in a")),
        "the store in directory A should hold A's value: is the log file path fixed instead of \
         inside the directory passed to open?"
    );
    assert_eq!(
        get(&open(dir_b.path()), "key"),
        Some(s("in b")),
        "the store in directory B should hold B's value"
    );
}

/// A tiny deterministic pseudo-random generator (xorshift64): the workload is the same on every
/// run.
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
fn a_seeded_mix_with_reopens_and_crashes_matches_a_model() {
    let dir = temp_dir();
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    let mut rng = Rng(0x10c5_7a6e_0000_0003);
    let mut store = open(dir.path());
    for step in 0..3_000 {
        let key = format!("k{}", rng.below(40));
        match rng.below(50) {
            0..=24 => {
                let value = format!("v{step}");
                set(&mut store, &key, &value);
                model.insert(key, value);
            }
            25..=36 => {
                let expected = model.remove(&key);
                let got = remove(&mut store, &key);
                assert_eq!(
                    got, expected,
                    "step {step}: remove({key:?}) returned {got:?} but the key held {expected:?}"
                );
            }
            37..=48 => {
                let expected = model.get(&key).cloned();
                let got = get(&store, &key);
                assert_eq!(
                    got, expected,
                    "step {step}: get({key:?}) returned {got:?} but the last write left {expected:?}"
                );
            }
            _ => {
                if rng.below(2) == 0 {
                    drop(store);
                } else {
                    crash(store);
                }
                store = open(dir.path());
                for k in 0..40 {
                    let key = format!("k{k}");
                    let expected = model.get(&key).cloned();
                    let got = get(&store, &key);
                    assert_eq!(
                        got, expected,
                        "step {step}: after a reopen, {key:?} should be {expected:?} but was \
                         {got:?}: was every change up to here written to the log and replayed?"
                    );
                }
            }
        }
    }
}
