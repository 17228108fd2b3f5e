//! Course authoring: proving a course sound (`dev check`).

mod check;
mod export;
mod new;

pub use check::{CheckOptions, CheckReport, StageCheck, check};
pub use export::{Export, ExportError, export_without_solutions};
pub use new::{NewError, NewOptions, NewTrack, new_track};
