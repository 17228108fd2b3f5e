//! Small file-system helpers the standard library spells differently per platform.

use std::fs::File;
use std::io;
use std::path::Path;

/// Reads exactly `buf.len()` bytes of `file` starting at `offset`, without moving any shared
/// cursor: concurrent readers of the same `File` cannot disturb one another.
#[cfg(unix)]
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Reads exactly `buf.len()` bytes of `file` starting at `offset`, without moving any shared
/// cursor: concurrent readers of the same `File` cannot disturb one another.
#[cfg(windows)]
pub(crate) fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                let rest = buf;
                buf = &mut rest[n..];
                offset += n as u64;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Makes the creation, renaming and removal of files in `dir` durable.
///
/// On Unix a rename is only on disk once the directory itself is synced; Windows has no such
/// operation (and cannot open a directory as a file), so there it does nothing.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    if cfg!(unix) {
        File::open(dir)?.sync_all()
    } else {
        Ok(())
    }
}
