//! Stage `compaction`: values are read from disk through an index of offsets, and the log is
//! compacted, automatically once the stale records pass a threshold, or on demand with
//! `compact`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use kv_store::{LogStore, Options};
use tempfile::TempDir;

fn temp_dir() -> TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(err) => panic!("the test could not create a temporary directory: {err}"),
    }
}

// `Options` gains fields in later stages; the `..Options::default()` keeps this test compiling.
#[allow(clippy::needless_update)]
fn open_with(dir: &Path, compaction_threshold: u64) -> LogStore {
    let options = Options {
        compaction_threshold,
        ..Options::default()
    };
    match LogStore::open_with(dir, options) {
        Ok(store) => store,
        Err(err) => panic!(
            "LogStore::open_with({}, threshold {compaction_threshold}) failed: {err}",
            dir.display()
        ),
    }
}

fn set(store: &mut LogStore, key: &str, value: &str) {
    if let Err(err) = store.set(key.to_owned(), value.to_owned()) {
        panic!("set({key:?}, ..) failed: {err}");
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

fn compact(store: &mut LogStore) {
    if let Err(err) = store.compact() {
        panic!("compact() failed: {err}");
    }
}

/// Simulates the process dying: the store is leaked, none of its code runs any more.
fn crash(store: LogStore) {
    std::mem::forget(store);
}

/// The total size of the files under `dir`, subdirectories included.
fn dir_size(dir: &Path) -> u64 {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => panic!("cannot list {}: {err}", dir.display()),
    };
    entries
        .filter_map(|entry| entry.ok())
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_size(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// How large the directory may be: three times the live keys and values (room for any record
/// format), plus twice the threshold of stale data, plus 64 KiB of slack.
fn size_bound(model: &BTreeMap<String, String>, threshold: u64) -> u64 {
    let live: usize = model.iter().map(|(k, v)| k.len() + v.len()).sum();
    3 * live as u64 + 2 * threshold + 64 * 1024
}

/// A value of exactly `len` bytes that names its key and version, so that a value read from the
/// wrong record or a torn one is recognised.
fn value(key: &str, version: usize, len: usize) -> String {
    let mut value = format!("{key}@{version}:");
    let filler = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut i = version;
    while value.len() < len {
        value.push(char::from(filler[i % filler.len()]));
        i += 7;
    }
    value
}

/// Checks every key of `model`, plus `absent` keys that must have no value.
fn check_all(store: &LogStore, model: &BTreeMap<String, String>, absent: &[String], when: &str) {
    for (key, expected) in model {
        let got = get(store, key);
        assert!(
            got.as_deref() == Some(expected.as_str()),
            "{when}: {key:?} should be {:?}... but was {:?}: was it lost or mixed up by \
             compaction (is the index updated to the compacted file)?",
            &expected[..expected.len().min(24)],
            got.map(|v| v[..v.len().min(24)].to_owned())
        );
    }
    for key in absent {
        let got = get(store, key);
        assert!(
            got.is_none(),
            "{when}: {key:?} was removed but has the value {:?}: did compaction or replay bring a \
             deleted key back?",
            got.map(|v| v[..v.len().min(24)].to_owned())
        );
    }
}

#[test]
fn options_default_to_a_positive_threshold() {
    let options = Options::default();
    assert!(
        options.compaction_threshold > 0,
        "Options::default().compaction_threshold should be a positive number of bytes"
    );
    let copy = options.clone();
    assert_eq!(
        format!("{copy:?}"),
        format!("{options:?}"),
        "Options should be Clone and Debug"
    );
}

#[test]
fn compact_keeps_live_keys_and_drops_removed_ones() {
    let dir = temp_dir();
    let mut store = open_with(dir.path(), u64::MAX);
    let mut model = BTreeMap::new();
    for i in 0..50 {
        let key = format!("key-{i}");
        for version in 0..5 {
            set(&mut store, &key, &value(&key, version, 60));
        }
        model.insert(key.clone(), value(&key, 4, 60));
    }
    let mut absent = Vec::new();
    for i in (0..50).step_by(3) {
        let key = format!("key-{i}");
        remove(&mut store, &key);
        model.remove(&key);
        absent.push(key);
    }
    compact(&mut store);
    check_all(&store, &model, &absent, "right after compact()");

    set(&mut store, "after", "written after compaction");
    model.insert("after".to_owned(), "written after compaction".to_owned());
    check_all(
        &store,
        &model,
        &absent,
        "after a write that followed compact()",
    );
    drop(store);

    let store = open_with(dir.path(), u64::MAX);
    check_all(&store, &model, &absent, "after compact() and a reopen");
}

#[test]
fn compact_shrinks_the_directory() {
    let dir = temp_dir();
    let mut store = open_with(dir.path(), u64::MAX);
    for version in 0..2_000 {
        set(&mut store, "hot", &value("hot", version, 100));
    }
    compact(&mut store);
    let mut model = BTreeMap::new();
    model.insert("hot".to_owned(), value("hot", 1_999, 100));
    let size = dir_size(dir.path());
    let bound = 3 * 103 + 64 * 1024;
    assert!(
        size <= bound,
        "after 2,000 overwrites of one key and compact(), the directory holds {size} bytes; one \
         live 100-byte value should need at most {bound}: does compaction delete the files it \
         copied from?"
    );
    check_all(&store, &model, &[], "after compact()");
}

#[test]
fn compacting_an_empty_store_or_twice_in_a_row_is_fine() {
    let dir = temp_dir();
    let mut store = open_with(dir.path(), u64::MAX);
    compact(&mut store);
    compact(&mut store);
    set(&mut store, "a", "1");
    compact(&mut store);
    compact(&mut store);
    assert_eq!(
        get(&store, "a").as_deref(),
        Some("1"),
        "\"a\" survives two compactions"
    );
    drop(store);
    let store = open_with(dir.path(), u64::MAX);
    assert_eq!(
        get(&store, "a").as_deref(),
        Some("1"),
        "\"a\" survives two compactions and a reopen"
    );
}

#[test]
fn a_compaction_survives_a_crash_right_after_it() {
    let dir = temp_dir();
    let mut store = open_with(dir.path(), u64::MAX);
    let mut model = BTreeMap::new();
    for i in 0..20 {
        let key = format!("k{i}");
        set(&mut store, &key, &value(&key, 0, 40));
        set(&mut store, &key, &value(&key, 1, 40));
        model.insert(key.clone(), value(&key, 1, 40));
    }
    remove(&mut store, "k0");
    model.remove("k0");
    compact(&mut store);
    set(&mut store, "k1", &value("k1", 2, 40));
    model.insert("k1".to_owned(), value("k1", 2, 40));
    crash(store);

    let store = open_with(dir.path(), u64::MAX);
    check_all(
        &store,
        &model,
        &["k0".to_owned()],
        "after compact(), one more set, a crash and a reopen",
    );
}

#[test]
fn overwrites_are_compacted_automatically_and_the_directory_stays_bounded() {
    const THRESHOLD: u64 = 64 * 1024;
    let dir = temp_dir();
    let mut store = open_with(dir.path(), THRESHOLD);
    let mut model = BTreeMap::new();
    for i in 0..50 {
        let key = format!("cold-{i:02}");
        set(&mut store, &key, &value(&key, 0, 200));
        model.insert(key.clone(), value(&key, 0, 200));
    }
    let mut written = 0u64;
    for round in 1..=200 {
        for i in 0..100 {
            let key = format!("hot-{i:03}");
            let v = value(&key, round, 200);
            written += (key.len() + v.len()) as u64;
            set(&mut store, &key, &v);
            model.insert(key, v);
        }
        let size = dir_size(dir.path());
        let bound = size_bound(&model, THRESHOLD);
        assert!(
            size <= bound,
            "after {round} rounds of overwriting 100 keys ({written} bytes written, live data \
             about {} bytes, threshold {THRESHOLD}), the directory holds {size} bytes, more than \
             the bound {bound}: is compaction triggered when the stale bytes pass \
             Options::compaction_threshold, and does it delete the old files?",
            model.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        );
        if round % 20 == 0 {
            check_all(&store, &model, &[], &format!("after round {round}"));
        }
        if round % 100 == 0 {
            drop(store);
            store = open_with(dir.path(), THRESHOLD);
            check_all(
                &store,
                &model,
                &[],
                &format!("after round {round} and a reopen"),
            );
        }
    }
}

#[test]
fn removed_keys_stay_removed_through_compactions() {
    const THRESHOLD: u64 = 16 * 1024;
    let dir = temp_dir();
    let mut store = open_with(dir.path(), THRESHOLD);
    let mut model = BTreeMap::new();
    let mut absent = Vec::new();
    for i in 0..200 {
        let key = format!("key-{i:03}");
        set(&mut store, &key, &value(&key, 0, 50));
        model.insert(key.clone(), value(&key, 0, 50));
    }
    for i in (0..200).step_by(2) {
        let key = format!("key-{i:03}");
        remove(&mut store, &key);
        model.remove(&key);
        absent.push(key);
    }
    for round in 1..=30 {
        for i in (1..200).step_by(2) {
            let key = format!("key-{i:03}");
            set(&mut store, &key, &value(&key, round, 50));
            model.insert(key.clone(), value(&key, round, 50));
        }
    }
    check_all(&store, &model, &absent, "after 30 rounds of overwrites");
    drop(store);

    let mut store = open_with(dir.path(), THRESHOLD);
    check_all(
        &store,
        &model,
        &absent,
        "after 30 rounds of overwrites and a reopen",
    );

    for i in (1..200).step_by(4) {
        let key = format!("key-{i:03}");
        remove(&mut store, &key);
        model.remove(&key);
        absent.push(key);
    }
    for round in 31..=60 {
        for i in (3..200).step_by(4) {
            let key = format!("key-{i:03}");
            set(&mut store, &key, &value(&key, round, 50));
            model.insert(key.clone(), value(&key, round, 50));
        }
    }
    crash(store);
    let store = open_with(dir.path(), THRESHOLD);
    check_all(
        &store,
        &model,
        &absent,
        "after more removes, 30 more rounds, a crash and a reopen",
    );
}

#[test]
fn the_default_options_compact_too() {
    let dir = temp_dir();
    let mut store = match LogStore::open(dir.path()) {
        Ok(store) => store,
        Err(err) => panic!("LogStore::open failed: {err}"),
    };
    let mut model = BTreeMap::new();
    for round in 0..120 {
        for i in 0..100 {
            let key = format!("k{i:02}");
            set(&mut store, &key, &value(&key, round, 1_000));
            model.insert(key.clone(), value(&key, round, 1_000));
        }
    }
    let size = dir_size(dir.path());
    assert!(
        size <= 4 * 1024 * 1024,
        "after 12 MB of overwrites of 100 keys (100 kB live) with LogStore::open's default \
         options, the directory holds {size} bytes; it should stay under 4 MiB: does \
         LogStore::open compact with the default threshold (1 MiB)?"
    );
    drop(store);
    let store = match LogStore::open(dir.path()) {
        Ok(store) => store,
        Err(err) => panic!("reopening with LogStore::open failed: {err}"),
    };
    check_all(&store, &model, &[], "after compactions and a reopen");
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
fn a_seeded_mix_with_compactions_reopens_and_crashes_matches_a_model() {
    const THRESHOLD: u64 = 2 * 1024;
    let dir = temp_dir();
    let mut rng = Rng(0xc0_3bac_7000_0005);
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    let keys: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
    let mut store = open_with(dir.path(), THRESHOLD);
    for step in 0..4_000 {
        let key = &keys[rng.below(30) as usize];
        match rng.below(100) {
            0..=54 => {
                let v = value(key, step, 20 + rng.below(40) as usize);
                set(&mut store, key, &v);
                model.insert(key.clone(), v);
            }
            55..=74 => {
                let expected = model.remove(key);
                let got = remove(&mut store, key);
                assert_eq!(
                    got, expected,
                    "step {step}: remove({key:?}) returned {got:?} but the key held {expected:?}"
                );
            }
            75..=97 => {
                let expected = model.get(key).cloned();
                let got = get(&store, key);
                assert_eq!(
                    got, expected,
                    "step {step}: get({key:?}) returned {got:?} but the last write left \
                     {expected:?}"
                );
            }
            98 => compact(&mut store),
            _ => {
                if rng.below(2) == 0 {
                    drop(store);
                } else {
                    crash(store);
                }
                store = open_with(dir.path(), THRESHOLD);
                let absent: Vec<String> = keys
                    .iter()
                    .filter(|k| !model.contains_key(*k))
                    .cloned()
                    .collect();
                check_all(
                    &store,
                    &model,
                    &absent,
                    &format!("step {step}, after a reopen"),
                );
            }
        }
    }
    let size = dir_size(dir.path());
    let bound = size_bound(&model, THRESHOLD);
    assert!(
        size <= bound,
        "after the seeded run the directory holds {size} bytes, more than the bound {bound}"
    );
}

#[test]
fn a_store_reopened_full_of_garbage_is_compacted_by_its_next_write() {
    const THRESHOLD: u64 = 16 * 1024;
    let dir = temp_dir();
    let mut model = BTreeMap::new();
    // A first session that never compacts leaves about 1 MB of overwritten values behind.
    let mut store = open_with(dir.path(), u64::MAX);
    for version in 0..1000 {
        set(&mut store, "hot", &value("hot", version, 1000));
    }
    model.insert("hot".to_owned(), value("hot", 999, 1000));
    drop(store);

    // The next session counts that garbage while it replays, so its first write compacts.
    let mut store = open_with(dir.path(), THRESHOLD);
    set(&mut store, "cold", &value("cold", 0, 100));
    model.insert("cold".to_owned(), value("cold", 0, 100));
    check_all(
        &store,
        &model,
        &[],
        "after reopening a store full of garbage",
    );
    let size = dir_size(dir.path());
    let bound = size_bound(&model, THRESHOLD);
    assert!(
        size <= bound,
        "the store was reopened with about 1 MB of stale records and a threshold of {THRESHOLD} \
         bytes, then written to, but its directory still holds {size} bytes (at most {bound} \
         expected): does replay count the stale bytes it finds, or does the count start at zero \
         on every open?"
    );
}

#[test]
fn removed_values_count_as_stale() {
    const THRESHOLD: u64 = 16 * 1024;
    let dir = temp_dir();
    let mut store = open_with(dir.path(), THRESHOLD);
    for i in 0..300 {
        let key = format!("big-{}", i % 5);
        set(&mut store, &key, &value(&key, i, 4000));
        remove(&mut store, &key);
    }
    let absent: Vec<String> = (0..5).map(|i| format!("big-{i}")).collect();
    check_all(
        &store,
        &BTreeMap::new(),
        &absent,
        "after 300 sets and removes",
    );
    let size = dir_size(dir.path());
    let bound = size_bound(&BTreeMap::new(), THRESHOLD);
    assert!(
        size <= bound,
        "300 values of 4 kB were each set and removed with a threshold of {THRESHOLD} bytes, yet \
         the directory holds {size} bytes (at most {bound} expected): when a key is removed, does \
         the value it had count as stale, not only the removal marker?"
    );
}

/// The store's files (name and bytes), to put back what a compaction deleted.
fn snapshot(dir: &Path) -> Vec<(std::ffi::OsString, Vec<u8>)> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => panic!("cannot list {}: {err}", dir.display()),
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_file())
        .map(|entry| match fs::read(entry.path()) {
            Ok(bytes) => (entry.file_name(), bytes),
            Err(err) => panic!("cannot read {}: {err}", entry.path().display()),
        })
        .collect()
}

#[test]
fn a_crash_before_old_files_are_deleted_replays_right_past_nine_compactions() {
    let dir = temp_dir();
    let mut store = open_with(dir.path(), u64::MAX);
    let mut model = BTreeMap::new();
    let mut version = 0;
    let mut write = |store: &mut LogStore, model: &mut BTreeMap<String, String>| {
        version += 1;
        for key in ["a", "b", "c"] {
            let key = format!("{key}{}", version % 2);
            set(store, &key, &value(&key, version, 200));
            model.insert(key.clone(), value(&key, version, 200));
        }
    };
    // Two compactions a round, 20 in all: the files pass from one digit to two on the way.
    for round in 1..=10 {
        write(&mut store, &mut model);
        // The process dies after the compacted file took its name, before any older file was
        // deleted: every file from before the compaction is back beside the new one.
        let before = snapshot(dir.path());
        compact(&mut store);
        crash(store);
        for (name, bytes) in before {
            let path = dir.path().join(&name);
            if !path.exists()
                && let Err(err) = fs::write(&path, bytes)
            {
                panic!("cannot restore {}: {err}", path.display());
            }
        }
        store = open_with(dir.path(), u64::MAX);
        let when = format!(
            "round {round}: after a compaction cut short by a crash before the old files were \
             deleted, and a reopen (are the files replayed, and the next one named, in numeric \
             order: is 10 after 9?)"
        );
        check_all(&store, &model, &[], &when);

        // Then a compaction that runs to its end.
        write(&mut store, &mut model);
        compact(&mut store);
        drop(store);
        store = open_with(dir.path(), u64::MAX);
        let when = format!(
            "round {round}: after a complete compaction that followed it, and a reopen (are the \
             files replayed, and the next one named, in numeric order: is 10 after 9?)"
        );
        check_all(&store, &model, &[], &when);
    }
}
