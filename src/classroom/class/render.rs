//! The class's grades as a spreadsheet (CSV: a row per learner and stage), as Markdown (a table
//! of learners × stages and the class's numbers, for a job summary or an issue), and as JUnit,
//! one file per learner, for any CI page.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::results::{CellStatus, ClassGrades, LearnerGrades};
use super::stats::{most_hints, stage_stats};
use crate::classroom::merge::printable;
use crate::classroom::table::{Table, number};
use crate::runner::TestStatus;

/// One row per learner and stage, with everything a verdict rests on.
pub fn csv(grades: &ClassGrades) -> String {
    let mut table = Table::new(
        &[
            "learner",
            "source",
            "commit",
            "reference",
            "track",
            "stage",
            "status",
            "tests_passed",
            "tests_failed",
            "duration_ms",
            "cached",
            "reason",
        ],
        &[],
    );
    for learner in &grades.learners {
        for v in &learner.verdicts {
            table.rows.push(vec![
                learner.learner.clone(),
                learner.source.clone(),
                learner.commit.clone().unwrap_or_default(),
                grades.reference.fingerprint.clone(),
                v.track.clone(),
                v.stage.clone(),
                v.status.id().to_owned(),
                v.tests_passed.to_string(),
                v.tests_failed.to_string(),
                v.duration_ms.to_string(),
                learner.cached.to_string(),
                v.reason.as_deref().map(one_line).unwrap_or_default(),
            ]);
        }
    }
    table.csv()
}

/// The class table in Markdown: a mark per learner and stage, the class's numbers below, then
/// where the class needed most hints (self-reported) and the learners who could not be graded.
pub fn markdown(grades: &ClassGrades) -> String {
    let stats = stage_stats(grades);
    let mut headers = vec!["Learner".to_owned(), "Passed".to_owned()];
    headers.extend(stats.iter().map(|s| s.key.clone()));
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut numeric = vec![false, true];
    numeric.extend(stats.iter().map(|_| false));
    let mut table = Table::new(&header_refs, &numeric);
    let total = grades.stages.len();
    for learner in &grades.learners {
        let mut row = vec![
            printable(&learner.learner),
            format!("{}/{total}", learner.passed()),
        ];
        row.extend(learner.verdicts.iter().map(|v| v.status.mark().to_owned()));
        table.rows.push(row);
    }
    let n = grades.learners.len();
    let mut passed = vec!["passed".to_owned(), String::new()];
    passed.extend(
        stats
            .iter()
            .map(|s| format!("{}/{n}", s.count(CellStatus::Passed))),
    );
    let mut attempts = vec!["median attempts¹".to_owned(), String::new()];
    attempts.extend(
        stats
            .iter()
            .map(|s| s.median_attempts.map(number).unwrap_or_else(|| "-".into())),
    );
    let mut hinted = vec!["learners hinted¹".to_owned(), String::new()];
    hinted.extend(stats.iter().map(|s| s.hinted.to_string()));
    table.footer = vec![passed, attempts, hinted];

    let mut out = format!(
        "# {}: class grades\n\nGraded with {} ({}), {}.\n\n",
        grades.course,
        grades.reference.source,
        grades.reference.fingerprint,
        super::html::sandbox_words(grades.sandboxed)
    );
    out.push_str(&table.markdown());
    out.push_str(
        "\n✓ passed, ✗ failed, T tampered (tests edited; graded with the trusted ones), \
         · not reached, ! error.\n\n¹ Self-reported: from the learners' own progress files, \
         never graded.\n",
    );
    let most = most_hints(&stats);
    out.push_str("\n## Where the class needed most hints (self-reported)\n\n");
    if most.is_empty() {
        out.push_str("No learner's progress file shows a hint.\n");
    }
    for (i, s) in most.iter().enumerate() {
        out.push_str(&format!(
            "{}. {} ({}): {} asked for hints ({} rungs), {} took the final nudge; median {} \
             attempts.\n",
            i + 1,
            s.key,
            s.title,
            s.hinted,
            s.hint_rungs,
            s.nudged,
            s.median_attempts.map(number).unwrap_or_else(|| "-".into())
        ));
    }
    out.push_str("\n## The idioms clippy questioned most (self-reported)\n\n");
    let reported: Vec<&Vec<_>> = grades
        .learners
        .iter()
        .filter_map(|l| l.self_reported.as_ref())
        .collect();
    let struggles = crate::classroom::merge::lints::struggles_of(reported.iter().map(|stages| {
        stages
            .iter()
            .map(|s| (s.lints_met.as_slice(), s.lints_fixed.as_slice()))
    }));
    out.push_str(&crate::classroom::merge::lints::render(
        &struggles,
        reported.len(),
        "",
    ));
    out.push_str("\n## Where hints did not help (self-reported)\n\n");
    let misses = crate::classroom::merge::hint_help::misses_of(reported.iter().map(|stages| {
        stages
            .iter()
            .map(|s| (format!("{}/{}", s.track, s.stage), s.ladders.as_slice()))
    }));
    out.push_str(&crate::classroom::merge::hint_help::render(&misses, ""));
    let problems: Vec<&LearnerGrades> = grades
        .learners
        .iter()
        .filter(|l| l.problem.is_some())
        .collect();
    if !problems.is_empty() {
        out.push_str("\n## Not graded, or not to the end\n\n");
        for l in problems {
            out.push_str(&format!(
                "- {} ({}): {}\n",
                printable(&l.learner),
                l.source,
                l.problem.as_deref().unwrap_or_default()
            ));
        }
    }
    out
}

/// One learner's grades as JUnit: a test suite per stage, a test case per trusted test, and an
/// `integrity`, `build` or `grading` case for what is not a test's own result.
pub fn junit(
    grades: &ClassGrades,
    learner: &LearnerGrades,
) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new(format!("katas grade: {}", printable(&learner.learner)));
    for v in &learner.verdicts {
        let classname = format!("{}.{}", v.track, v.stage);
        let mut suite = TestSuite::new(v.key());
        suite.set_time(Duration::from_millis(v.duration_ms));
        suite.add_property(quick_junit::Property::new(
            "commit",
            learner.commit.as_deref().unwrap_or("-"),
        ));
        suite.add_property(quick_junit::Property::new(
            "reference",
            grades.reference.fingerprint.as_str(),
        ));
        let special = |kind: NonSuccessKind, message: &str, kind_name: &str| {
            let mut status = TestCaseStatus::non_success(kind);
            status.set_message(message).set_type(kind_name);
            if let Some(reason) = &v.reason {
                status.set_description(reason.as_str());
            }
            let mut case = TestCase::new(kind_name, status);
            case.set_classname(classname.as_str());
            case
        };
        match v.status {
            CellStatus::Tampered => suite.add_test_case(special(
                NonSuccessKind::Failure,
                "the learner changed this stage's tests",
                "integrity",
            )),
            CellStatus::Error => suite.add_test_case(special(
                NonSuccessKind::Error,
                "katas could not grade this stage",
                "grading",
            )),
            _ if v.tests.is_empty() && v.status != CellStatus::Passed => {
                suite.add_test_case(special(
                    NonSuccessKind::Failure,
                    "the stage's tests did not run",
                    "build",
                ))
            }
            _ => &mut suite,
        };
        for test in &v.tests {
            let function = test.name.rsplit("::").next().unwrap_or(&test.name);
            let status = match test.status {
                TestStatus::Passed => TestCaseStatus::success(),
                TestStatus::Ignored => TestCaseStatus::skipped(),
                TestStatus::Failed | TestStatus::DidNotFinish => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status
                        .set_message(if test.status == TestStatus::Failed {
                            "test failed"
                        } else {
                            "did not finish (time limit)"
                        })
                        .set_description(test.output.as_str());
                    status
                }
            };
            let mut case = TestCase::new(function, status);
            case.set_classname(classname.as_str());
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string()
}

/// A reason on one line for a spreadsheet cell: its first lines joined, cut at 300 characters.
fn one_line(reason: &str) -> String {
    let joined = reason
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join(" / ");
    joined.chars().take(300).collect()
}

/// A file name for a learner's files: their roster position and a safe form of their name.
pub fn file_stem(learner: &LearnerGrades) -> String {
    let slug: String = learner
        .learner
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    format!("{:03}-{}", learner.index + 1, slug.trim_matches('-'))
}
