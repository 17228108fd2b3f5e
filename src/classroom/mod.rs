//! The classroom: grading a learner's crate against the course's own tests, and noticing when
//! the learner edited those tests.

mod junit;
mod merge;
mod reference;
mod report;
mod table;
mod verify;

pub use junit::to_junit;
pub use merge::{
    BadReport, CLASS_FORMAT, CLASS_VERSION, ClassReport, LearnerRow, LearnerStage, MergeError,
    Merged, StageSummary, merge, parse_report, read_reports,
};
pub use reference::{Reference, ReferenceInfo, ReferenceKind};
pub use report::{
    ClaimSource, LearnerReport, REPORT_FORMAT, REPORT_VERSION, StageReport, Standing, TableFormat,
    Totals, learner_report,
};
pub use verify::{
    GradeError, GradeSettings, Grader, StageStatus, StageVerdict, VerifyOptions, VerifyReport,
    strip as strip_ansi, verify,
};
