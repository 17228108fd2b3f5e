//! The error type of the durable store.

use std::io;
use std::path::{Path, PathBuf};

/// A `Result` whose error defaults to [`KvError`].
///
/// The second parameter keeps the name usable for other errors too (`Result<Reply,
/// CommandError>`).
pub type Result<T, E = KvError> = std::result::Result<T, E>;

/// What can go wrong while storing or loading data, locally or through a server.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The operating system refused an operation on a file or directory.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What we were doing, as a verb phrase ("open", "append to", ...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },
    /// A log file holds bytes that are not a valid record, and that no interrupted write can
    /// explain: the data was damaged after it was written.
    #[error("the log {path} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// Where the unreadable record starts.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A key or value too long for the log format.
    #[error("the {what} is {len} bytes long; the log format allows at most 4 GiB")]
    TooLarge {
        /// "key" or "value".
        what: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The connection to the server could not be made or was lost.
    #[error("connection to the server failed: {0}")]
    Connection(#[source] io::Error),
    /// The server sent something that is not a valid reply.
    #[error("the server broke the protocol: {0}")]
    Protocol(String),
    /// The server answered with an error reply.
    #[error("the server replied with an error: {0}")]
    Server(String),
    /// A name that is not one of the engines (see `EngineKind`).
    #[error("unknown engine {0:?}: expected \"memory\" or \"log\"")]
    UnknownEngine(String),
}

impl KvError {
    /// Returns a closure that wraps an [`io::Error`] with what we were doing and on which path,
    /// for use with `map_err`: a bare "permission denied" does not say which file.
    pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> KvError {
        let path = path.to_path_buf();
        move |source| KvError::Io {
            action,
            path,
            source,
        }
    }
}
