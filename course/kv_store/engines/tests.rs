//! Stage `engines`: one `KvsEngine` trait implemented by `KvStore` and `LogStore`, used through
//! generics and through `Box<dyn KvsEngine>`, and an engine chosen at run time by name.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use kv_store::{Command, EngineKind, KvStore, KvsEngine, LogStore, Reply, open_engine};
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

fn open_log(dir: &Path) -> LogStore {
    match LogStore::open(dir) {
        Ok(store) => store,
        Err(err) => panic!("LogStore::open({}) failed: {err}", dir.display()),
    }
}

fn open_kind(kind: EngineKind, dir: &Path) -> Box<dyn KvsEngine> {
    match open_engine(kind, dir) {
        Ok(engine) => engine,
        Err(err) => panic!("open_engine({kind:?}, {}) failed: {err}", dir.display()),
    }
}

fn parse_kind(name: &str) -> EngineKind {
    match name.parse::<EngineKind>() {
        Ok(kind) => kind,
        Err(err) => panic!("{name:?} names an engine but parsing it failed: {err}"),
    }
}

/// Checks the basic contract through the trait only. Generic: compiled once per engine type.
fn check_contract<E: KvsEngine>(engine: &mut E, name: &str) {
    let get = |engine: &E, key: &str| match engine.get(key) {
        Ok(value) => value,
        Err(err) => panic!("{name}: get({key:?}) failed: {err}"),
    };
    assert_eq!(
        get(engine, "a"),
        None,
        "{name}: a fresh engine has no \"a\""
    );
    if let Err(err) = engine.set(s("a"), s("1")) {
        panic!("{name}: set(\"a\", \"1\") failed: {err}");
    }
    if let Err(err) = engine.set(s("a"), s("2")) {
        panic!("{name}: set(\"a\", \"2\") failed: {err}");
    }
    assert_eq!(
        get(engine, "a"),
        Some(s("2")),
        "{name}: through the trait, get(\"a\") after setting \"1\" then \"2\" should be \"2\""
    );
    match engine.remove("a") {
        Ok(old) => assert_eq!(
            old,
            Some(s("2")),
            "{name}: through the trait, remove(\"a\") should return the old value \"2\""
        ),
        Err(err) => panic!("{name}: remove(\"a\") failed: {err}"),
    }
    match engine.remove("a") {
        Ok(old) => assert_eq!(
            old, None,
            "{name}: removing a key with no value should return Ok(None)"
        ),
        Err(err) => panic!("{name}: the second remove(\"a\") failed: {err}"),
    }
    assert_eq!(get(engine, "a"), None, "{name}: \"a\" is gone after remove");
}

#[test]
fn both_stores_implement_the_trait() {
    let dir = temp_dir();
    check_contract(&mut KvStore::new(), "KvStore");
    check_contract(&mut open_log(dir.path()), "LogStore");
}

/// Takes any engine by value: with `E = Box<dyn KvsEngine>` this needs the box itself to be an
/// engine.
fn fill<E: KvsEngine>(mut engine: E, name: &str) -> E {
    for i in 0..10 {
        if let Err(err) = engine.set(format!("key-{i}"), format!("value-{i}")) {
            panic!("{name}: set(key-{i}) failed: {err}");
        }
    }
    engine
}

#[test]
fn a_boxed_engine_is_an_engine() {
    let dir = temp_dir();
    let boxed: Box<dyn KvsEngine> = Box::new(open_log(dir.path()));
    let boxed = fill(boxed, "Box<dyn KvsEngine>");
    match boxed.get("key-9") {
        Ok(value) => assert_eq!(
            value,
            Some(s("value-9")),
            "a Box<dyn KvsEngine> filled through a generic function should hold key-9"
        ),
        Err(err) => panic!("get(key-9) on the boxed engine failed: {err}"),
    }
}

#[test]
fn engines_of_different_types_share_one_vec() {
    let dir = temp_dir();
    let mut engines: Vec<(&str, Box<dyn KvsEngine>)> = vec![
        ("KvStore", Box::new(KvStore::new())),
        ("LogStore", Box::new(open_log(dir.path()))),
    ];
    for (name, engine) in &mut engines {
        check_contract(engine, name);
        if let Err(err) = engine.set(s("shared"), format!("written by {name}")) {
            panic!("{name}: set(shared) failed: {err}");
        }
    }
    for (name, engine) in &engines {
        match engine.get("shared") {
            Ok(value) => assert_eq!(
                value,
                Some(format!("written by {name}")),
                "each engine in the Vec keeps its own data: {name} should hold its own value"
            ),
            Err(err) => panic!("{name}: get(shared) failed: {err}"),
        }
    }
}

#[test]
fn a_dyn_reference_accepts_either_store() {
    fn use_dyn(engine: &mut dyn KvsEngine, value: &str) -> Option<String> {
        if let Err(err) = engine.set(s("k"), s(value)) {
            panic!("set through &mut dyn KvsEngine failed: {err}");
        }
        match engine.get("k") {
            Ok(value) => value,
            Err(err) => panic!("get through &dyn KvsEngine failed: {err}"),
        }
    }
    let dir = temp_dir();
    let mut memory = KvStore::new();
    let mut log = open_log(dir.path());
    assert_eq!(
        use_dyn(&mut memory, "m"),
        Some(s("m")),
        "a KvStore used as &mut dyn KvsEngine should store the value"
    );
    assert_eq!(
        use_dyn(&mut log, "l"),
        Some(s("l")),
        "a LogStore used as &mut dyn KvsEngine should store the value"
    );
}

/// Runs commands through the trait's `execute` and checks the replies.
fn check_execute<E: KvsEngine + ?Sized>(engine: &mut E, name: &str) {
    let script = [
        ("GET k", Reply::Nil),
        ("SET k hello world", Reply::Ok),
        ("GET k", Reply::Value(s("hello world"))),
        ("DEL k", Reply::Deleted(1)),
        ("DEL k", Reply::Deleted(0)),
        ("GET k", Reply::Nil),
    ];
    for (line, expected) in script {
        let command: Command = match line.parse() {
            Ok(command) => command,
            Err(err) => panic!("{line:?} should parse: {err}"),
        };
        match KvsEngine::execute(engine, command) {
            Ok(reply) => assert_eq!(
                reply, expected,
                "{name}: executing {line:?} through KvsEngine::execute should reply {expected:?}"
            ),
            Err(err) => panic!("{name}: executing {line:?} failed: {err}"),
        }
    }
}

#[test]
fn every_engine_executes_commands() {
    let dir = temp_dir();
    check_execute(&mut KvStore::new(), "KvStore");
    check_execute(&mut open_log(dir.path()), "LogStore");
    let other = temp_dir();
    let mut boxed = open_kind(EngineKind::Log, other.path());
    check_execute(&mut *boxed, "Box<dyn KvsEngine> (log)");
}

#[test]
fn the_inherent_execute_of_kvstore_still_works() {
    let mut store = KvStore::new();
    let reply = store.execute(Command::Set {
        key: s("a"),
        value: s("1"),
    });
    assert_eq!(
        reply,
        Reply::Ok,
        "KvStore::execute from the commands stage keeps its signature and returns a bare Reply"
    );
}

#[test]
fn engine_names_parse_and_display() {
    for (name, kind) in [("memory", EngineKind::Memory), ("log", EngineKind::Log)] {
        assert_eq!(
            parse_kind(name),
            kind,
            "{name:?} should parse as EngineKind::{kind:?}"
        );
        assert_eq!(
            kind.to_string(),
            name,
            "EngineKind::{kind:?} should display as {name:?}, the name that parses back to it"
        );
    }
}

#[test]
fn an_unknown_engine_name_is_an_error_that_names_it() {
    // Names are exact: no case folding, no prefixes...
    for name in ["sled", "logs", "Log", "MEMORY", "mem"] {
        match name.parse::<EngineKind>() {
            Ok(kind) => panic!("{name:?} is not an engine name but parsed as {kind:?}"),
            Err(err) => {
                let message = err.to_string();
                assert!(
                    message.contains(name),
                    "the error for the unknown engine {name:?} should name it, but was {message:?}"
                );
            }
        }
    }
    // ... and no trimming: whitespace is part of the name, and the empty name is no name.
    for name in [" log", "log\n", "memory ", ""] {
        if let Ok(kind) = name.parse::<EngineKind>() {
            panic!("{name:?} is not an engine name (names are exact) but parsed as {kind:?}");
        }
    }
}

#[test]
fn the_log_engine_chosen_at_run_time_persists() {
    let dir = temp_dir();
    let mut engine = open_kind(parse_kind("log"), dir.path());
    if let Err(err) = engine.set(s("a"), s("1")) {
        panic!("set on the log engine failed: {err}");
    }
    drop(engine);
    let engine = open_kind(EngineKind::Log, dir.path());
    match engine.get("a") {
        Ok(value) => assert_eq!(
            value,
            Some(s("1")),
            "open_engine(Log, dir) should open a LogStore: after reopening, \"a\" should be \"1\""
        ),
        Err(err) => panic!("get on the reopened log engine failed: {err}"),
    }
    let store = open_log(dir.path());
    assert_eq!(
        store.get("a").ok().flatten(),
        Some(s("1")),
        "the log engine and LogStore::open on the same directory should be the same store"
    );
}

#[test]
fn the_memory_engine_chosen_at_run_time_does_not_persist() {
    let dir = temp_dir();
    let store_dir = dir.path().join("memory-store");
    let mut engine = open_kind(parse_kind("memory"), &store_dir);
    if let Err(err) = engine.set(s("a"), s("1")) {
        panic!("set on the memory engine failed: {err}");
    }
    match engine.get("a") {
        Ok(value) => assert_eq!(value, Some(s("1")), "the memory engine holds \"a\""),
        Err(err) => panic!("get on the memory engine failed: {err}"),
    }
    drop(engine);
    let engine = open_kind(EngineKind::Memory, &store_dir);
    match engine.get("a") {
        Ok(value) => assert_eq!(
            value, None,
            "a new memory engine starts empty, even with the same directory: open_engine(Memory, \
             ..) should create a KvStore, not open a LogStore"
        ),
        Err(err) => panic!("get on the new memory engine failed: {err}"),
    }
    let files = fs::read_dir(&store_dir)
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert_eq!(
        files, 0,
        "the memory engine should not write anything to the directory it was given"
    );
    assert!(
        !store_dir.exists(),
        "open_engine(Memory, dir) should not touch dir at all, but {} was created: only the log \
         engine needs a directory",
        store_dir.display()
    );
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

/// Runs the same seeded workload on any engine and returns every reply, in order.
fn run_workload<E: KvsEngine + ?Sized>(engine: &mut E, name: &str) -> Vec<Reply> {
    let mut rng = Rng(0xe461_9e55_0000_0004);
    let mut replies = Vec::new();
    for step in 0..2_000 {
        let key = format!("k{}", rng.below(30));
        let command = match rng.below(3) {
            0 => Command::Set {
                key,
                value: format!("v{step}"),
            },
            1 => Command::Get { key },
            _ => Command::Del { key },
        };
        match engine.execute(command.clone()) {
            Ok(reply) => replies.push(reply),
            Err(err) => panic!("{name}: step {step}: {command} failed: {err}"),
        }
    }
    replies
}

#[test]
fn all_engines_give_the_same_replies_as_a_model() {
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    let mut rng = Rng(0xe461_9e55_0000_0004);
    let mut expected = Vec::new();
    for step in 0..2_000 {
        let key = format!("k{}", rng.below(30));
        expected.push(match rng.below(3) {
            0 => {
                model.insert(key, format!("v{step}"));
                Reply::Ok
            }
            1 => model.get(&key).cloned().map_or(Reply::Nil, Reply::Value),
            _ => Reply::Deleted(u64::from(model.remove(&key).is_some())),
        });
    }

    let dir = temp_dir();
    let mut memory = KvStore::new();
    let mut log = open_log(dir.path());
    let other = temp_dir();
    let mut boxed = open_kind(EngineKind::Log, other.path());
    let runs = [
        ("KvStore", run_workload(&mut memory, "KvStore")),
        ("LogStore", run_workload(&mut log, "LogStore")),
        ("Box<dyn KvsEngine>", run_workload(&mut *boxed, "Box<dyn>")),
    ];
    for (name, replies) in runs {
        for (step, (got, want)) in replies.iter().zip(&expected).enumerate() {
            assert_eq!(
                got, want,
                "{name}: at step {step} of the seeded workload the reply was {got:?} but a \
                 reference map gives {want:?}"
            );
        }
    }
}
