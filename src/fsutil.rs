//! File-system helpers shared by progress, layout and grading: atomic writes and safe copies.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `contents` to `path` so that a crash at any moment leaves either the old file or the new
/// one, never a mix: write a temporary file beside it, fsync it, rename it over, fsync the folder.
/// Each write has a temporary file of its own (tempfile picks a fresh name), so writers in
/// parallel never truncate each other's half-written file; a crash leaves at most a stray
/// `.<name>.*.tmp` that nothing reads.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // tempfile creates files readable by their owner only; the file keeps the mode it had.
    let permissions = fs::metadata(path).map(|m| m.permissions());
    #[cfg(unix)]
    let permissions = permissions.or_else(|_| {
        use std::os::unix::fs::PermissionsExt;
        Ok::<_, io::Error>(fs::Permissions::from_mode(0o644))
    });
    if let Ok(permissions) = permissions {
        builder.permissions(permissions);
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|err| err.error)?;
    sync_dir(dir)
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

/// Lowercase hexadecimal: how katas writes the digests it keeps of files and folders.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        assert_eq!(
            dir.path().read_dir().unwrap().count(),
            1,
            "a temporary was left"
        );
    }

    #[test]
    fn parallel_atomic_writes_never_fail_nor_show_a_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.toml");
        let contents: Vec<String> = (0..8).map(|i| format!("{i}").repeat(64 * 1024)).collect();
        write_atomic(&path, contents[0].as_bytes()).unwrap();
        std::thread::scope(|scope| {
            for text in &contents {
                let (path, contents) = (&path, &contents);
                scope.spawn(move || {
                    for _ in 0..20 {
                        write_atomic(path, text.as_bytes()).unwrap();
                        let seen = fs::read_to_string(path).unwrap();
                        assert!(
                            contents.contains(&seen),
                            "a reader saw {} bytes",
                            seen.len()
                        );
                    }
                });
            }
        });
        assert_eq!(
            dir.path().read_dir().unwrap().count(),
            1,
            "a temporary was left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_atomic_write_keeps_the_mode_a_file_had() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("info.toml");
        fs::write(&path, "x").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"y").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
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
