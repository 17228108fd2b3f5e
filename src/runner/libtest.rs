//! Reading the output of a libtest test binary: the list of tests, each result, each failure's
//! own output.
//!
//! libtest's JSON format is nightly-only, so this reads the stable human format, which is
//! line-oriented and stable in practice: `test NAME ... ok|FAILED|ignored`, then a `failures:`
//! section with a `---- NAME stdout ----` block per failed test.

use std::collections::BTreeMap;

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    Passed,
    Failed,
    Ignored,
    /// Listed, but no result was printed: the run was killed (time limit) or exited early.
    DidNotFinish,
}

/// One test's result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestResult {
    /// The full name, e.g. `memory::get_after_set`.
    pub name: String,
    pub status: TestStatus,
    /// What the test printed and its panic message (failed tests only).
    pub output: String,
}

impl TestResult {
    /// The stage a test belongs to: its first path segment (the stage's module).
    pub fn stage(&self) -> &str {
        self.name.split("::").next().unwrap_or_default()
    }

    /// The test's own function name: its last path segment.
    pub fn function(&self) -> &str {
        self.name.rsplit("::").next().unwrap_or_default()
    }
}

/// Reads `--list --format terse` output: `name: test` lines.
pub fn parse_list(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

/// Reads a test run's stdout. Tests in `listed` with no printed result are `DidNotFinish`, so a
/// run that was killed, or exited early, never looks like a pass.
pub fn parse_run(output: &str, listed: &[String]) -> Vec<TestResult> {
    let mut status: BTreeMap<&str, TestStatus> = BTreeMap::new();
    for line in output.lines() {
        let Some(rest) = line.strip_prefix("test ") else {
            continue;
        };
        let Some((name, result)) = rest.rsplit_once(" ... ") else {
            continue;
        };
        let result = match result.trim() {
            "ok" => TestStatus::Passed,
            "FAILED" => TestStatus::Failed,
            r if r.starts_with("ignored") => TestStatus::Ignored,
            _ => continue,
        };
        status.insert(name, result);
    }
    let outputs = failure_outputs(output);
    let mut names: Vec<&str> = listed.iter().map(String::as_str).collect();
    names.extend(
        status
            .keys()
            .filter(|name| !listed.iter().any(|l| l == *name)),
    );
    names
        .into_iter()
        .map(|name| TestResult {
            name: name.to_owned(),
            status: status
                .get(name)
                .copied()
                .unwrap_or(TestStatus::DidNotFinish),
            output: outputs
                .get(name)
                .map(|s| s.trim_end().to_owned())
                .unwrap_or_default(),
        })
        .collect()
}

/// The `---- NAME stdout ----` blocks of the failures section.
fn failure_outputs(output: &str) -> BTreeMap<&str, String> {
    let mut blocks = BTreeMap::new();
    let mut current: Option<(&str, String)> = None;
    for line in output.lines() {
        let header = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"));
        if header.is_some() || line == "failures:" || line.starts_with("test result:") {
            if let Some((name, text)) = current.take() {
                blocks.insert(name, text);
            }
            current = header.map(|name| (name, String::new()));
            continue;
        }
        if let Some((_, text)) = &mut current {
            text.push_str(line);
            text.push('\n');
        }
    }
    if let Some((name, text)) = current {
        blocks.insert(name, text);
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from a real test binary (cargo 1.95): one pass, two failures, one ignored.
    const FAILED_RUN: &str = include_str!("testdata/libtest_failed.txt");
    const LIST: &str = include_str!("testdata/libtest_list.txt");

    #[test]
    fn the_list_names_every_test() {
        assert_eq!(
            parse_list(LIST),
            [
                "memory::fails_with_message",
                "memory::ignored",
                "memory::panics",
                "memory::passes"
            ]
        );
    }

    #[test]
    fn each_result_and_failure_output_is_read() {
        let results = parse_run(FAILED_RUN, &parse_list(LIST));
        let by_name = |n: &str| results.iter().find(|r| r.name == n).unwrap();
        assert_eq!(by_name("memory::passes").status, TestStatus::Passed);
        assert_eq!(by_name("memory::ignored").status, TestStatus::Ignored);
        assert_eq!(by_name("memory::panics").status, TestStatus::Failed);
        let failed = by_name("memory::fails_with_message");
        assert_eq!(failed.status, TestStatus::Failed);
        assert!(
            failed.output.starts_with("some output"),
            "{}",
            failed.output
        );
        assert!(
            failed.output.contains("length of \"ab\""),
            "{}",
            failed.output
        );
        assert!(
            !failed.output.contains("---- memory::panics"),
            "blocks do not run together"
        );
        assert!(by_name("memory::panics").output.contains("boom"));
        assert_eq!(failed.stage(), "memory");
        assert_eq!(failed.function(), "fails_with_message");
    }

    #[test]
    fn listed_tests_without_a_result_did_not_finish() {
        let listed = vec!["memory::fast".to_owned(), "memory::hangs".to_owned()];
        let output = "\nrunning 2 tests\ntest memory::fast ... ok\n";
        let results = parse_run(output, &listed);
        assert_eq!(results[0].status, TestStatus::Passed);
        assert_eq!(results[1].status, TestStatus::DidNotFinish);
    }
}
