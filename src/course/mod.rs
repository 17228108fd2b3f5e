//! The course: tracks of ordered stages, loaded and validated from `info.toml` and stage folders.

mod concepts;
mod error;
mod load;
mod model;
mod test_scan;

pub use concepts::{CONCEPTS, ConceptKind, concept_kind};
pub use error::{CourseError, Problem};
pub use load::{
    COURSE_FORMAT, DEFAULT_MEMORY_LIMIT_MIB, DEFAULT_TIME_LIMIT, RESERVED_IDS, find_root, load,
};
pub use model::{Course, Rung, Stage, StageRef, TestLadder, Track};
