//! `katas dev export --without-solutions DIR`: the learner's copy of a course, for an assignment.
//!
//! Everything is copied but `solutions/` (the answers), `.katas/` (the teacher's own progress,
//! backups and build folder), `target/` (build output, at any depth) and `.git/` (whose history
//! holds the solutions too), nor the stages' mutants and alternatives (`mutants.toml`, `mutants/`,
//! `alternatives/`: patches against the solutions, so they reveal them). The copy still loads,
//! and `katas verify` works in it.
//!
//! A course is untrusted input, so the export never follows a symbolic link (a link could make it
//! copy a file from outside the course) and copies only plain files and folders; it refuses to
//! write into a folder that is not empty, or inside the course itself.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::mutants;
use crate::course::{self, Course, CourseError};
use crate::fsutil::{copy_tree, list_files};

/// Top-level entries of a course that stay behind.
const LEFT_OUT: &[&str] = &["solutions", ".katas", "target", ".git"];

/// Entries left out wherever they are (as `fsutil::copy_tree` does).
const LEFT_OUT_ANYWHERE: &[&str] = &["target", ".git"];

/// At most this many links are listed in an error: the fix is the same for all.
const LINKS_LISTED: usize = 10;

/// What the export did.
#[derive(Debug, Clone)]
pub struct Export {
    /// The export's folder, absolute.
    pub dest: PathBuf,
    pub files: usize,
    pub tracks: usize,
    pub stages: usize,
    /// Things the teacher should look at before handing the copy out.
    pub warnings: Vec<String>,
}

/// Why a course could not be exported. On any error after copying began, the partial copy is
/// removed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "{} is not empty\n    fix: export into a new or empty folder, so nothing of yours is \
         overwritten or mixed in",
        dir.display()
    )]
    NotEmpty { dir: PathBuf },

    #[error(
        "{} is inside the course ({})\n    fix: export to a folder outside the course, e.g. \
         ../assignment",
        dir.display(),
        root.display()
    )]
    InsideCourse { dir: PathBuf, root: PathBuf },

    #[error(
        "the course holds what is not a plain file or folder, and katas does not follow or copy \
         those (a link could lead outside the course):\n{}\n    fix: replace each with the file \
         it stands for, or remove it",
        list(paths)
    )]
    NotPlain { paths: Vec<PathBuf> },

    #[error("cannot copy the course to {}", dest.display())]
    Copy {
        dest: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("the export at {} does not load; it was removed", dest.display())]
    Load {
        dest: PathBuf,
        #[source]
        source: CourseError,
    },
}

impl ExportError {
    /// Whether the command line asked for something impossible (rather than katas failing).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ExportError::NotEmpty { .. } | ExportError::InsideCourse { .. }
        )
    }

    /// Whether the course itself holds what cannot be exported (a link, a device file).
    pub fn is_course_problem(&self) -> bool {
        matches!(self, ExportError::NotPlain { .. })
    }
}

fn list(paths: &[PathBuf]) -> String {
    let mut lines: Vec<String> = paths
        .iter()
        .take(LINKS_LISTED)
        .map(|p| format!("      {}", p.display()))
        .collect();
    if paths.len() > LINKS_LISTED {
        lines.push(format!("      … and {} more", paths.len() - LINKS_LISTED));
    }
    lines.join("\n")
}

/// Exports the learner's copy of `course` (without its solutions) to `dest`.
pub fn export_without_solutions(course: &Course, dest: &Path) -> Result<Export, ExportError> {
    let root = course
        .root
        .canonicalize()
        .unwrap_or_else(|_| course.root.clone());
    let target = resolve(dest);
    if target.starts_with(&root) {
        return Err(ExportError::InsideCourse {
            dir: dest.to_path_buf(),
            root,
        });
    }
    if fs::read_dir(&target).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(ExportError::NotEmpty {
            dir: dest.to_path_buf(),
        });
    }
    if target.exists() && !target.is_dir() {
        return Err(ExportError::NotEmpty {
            dir: dest.to_path_buf(),
        });
    }
    let copy_error = |source| ExportError::Copy {
        dest: dest.to_path_buf(),
        source,
    };
    let mut not_plain = Vec::new();
    let revealing = revealing_paths(course);
    let files = scan(&root, Path::new(""), &revealing, &mut not_plain).map_err(copy_error)?;
    if !not_plain.is_empty() {
        return Err(ExportError::NotPlain { paths: not_plain });
    }

    let existed = target.exists();
    let undo = || {
        if existed {
            // It was empty: empty it again.
            if let Ok(entries) = fs::read_dir(&target) {
                for entry in entries.flatten() {
                    let _ =
                        fs::remove_dir_all(entry.path()).or_else(|_| fs::remove_file(entry.path()));
                }
            }
        } else {
            let _ = fs::remove_dir_all(&target);
        }
    };
    if let Err(err) = copy(&root, &target).and_then(|()| remove_all(&target, &revealing)) {
        undo();
        return Err(copy_error(err));
    }
    let exported = match course::load(&target) {
        Ok(exported) => exported,
        Err(source) => {
            undo();
            return Err(ExportError::Load {
                dest: target,
                source,
            });
        }
    };
    Ok(Export {
        files,
        tracks: exported.tracks.len(),
        stages: exported.tracks.iter().map(|t| t.stages.len()).sum(),
        warnings: worked_exercises(course),
        dest: target,
    })
}

/// The absolute, canonical form of a folder that may not exist yet: its nearest existing
/// ancestor canonicalized (links resolved), the rest appended with `.` and `..` resolved.
fn resolve(dir: &Path) -> PathBuf {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut normal = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    let mut missing = Vec::new();
    let mut existing = normal.as_path();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name.to_owned());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut out = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    out.extend(missing.iter().rev());
    out
}

/// The stage files that reveal the solutions (mutants and alternatives are patches against
/// them), relative to the course root: left out of the copy.
fn revealing_paths(course: &Course) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for track in &course.tracks {
        for stage in &track.stages {
            let dir = Path::new("course").join(&track.id).join(&stage.id);
            paths.push(dir.join(mutants::MANIFEST));
            paths.extend(mutants::PATCH_FOLDERS.iter().map(|f| dir.join(f)));
        }
    }
    paths
}

/// Removes these files or folders (relative to `root`) where they exist.
fn remove_all(root: &Path, relative: &[PathBuf]) -> io::Result<()> {
    for path in relative {
        let path = root.join(path);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(&path)?,
            Ok(_) => fs::remove_file(&path)?,
            Err(_) => {}
        }
    }
    Ok(())
}

/// Counts the files to copy, and collects every entry that is not a plain file or folder.
fn scan(
    root: &Path,
    relative: &Path,
    left_out: &[PathBuf],
    not_plain: &mut Vec<PathBuf>,
) -> io::Result<usize> {
    let mut files = 0;
    for entry in fs::read_dir(root.join(relative))? {
        let entry = entry?;
        let name = entry.file_name();
        let top = relative.as_os_str().is_empty();
        if LEFT_OUT_ANYWHERE.iter().any(|s| name == *s)
            || (top && LEFT_OUT.iter().any(|s| name == *s))
        {
            continue;
        }
        let path = relative.join(&name);
        if left_out.contains(&path) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            files += scan(root, &path, left_out, not_plain)?;
        } else if kind.is_file() {
            files += 1;
        } else {
            not_plain.push(path);
        }
    }
    Ok(files)
}

/// Copies the course's top-level entries but those left out; `copy_tree` refuses links below.
fn copy(root: &Path, dest: &Path) -> io::Result<()> {
    fs::create_dir_all(dest)?;
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        if LEFT_OUT.iter().any(|s| name == *s) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest.join(&name))?;
        } else if kind.is_file() {
            fs::copy(entry.path(), dest.join(&name))?;
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a plain file or folder", entry.path().display()),
            ));
        }
    }
    Ok(())
}

/// The tracks whose crate in `exercises/` is not its start state: if that is the teacher's own
/// work, the learners would get it.
fn worked_exercises(course: &Course) -> Vec<String> {
    let mut warnings = Vec::new();
    for track in &course.tracks {
        let crate_dir = course.crate_dir(track);
        if !crate_dir.is_dir() {
            continue;
        }
        let start = course.start_dir(track);
        let differs = first_difference(&crate_dir, &start);
        if let Some(file) = differs {
            let first = track.stages.first().map_or("", |s| s.id.as_str());
            warnings.push(format!(
                "exercises/{id} is not the track's start state ({file} differs from \
                 course/{id}/start): learners get it as it is. If it holds your own work, run \
                 `katas reset {id}/{first}` in your copy (it keeps a backup) and export again.",
                id = track.id,
                file = file.display()
            ));
        }
    }
    warnings
}

/// The first file (stage tests aside) that differs between a learner's crate and the start.
fn first_difference(crate_dir: &Path, start: &Path) -> Option<PathBuf> {
    let ours: Vec<PathBuf> = list_files(crate_dir)
        .ok()?
        .into_iter()
        .filter(|f| !f.starts_with("tests/stages"))
        .collect();
    let theirs = list_files(start).ok()?;
    for file in ours.iter().chain(&theirs) {
        let a = fs::read(crate_dir.join(file)).ok();
        let b = fs::read(start.join(file)).ok();
        if a != b {
            return Some(file.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_yet_to_be_made_resolves_through_dot_dot() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        fs::create_dir_all(real.join("course")).unwrap();
        assert_eq!(
            resolve(&real.join("new/../course/inside")),
            real.join("course/inside")
        );
        assert_eq!(resolve(&real.join("out")), real.join("out"));
    }
}
