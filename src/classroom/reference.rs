//! Where the trusted copy of a stage's tests comes from when grading.

use crate::bundled;
use crate::course::{Course, Stage, Track};

/// The trusted tests to grade with.
#[derive(Debug)]
pub enum Reference {
    /// The copy built into this katas binary (the course it was built from).
    Bundled,
    /// A pristine copy of the course on disk (`verify --reference DIR`).
    Course(Box<Course>),
    /// The graded course's own `course/` folder: the learner could have edited it too, so this
    /// only catches edits to the installed copies in the learner's crate.
    Own,
}

impl Reference {
    /// The default for a course: the bundled copy if this binary was built from that course.
    pub fn for_course(course: &Course) -> Self {
        if bundled::course_name().as_deref() == Some(course.name.as_str()) {
            Reference::Bundled
        } else {
            Reference::Own
        }
    }

    /// The trusted text of a stage's tests, if the reference has that stage.
    pub fn tests(&self, track: &Track, stage: &Stage) -> Option<String> {
        match self {
            Reference::Bundled => {
                bundled::course_file(&format!("{}/{}/tests.rs", track.id, stage.id))
                    .map(str::to_owned)
            }
            Reference::Course(course) => {
                let track = course.track(&track.id).ok()?;
                track
                    .stages
                    .iter()
                    .find(|s| s.id == stage.id)
                    .map(|s| s.tests.clone())
            }
            Reference::Own => Some(stage.tests.clone()),
        }
    }

    /// The folder that stands for the course root when resolving the course's own path
    /// dependencies (e.g. `crates/katas-sim`): the trusted copy's, so a learner's edits to the
    /// simulator's checkers do not count either.
    pub fn dependency_root(&self, course: &Course) -> std::io::Result<std::path::PathBuf> {
        match self {
            Reference::Bundled => {
                let root = course.state_dir().join("trusted");
                bundled::write_crates(&root)?;
                Ok(root)
            }
            Reference::Course(reference) => Ok(reference.root.clone()),
            Reference::Own => Ok(course.root.clone()),
        }
    }

    /// A phrase for reports: where the trusted tests came from.
    pub fn describe(&self) -> String {
        match self {
            Reference::Bundled => "the tests built into this katas".to_owned(),
            Reference::Course(course) => format!("the tests of the reference course at {}", course.root.display()),
            Reference::Own => "the course's own course/ folder (no trusted copy: build katas from your copy of the course, or pass --reference DIR)".to_owned(),
        }
    }
}
