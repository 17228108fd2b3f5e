//! The grader's own folder: scratch crates, build output, results files and the trusted copy of
//! the course live here, never in the learner's tree.
//!
//! Grading inside the learner's tree (`.katas/verify/`, as katas once did) let a committed symlink
//! there redirect the grader's deletes and writes into the grader's own course. This folder is
//! made by katas, private to the grader (mode 0700 on Unix), and refused when it lies inside the
//! graded course. Parallel graders each take a slot of their own, held by a file lock, so two
//! katas processes never share a scratch crate or wait on each other's cargo lock; a slot's build
//! folder is reused from one learner to the next, so dependencies are compiled once per slot.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// Why the work folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkDirError {
    #[error(
        "cannot find a folder for grading: set $XDG_CACHE_HOME or $HOME, or pass --work-dir DIR"
    )]
    NoHome,
    #[error("cannot prepare the grading folder {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the grading folder {work} lies inside the graded course {course}: the learner controls that tree; pass --work-dir with a folder outside it"
    )]
    InsideCourse { work: PathBuf, course: PathBuf },
    #[error("the grading folder {0} is a symbolic link; pass --work-dir with a plain folder")]
    Symlink(PathBuf),
    #[error(
        "every one of the {MAX_SLOTS} slots of the grading folder {0} is held by another katas; wait for them, or pass another --work-dir"
    )]
    Busy(PathBuf),
}

/// More graders than this on one machine at once is a mistake, not a workload.
const MAX_SLOTS: usize = 256;

/// The grader's folder, with one slot held for this process.
#[derive(Debug)]
pub struct WorkDir {
    root: PathBuf,
    slot: PathBuf,
    /// Held for as long as the slot is used; the OS releases it if katas dies.
    _lock: File,
}

impl WorkDir {
    /// Opens (making it if needed) the work folder `given`, or the default under the user's
    /// cache folder, and takes a free slot in it. `course` is the graded course's root.
    pub fn open(given: Option<&Path>, course: &Path) -> Result<Self, WorkDirError> {
        let root = match given {
            Some(dir) => dir.to_path_buf(),
            None => default_root().ok_or(WorkDirError::NoHome)?,
        };
        make_private_dir(&root)?;
        let root = canonical(&root)?;
        if let Ok(course) = fs::canonicalize(course)
            && root.starts_with(&course)
        {
            return Err(WorkDirError::InsideCourse { work: root, course });
        }
        for index in 0..MAX_SLOTS {
            let slot = root.join("slots").join(index.to_string());
            make_private_dir(&slot)?;
            let lock_path = slot.join("lock");
            let lock = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|source| io(&lock_path, source))?;
            if lock.try_lock().is_ok() {
                return Ok(Self {
                    root,
                    slot,
                    _lock: lock,
                });
            }
        }
        Err(WorkDirError::Busy(root))
    }

    /// The folder shared by every slot (the trusted copies of courses).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// This process's scratch crate for a track.
    pub fn crate_dir(&self, track: &str) -> PathBuf {
        self.slot.join("crates").join(track)
    }

    /// This process's build folder, shared by its tracks (their package names differ).
    pub fn target_dir(&self) -> PathBuf {
        self.slot.join("target")
    }

    /// A folder for results files, writable inside the sandbox.
    pub fn results_dir(&self) -> PathBuf {
        self.slot.join("results")
    }

    /// Makes a fresh, empty folder inside the slot (removing what a previous run left there).
    pub fn fresh(&self, path: &Path) -> Result<(), WorkDirError> {
        if path.symlink_metadata().is_ok() {
            fs::remove_dir_all(path).map_err(|source| io(path, source))?;
        }
        make_private_dir(path)
    }
}

/// `$XDG_CACHE_HOME/katas/grading`, else `~/.cache/katas/grading`.
fn default_root() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .or_else(|| std::env::var_os("USERPROFILE"))
                .map(|home| PathBuf::from(home).join(".cache"))
        })?;
    Some(cache.join("katas").join("grading"))
}

fn canonical(path: &Path) -> Result<PathBuf, WorkDirError> {
    fs::canonicalize(path).map_err(|source| io(path, source))
}

fn io(path: &Path, source: std::io::Error) -> WorkDirError {
    WorkDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes a folder readable by its owner only; refuses a symbolic link in its place.
fn make_private_dir(path: &Path) -> Result<(), WorkDirError> {
    if let Ok(meta) = path.symlink_metadata() {
        if meta.file_type().is_symlink() {
            return Err(WorkDirError::Symlink(path.to_path_buf()));
        }
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|source| io(path, source))
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(path).map_err(|source| io(path, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_graders_get_two_slots() {
        let dir = tempfile::tempdir().unwrap();
        let course = dir.path().join("course");
        fs::create_dir_all(&course).unwrap();
        let work = dir.path().join("work");
        let a = WorkDir::open(Some(&work), &course).unwrap();
        let b = WorkDir::open(Some(&work), &course).unwrap();
        assert_ne!(a.crate_dir("t"), b.crate_dir("t"));
        drop(a);
        let c = WorkDir::open(Some(&work), &course).unwrap();
        assert_eq!(
            c.crate_dir("t"),
            fs::canonicalize(&work).unwrap().join("slots/0/crates/t"),
            "a freed slot is taken again, with its warm build folder"
        );
    }

    #[test]
    fn a_work_folder_inside_the_graded_course_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = WorkDir::open(Some(&dir.path().join(".katas/verify")), dir.path()).unwrap_err();
        assert!(matches!(err, WorkDirError::InsideCourse { .. }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_work_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("work")).unwrap();
        let course = dir.path().join("course");
        fs::create_dir_all(&course).unwrap();
        let err = WorkDir::open(Some(&dir.path().join("work")), &course).unwrap_err();
        assert!(matches!(err, WorkDirError::Symlink(_)), "{err}");
    }
}
