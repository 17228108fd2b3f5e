//! The class's grades: every learner's verdict on every stage, as graded by the teacher, with
//! what each verdict rests on (the commit graded, the reference used). The JSON form is what a
//! shard hands in and what `katas grade merge` joins; the reports are rendered from it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::roster::Shard;
use crate::runner::TestStatus;

/// The `format` tag of the class's grades.
pub const GRADES_FORMAT: &str = "katas-class-grades";

/// The version of the JSON this katas writes (and the newest it reads).
pub const GRADES_VERSION: u32 = 1;

/// A stage's verdict for one learner, as the class report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    /// Every trusted test of the stage ran and passed.
    Passed,
    /// The stage was reached (its tests are in the learner's crate) and did not pass.
    Failed,
    /// The learner changed the stage's tests (graded with the trusted ones anyway).
    Tampered,
    /// Not passed, and the learner never reached the stage.
    NotReached,
    /// katas could not grade it: the repository is missing, the crate is missing, a time limit
    /// of the learner's ran out before the stage was judged.
    Error,
}

impl CellStatus {
    pub const ALL: [CellStatus; 5] = [
        CellStatus::Passed,
        CellStatus::Failed,
        CellStatus::Tampered,
        CellStatus::NotReached,
        CellStatus::Error,
    ];

    /// The id, as in the JSON and the CSV.
    pub fn id(self) -> &'static str {
        match self {
            CellStatus::Passed => "passed",
            CellStatus::Failed => "failed",
            CellStatus::Tampered => "tampered",
            CellStatus::NotReached => "not_reached",
            CellStatus::Error => "error",
        }
    }

    /// The words, for people.
    pub fn word(self) -> &'static str {
        match self {
            CellStatus::Passed => "passed",
            CellStatus::Failed => "failed",
            CellStatus::Tampered => "tampered",
            CellStatus::NotReached => "not reached",
            CellStatus::Error => "error",
        }
    }

    /// A one-character mark for tables.
    pub fn mark(self) -> &'static str {
        match self {
            CellStatus::Passed => "✓",
            CellStatus::Failed => "✗",
            CellStatus::Tampered => "T",
            CellStatus::NotReached => "·",
            CellStatus::Error => "!",
        }
    }
}

/// The grades of a class (or of one shard of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassGrades {
    /// Always [`GRADES_FORMAT`].
    pub format: String,
    pub version: u32,
    /// The reference course's name.
    pub course: String,
    /// The trusted tests every verdict was judged with.
    pub reference: ReferenceUsed,
    /// Every stage, `track/stage`, in course order.
    pub stages: Vec<StageInfo>,
    /// Which part of the roster this is; a merge of every shard is `1/1`.
    pub shard: Shard,
    /// How many learners the whole roster has (so a merge can tell a shard is missing).
    pub roster_size: usize,
    /// Whether every learner's build and tests ran in the sandbox.
    pub sandboxed: bool,
    /// In roster order.
    pub learners: Vec<LearnerGrades>,
}

/// What the verdicts were judged with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceUsed {
    /// Where it came from: a folder, or the course built into katas.
    pub source: String,
    /// A hash of its trusted files (info.toml, course/, crates/) and of the katas that graded.
    pub fingerprint: String,
}

/// A stage of the course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageInfo {
    pub track: String,
    pub stage: String,
    pub title: String,
}

impl StageInfo {
    pub fn key(&self) -> String {
        format!("{}/{}", self.track, self.stage)
    }
}

/// One learner's grades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnerGrades {
    /// The position in the roster.
    pub index: usize,
    pub learner: String,
    /// Where the work came from: URL (`#ref`) or folder.
    pub source: String,
    /// The commit graded (`tree:<hash>` for a folder: a hash of its files).
    pub commit: Option<String>,
    /// Why the learner could not be graded at all (a missing repository), or what cut the
    /// grading short (the learner's time limit).
    pub problem: Option<String>,
    /// Wall time of this learner's grading, fetch included (0 when taken from the cache).
    pub duration_ms: u64,
    /// Whether the verdicts were taken from an earlier run (same commit, same reference).
    pub cached: bool,
    /// One per stage, in course order.
    pub verdicts: Vec<StageGrade>,
    /// What the learner's own progress file says (attempts, hints): self-reported, never graded.
    pub self_reported: Option<Vec<SelfReported>>,
}

impl LearnerGrades {
    pub fn passed(&self) -> usize {
        self.verdicts
            .iter()
            .filter(|v| v.status == CellStatus::Passed)
            .count()
    }
}

/// One learner's verdict on one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageGrade {
    pub track: String,
    pub stage: String,
    pub status: CellStatus,
    pub tests_passed: usize,
    pub tests_failed: usize,
    /// The wall time of the run that judged it (stages judged together share one run).
    pub duration_ms: u64,
    /// Why it did not pass, in words.
    pub reason: Option<String>,
    /// The stage's tests that ran; a failing one with what it printed (cut at a few KiB).
    pub tests: Vec<GradedTest>,
}

impl StageGrade {
    pub fn key(&self) -> String {
        format!("{}/{}", self.track, self.stage)
    }
}

/// One trusted test of a stage, as it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradedTest {
    /// `stage::test`, as libtest names it.
    pub name: String,
    pub status: TestStatus,
    /// What a failing test printed; empty for the others.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
}

/// One stage of a learner's own progress file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfReported {
    pub track: String,
    pub stage: String,
    pub attempts: u32,
    pub hint_rungs: u32,
    pub nudges: u32,
    /// The catalog's clippy lints met on the stage, and of those the ones fixed since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lints_met: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lints_fixed: Vec<String>,
    /// The hint ladders shown on the stage, and whether each helped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ladders: Vec<crate::classroom::report::LadderUse>,
}

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum GradesError {
    #[error("cannot read {}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {why}\nfix: pass the `grades.json` files that `katas grade` wrote", path.display())]
    NotGrades {
        path: std::path::PathBuf,
        why: String,
    },
    #[error("the shards cannot be merged: {0}")]
    Mismatch(String),
}

/// Reads a `grades.json`, refusing anything that is not one this katas can read.
pub fn read(path: &Path) -> Result<ClassGrades, GradesError> {
    let text = std::fs::read_to_string(path).map_err(|source| GradesError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let not = |why: String| GradesError::NotGrades {
        path: path.to_path_buf(),
        why,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| not(format!("it is not JSON ({err})")))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(GRADES_FORMAT) => {}
        Some(other) => {
            return Err(not(format!(
                "it is a `{other}` file, not the class's grades"
            )));
        }
        None => return Err(not("it is not the class's grades (no `format` tag)".into())),
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version > u64::from(GRADES_VERSION) {
        return Err(not(format!(
            "it was written by a newer katas (grades version {version}; this katas reads up to \
             {GRADES_VERSION}): grade and merge with the same katas"
        )));
    }
    serde_json::from_value(value).map_err(|err| not(format!("it is damaged ({err})")))
}

/// Joins the shards of one roster into the class's grades: every shard graded against the same
/// reference, each learner once, none missing. The result is the one an unsharded run gives.
pub fn merge_shards(shards: Vec<ClassGrades>) -> Result<ClassGrades, GradesError> {
    let mut shards = shards.into_iter();
    let Some(mut first) = shards.next() else {
        return Err(GradesError::Mismatch("no shard was given".into()));
    };
    let mut seen = vec![first.shard.index];
    for shard in shards {
        let differs = |what: &str, a: &str, b: &str| {
            GradesError::Mismatch(format!(
                "shard {} and shard {} differ in {what} (`{a}` and `{b}`): grade every shard with \
                 the same katas, roster and --reference",
                first.shard, shard.shard
            ))
        };
        if shard.reference != first.reference {
            return Err(differs(
                "the reference",
                &first.reference.fingerprint,
                &shard.reference.fingerprint,
            ));
        }
        first.sandboxed &= shard.sandboxed;
        if shard.course != first.course || shard.stages != first.stages {
            return Err(differs("the course", &first.course, &shard.course));
        }
        if shard.shard.count != first.shard.count || shard.roster_size != first.roster_size {
            return Err(differs(
                "the roster's split",
                &format!("{} of {}", first.shard, first.roster_size),
                &format!("{} of {}", shard.shard, shard.roster_size),
            ));
        }
        if seen.contains(&shard.shard.index) {
            return Err(GradesError::Mismatch(format!(
                "shard {} was given twice",
                shard.shard
            )));
        }
        seen.push(shard.shard.index);
        first.learners.extend(shard.learners);
    }
    let count = first.shard.count;
    let missing: Vec<String> = (1..=count)
        .filter(|k| !seen.contains(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(GradesError::Mismatch(format!(
            "shard(s) {} are missing: a class report without them would leave learners out",
            missing.join(", ")
        )));
    }
    first.learners.sort_by_key(|l| l.index);
    first.shard = Shard::WHOLE;
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grades(shard: Shard, learners: &[usize]) -> ClassGrades {
        ClassGrades {
            format: GRADES_FORMAT.into(),
            version: GRADES_VERSION,
            course: "Mini".into(),
            reference: ReferenceUsed {
                source: "ref".into(),
                fingerprint: "abc".into(),
            },
            stages: Vec::new(),
            shard,
            roster_size: 3,
            sandboxed: true,
            learners: learners
                .iter()
                .map(|&index| LearnerGrades {
                    index,
                    learner: format!("l{index}"),
                    source: String::new(),
                    commit: None,
                    problem: None,
                    duration_ms: 0,
                    cached: false,
                    verdicts: Vec::new(),
                    self_reported: None,
                })
                .collect(),
        }
    }

    #[test]
    fn shards_merge_back_in_roster_order_and_a_missing_one_is_refused() {
        let one = grades(Shard { index: 1, count: 2 }, &[0, 2]);
        let two = grades(Shard { index: 2, count: 2 }, &[1]);
        let merged = merge_shards(vec![two.clone(), one.clone()]).ok().unwrap();
        let order: Vec<usize> = merged.learners.iter().map(|l| l.index).collect();
        assert_eq!(order, [0, 1, 2]);
        assert_eq!(merged.shard, Shard::WHOLE);

        let err = merge_shards(vec![one.clone()]).err().unwrap().to_string();
        assert!(err.contains("shard(s) 2/2 are missing"), "{err}");
        let err = merge_shards(vec![one.clone(), one.clone()])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("given twice"), "{err}");
        let mut other = two;
        other.reference.fingerprint = "def".into();
        let err = merge_shards(vec![one, other]).err().unwrap().to_string();
        assert!(err.contains("differ in the reference"), "{err}");
    }
}
