//! Course authoring: proving a course sound (`dev check`), its tests strong (`dev mutants`).

mod check;
mod export;
pub mod mutants;
mod new;

pub use check::{CheckOptions, CheckReport, StageCheck, check};
pub use export::{Export, ExportError, export_without_solutions};
pub use new::{NewError, NewOptions, NewTrack, new_track};
