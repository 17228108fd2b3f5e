//! Reading the reports to merge. Report files come from learners, so each is checked before
//! anything is merged: a readable file of a sensible size, JSON, the report's format tag, a version
//! this katas reads, the course being merged. Every bad file is named with what is wrong and how to
//! fix it, all of them at once, so a teacher with 200 files fixes them in one pass.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::classroom::report::{LearnerReport, REPORT_FORMAT, REPORT_VERSION};
use crate::course::Course;

/// A report is a few kilobytes; a file far larger is something else.
const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;

/// A file that cannot be merged, with what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadReport {
    pub file: PathBuf,
    pub what: String,
    pub fix: String,
}

impl fmt::Display for BadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}\n    fix: {}",
            self.file.display(),
            self.what,
            self.fix
        )
    }
}

/// Why reports could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Some files are not reports of this course; all of them are listed.
    #[error(
        "{} of the {total} file(s) cannot be merged, so no class report was written:\n{}",
        problems.len(),
        problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
    )]
    BadReports {
        total: usize,
        problems: Vec<BadReport>,
    },
}

/// Reads and checks report files; every bad one is reported.
pub fn read_reports(
    course: &Course,
    paths: &[PathBuf],
) -> Result<Vec<(PathBuf, LearnerReport)>, MergeError> {
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match read_report(course, path) {
            Ok(report) => reports.push((path.clone(), report)),
            Err((what, fix)) => problems.push(BadReport {
                file: path.clone(),
                what,
                fix,
            }),
        }
    }
    if problems.is_empty() {
        Ok(reports)
    } else {
        Err(MergeError::BadReports {
            total: paths.len(),
            problems,
        })
    }
}

fn read_report(course: &Course, path: &Path) -> Result<LearnerReport, (String, String)> {
    let make_one = "make it with `katas report --format json --output FILE`".to_owned();
    let size = std::fs::metadata(path)
        .map_err(|err| {
            (
                format!("cannot be read: {err}"),
                "check the path".to_owned(),
            )
        })?
        .len();
    if size > MAX_REPORT_BYTES {
        return Err((
            format!("is not a katas report: {size} bytes is far too large for one"),
            make_one,
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|err| {
        (
            format!("cannot be read as text: {err}"),
            "pass the JSON files that `katas report --format json` writes".to_owned(),
        )
    })?;
    let report = parse_report(&text)?;
    if report.course != course.name {
        return Err((
            format!(
                "is a report of the course `{}`, not of `{}` (the course at {})",
                super::printable(&report.course),
                course.name,
                course.root.display()
            ),
            format!(
                "merge only reports of `{}`; to merge the others, run katas in the folder of their \
                 course (or pass --course DIR)",
                course.name
            ),
        ));
    }
    Ok(report)
}

/// Checks and reads one report's JSON: the error is what is wrong and how to fix it.
pub fn parse_report(text: &str) -> Result<LearnerReport, (String, String)> {
    let make_one = "pass the files that `katas report --format json` writes".to_owned();
    let value: serde_json::Value = serde_json::from_str(text).map_err(|err| {
        (
            format!("is not a katas report: it is not JSON ({err})"),
            make_one.clone(),
        )
    })?;
    if value.get("format").and_then(serde_json::Value::as_str) != Some(REPORT_FORMAT) {
        let looks_like_verify = value.pointer("/stages/0/tests_passed").is_some();
        let what = if looks_like_verify {
            "is not a katas report: it is the output of `katas verify`, not of `katas report`"
                .to_owned()
        } else {
            format!("is not a katas report: it has no `\"format\": \"{REPORT_FORMAT}\"`")
        };
        return Err((what, make_one));
    }
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    match version {
        Some(v) if v <= u64::from(REPORT_VERSION) => {}
        Some(v) => {
            return Err((
                format!(
                    "was written by a newer katas (report version {v}; this katas reads up to \
                     {REPORT_VERSION})"
                ),
                "update katas (git pull, then cargo build --release)".to_owned(),
            ));
        }
        None => {
            return Err((
                "is a damaged katas report: it has no `version`".to_owned(),
                "make it again with `katas report --format json`".to_owned(),
            ));
        }
    }
    serde_json::from_value(value).map_err(|err| {
        (
            format!("is a damaged katas report: {err}"),
            "make it again with `katas report --format json`".to_owned(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_report_is_named_with_the_reason() {
        let (what, _) = parse_report("version = 1").unwrap_err();
        assert!(what.contains("not JSON"), "{what}");
        let (what, _) = parse_report(r#"{"stages":[{"tests_passed":2}],"passed":1}"#).unwrap_err();
        assert!(what.contains("output of `katas verify`"), "{what}");
        let (what, _) = parse_report(r#"{"name":"x"}"#).unwrap_err();
        assert!(what.contains(r#""format": "katas-report""#), "{what}");
        let (what, fix) = parse_report(r#"{"format":"katas-report","version":9}"#).unwrap_err();
        assert!(
            what.contains("newer katas") && fix.contains("update"),
            "{what}"
        );
        let (what, _) = parse_report(r#"{"format":"katas-report","version":1}"#).unwrap_err();
        assert!(
            what.contains("damaged") && what.contains("course"),
            "{what}"
        );
    }
}
