//! JUnit XML for CI systems and classroom autograders: one test suite per stage.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::verify::strip;
use super::{StageStatus, VerifyReport};
use crate::runner::TestStatus;

/// What the report says it was graded against, in one line.
fn reference_text(report: &VerifyReport) -> String {
    let reference = &report.reference;
    let kind = serde_json::to_value(&reference.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    match &reference.path {
        Some(path) => format!("{} ({kind}: {path})", reference.course),
        None => format!("{} ({kind})", reference.course),
    }
}

/// The report as JUnit XML. A tampered stage carries an `integrity` failure; a stage that did not
/// compile or could not run, a `build` error, so a CI page shows why at a glance.
pub fn to_junit(report: &VerifyReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new("katas verify");
    for stage in &report.stages {
        let name = format!("{}/{}", stage.track, stage.stage);
        let classname = format!("{}.{}", stage.track, stage.stage);
        let mut suite = TestSuite::new(name);
        suite.set_time(Duration::from_millis(stage.duration_ms));
        suite.add_property(Property::new("reference", reference_text(report)));
        suite.add_property(Property::new(
            "sandboxed",
            if report.sandboxed { "true" } else { "false" },
        ));
        if stage.status == StageStatus::Tampered {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message("the learner changed this stage's tests")
                .set_type("tampered");
            if let Some(reason) = &stage.reason {
                status.set_description(reason.as_str());
            }
            suite.add_test_case(case("integrity", &classname, status));
        }
        if stage.tests.is_empty() && stage.status != StageStatus::Passed {
            let kind = if stage.status == StageStatus::Error {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            status
                .set_message("the stage's tests did not run")
                .set_type("build");
            if let Some(reason) = &stage.reason {
                status.set_description(strip(reason));
            }
            suite.add_test_case(case("build", &classname, status));
        }
        for test in &stage.tests {
            let function = test.name.rsplit("::").next().unwrap_or(&test.name);
            let status = match test.status {
                TestStatus::Passed => TestCaseStatus::success(),
                TestStatus::Ignored => TestCaseStatus::skipped(),
                TestStatus::Failed | TestStatus::DidNotFinish => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let message = if test.status == TestStatus::Failed {
                        "test failed"
                    } else {
                        "did not finish (time limit)"
                    };
                    status
                        .set_message(message)
                        .set_description(strip(&test.output));
                    status
                }
            };
            suite.add_test_case(case(function, &classname, status));
        }
        junit.add_test_suite(suite);
    }
    junit.to_string()
}

fn case(name: &str, classname: &str, status: TestCaseStatus) -> TestCase {
    let mut case = TestCase::new(name, status);
    case.set_classname(classname);
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classroom::StageVerdict;
    use crate::runner::TestResult;

    fn verdict(
        stage: &str,
        status: StageStatus,
        tests: Vec<TestResult>,
        reason: Option<&str>,
    ) -> StageVerdict {
        StageVerdict {
            track: "kv_store".into(),
            stage: stage.into(),
            status,
            tests_passed: 0,
            tests_failed: 0,
            duration_ms: 1500,
            reason: reason.map(str::to_owned),
            tests,
        }
    }

    #[test]
    fn one_suite_per_stage_with_failures_and_tampering() {
        let ok = TestResult {
            name: "memory::set_get".into(),
            status: TestStatus::Passed,
            output: String::new(),
        };
        let bad = TestResult {
            name: "log::reopen".into(),
            status: TestStatus::Failed,
            output: "left: 1 <right: 2>".into(),
        };
        let report = VerifyReport {
            stages: vec![
                verdict(
                    "memory",
                    StageStatus::Tampered,
                    vec![ok],
                    Some("changed memory.rs"),
                ),
                verdict("log", StageStatus::Failed, vec![bad], None),
                verdict(
                    "engines",
                    StageStatus::Failed,
                    vec![],
                    Some("\u{1b}[1merror[E0425]\u{1b}[0m"),
                ),
            ],
            passed: 0,
            failed: 3,
            reference: crate::classroom::ReferenceInfo {
                kind: crate::classroom::ReferenceKind::Directory,
                course: "Course".into(),
                path: Some("/teacher/course".into()),
                trusted: true,
            },
            sandboxed: true,
        };
        let xml = to_junit(&report).unwrap();
        assert!(
            xml.contains(r#"name="reference" value="Course (directory: /teacher/course)""#),
            "the reference is named: {xml}"
        );
        assert_eq!(xml.matches("<testsuite ").count(), 3, "{xml}");
        assert!(xml.contains(r#"name="kv_store/memory""#), "{xml}");
        assert!(xml.contains(r#"type="tampered""#), "{xml}");
        assert!(
            xml.contains("left: 1 &lt;right: 2&gt;"),
            "output is escaped: {xml}"
        );
        assert!(
            xml.contains("error[E0425]") && !xml.contains('\u{1b}'),
            "colours stripped: {xml}"
        );
        assert!(xml.contains(r#"classname="kv_store.log""#), "{xml}");
    }
}
