//! The learner's progress: what they reached and passed, their attempts, the hints they saw.

mod state;
mod store;

pub use state::{HintRecord, Progress, StageProgress, StageStatus, TrackProgress, PROGRESS_VERSION};
pub use store::{ProgressError, ProgressStore};
