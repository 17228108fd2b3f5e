//! Stage `crash_safety`: checksums on every record; a torn tail (an append cut short by a crash)
//! is dropped on open; damage in the middle of the log is an error, never silently skipped; an
//! fsync policy.
//!
//! These tests cut and corrupt the real files without knowing your record format. They rely on
//! two things only: each write appends to one file (the newest log file), and values are stored
//! as their own UTF-8 bytes (not compressed or encoded), so the test can find them.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use kv_store::{KvError, LogStore, Options, SyncPolicy};
use tempfile::TempDir;

fn temp_dir() -> TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(err) => panic!("the test could not create a temporary directory: {err}"),
    }
}

fn open(dir: &Path) -> LogStore {
    match LogStore::open(dir) {
        Ok(store) => store,
        Err(err) => panic!("LogStore::open({}) failed: {err}", dir.display()),
    }
}

fn set(store: &mut LogStore, key: &str, value: &str) {
    if let Err(err) = store.set(key.to_owned(), value.to_owned()) {
        panic!("set({key:?}, {value:?}) failed: {err}");
    }
}

fn get(store: &LogStore, key: &str) -> Option<String> {
    match store.get(key) {
        Ok(value) => value,
        Err(err) => panic!("get({key:?}) failed: {err}"),
    }
}

fn remove(store: &mut LogStore, key: &str) {
    if let Err(err) = store.remove(key) {
        panic!("remove({key:?}) failed: {err}");
    }
}

/// Simulates the process dying: the store is leaked, none of its code runs any more.
fn crash(store: LogStore) {
    std::mem::forget(store);
}

/// Every regular file under `dir` with its size.
fn file_sizes(dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut sizes = BTreeMap::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => panic!("cannot list {}: {err}", dir.display()),
    };
    for entry in entries.filter_map(|entry| entry.ok()) {
        let path = entry.path();
        match entry.metadata() {
            Ok(meta) if meta.is_dir() => sizes.extend(file_sizes(&path)),
            Ok(meta) => {
                sizes.insert(path, meta.len());
            }
            Err(_) => {}
        }
    }
    sizes
}

/// The one file that grew between two snapshots, and by how much.
fn grown_file(before: &BTreeMap<PathBuf, u64>, after: &BTreeMap<PathBuf, u64>) -> (PathBuf, u64) {
    let grown: Vec<(PathBuf, u64)> = after
        .iter()
        .filter_map(|(path, &size)| {
            let old = before.get(path).copied().unwrap_or(0);
            (size > old).then(|| (path.clone(), size - old))
        })
        .collect();
    match grown.as_slice() {
        [(path, growth)] => (path.clone(), *growth),
        _ => panic!(
            "the test expects the last write to append to exactly one file (the newest log \
             file), but these files grew: {grown:?}"
        ),
    }
}

/// Copies the files directly in `from` into the new directory `to`.
fn copy_dir(from: &Path, to: &Path) {
    if let Err(err) = fs::create_dir_all(to) {
        panic!("cannot create {}: {err}", to.display());
    }
    for (path, _) in file_sizes(from) {
        let Ok(relative) = path.strip_prefix(from) else {
            continue;
        };
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            let _ = fs::create_dir_all(parent);
        }
        if let Err(err) = fs::copy(&path, &target) {
            panic!("cannot copy {}: {err}", path.display());
        }
    }
}

/// Shortens `file` by `cut` bytes, the way a crash in the middle of an append leaves it.
fn cut_tail(file: &Path, cut: u64) {
    let result = OpenOptions::new().write(true).open(file).and_then(|f| {
        let len = f.metadata()?.len();
        f.set_len(len - cut)
    });
    if let Err(err) = result {
        panic!("cannot truncate {}: {err}", file.display());
    }
}

/// Finds the only file under `dir` that contains `needle`, and where.
fn find_bytes(dir: &Path, needle: &[u8]) -> (PathBuf, usize) {
    let mut found = Vec::new();
    for (path, _) in file_sizes(dir) {
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) => panic!("cannot read {}: {err}", path.display()),
        };
        for at in 0..bytes.len().saturating_sub(needle.len() - 1) {
            if bytes[at..].starts_with(needle) {
                found.push((path.clone(), at));
            }
        }
    }
    match found.as_slice() {
        [one] => one.clone(),
        [] => panic!(
            "the test could not find the bytes of the value {:?} in any file of the store: it \
             expects values to be stored as their UTF-8 bytes",
            String::from_utf8_lossy(needle)
        ),
        _ => panic!(
            "the value {:?} appears {} times on disk; the test expects it once",
            String::from_utf8_lossy(needle),
            found.len()
        ),
    }
}

fn flip_byte(file: &Path, at: usize) {
    let mut bytes = match fs::read(file) {
        Ok(bytes) => bytes,
        Err(err) => panic!("cannot read {}: {err}", file.display()),
    };
    // Flipping the lowest bit turns one ASCII letter into another: the record still looks
    // well-formed, only a checksum can tell.
    bytes[at] ^= 0x01;
    if let Err(err) = fs::write(file, &bytes) {
        panic!("cannot write {}: {err}", file.display());
    }
}

fn value_for(key: &str) -> String {
    format!("value-of-{key}-{}", "x".repeat(20))
}

/// Writes 20 keys, compacts (so the newest file is not the first one), overwrites a few, and
/// returns the store with the model of what it holds.
fn populated_store(dir: &Path) -> (LogStore, BTreeMap<String, String>) {
    let mut store = open(dir);
    let mut model = BTreeMap::new();
    for i in 0..20 {
        let key = format!("key-{i:02}");
        set(&mut store, &key, "first version");
        set(&mut store, &key, &value_for(&key));
        model.insert(key.clone(), value_for(&key));
    }
    if let Err(err) = store.compact() {
        panic!("compact() failed: {err}");
    }
    for i in 0..5 {
        let key = format!("key-{i:02}");
        set(&mut store, &key, &format!("{}-again", value_for(&key)));
        model.insert(key.clone(), format!("{}-again", value_for(&key)));
    }
    (store, model)
}

/// Checks that every key of `model` except `last_key` has its value, and that `last_key` has one
/// of `allowed`.
fn check_after_torn_tail(
    store: &LogStore,
    model: &BTreeMap<String, String>,
    last_key: &str,
    allowed: &[Option<String>],
    when: &str,
) -> Option<String> {
    for (key, expected) in model {
        if key != last_key {
            assert_eq!(
                get(store, key).as_ref(),
                Some(expected),
                "{when}: {key:?} was written before the torn record and must be intact"
            );
        }
    }
    let got = get(store, last_key);
    assert!(
        allowed.contains(&got),
        "{when}: the torn write was to {last_key:?}; it should have one of {allowed:?} (the value \
         before the torn write, or the new one if it was complete), but has {got:?}: is a \
         partial record being read as if it were whole?"
    );
    got
}

#[test]
fn every_sync_policy_keeps_acknowledged_writes_across_a_process_crash() {
    let policies = [
        SyncPolicy::Always,
        SyncPolicy::EveryN(NonZeroU32::MIN.saturating_add(2)),
        SyncPolicy::Never,
    ];
    for sync in policies {
        let dir = temp_dir();
        let options = Options {
            sync,
            ..Options::default()
        };
        let mut store = match LogStore::open_with(dir.path(), options.clone()) {
            Ok(store) => store,
            Err(err) => panic!("open_with(sync: {sync:?}) failed: {err}"),
        };
        for i in 0..10 {
            set(&mut store, &format!("k{i}"), &format!("v{i}"));
        }
        remove(&mut store, "k0");
        crash(store);
        let store = match LogStore::open_with(dir.path(), options) {
            Ok(store) => store,
            Err(err) => panic!("reopening with sync: {sync:?} failed: {err}"),
        };
        for i in 1..10 {
            assert_eq!(
                get(&store, &format!("k{i}")),
                Some(format!("v{i}")),
                "with sync: {sync:?}, k{i} was lost by a process crash: whatever the fsync \
                 policy, every write must reach the operating system before set returns"
            );
        }
        assert_eq!(
            get(&store, "k0"),
            None,
            "with sync: {sync:?}, the removal of k0 was lost by a process crash"
        );
    }
}

#[test]
fn a_torn_set_is_dropped_at_every_cut_point() {
    let dir = temp_dir();
    let (mut store, model) = populated_store(dir.path());
    let before = file_sizes(dir.path());
    let new_value = format!("{}-torn", value_for("key-07"));
    set(&mut store, "key-07", &new_value);
    crash(store);
    let (file, growth) = grown_file(&before, &file_sizes(dir.path()));
    let allowed = [model.get("key-07").cloned(), Some(new_value)];

    for cut in 1..growth {
        let copy = temp_dir();
        copy_dir(dir.path(), copy.path());
        let copied_file = copy
            .path()
            .join(file.strip_prefix(dir.path()).unwrap_or(&file));
        cut_tail(&copied_file, cut);

        let when = format!("after cutting {cut} of the last record's {growth} bytes");
        let store = match LogStore::open(copy.path()) {
            Ok(store) => store,
            Err(err) => panic!(
                "{when}, open failed with: {err}. An incomplete record at the very end of the \
                 newest log is what a crash during an append leaves: it must be dropped, not \
                 reported as corruption"
            ),
        };
        let kept = check_after_torn_tail(&store, &model, "key-07", &allowed, &when);
        drop(store);

        // The store must go on working: new records must not end up after the torn bytes.
        let mut store = open(copy.path());
        set(&mut store, "after-recovery", "still works");
        drop(store);
        let store = match LogStore::open(copy.path()) {
            Ok(store) => store,
            Err(err) => panic!(
                "{when}, the store reopened, took one more write, and then failed to open: \
                 {err}. Was the torn tail cut off the file before new records were appended \
                 after it?"
            ),
        };
        let again = check_after_torn_tail(&store, &model, "key-07", &allowed, &when);
        assert_eq!(
            again, kept,
            "{when}: key-07 changed between two reopens ({kept:?} then {again:?})"
        );
        assert_eq!(
            get(&store, "after-recovery").as_deref(),
            Some("still works"),
            "{when}: a write made after recovering from the torn tail was lost"
        );
    }
}

#[test]
fn a_torn_remove_is_dropped_at_every_cut_point() {
    let dir = temp_dir();
    let (mut store, model) = populated_store(dir.path());
    let before = file_sizes(dir.path());
    remove(&mut store, "key-12");
    crash(store);
    let (file, growth) = grown_file(&before, &file_sizes(dir.path()));
    let allowed = [model.get("key-12").cloned(), None];

    for cut in 1..growth {
        let copy = temp_dir();
        copy_dir(dir.path(), copy.path());
        let copied_file = copy
            .path()
            .join(file.strip_prefix(dir.path()).unwrap_or(&file));
        cut_tail(&copied_file, cut);
        let when = format!("after cutting {cut} of the removal record's {growth} bytes");
        let store = match LogStore::open(copy.path()) {
            Ok(store) => store,
            Err(err) => panic!(
                "{when}, open failed with: {err}; a torn removal at the end of the log must be \
                 dropped"
            ),
        };
        check_after_torn_tail(&store, &model, "key-12", &allowed, &when);
    }
}

#[test]
fn a_log_cut_in_half_keeps_a_consistent_prefix() {
    let dir = temp_dir();
    let mut store = open(dir.path());
    let before = file_sizes(dir.path());
    let mut model = BTreeMap::new();
    for i in 0..40 {
        let key = format!("key-{i:02}");
        set(&mut store, &key, &value_for(&key));
        model.insert(key.clone(), value_for(&key));
    }
    crash(store);
    let (file, growth) = grown_file(&before, &file_sizes(dir.path()));
    // One byte more than half, so that the cut falls inside a record even if all records have
    // the same length.
    cut_tail(&file, growth / 2 + 1);

    let mut store = match LogStore::open(dir.path()) {
        Ok(store) => store,
        Err(err) => panic!(
            "after cutting the log in half (a crash that lost the last half of the appends), \
             open failed with: {err}; it should drop the incomplete record and keep the rest"
        ),
    };
    let mut kept = 0;
    for (key, expected) in &model {
        let got = get(&store, key);
        assert!(
            got.is_none() || got.as_ref() == Some(expected),
            "after cutting the log in half, {key:?} should be intact or absent, but was {got:?}"
        );
        kept += usize::from(got.is_some());
    }
    assert_eq!(
        get(&store, "key-00").as_ref(),
        model.get("key-00"),
        "the first record is in the half that was kept and must survive"
    );
    assert!(
        (10..40).contains(&kept),
        "after cutting the log in half, {kept} of 40 keys survived; about half should"
    );
    set(&mut store, "new", "after the cut");
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        get(&store, "new").as_deref(),
        Some("after the cut"),
        "a write after recovering from the cut should survive a reopen"
    );
}

#[test]
fn a_flipped_byte_in_the_middle_is_an_error_never_a_silent_skip() {
    let dir = temp_dir();
    let mut store = open(dir.path());
    let mut model = BTreeMap::new();
    for i in 0..20 {
        let key = format!("before-{i:02}");
        set(&mut store, &key, &value_for(&key));
        model.insert(key.clone(), value_for(&key));
    }
    let target_value = "TARGET-bcdefghijklmnopqrstuvwxyz-TARGET";
    set(&mut store, "target", target_value);
    for i in 0..20 {
        let key = format!("after-{i:02}");
        set(&mut store, &key, &value_for(&key));
        model.insert(key.clone(), value_for(&key));
    }
    drop(store);

    let (file, at) = find_bytes(dir.path(), target_value.as_bytes());
    flip_byte(&file, at + target_value.len() / 2);
    let flipped = {
        let mut bytes = target_value.as_bytes().to_vec();
        bytes[target_value.len() / 2] ^= 0x01;
        String::from_utf8_lossy(&bytes).into_owned()
    };

    match LogStore::open(dir.path()) {
        Err(KvError::Corrupt { .. }) => {}
        Err(other) => panic!(
            "a flipped byte in a record in the middle of the log should be reported as \
             KvError::Corrupt, but open failed with another error: {other}"
        ),
        Ok(store) => {
            // Detecting the damage when the value is read is acceptable too, as long as nothing
            // is silently lost or made up.
            match store.get("target") {
                Err(KvError::Corrupt { .. }) => {}
                Err(other) => panic!(
                    "reading a damaged record should fail with KvError::Corrupt, but failed \
                     with: {other}"
                ),
                Ok(Some(value)) if value == flipped => panic!(
                    "a byte of the record of \"target\" was flipped on disk, and get returned the \
                     damaged value {value:?} as if it were fine: each record needs a checksum"
                ),
                Ok(value) => panic!(
                    "a byte of the record of \"target\" was flipped on disk; open succeeded and \
                     get(\"target\") returned {value:?} instead of an error: damage in the middle \
                     of the log must be reported, never skipped"
                ),
            }
            for (key, expected) in &model {
                assert_eq!(
                    store.get(key).ok().flatten().as_ref(),
                    Some(expected),
                    "open succeeded despite a damaged record in the middle; then every other \
                     record (before and after it) must still be there, but {key:?} was not: \
                     was everything after the damage dropped as if it were a torn tail?"
                );
            }
        }
    }
}

#[test]
fn reopening_a_recovered_store_twice_changes_nothing() {
    let dir = temp_dir();
    let (mut store, model) = populated_store(dir.path());
    let before = file_sizes(dir.path());
    set(&mut store, "last", "written last");
    crash(store);
    let (file, growth) = grown_file(&before, &file_sizes(dir.path()));
    cut_tail(&file, growth / 2);
    for round in 1..=3 {
        let store = match LogStore::open(dir.path()) {
            Ok(store) => store,
            Err(err) => panic!("reopen #{round} after a torn tail failed: {err}"),
        };
        check_after_torn_tail(
            &store,
            &model,
            "last",
            &[None, Some("written last".to_owned())],
            &format!("reopen #{round}"),
        );
    }
}

/// 20 keys, then `target` with `target_value`, then 20 more keys, in a closed store; returns the
/// model of the 40 other keys.
fn store_with_a_target(dir: &Path, target_value: &str) -> BTreeMap<String, String> {
    let mut store = open(dir);
    let mut model = BTreeMap::new();
    for i in 0..20 {
        let key = format!("before-{i:02}");
        set(&mut store, &key, &value_for(&key));
        model.insert(key.clone(), value_for(&key));
    }
    set(&mut store, "target", target_value);
    for i in 0..20 {
        let key = format!("after-{i:02}");
        set(&mut store, &key, &value_for(&key));
        model.insert(key.clone(), value_for(&key));
    }
    drop(store);
    model
}

/// Opens a damaged store: the damage must be `KvError::Corrupt` at `open`, or at `get("target")`
/// with every other key intact; `target` may keep `intact` (the damage missed what it guards).
fn expect_damage_reported(
    dir: &Path,
    model: &BTreeMap<String, String>,
    intact: Option<&str>,
    what: &str,
) {
    let store = match LogStore::open(dir) {
        Err(KvError::Corrupt { .. }) => return,
        Err(other) => panic!(
            "{what}: open should fail with KvError::Corrupt, or succeed and report the damage \
             at get, but it failed with another error: {other}"
        ),
        Ok(store) => store,
    };
    for (key, expected) in model {
        assert_eq!(
            store.get(key).ok().flatten().as_ref(),
            Some(expected),
            "{what}: open succeeded, so every other record (before and after the damage) must \
             still be there, but {key:?} was not: was everything after the damage dropped as if \
             it were a torn tail?"
        );
    }
    match store.get("target") {
        Err(KvError::Corrupt { .. }) => {}
        Ok(Some(value)) if Some(value.as_str()) == intact => {}
        other => panic!(
            "{what}: open succeeded, and get(\"target\") returned {other:?}: a damaged record must \
             be reported as KvError::Corrupt, never skipped or returned"
        ),
    }
}

#[test]
fn a_damaged_record_header_in_the_middle_is_an_error_never_a_torn_tail() {
    let dir = temp_dir();
    let target_value = "TARGET-bcdefghijklmnopqrstuvwxyz-TARGET";
    let model = store_with_a_target(dir.path(), target_value);
    let (file, value_at) = find_bytes(dir.path(), target_value.as_bytes());
    let previous = value_for("before-19");
    let (previous_file, previous_at) = find_bytes(dir.path(), previous.as_bytes());
    assert_eq!(
        previous_file, file,
        "the test expects the records of one session in one file"
    );
    // Between the end of the previous value and the start of this one lie the framing of the
    // record of "target" (its lengths, its checksums) and its key: flip each byte in turn.
    let framing = previous_at + previous.len()..value_at;
    let copies = temp_dir();
    for at in framing {
        let copy = copies.path().join(format!("flipped-at-{at}"));
        copy_dir(dir.path(), &copy);
        let damaged = copy.join(file.strip_prefix(dir.path()).unwrap_or(&file));
        flip_byte(&damaged, at);
        expect_damage_reported(
            &copy,
            &model,
            Some(target_value),
            &format!(
                "a byte was flipped at offset {at} of {}, in the framing of a record in the \
                 middle of the log (its header: lengths, checksum, key)",
                file.display()
            ),
        );
    }
}

#[test]
fn zeros_in_the_middle_of_the_log_are_damage_not_a_torn_tail() {
    let dir = temp_dir();
    let target_value = "TARGET-bcdefghijklmnopqrstuvwxyz-TARGET";
    let model = store_with_a_target(dir.path(), target_value);
    let (file, value_at) = find_bytes(dir.path(), target_value.as_bytes());
    let previous = value_for("before-19");
    let (_, previous_at) = find_bytes(dir.path(), previous.as_bytes());
    // The whole record of "target" (framing, key and value) becomes zeros, as a lost disk block
    // would; 20 intact records follow it.
    let mut bytes = match fs::read(&file) {
        Ok(bytes) => bytes,
        Err(err) => panic!("cannot read {}: {err}", file.display()),
    };
    bytes[previous_at + previous.len()..value_at + target_value.len()].fill(0);
    if let Err(err) = fs::write(&file, &bytes) {
        panic!("cannot write {}: {err}", file.display());
    }
    expect_damage_reported(
        dir.path(),
        &model,
        None,
        "the record of \"target\", in the middle of the log, was overwritten with zeros",
    );
}

#[test]
fn a_complete_last_record_with_a_bad_checksum_is_dropped_as_torn() {
    let dir = temp_dir();
    let (mut store, model) = populated_store(dir.path());
    let last_value = "LAST-bcdefghijklmnopqrstuvwxyz-LAST";
    set(&mut store, "last", last_value);
    crash(store);
    // The file grew to the record's full length, but its bytes did not all reach the disk.
    let (file, at) = find_bytes(dir.path(), last_value.as_bytes());
    flip_byte(&file, at + last_value.len() / 2);
    let mut store = match LogStore::open(dir.path()) {
        Ok(store) => store,
        Err(err) => panic!(
            "the last record of the newest log file has its full length but a bad checksum: an \
             append the crash interrupted, so open should drop it, but it failed: {err}"
        ),
    };
    check_after_torn_tail(
        &store,
        &model,
        "last",
        &[None],
        "after the last record's checksum failed",
    );
    set(&mut store, "next", "written after recovery");
    drop(store);
    let store = open(dir.path());
    check_after_torn_tail(
        &store,
        &model,
        "last",
        &[None],
        "after a write and a reopen",
    );
    assert_eq!(
        get(&store, "next").as_deref(),
        Some("written after recovery"),
        "a write made after dropping the bad last record must survive a reopen: was it appended \
         after the bad bytes instead of in their place?"
    );
}

#[test]
fn a_zero_filled_tail_is_dropped_as_torn() {
    let dir = temp_dir();
    let (mut store, mut model) = populated_store(dir.path());
    let before = file_sizes(dir.path());
    set(&mut store, "last", "written last");
    model.insert("last".to_owned(), "written last".to_owned());
    crash(store);
    // After a power cut the file may have grown by whole blocks of zeros that the data never
    // reached.
    let (file, _) = grown_file(&before, &file_sizes(dir.path()));
    let result = OpenOptions::new()
        .append(true)
        .open(&file)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(&[0; 4096])
        });
    if let Err(err) = result {
        panic!("cannot extend {}: {err}", file.display());
    }
    let mut store = match LogStore::open(dir.path()) {
        Ok(store) => store,
        Err(err) => panic!(
            "the newest log file ends in 4096 zero bytes after its last complete record, as a \
             power cut can leave it: open should drop them as a torn tail, but it failed: {err}"
        ),
    };
    for (key, expected) in &model {
        assert_eq!(
            get(&store, key).as_ref(),
            Some(expected),
            "{key:?} was written before the zero-filled tail and must be intact"
        );
    }
    set(&mut store, "next", "written after recovery");
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        get(&store, "next").as_deref(),
        Some("written after recovery"),
        "a write made after dropping the zero-filled tail must survive a reopen: were the zeros \
         cut off the file before new records were appended?"
    );
}
