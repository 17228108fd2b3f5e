//! The results channel of a graded run: each trusted test records that it ran to its end.
//!
//! A test binary's output is shared with the learner's code, which can print `test x ... ok`
//! lines and exit, so grading never takes results from it. Instead, in the graded copy only,
//! every trusted test's body opens with a witness from a module katas writes into the *test*
//! crate (`tests/stages/katas_witness.rs`). When the body returns without panicking, the witness
//! appends the test's name to a results file that katas created and holds open.
//!
//! Why the learner's code cannot forge a record:
//! - it lives in the library crate, which cannot name the test crate's witness module;
//! - the witness opens the results file by its path and unlinks it before any test body, and so
//!   any learner code, has run; katas reads its own descriptor afterwards;
//! - the graded crate forbids `unsafe` (in the trusted manifest's `[lints]`), which rules out
//!   code before `main` (`link_section`, `global_asm!`) and writing to raw descriptors;
//! - in the sandbox the test run has no `/proc`, so `/proc/self/fd` and `/proc/self/mem` are not
//!   there to reach the descriptor or the witness's memory.
//!
//! An early `exit`, an `abort`, a signal, a hang or a panic leaves no record, so it is never a
//! pass. What stays possible is code that games the tests from inside (a `PartialEq` that always
//! says equal, code that detects the test); a teacher reads the code for that.

use std::collections::BTreeMap;

/// The environment variable that names the results file.
pub const ENV: &str = "KATAS_WITNESS";

/// The module katas adds to the graded test crate.
pub const MODULE: &str = "katas_witness";

/// The source of the witness module.
pub const MODULE_SOURCE: &str = r#"//! Written by katas for grading: the trusted record of which tests ran to their end.
//! Not part of the course; it exists only in the grader's copy.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static RECORD: OnceLock<Mutex<Option<std::fs::File>>> = OnceLock::new();

/// The results file, opened by its path and unlinked on first use: before any test body runs.
fn record() -> &'static Mutex<Option<std::fs::File>> {
    RECORD.get_or_init(|| {
        let file = std::env::var_os("KATAS_WITNESS").and_then(|path| {
            let file = std::fs::OpenOptions::new().append(true).open(&path).ok();
            let _ = std::fs::remove_file(&path);
            file
        });
        Mutex::new(file)
    })
}

/// Records its test's name when dropped at the end of the test's body, unless it is dropped by
/// a panic.
pub struct Witness(&'static str);

impl Witness {
    pub fn new(test: &'static str) -> Self {
        let _ = record();
        Self(test)
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        if let Ok(mut guard) = record().lock() {
            if let Some(file) = guard.as_mut() {
                let _ = file.write_all(format!("{}\n", self.0).as_bytes());
            }
        }
    }
}
"#;

/// Why a stage's trusted tests could not be given witnesses.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error(
        "cannot add katas' results witness to the trusted tests of `{stage}`: the test `{test}` has no body (`{{`) after its signature"
    )]
    NoBody { stage: String, test: String },
    #[error(
        "cannot add katas' results witness to the trusted tests of `{stage}`: its `proptest!` block is inside a module or not closed; katas witnesses properties in a `proptest!` at the top level of tests.rs"
    )]
    NestedProptest { stage: String },
}

/// The prefix of a property's function once katas has wrapped it (see [`witnessed`]).
const PROPERTY_PREFIX: &str = "katas_property_";

/// The trusted text of a stage's tests with a witness opening each test's body. `tests` are the
/// stage's test function names, in the order the text has them (as `test_functions` finds them).
///
/// A property test in a `proptest!` block runs its body once per generated case, so a witness in
/// the body would record every passing case, even when a later case fails. Such a test is
/// renamed, loses its `#[test]` (proptest then makes it a plain function that runs the whole
/// property), and a `#[test]` of the original name is appended that opens a witness and calls it:
/// one record for the whole property, and none if any case fails.
pub fn witnessed(stage: &str, source: &str, tests: &[String]) -> Result<String, WitnessError> {
    let blocks = proptest_blocks(source).ok_or_else(|| WitnessError::NestedProptest {
        stage: stage.to_owned(),
    })?;
    // (position, bytes removed, text inserted), applied from the end.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut wrappers = String::new();
    let mut from = 0;
    let mut previous_end = 0;
    for test in tests {
        let no_body = || WitnessError::NoBody {
            stage: stage.to_owned(),
            test: test.clone(),
        };
        let at = find_fn(&source[from..], test)
            .map(|i| from + i)
            .ok_or_else(no_body)?;
        let open = source[at..].find('{').map(|i| at + i).ok_or_else(no_body)?;
        if blocks.iter().any(|block| block.contains(&at)) {
            let attribute = source[previous_end..at]
                .rfind("#[test]")
                .map(|i| previous_end + i)
                .ok_or_else(no_body)?;
            edits.push((attribute, "#[test]".len(), String::new()));
            edits.push((at + "fn ".len(), 0, PROPERTY_PREFIX.to_owned()));
            wrappers.push_str(&format!(
                "\n#[test]\nfn {test}() {{ let _katas_witness = crate::{MODULE}::Witness::new(\"{stage}::{test}\"); {PROPERTY_PREFIX}{test}(); }}\n"
            ));
        } else {
            edits.push((
                open + 1,
                0,
                format!(
                    " let _katas_witness = crate::{MODULE}::Witness::new(\"{stage}::{test}\");"
                ),
            ));
        }
        from = open + 1;
        previous_end = open + 1;
    }
    let mut out = source.to_owned();
    edits.sort_by_key(|(at, _, _)| std::cmp::Reverse(*at));
    for (at, remove, insert) in edits {
        out.replace_range(at..at + remove, &insert);
    }
    out.push_str(&wrappers);
    Ok(out)
}

/// The byte ranges of the `proptest! { ... }` blocks of a file, all at its top level; `None` when
/// one is nested in a module (or not closed), which [`witnessed`] cannot wrap.
fn proptest_blocks(source: &str) -> Option<Vec<std::ops::Range<usize>>> {
    let depths = brace_depths(source);
    let mut blocks = Vec::new();
    let mut from = 0;
    while let Some(i) = source[from..].find("proptest!") {
        let at = from + i;
        let open = at + source[at..].find('{')?;
        if depths.get(at).copied().unwrap_or(0) != 0 {
            return None;
        }
        let close = (open + 1..source.len())
            .find(|&j| source.as_bytes()[j] == b'}' && depths.get(j).copied() == Some(1))?;
        blocks.push(open..close);
        from = close;
    }
    Some(blocks)
}

/// The brace depth at each byte of `source`, skipping braces in comments, strings and chars.
fn brace_depths(source: &str) -> Vec<usize> {
    let bytes = source.as_bytes();
    let mut depths = vec![0; bytes.len()];
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        depths[i] = depth;
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    depths[i] = depth;
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    depths[i] = depth;
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    depths[i] = depth;
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => {
                depths[i + 1] = depth;
                i += 2;
            }
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                depths[i] = depth + 1;
            }
            _ => {}
        }
        i += 1;
    }
    depths
}

/// The position of `fn NAME` (as a whole word) in `text`.
fn find_fn(text: &str, name: &str) -> Option<usize> {
    let needle = format!("fn {name}");
    let mut from = 0;
    while let Some(i) = text[from..].find(&needle) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        let after = text[at + needle.len()..].chars().next();
        let word_start = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let word_end = after.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if word_start && word_end {
            return Some(at);
        }
        from = at + needle.len();
    }
    None
}

/// How often each test recorded itself, from the results file's text.
pub fn read(records: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in records.lines().filter(|l| !l.is_empty()) {
        *counts.entry(line.to_owned()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTS: &str = r#"use kv::Store;

fn helper_fn_starts_at_zero() -> Store { Store::new() }

#[test]
fn starts_at_zero() {
    assert_eq!(helper_fn_starts_at_zero().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn serves(
    // a comment
) {
    let x = 1;
}
"#;

    #[test]
    fn each_test_body_opens_with_its_witness() {
        let tests = vec!["starts_at_zero".to_owned(), "serves".to_owned()];
        let out = witnessed("memory", TESTS, &tests).unwrap();
        assert!(out.contains(
            "fn starts_at_zero() { let _katas_witness = crate::katas_witness::Witness::new(\"memory::starts_at_zero\");"
        ), "{out}");
        assert!(
            out.contains(
                ") { let _katas_witness = crate::katas_witness::Witness::new(\"memory::serves\");"
            ),
            "{out}"
        );
        assert!(
            out.contains("fn helper_fn_starts_at_zero() -> Store { Store::new() }"),
            "a helper whose name contains a test's is left alone: {out}"
        );
        assert_eq!(out.matches("Witness::new").count(), 2);
    }

    #[test]
    fn a_test_that_cannot_be_found_is_an_error() {
        let err = witnessed("memory", "#[test]\nfn x();", &["x".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("`x`"), "{err}");
    }

    #[test]
    fn a_property_is_witnessed_once_around_its_whole_run() {
        let source = r#"use proptest::prelude::*;

#[test]
fn plain() { assert!(true); }

proptest! {
    #![proptest_config(config())]

    #[test]
    fn holds(a in 0..10u8, s in "[a-z{]") {
        prop_assert!(a < 10);
    }
}
"#;
        let tests = vec!["plain".to_owned(), "holds".to_owned()];
        let out = witnessed("crdt", source, &tests).unwrap();
        assert!(out.contains("fn plain() { let _katas_witness"), "{out}");
        assert!(
            out.contains("    fn katas_property_holds(a in 0..10u8"),
            "renamed, its #[test] gone: {out}"
        );
        assert!(
            !out.contains("#[test]\n    fn katas_property_holds"),
            "{out}"
        );
        assert!(
            out.ends_with("#[test]\nfn holds() { let _katas_witness = crate::katas_witness::Witness::new(\"crdt::holds\"); katas_property_holds(); }\n"),
            "{out}"
        );
        assert_eq!(out.matches("Witness::new").count(), 2, "{out}");
    }

    #[test]
    fn a_proptest_inside_a_module_is_refused() {
        let source = "mod inner {\n    proptest! {\n        #[test]\n        fn holds(a in 0..1u8) {}\n    }\n}\n";
        let err = witnessed("s", source, &["holds".to_owned()]).unwrap_err();
        assert!(matches!(err, WitnessError::NestedProptest { .. }), "{err}");
    }

    #[test]
    fn records_are_counted() {
        let counts = read("memory::a\nmemory::b\nmemory::a\n");
        assert_eq!(counts["memory::a"], 2);
        assert_eq!(counts["memory::b"], 1);
    }
}
