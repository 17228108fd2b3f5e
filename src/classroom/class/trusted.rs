//! The reference a class is graded against: the teacher's course on disk (`--reference DIR`), or
//! the course built into this katas written out once; and its fingerprint, which every verdict
//! records and the cache is keyed by.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::fetch::hex;
use super::results::ReferenceUsed;
use crate::bundled;
use crate::course::{self, Course, CourseError};
use crate::fsutil::list_files;

/// Why the reference cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("cannot load the reference course")]
    Load(#[from] CourseError),
    #[error("cannot write the course built into katas to {}", .0.display())]
    Write(PathBuf, #[source] std::io::Error),
    #[error("cannot read the reference course's files in {}", .0.display())]
    Read(PathBuf, #[source] std::io::Error),
}

/// Loads the reference: `dir`, else the bundled course written into `work/reference`.
pub fn load(dir: Option<&Path>, work: &Path) -> Result<(Course, ReferenceUsed), ReferenceError> {
    let (root, source) = match dir {
        Some(dir) => (dir.to_path_buf(), dir.display().to_string()),
        None => {
            let root = work.join("reference");
            bundled::write_course(&root).map_err(|e| ReferenceError::Write(root.clone(), e))?;
            (root, "the course built into this katas".to_owned())
        }
    };
    let course = course::load(&root)?;
    let fingerprint = fingerprint(&course.root)?;
    Ok((
        course,
        ReferenceUsed {
            source,
            fingerprint,
        },
    ))
}

/// A hash of what grading trusts (`info.toml`, `course/`, `crates/`) and of this katas' version.
fn fingerprint(root: &Path) -> Result<String, ReferenceError> {
    let mut hasher = Sha256::new();
    hasher.update(concat!("katas ", env!("CARGO_PKG_VERSION")).as_bytes());
    hasher.update([0]);
    let read = |e| ReferenceError::Read(root.to_path_buf(), e);
    let mut files = vec![PathBuf::from("info.toml")];
    for folder in ["course", "crates"] {
        if root.join(folder).is_dir() {
            files.extend(
                list_files(&root.join(folder))
                    .map_err(read)?
                    .into_iter()
                    .map(|f| Path::new(folder).join(f)),
            );
        }
    }
    for file in files {
        let bytes = std::fs::read(root.join(&file)).map_err(read)?;
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("sha256:{}", &hex(&hasher.finalize())))
}
