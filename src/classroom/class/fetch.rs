//! Fetching a learner's work into a folder the teacher owns: a shallow clone of one commit of a
//! git repository, or a copy of a local folder; and the commit that identifies it, asked of the
//! remote before cloning so that unchanged work is not fetched again.
//!
//! git runs under the learner's time limit, in its own process group, never prompting for a
//! password, with symbolic links checked out as plain files (a link could point at the teacher's
//! files) and no hooks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use super::roster::Source;
use crate::fsutil::{copy_tree, hex, list_files};
use crate::runner::{Ended, Limits, run_limited};

/// Why a submission could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot {what}: {said}")]
    Git { what: String, said: String },
    #[error("git did not finish within {}s", .0.as_secs())]
    TimedOut(Duration),
    #[error("stopped: the learner's time limit ran out")]
    Cancelled,
    #[error("cannot start git (is it installed and on PATH?)")]
    Spawn(#[source] std::io::Error),
    #[error("the folder {} cannot be read", .0.display())]
    Folder(PathBuf, #[source] std::io::Error),
    #[error("the folder {} does not exist", .0.display())]
    NoFolder(PathBuf),
    #[error(
        "it was not fetched into {} (run `katas grade ROSTER --fetch-only` with the same \
         roster, --shard and --work-dir first)",
        .0.display()
    )]
    NotFetched(PathBuf),
}

/// The commit a source is at now, without fetching it: `git ls-remote` for a repository (a
/// commit id given as its ref is itself), a hash of the files for a folder.
pub async fn resolve(
    source: &Source,
    limit: Duration,
    cancel: &CancellationToken,
) -> Result<String, FetchError> {
    match source {
        Source::Git {
            reference: Some(r), ..
        } if is_commit_id(r) => Ok(r.to_lowercase()),
        Source::Git { url, reference } => {
            let wanted = reference.as_deref().unwrap_or("HEAD");
            let said = git(
                None,
                &["ls-remote", "--", url, wanted],
                limit,
                cancel,
                &format!("reach the repository {url}"),
            )
            .await?;
            pick_ref(&said, wanted).ok_or_else(|| FetchError::Git {
                what: format!("find `{wanted}` in {url}"),
                said: "the repository has no such branch or tag".to_owned(),
            })
        }
        Source::Folder(dir) => folder_hash(dir),
    }
}

/// Fetches the source into `dest` (replaced), returning the commit fetched.
pub async fn fetch(
    source: &Source,
    dest: &Path,
    limit: Duration,
    cancel: &CancellationToken,
) -> Result<String, FetchError> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(|e| FetchError::Folder(dest.to_path_buf(), e))?;
    }
    match source {
        Source::Folder(dir) => {
            let commit = folder_hash(dir)?;
            copy_tree(dir, dest).map_err(|e| FetchError::Folder(dir.clone(), e))?;
            Ok(commit)
        }
        Source::Git { url, reference } => {
            std::fs::create_dir_all(dest).map_err(|e| FetchError::Folder(dest.to_path_buf(), e))?;
            let what = format!("fetch {url}");
            git(Some(dest), &["init", "--quiet"], limit, cancel, &what).await?;
            for (key, value) in [("core.symlinks", "false"), ("core.hooksPath", "/dev/null")] {
                git(Some(dest), &["config", key, value], limit, cancel, &what).await?;
            }
            let wanted = reference.as_deref().unwrap_or("HEAD");
            git(
                Some(dest),
                &[
                    "fetch",
                    "--quiet",
                    "--depth",
                    "1",
                    "--no-tags",
                    "--",
                    url,
                    wanted,
                ],
                limit,
                cancel,
                &format!("fetch `{wanted}` of {url}"),
            )
            .await?;
            git(
                Some(dest),
                &["checkout", "--quiet", "--detach", "FETCH_HEAD"],
                limit,
                cancel,
                &what,
            )
            .await?;
            let head = git(Some(dest), &["rev-parse", "HEAD"], limit, cancel, &what).await?;
            Ok(head.trim().to_owned())
        }
    }
}

/// Fetches a git source into `dest` to grade later with no credentials around (`katas grade
/// --fetch-only`), keeping its `.git`; a `dest` already at the remote's commit is left as it is.
pub async fn prefetch(
    source: &Source,
    dest: &Path,
    limit: Duration,
    cancel: &CancellationToken,
) -> Result<String, FetchError> {
    let commit = resolve(source, limit, cancel).await?;
    if let Ok(have) = fetched_commit(dest, limit, cancel).await
        && have == commit
    {
        return Ok(commit);
    }
    fetch(source, dest, limit, cancel).await
}

/// The commit of a submission fetched earlier with [`prefetch`], asked of its own `.git`.
pub async fn fetched_commit(
    dest: &Path,
    limit: Duration,
    cancel: &CancellationToken,
) -> Result<String, FetchError> {
    if !dest.join(".git").is_dir() {
        return Err(FetchError::NotFetched(dest.to_path_buf()));
    }
    let head = git(
        Some(dest),
        &["rev-parse", "HEAD"],
        limit,
        cancel,
        "read the fetched commit",
    )
    .await?;
    Ok(head.trim().to_owned())
}

/// Copies a submission fetched earlier (its `.git` left behind), returning its commit.
pub async fn copy_fetched(
    fetched: &Path,
    dest: &Path,
    limit: Duration,
    cancel: &CancellationToken,
) -> Result<String, FetchError> {
    let commit = fetched_commit(fetched, limit, cancel).await?;
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(|e| FetchError::Folder(dest.to_path_buf(), e))?;
    }
    copy_tree(fetched, dest).map_err(|e| FetchError::Folder(fetched.to_path_buf(), e))?;
    Ok(commit)
}

/// Runs git, returning its stdout; a failure carries what git said on stderr. The caller's
/// environment never picks the repository (`GIT_DIR` and `GIT_WORK_TREE` are dropped), git never
/// asks for a password, and the whole process group goes at the limit.
pub(crate) async fn git(
    dir: Option<&Path>,
    args: &[&str],
    limit: Duration,
    cancel: &CancellationToken,
    what: &str,
) -> Result<String, FetchError> {
    let mut command = Command::new("git");
    if let Some(dir) = dir {
        command.arg("-C").arg(dir);
    }
    command
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    let limits = Limits {
        time: limit,
        output_cap: 1024 * 1024,
        memory: None,
        parent_death: false,
    };
    let finished = run_limited(command, limits, cancel, None)
        .await
        .map_err(FetchError::Spawn)?;
    match finished.ended {
        Ended::Exited(status) if status.success() => Ok(finished.stdout.text()),
        Ended::Exited(_) => Err(FetchError::Git {
            what: what.to_owned(),
            said: finished
                .stderr
                .text()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(3)
                .collect::<Vec<_>>()
                .join(" / "),
        }),
        Ended::TimedOut => Err(FetchError::TimedOut(limit)),
        Ended::Cancelled => Err(FetchError::Cancelled),
    }
}

fn is_commit_id(text: &str) -> bool {
    text.len() == 40 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// The commit of `wanted` in `git ls-remote` output: a branch first, then a tag's commit (the
/// peeled `^{}` line of an annotated tag), then any ref of that name.
fn pick_ref(listing: &str, wanted: &str) -> Option<String> {
    let refs: Vec<(&str, &str)> = listing.lines().filter_map(|l| l.split_once('\t')).collect();
    let find = |name: &str| {
        refs.iter()
            .find(|(_, r)| *r == name)
            .map(|(id, _)| (*id).to_owned())
    };
    find(wanted)
        .or_else(|| find(&format!("refs/heads/{wanted}")))
        .or_else(|| find(&format!("refs/tags/{wanted}^{{}}")))
        .or_else(|| find(&format!("refs/tags/{wanted}")))
        .or_else(|| refs.first().map(|(id, _)| (*id).to_owned()))
}

/// `tree:` and a hash of a folder's files (names and contents; build output and `.git` left
/// out): what stands for a commit when the work is a folder.
fn folder_hash(dir: &Path) -> Result<String, FetchError> {
    if !dir.is_dir() {
        return Err(FetchError::NoFolder(dir.to_path_buf()));
    }
    let mut hasher = Sha256::new();
    for file in list_files(dir).map_err(|e| FetchError::Folder(dir.to_path_buf(), e))? {
        let bytes =
            std::fs::read(dir.join(&file)).map_err(|e| FetchError::Folder(dir.to_path_buf(), e))?;
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("tree:{}", hex(&hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_branch_wins_over_a_tag_and_an_annotated_tag_gives_its_commit() {
        let listing = "aaa\trefs/tags/v1\nbbb\trefs/tags/v1^{}\nccc\trefs/heads/main\n";
        assert_eq!(pick_ref(listing, "main").as_deref(), Some("ccc"));
        assert_eq!(pick_ref(listing, "v1").as_deref(), Some("bbb"));
        assert_eq!(pick_ref("ddd\tHEAD\n", "HEAD").as_deref(), Some("ddd"));
        assert_eq!(pick_ref("", "main"), None);
        assert!(is_commit_id(&"a1".repeat(20)) && !is_commit_id("main"));
    }
}
