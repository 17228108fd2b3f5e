//! Errors about the course: where it is, what in it is wrong, and how to fix it.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a course file, with the place and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the course root where possible.
    pub file: PathBuf,
    /// The 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong.
    pub what: String,
    /// What to do about it.
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.what)?,
            None => write!(f, "{}: {}", self.file.display(), self.what)?,
        }
        write!(f, "\n    fix: {}", self.fix)
    }
}

/// Why a course could not be found, loaded, or asked for something.
#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    /// No `info.toml` in the folder or above it.
    #[error(
        "no course found: there is no info.toml in {} or any folder above it\n    \
         fix: run katas inside a course (the folder with info.toml), or pass --course DIR \
         (or set KATAS_COURSE)",
        start.display()
    )]
    NotFound { start: PathBuf },

    /// The course folder given with `--course` does not hold an `info.toml`.
    #[error(
        "{} is not a course: it has no info.toml\n    fix: point --course (or KATAS_COURSE) at \
         the folder that holds info.toml",
        root.display()
    )]
    NotACourse { root: PathBuf },

    /// The course files have problems; all of them are listed.
    #[error("the course at {} has {} problem(s):\n{}", root.display(), problems.len(), list(problems))]
    Invalid {
        root: PathBuf,
        problems: Vec<Problem>,
    },

    /// A track id that the course does not have.
    #[error("there is no track `{given}`\n    fix: use one of: {}", valid.join(", "))]
    UnknownTrack { given: String, valid: Vec<String> },

    /// A stage id that the track does not have.
    #[error("track `{track}` has no stage `{given}`\n    fix: use one of: {}", valid.join(", "))]
    UnknownStage {
        track: String,
        given: String,
        valid: Vec<String>,
    },

    /// The trusted copy of a course could not be written.
    #[error("cannot write the trusted copy of the course to {}\n    fix: check that the grading folder is writable, or pass --work-dir DIR", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A reference course that is the graded course, or lies inside it.
    #[error(
        "the reference {} is inside the graded course {}: the learner controls that tree\n    \
         fix: pass --reference with a pristine copy of the course outside the learner's \
         repository (or --untrusted-reference to grade against the learner's own, knowingly)",
        reference.display(),
        graded.display()
    )]
    UntrustedReference { reference: PathBuf, graded: PathBuf },

    /// A stage reference that is not of the form `TRACK/STAGE`.
    #[error("`{given}` is not a stage reference\n    fix: write TRACK/STAGE, e.g. {example}")]
    BadStageRef { given: String, example: String },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}
