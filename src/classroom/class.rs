//! Grading a whole class from the teacher's side (`katas grade`): a roster of learners'
//! repositories, fetched and graded in parallel against the teacher's trusted course, each under
//! its own time limits; the class's grades as JSON (which shards merge), CSV, Markdown, JUnit per
//! learner and an HTML class report.

mod cache;
pub(crate) mod fetch;
mod grade;
mod html;
mod render;
mod results;
mod roster;
mod run;
mod stats;
mod trusted;

pub use grade::{OnTrack, SELF_REPORT_FILE, SubmissionSettings, grade_submission};
pub use html::html;
pub use render::{csv, file_stem, junit, markdown};
pub use results::{
    CellStatus, ClassGrades, GRADES_FORMAT, GRADES_VERSION, GradedTest, GradesError, LearnerGrades,
    ReferenceUsed, SelfReported, StageGrade, StageInfo, merge_shards, read as read_grades,
};
pub use roster::{Learner, RosterError, Shard, Source, load as load_roster};
pub use run::{ClassOptions, Event, FetchMode, Phase, grade_class, submissions_dir};
pub use stats::{StageStats, most_hints, stage_stats};
pub use trusted::{ReferenceError, load as load_reference};

/// A learner's name made safe to print (no control characters, not too long).
pub fn printable_name(name: &str) -> String {
    crate::classroom::merge::printable(name)
}
