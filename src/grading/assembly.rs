//! The graded crate, assembled from trusted parts plus the learner's `src/` and nothing else.
//!
//! The learner's `Cargo.toml`, `Cargo.lock`, `build.rs`, `.cargo/`, toolchain files and test
//! files are never used: a `[[test]]` table could point the `stages` target at the learner's own
//! file, a build script could rewrite the trusted tests before they compile, a
//! `[target.'cfg(all())'.dependencies]` table could swap the course's checker for a copy that
//! always agrees. The manifest, the lock file and every other file of the crate come from the
//! reference's start crate, the tests from the reference's stages (each with its witness), the
//! course's own crates (the simulator) from the reference's `crates/`. The manifest forbids
//! `unsafe`, whatever the course's says.

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
    let home = reference.crate_dir(track);
    absolutize_path_dependencies(&manifest, &home).map_err(io(&manifest))?;
    let trusted_paths = forbid_unsafe_and_check_paths(&manifest, &reference.root)?;
    Ok(GradedCrate {
        dir: dest.to_path_buf(),
        trusted_paths,
    })
}

/// The learner's `src/`, refused when it, or a folder on the way to it, is a symbolic link: a
/// link could hand the grader's own files (a reference solution) in as the learner's code.
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
    Ok(src)
}

/// Sets `[lints.rust] unsafe_code = "forbid"` in the graded manifest and returns its path
/// dependencies, each of which must lie in the reference course.
fn forbid_unsafe_and_check_paths(
    manifest: &Path,
    root: &Path,
) -> Result<Vec<PathBuf>, AssemblyError> {
    let io = |source| AssemblyError::Io {
        path: manifest.to_path_buf(),
        source,
    };
    let text = fs::read_to_string(manifest).map_err(io)?;
    let mut doc: toml_edit::DocumentMut = text
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
    let mut implicit = toml_edit::Table::new();
    implicit.set_implicit(true);
    let lints = doc
        .entry("lints")
        .or_insert(toml_edit::Item::Table(implicit));
    if let Some(lints) = lints.as_table_like_mut() {
        lints.remove("workspace");
        let rust = lints
            .entry("rust")
            .or_insert(toml_edit::Item::Table(toml_edit::Table::new()));
        if let Some(rust) = rust.as_table_like_mut() {
            rust.insert("unsafe_code", toml_edit::value("forbid"));
        }
    }
    fs::write(manifest, doc.to_string()).map_err(io)?;
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
    fn the_graded_manifest_forbids_unsafe_whatever_it_said() {
        let (_dir, path) = manifest(
            "[package]\nname = \"x\"\n\n[lints.rust]\nunsafe_code = \"allow\"\n\n[lints.clippy]\npedantic = \"warn\"\n",
        );
        forbid_unsafe_and_check_paths(&path, Path::new("/trusted")).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("unsafe_code = \"forbid\""), "{text}");
        assert!(!text.contains("\"allow\""), "{text}");
        assert!(text.contains("pedantic"), "other lints stay: {text}");
    }

    #[test]
    fn a_path_dependency_outside_the_reference_is_refused() {
        let (_dir, path) = manifest(
            "[package]\nname = \"x\"\n\n[target.'cfg(all())'.dev-dependencies]\nsim = { path = \"/elsewhere/sim\" }\n",
        );
        let err = forbid_unsafe_and_check_paths(&path, Path::new("/trusted")).unwrap_err();
        assert!(matches!(err, AssemblyError::UntrustedPath { .. }), "{err}");
        let (_dir, path) = manifest(
            "[package]\nname = \"x\"\n\n[dev-dependencies]\nsim = { path = \"/trusted/exercises/t/../../crates/sim\" }\n",
        );
        let paths = forbid_unsafe_and_check_paths(&path, Path::new("/trusted")).unwrap();
        assert_eq!(paths.len(), 1);
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
