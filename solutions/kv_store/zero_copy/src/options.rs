//! How a [`LogStore`](crate::LogStore) is configured.

use std::num::NonZeroU32;

/// How a [`LogStore`](crate::LogStore) behaves; start from `Options::default()` and change what you need:
/// `Options { compaction_threshold: 4096, ..Options::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Compact once the stale records (overwritten or removed values, and removal markers) take
    /// more than this many bytes. Lower means a smaller directory and more frequent rewrites.
    pub compaction_threshold: u64,
    /// When written records are forced to the disk.
    pub sync: SyncPolicy,
}

impl Default for Options {
    /// Compaction at 1 MiB of stale data; [`SyncPolicy::Never`].
    fn default() -> Options {
        Options {
            compaction_threshold: 1024 * 1024,
            sync: SyncPolicy::Never,
        }
    }
}

/// When the store forces written records from the operating system's cache to the disk (fsync).
///
/// Whatever the policy, every record reaches the operating system before the call that wrote it
/// returns, so a crash of the *process* never loses an acknowledged write. The policy decides
/// what a crash of the *machine* (power cut, kernel panic) can lose, and what each write costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// Sync after every write: nothing acknowledged is ever lost, and every write waits for the
    /// disk (from tens of microseconds on a good SSD to milliseconds on others).
    Always,
    /// Sync after every `n` writes: a machine crash loses at most the last `n - 1` acknowledged
    /// writes; the disk wait is shared by `n` writes.
    EveryN(NonZeroU32),
    /// Never sync (except during compaction): the operating system writes the data back when it
    /// likes, typically within seconds; a machine crash can lose the writes of that window. The
    /// default, as in Bitcask.
    #[default]
    Never,
}
