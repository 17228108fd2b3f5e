//! The graded crate, assembled from trusted parts plus the learner's `src/` and nothing else.
//!
//! The learner's `Cargo.toml`, `Cargo.lock`, `build.rs`, `.cargo/`, toolchain files and test
//! files are never used: a `[[test]]` table could point the `stages` target at the learner's own
//! file, a build script could rewrite the trusted tests before they compile, a
//! `[target.'cfg(all())'.dependencies]` table could swap the course's checker for a copy that
//! always agrees. The manifest, the lock file and every other file of the crate come from the
//! reference's start crate, the tests from the reference's stages (each with its witness), the
//! course's own crates (the simulator) from the reference's `crates/`. The learner's library
//! forbids `unsafe` (a crate-level `#![forbid(unsafe_code)]` katas adds, which no `allow` in it
//! can lift); the trusted tests may use it (a counting allocator, say).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::witness;
use crate::course::{Course, Track};
use crate::fsutil::{copy_tree, write_if_changed};
use crate::layout::{self, absolutize_path_dependencies, stage_test_path, stages_dir};

/// Why the graded crate could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssemblyError {
    /// The learner's submission cannot be graded as it is; their fault, said to them.
    #[error("{0}")]
    Submission(String),
    /// The trusted side is broken (a reference without a start crate, an unwritable folder).
    #[error("cannot assemble the graded crate in {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Witness(#[from] witness::WitnessError),
    #[error(
        "the reference's manifest {manifest} has a path dependency outside the reference course: {dependency}; a trusted crate must come from the reference's own folder"
    )]
    UntrustedPath {
        manifest: PathBuf,
        dependency: PathBuf,
    },
}

/// A graded crate on disk, and what its trusted tests are.
#[derive(Debug, Clone)]
pub struct GradedCrate {
    pub dir: PathBuf,
    /// The folders of the trusted path dependencies (read-only in the sandbox).
    pub trusted_paths: Vec<PathBuf>,
}

/// Assembles in `dest` the crate that grades `chosen` stages (indices into the reference's
/// `track`) of the learner's crate `learner`: the reference's start files, the learner's `src/`,
/// and the trusted tests of the chosen stages (the other reached stages get empty modules).
pub fn assemble(
    reference: &Course,
    track: &Track,
    learner: &Path,
    chosen: &[usize],
    dest: &Path,
) -> Result<GradedCrate, AssemblyError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AssemblyError::Io { path, source }
    };
    let src = learner_sources(learner)?;
    if dest.symlink_metadata().is_ok() {
        fs::remove_dir_all(dest).map_err(io(dest))?;
    }
    copy_tree(&reference.start_dir(track), dest).map_err(io(dest))?;
    let dest_src = dest.join("src");
    if dest_src.exists() {
        fs::remove_dir_all(&dest_src).map_err(io(&dest_src))?;
    }
    copy_tree(&src, &dest_src).map_err(|err| {
        AssemblyError::Submission(format!(
            "the learner's {} cannot be graded: {err}",
            src.display()
        ))
    })?;

    let stages = stages_dir(dest);
    if stages.exists() {
        fs::remove_dir_all(&stages).map_err(io(&stages))?;
    }
    let upto = chosen.iter().copied().max().unwrap_or(0);
    let reached = &track.stages[..=upto.min(track.stages.len().saturating_sub(1))];
    for (index, stage) in reached.iter().enumerate() {
        let text = if chosen.contains(&index) {
            witness::witnessed(&stage.id, &stage.tests, &stage.test_names)?
        } else {
            String::new()
        };
        let path = stage_test_path(dest, stage);
        write_if_changed(&path, &text).map_err(io(&path))?;
    }
    let witness_path = stages.join(format!("{}.rs", witness::MODULE));
    write_if_changed(&witness_path, witness::MODULE_SOURCE).map_err(io(&witness_path))?;
    let main = stages.join("main.rs");
    let text = format!("{}mod {};\n", layout::main_rs(reached), witness::MODULE);
    write_if_changed(&main, &text).map_err(io(&main))?;

    let manifest = dest.join("Cargo.toml");
    // The reached stages' features, from the reference's stages: the learner's manifest is not
    // used, so neither is its feature list.
    crate::layout::features::enable(&manifest, &crate::layout::features::through(track, upto))
        .map_err(io(&manifest))?;
    let home = reference.crate_dir(track);
    absolutize_path_dependencies(&manifest, &home).map_err(io(&manifest))?;
    let trusted_paths = check_paths(&manifest, &reference.root)?;
    forbid_unsafe(&dest_src.join("lib.rs"))?;
    Ok(GradedCrate {
        dir: dest.to_path_buf(),
        trusted_paths,
    })
}

/// The most a submission's `src/` may hold: far more than any stage needs, little enough that a
/// hostile submission cannot fill the grader's disk.
const MAX_SOURCE_BYTES: u64 = 64 << 20;
const MAX_SOURCE_FILES: usize = 10_000;

/// The learner's `src/`, refused when it, or a folder on the way to it, is a symbolic link (a
/// link could hand the grader's own files, a reference solution, in as the learner's code), or
/// when it is larger than [`MAX_SOURCE_BYTES`] or has more than [`MAX_SOURCE_FILES`] files.
fn learner_sources(learner: &Path) -> Result<PathBuf, AssemblyError> {
    let src = learner.join("src");
    for path in [learner.parent().unwrap_or(learner), learner, src.as_path()] {
        match path.symlink_metadata() {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(AssemblyError::Submission(format!(
                    "{} is a symbolic link; a submission must be plain files and folders",
                    path.display()
                )));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(AssemblyError::Submission(format!(
                    "{} is not a folder",
                    path.display()
                )));
            }
            Ok(_) => {}
            Err(_) => {
                return Err(AssemblyError::Submission(format!(
                    "{} is missing: the learner's crate has no sources to grade",
                    path.display()
                )));
            }
        }
    }
    let (mut bytes, mut files) = (0u64, 0usize);
    let mut folders = vec![src.clone()];
    while let Some(folder) = folders.pop() {
        let entries = fs::read_dir(&folder).map_err(|err| {
            AssemblyError::Submission(format!("cannot read {}: {err}", folder.display()))
        })?;
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                folders.push(entry.path());
            } else {
                files += 1;
                bytes += meta.len();
            }
            if bytes > MAX_SOURCE_BYTES || files > MAX_SOURCE_FILES {
                return Err(AssemblyError::Submission(format!(
                    "{} holds more than {} MiB or {MAX_SOURCE_FILES} files; a submission's sources must be smaller (build output and data belong elsewhere)",
                    src.display(),
                    MAX_SOURCE_BYTES >> 20
                )));
            }
        }
    }
    Ok(src)
}

/// The attribute katas puts first in the learner's library.
const FORBID_UNSAFE: &str = "#![forbid(unsafe_code)] ";

/// Makes the learner's library forbid `unsafe`: no code before `main` (`link_section`,
/// `global_asm!`), no raw descriptors. The attribute goes on the file's first line, so every
/// diagnostic keeps its line number; a missing `lib.rs` is left for the compiler to report.
fn forbid_unsafe(lib: &Path) -> Result<(), AssemblyError> {
    let Ok(text) = fs::read_to_string(lib) else {
        return Ok(());
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    fs::write(lib, format!("{FORBID_UNSAFE}{text}")).map_err(|source| AssemblyError::Io {
        path: lib.to_path_buf(),
        source,
    })
}

/// The graded manifest's path dependencies, each of which must lie in the reference course.
fn check_paths(manifest: &Path, root: &Path) -> Result<Vec<PathBuf>, AssemblyError> {
    let io = |source| AssemblyError::Io {
        path: manifest.to_path_buf(),
        source,
    };
    let text = fs::read_to_string(manifest).map_err(io)?;
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| io(io::Error::new(io::ErrorKind::InvalidData, format!("{e}"))))?;
    let mut paths = Vec::new();
    collect_paths(doc.as_table(), &mut paths);
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table_like()) {
        for (_, platform) in targets.iter() {
            if let Some(platform) = platform.as_table_like() {
                for (section, deps) in platform.iter() {
                    if section.ends_with("dependencies") {
                        collect_dep_paths(deps, &mut paths);
                    }
                }
            }
        }
    }
    let root = layout::normalize_path(root);
    for path in &paths {
        if !layout::normalize_path(path).starts_with(&root) {
            return Err(AssemblyError::UntrustedPath {
                manifest: manifest.to_path_buf(),
                dependency: path.clone(),
            });
        }
    }
    Ok(paths)
}

fn collect_paths(table: &toml_edit::Table, out: &mut Vec<PathBuf>) {
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(deps) = table.get(section) {
            collect_dep_paths(deps, out);
        }
    }
}

fn collect_dep_paths(deps: &toml_edit::Item, out: &mut Vec<PathBuf>) {
    let Some(deps) = deps.as_table_like() else {
        return;
    };
    for (_, dep) in deps.iter() {
        if let Some(path) = dep
            .as_table_like()
            .and_then(|t| t.get("path"))
            .and_then(|p| p.as_str())
        {
            out.push(PathBuf::from(path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Cargo.toml");
        fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn the_learners_library_forbids_unsafe_on_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib.rs");
        fs::write(
            &lib,
            "\u{feff}//! A store.\n#![allow(unsafe_code)]\npub fn x() {}\n",
        )
        .unwrap();
        forbid_unsafe(&lib).unwrap();
        let text = fs::read_to_string(&lib).unwrap();
        assert_eq!(
            text, "#![forbid(unsafe_code)] //! A store.\n#![allow(unsafe_code)]\npub fn x() {}\n",
            "first line, no line added, the BOM dropped"
        );
    }

    #[test]
    fn a_path_dependency_outside_the_reference_is_refused() {
        let (_dir, path) = manifest(
            "[package]\nname = \"x\"\n\n[target.'cfg(all())'.dev-dependencies]\nsim = { path = \"/elsewhere/sim\" }\n",
        );
        let err = check_paths(&path, Path::new("/trusted")).unwrap_err();
        assert!(matches!(err, AssemblyError::UntrustedPath { .. }), "{err}");
        let (_dir, path) = manifest(
            "[package]\nname = \"x\"\n\n[dev-dependencies]\nsim = { path = \"/trusted/exercises/t/../../crates/sim\" }\n",
        );
        let paths = check_paths(&path, Path::new("/trusted")).unwrap();
        assert_eq!(paths.len(), 1);
    }

    #[test]
    fn sources_too_large_to_grade_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let learner = dir.path().join("exercises/t");
        fs::create_dir_all(learner.join("src")).unwrap();
        let big = fs::File::create(learner.join("src/data.bin")).unwrap();
        big.set_len(MAX_SOURCE_BYTES + 1).unwrap();
        let err = learner_sources(&learner).unwrap_err();
        assert!(err.to_string().contains("MiB"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_sources_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let learner = dir.path().join("exercises/t");
        fs::create_dir_all(&learner).unwrap();
        std::os::unix::fs::symlink("/some/solution/src", learner.join("src")).unwrap();
        let err = learner_sources(&learner).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let other = dir.path().join("other/t");
        fs::create_dir_all(other.join("src")).unwrap();
        fs::remove_dir_all(dir.path().join("exercises")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("other"), dir.path().join("exercises")).unwrap();
        let err = learner_sources(&learner).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}
