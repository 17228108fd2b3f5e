//! The learner's progress: what they reached and passed, their attempts, the hints they saw.

mod state;
mod store;

pub use state::{
    HintRecord, PROGRESS_VERSION, Progress, StageProgress, StageStatus, TrackProgress,
};
pub use store::{ProgressError, ProgressStore};
