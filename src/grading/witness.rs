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
#[error(
    "cannot add katas' results witness to the trusted tests of `{stage}`: the test `{test}` has no body (`{{`) after its signature"
)]
pub struct WitnessError {
    stage: String,
    test: String,
}

/// The trusted text of a stage's tests with a witness opening each test's body. `tests` are the
/// stage's test function names, in the order the text has them (as `test_functions` finds them).
pub fn witnessed(stage: &str, source: &str, tests: &[String]) -> Result<String, WitnessError> {
    let mut out = String::with_capacity(source.len() + tests.len() * 96);
    let mut rest = source;
    for test in tests {
        let missing = || WitnessError {
            stage: stage.to_owned(),
            test: test.clone(),
        };
        let at = find_fn(rest, test).ok_or_else(missing)?;
        let open = rest[at..].find('{').map(|i| at + i).ok_or_else(missing)?;
        out.push_str(&rest[..=open]);
        out.push_str(&format!(
            " let _katas_witness = crate::{MODULE}::Witness::new(\"{stage}::{test}\");"
        ));
        rest = &rest[open + 1..];
    }
    out.push_str(rest);
    Ok(out)
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
    fn records_are_counted() {
        let counts = read("memory::a\nmemory::b\nmemory::a\n");
        assert_eq!(counts["memory::a"], 2);
        assert_eq!(counts["memory::b"], 1);
    }
}
