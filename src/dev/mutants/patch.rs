//! Applying a mutant's or an alternative's patch to a scratch crate: a unified diff (as
//! `diff -ru a/ b/` or `git diff` writes it), paths stripped of their first component (`-p1`).
//!
//! Parsing and applying are done by `diffy`; this module only maps each file of the patch to a
//! path inside the crate, refusing any that would lead outside it or change the stage tests.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use diffy::patch_set::{FileOperation, ParseOptions, PatchKind, PatchSet};

/// Why a patch cannot be read or applied. Each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error(
        "is not a unified diff ({0}); write it with `diff -ru a/ b/` or `git diff --no-index a b`"
    )]
    Parse(String),
    #[error(
        "changes no file; write it with `diff -ru a/ b/` between the reference and the variant"
    )]
    Empty,
    #[error(
        "names `{path}`, which is not a path inside the crate; paths are relative to the crate \
         root with one leading component (a/src/lib.rs), as `-p1` expects"
    )]
    BadPath { path: String },
    #[error(
        "changes `{path}`: a variant changes the solution, never the stage tests (they are what \
         judges it)"
    )]
    TouchesTests { path: String },
    #[error("changes `{path}` in binary form; only text patches are supported")]
    Binary { path: String },
    #[error(
        "changes `{path}`, which the stage's reference solution does not have; regenerate the \
         patch against the reference (the start crate with solutions/<track>/<stage>/ over it)"
    )]
    Missing { path: String },
    #[error(
        "creates `{path}`, which the reference solution already has; make it a change of that file"
    )]
    Exists { path: String },
    #[error(
        "does not apply to `{path}` ({reason}): the reference solution changed since the patch \
         was written; regenerate it against the current reference"
    )]
    DoesNotApply { path: String, reason: String },
    #[error("cannot write `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// What a patch does to one file, with paths relative to the crate root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    Create(PathBuf),
    Modify(PathBuf),
    Delete(PathBuf),
}

/// The files a patch changes, after checking that it parses and stays inside the crate.
pub fn changes(text: &str) -> Result<Vec<FileChange>, PatchError> {
    let mut out = Vec::new();
    for file in parse(text)? {
        let file = file.map_err(|e| PatchError::Parse(e.to_string()))?;
        out.push(change_of(file.operation())?);
        if file.patch().is_binary() {
            return Err(PatchError::Binary {
                path: display(out.last()),
            });
        }
    }
    if out.is_empty() {
        return Err(PatchError::Empty);
    }
    Ok(out)
}

/// Applies a patch to the crate in `dir`, file by file. A patch that fails part-way leaves the
/// crate half-changed: the caller assembles a fresh crate for every variant anyway.
pub fn apply(text: &str, dir: &Path) -> Result<(), PatchError> {
    changes(text)?;
    for file in parse(text)? {
        let file = file.map_err(|e| PatchError::Parse(e.to_string()))?;
        let change = change_of(file.operation())?;
        let PatchKind::Text(patch) = file.patch() else {
            return Err(PatchError::Binary {
                path: display(Some(&change)),
            });
        };
        let io_error = |path: &Path| {
            let path = path.display().to_string();
            move |source| PatchError::Io { path, source }
        };
        match &change {
            FileChange::Create(path) => {
                let target = dir.join(path);
                if target.exists() {
                    return Err(PatchError::Exists {
                        path: path.display().to_string(),
                    });
                }
                let text = applied("", patch, path)?;
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(io_error(path))?;
                }
                fs::write(&target, text).map_err(io_error(path))?;
            }
            FileChange::Modify(path) => {
                let target = dir.join(path);
                let Ok(before) = fs::read_to_string(&target) else {
                    return Err(PatchError::Missing {
                        path: path.display().to_string(),
                    });
                };
                let text = applied(&before, patch, path)?;
                fs::write(&target, text).map_err(io_error(path))?;
            }
            FileChange::Delete(path) => {
                let target = dir.join(path);
                if !target.is_file() {
                    return Err(PatchError::Missing {
                        path: path.display().to_string(),
                    });
                }
                fs::remove_file(&target).map_err(io_error(path))?;
            }
        }
    }
    Ok(())
}

fn parse(text: &str) -> Result<PatchSet<'_, str>, PatchError> {
    // `git diff` output has `diff --git` headers (and `new file mode` lines); `diff -ru` output
    // has its own `diff -ru` lines, which the plain unified parser skips as a preamble.
    let git = text.lines().any(|l| l.starts_with("diff --git "));
    let options = if git {
        ParseOptions::gitdiff()
    } else {
        ParseOptions::unidiff()
    };
    Ok(PatchSet::parse(text, options))
}

fn applied(before: &str, patch: &diffy::Patch<'_, str>, path: &Path) -> Result<String, PatchError> {
    diffy::apply(before, patch).map_err(|e| PatchError::DoesNotApply {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn change_of(operation: &FileOperation<'_, str>) -> Result<FileChange, PatchError> {
    let stripped = operation.strip_prefix(1);
    match &stripped {
        FileOperation::Create(path) => Ok(FileChange::Create(inside(path)?)),
        FileOperation::Delete(path) => Ok(FileChange::Delete(inside(path)?)),
        FileOperation::Modify { original, modified } => {
            let (a, b) = (inside(original)?, inside(modified)?);
            if a != b {
                return Err(PatchError::BadPath {
                    path: format!("{} -> {}", a.display(), b.display()),
                });
            }
            Ok(FileChange::Modify(b))
        }
        FileOperation::Rename { from, to } | FileOperation::Copy { from, to } => {
            Err(PatchError::BadPath {
                path: format!("{from} -> {to} (a rename or copy)"),
            })
        }
    }
}

/// A patch path as a relative path inside the crate, or why it is not one.
fn inside(path: &str) -> Result<PathBuf, PatchError> {
    let bad = || PatchError::BadPath {
        path: path.to_owned(),
    };
    let relative = PathBuf::from(path.trim());
    if relative.as_os_str().is_empty()
        || !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(bad());
    }
    if relative.starts_with("tests/stages") {
        return Err(PatchError::TouchesTests {
            path: path.to_owned(),
        });
    }
    Ok(relative)
}

fn display(change: Option<&FileChange>) -> String {
    match change {
        Some(FileChange::Create(p) | FileChange::Modify(p) | FileChange::Delete(p)) => {
            p.display().to_string()
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODIFY: &str = "diff -ru a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\t2026-01-01 00:00:00\n+++ b/src/lib.rs\t2026-01-01 00:00:00\n@@ -1,3 +1,3 @@\n one\n-two\n+deux\n three\n";

    #[test]
    fn a_diff_ru_patch_changes_the_file_it_names() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src")).unwrap();
        fs::write(dir.path().join("src/lib.rs"), "one\ntwo\nthree\n").unwrap();
        assert_eq!(
            changes(MODIFY).unwrap(),
            [FileChange::Modify("src/lib.rs".into())]
        );
        apply(MODIFY, dir.path()).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("src/lib.rs")).unwrap(),
            "one\ndeux\nthree\n"
        );
    }

    #[test]
    fn a_git_patch_may_create_a_file() {
        let patch = "diff --git a/src/extra.rs b/src/extra.rs\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/src/extra.rs\n@@ -0,0 +1,2 @@\n+pub fn extra() {}\n+// end\n";
        let dir = tempfile::tempdir().unwrap();
        apply(patch, dir.path()).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("src/extra.rs")).unwrap(),
            "pub fn extra() {}\n// end\n"
        );
    }

    #[test]
    fn a_patch_against_other_text_does_not_apply() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src")).unwrap();
        fs::write(dir.path().join("src/lib.rs"), "one\nzwei\nthree\n").unwrap();
        let err = apply(MODIFY, dir.path()).unwrap_err();
        assert!(matches!(err, PatchError::DoesNotApply { .. }), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = apply(MODIFY, dir.path()).unwrap_err();
        assert!(matches!(err, PatchError::Missing { .. }), "{err}");
    }

    #[test]
    fn paths_outside_the_crate_or_into_the_tests_are_refused() {
        let escape = MODIFY
            .replace("a/src/lib.rs", "a/../x.rs")
            .replace("b/src/lib.rs", "b/../x.rs");
        assert!(matches!(changes(&escape), Err(PatchError::BadPath { .. })));
        let tests = MODIFY
            .replace("a/src/lib.rs", "a/tests/stages/memory.rs")
            .replace("b/src/lib.rs", "b/tests/stages/memory.rs");
        assert!(matches!(
            changes(&tests),
            Err(PatchError::TouchesTests { .. })
        ));
        assert!(matches!(changes("just words\n"), Err(PatchError::Parse(_))));
    }
}
