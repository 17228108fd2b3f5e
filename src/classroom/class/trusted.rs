//! The reference a class is graded against: the teacher's course on disk (`--reference DIR`), or
//! the course built into this katas written out once; and its fingerprint, which every verdict
//! records and the cache is keyed by.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::results::ReferenceUsed;
use crate::classroom::Reference;
use crate::course::CourseError;
use crate::fsutil::hex;
use crate::fsutil::list_files;

/// Why the reference cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("cannot load the reference course")]
    Load(#[from] CourseError),
    #[error("cannot read the reference course's files in {}", .0.display())]
    Read(PathBuf, #[source] std::io::Error),
}

/// Loads the reference: `dir`, else the course built into this katas, written into the grader's
/// folder `work`. `graded` is where submissions are copied: a reference inside it is refused.
pub fn load(
    dir: Option<&Path>,
    work: &Path,
    graded: &Path,
) -> Result<(Reference, ReferenceUsed), ReferenceError> {
    let (reference, source) = match dir {
        Some(dir) => (
            Reference::directory(dir, graded)?,
            dir.display().to_string(),
        ),
        None => (
            Reference::bundled(work)?,
            "the course built into this katas".to_owned(),
        ),
    };
    let fingerprint = fingerprint(&reference.course.root)?;
    Ok((
        reference,
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
