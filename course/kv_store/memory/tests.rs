//! Stage `memory`: an in-memory store with `new`, `set`, `get` and `remove`.

use std::collections::BTreeMap;

use kv_store::KvStore;

/// Shorthand for an owned `String`, so the tests read like the data they use.
fn s(text: &str) -> String {
    text.to_owned()
}

#[test]
fn a_new_store_is_empty() {
    let store = KvStore::new();
    assert_eq!(
        store.get("a"),
        None,
        "a new store should have no value for \"a\", but get returned one: does `new` start empty?"
    );
}

#[test]
fn default_is_an_empty_store() {
    let store = KvStore::default();
    assert_eq!(
        store.get("a"),
        None,
        "KvStore::default() should be an empty store like KvStore::new(), but \"a\" had a value"
    );
}

#[test]
fn get_returns_what_set_stored() {
    let mut store = KvStore::new();
    store.set(s("a"), s("1"));
    assert_eq!(
        store.get("a"),
        Some(s("1")),
        "after set(\"a\", \"1\"), get(\"a\") should be Some(\"1\")"
    );
}

#[test]
fn set_overwrites_the_previous_value() {
    let mut store = KvStore::new();
    store.set(s("a"), s("1"));
    store.set(s("a"), s("2"));
    store.set(s("a"), s("3"));
    assert_eq!(
        store.get("a"),
        Some(s("3")),
        "after setting \"a\" to \"1\", \"2\" and then \"3\", get should return the last value \
         \"3\": does set replace an existing value, or keep the first one?"
    );
}

#[test]
fn remove_returns_the_old_value() {
    let mut store = KvStore::new();
    store.set(s("a"), s("1"));
    assert_eq!(
        store.remove("a"),
        Some(s("1")),
        "remove(\"a\") should return the value \"a\" had (Some(\"1\"))"
    );
    assert_eq!(
        store.get("a"),
        None,
        "after remove(\"a\"), get(\"a\") should be None: was the key really removed?"
    );
}

#[test]
fn remove_of_a_missing_key_returns_none() {
    let mut store = KvStore::new();
    assert_eq!(
        store.remove("never-set"),
        None,
        "removing a key that was never set should return None"
    );
    store.set(s("a"), s("1"));
    assert_eq!(
        store.remove("a"),
        Some(s("1")),
        "the first remove of \"a\" returns its value"
    );
    assert_eq!(
        store.remove("a"),
        None,
        "a second remove of \"a\" should return None: the first remove already took the value"
    );
}

#[test]
fn remove_after_overwrites_removes_the_key_completely() {
    let mut store = KvStore::new();
    store.set(s("a"), s("1"));
    store.set(s("a"), s("2"));
    assert_eq!(
        store.remove("a"),
        Some(s("2")),
        "after setting \"a\" to \"1\" then \"2\", remove should return the current value \"2\""
    );
    assert_eq!(
        store.get("a"),
        None,
        "after remove(\"a\"), get(\"a\") should be None, but an older value came back: does the \
         store keep more than one value per key?"
    );
}

#[test]
fn a_removed_key_can_be_set_again() {
    let mut store = KvStore::new();
    store.set(s("a"), s("1"));
    store.remove("a");
    store.set(s("a"), s("2"));
    assert_eq!(
        store.get("a"),
        Some(s("2")),
        "a key set again after remove should have its new value \"2\""
    );
}

#[test]
fn keys_are_independent() {
    let mut store = KvStore::new();
    store.set(s("a"), s("1"));
    store.set(s("b"), s("2"));
    store.set(s("c"), s("3"));
    store.set(s("b"), s("22"));
    assert_eq!(
        store.remove("a"),
        Some(s("1")),
        "remove(\"a\") should return \"1\""
    );
    assert_eq!(
        store.get("b"),
        Some(s("22")),
        "\"b\" should still be \"22\" after \"a\" was removed: an operation on one key must not \
         touch another"
    );
    assert_eq!(
        store.get("c"),
        Some(s("3")),
        "\"c\" should still be \"3\": an operation on one key must not touch another"
    );
}

#[test]
fn keys_are_compared_exactly() {
    let mut store = KvStore::new();
    store.set(s("key"), s("lower"));
    store.set(s("KEY"), s("upper"));
    store.set(s("key "), s("trailing space"));
    assert_eq!(
        store.get("key"),
        Some(s("lower")),
        "\"key\" should be \"lower\": keys are case-sensitive and exact"
    );
    assert_eq!(
        store.get("KEY"),
        Some(s("upper")),
        "\"KEY\" should be \"upper\": keys are case-sensitive, \"KEY\" and \"key\" are different"
    );
    assert_eq!(
        store.get("key "),
        Some(s("trailing space")),
        "\"key \" (with a trailing space) is a key of its own and should be \"trailing space\""
    );
    assert_eq!(
        store.get("ke"),
        None,
        "\"ke\" was never set: a prefix is not a match"
    );
    // No fallback either: a key that was never set has no value, whatever its case.
    assert_eq!(
        store.get("Key"),
        None,
        "\"Key\" was never set (only \"key\" and \"KEY\"), so get(\"Key\") should be None: \
         does get fall back to a case-insensitive match when the exact key is missing?"
    );
    assert_eq!(
        store.remove("kEY"),
        None,
        "\"kEY\" was never set, so remove(\"kEY\") should be None and remove nothing"
    );
    assert_eq!(
        (store.get("key"), store.get("KEY")),
        (Some(s("lower")), Some(s("upper"))),
        "removing a key that was never set must leave \"key\" and \"KEY\" as they were"
    );
}

#[test]
fn empty_and_unicode_strings_are_ordinary_keys_and_values() {
    let mut store = KvStore::new();
    store.set(s(""), s("empty key"));
    store.set(s("empty value"), s(""));
    store.set(s("clé 🔑"), s("valeur\nsur deux lignes"));
    assert_eq!(
        store.get(""),
        Some(s("empty key")),
        "the empty string is a valid key and should map to \"empty key\""
    );
    assert_eq!(
        store.get("empty value"),
        Some(s("")),
        "a key set to the empty string should return Some(\"\"), not None: an empty value is \
         still a value"
    );
    assert_eq!(
        store.get("clé 🔑"),
        Some(s("valeur\nsur deux lignes")),
        "unicode keys and values with newlines should come back unchanged"
    );
}

#[test]
fn get_returns_an_owned_copy() {
    let mut store = KvStore::new();
    store.set(s("a"), s("1"));
    let before = store.get("a");
    store.set(s("a"), s("2"));
    assert_eq!(
        before,
        Some(s("1")),
        "a value returned by get is the caller's own copy: a later set must not change it"
    );
    assert_eq!(
        store.get("a"),
        Some(s("2")),
        "the store itself now holds \"2\""
    );
}

#[test]
fn ten_thousand_keys() {
    let mut store = KvStore::new();
    for i in 0..10_000 {
        store.set(format!("key-{i}"), format!("value-{i}"));
    }
    for i in 0..10_000 {
        let key = format!("key-{i}");
        assert_eq!(
            store.get(&key),
            Some(format!("value-{i}")),
            "after setting 10,000 keys, {key:?} should be \"value-{i}\""
        );
    }
}

/// A tiny deterministic pseudo-random generator (xorshift64), so the mixed workload below is the
/// same on every run.
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
fn a_seeded_mix_of_operations_matches_a_model() {
    let mut store = KvStore::new();
    let mut model: BTreeMap<String, String> = BTreeMap::new();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for step in 0..20_000 {
        let key = format!("k{}", rng.below(50));
        match rng.below(3) {
            0 => {
                let value = format!("v{step}");
                store.set(key.clone(), value.clone());
                model.insert(key, value);
            }
            1 => {
                let expected = model.get(&key).cloned();
                let got = store.get(&key);
                assert_eq!(
                    got, expected,
                    "step {step}: get({key:?}) returned {got:?} but the last write left {expected:?}"
                );
            }
            _ => {
                let expected = model.remove(&key);
                let got = store.remove(&key);
                assert_eq!(
                    got, expected,
                    "step {step}: remove({key:?}) returned {got:?} but the key held {expected:?}"
                );
            }
        }
    }
}
