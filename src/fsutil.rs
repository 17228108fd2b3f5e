//! File-system helpers shared by progress, layout and grading: atomic writes and safe copies.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `contents` to `path` so that a crash at any moment leaves either the old file or the new
/// one, never a mix: write a temporary file beside it, fsync it, rename it over, fsync the folder.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = tmp_path(path);
    let mut file = fs::File::create(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    if let Err(err) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(err);
    }
    sync_dir(dir)
}

/// The temporary file `write_atomic` uses for `path`.
pub fn tmp_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Writes a file only when its contents differ, so cargo sees no change (and rebuilds nothing)
/// when there is none. Returns whether it wrote.
pub fn write_if_changed(path: &Path, contents: &str) -> io::Result<bool> {
    if fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, contents)?;
    Ok(true)
}

/// Folders never copied: build output and version control.
const SKIPPED: &[&str] = &["target", ".git"];

/// Copies a folder tree. Symbolic links are refused: a course is untrusted input, and a link could
/// make katas read or write outside its folder.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if SKIPPED.iter().any(|s| name == *s) {
            continue;
        }
        let kind = entry.file_type()?;
        let (src, dst) = (entry.path(), to.join(&name));
        if kind.is_symlink() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symbolic link; katas copies only plain files and folders",
                    src.display()
                ),
            ));
        } else if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// Every plain file under `dir` (skipping build output), as paths relative to `dir`, sorted.
pub fn list_files(dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<std::path::PathBuf>) -> io::Result<()> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if SKIPPED.iter().any(|s| entry.file_name() == *s) {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(base, &entry.path(), out)?;
            } else if kind.is_file() {
                out.push(
                    entry
                        .path()
                        .strip_prefix(base)
                        .unwrap_or(&entry.path())
                        .to_path_buf(),
                );
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.toml");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        assert!(!tmp_path(&path).exists());
    }

    #[test]
    fn write_if_changed_leaves_an_equal_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/main.rs");
        assert!(write_if_changed(&path, "mod x;").unwrap());
        assert!(!write_if_changed(&path, "mod x;").unwrap());
        assert!(write_if_changed(&path, "mod y;").unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn copying_refuses_symbolic_links() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        fs::create_dir_all(&from).unwrap();
        fs::write(from.join("ok.rs"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", from.join("evil")).unwrap();
        let err = copy_tree(&from, &dir.path().join("to")).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn copying_skips_build_output() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        fs::create_dir_all(from.join("target/debug")).unwrap();
        fs::create_dir_all(from.join("src")).unwrap();
        fs::write(from.join("src/lib.rs"), "x").unwrap();
        fs::write(from.join("target/debug/big"), "x").unwrap();
        copy_tree(&from, &dir.path().join("to")).unwrap();
        assert_eq!(
            list_files(&dir.path().join("to")).unwrap(),
            [Path::new("src/lib.rs")]
        );
    }
}
