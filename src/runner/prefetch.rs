//! Downloading every package of a learner's lock file once, in the background.
//!
//! A track's heavy dependencies are optional until the stage that needs them (see
//! `layout::features`), and cargo downloads only what a build compiles: without this, the first
//! build of kv_store's first stage would leave tokio and the redis client undownloaded, and a
//! learner who went offline after it could not build stage `server`. So after a learner's build
//! succeeds, katas runs `cargo fetch` for the host once per lock file; a marker in the build
//! folder (the lock file's digest) says it is done. It runs beside the tests, off the verdict's
//! path, and a fetch that fails (offline) is simply tried again by the next katas.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::RunRequest;
use super::launch::plain_cargo;
use super::process::{self, Ended, Limits};
use crate::fsutil::{hex, write_atomic};

/// The marker's name in the build folder.
const MARKER: &str = "katas-fetched";

/// The longest a fetch may take: a slow network, and nobody waits for it.
const FETCH_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Starts the fetch of the request's crate unless its lock file was fetched already, or a fetch
/// of it runs in this process.
pub fn spawn_once(request: &RunRequest) {
    static STARTED: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    let key = request.target_dir.join(MARKER);
    {
        let mut started = STARTED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !started.insert(key.clone()) {
            return;
        }
    }
    let Some(digest) = lock_digest(&request.crate_dir) else {
        return;
    };
    if std::fs::read_to_string(&key).is_ok_and(|done| done.trim() == digest) {
        return;
    }
    let manifest = request.crate_dir.join("Cargo.toml");
    let crate_dir = request.crate_dir.clone();
    // A thread of its own with its own runtime, not a task on the caller's: `katas run` drops
    // its runtime as soon as the verdict is in, which would kill the fetch with it. The thread
    // lives until the fetch ends or katas exits (then the parent-death signal ends cargo too).
    let spawned = std::thread::Builder::new()
        .name("katas-fetch".to_owned())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            if runtime.block_on(fetch(&manifest, &crate_dir)) {
                // Only a convenience: a marker that cannot be written costs another fetch, later.
                let _ = write_atomic(&key, digest.as_bytes());
            }
        });
    // A thread that cannot start costs the download now, not the run: the next katas tries again.
    drop(spawned);
}

/// The digest of the crate's lock file; `None` without one (cargo writes it at the first build).
fn lock_digest(crate_dir: &Path) -> Option<String> {
    let lock = std::fs::read(crate_dir.join("Cargo.lock")).ok()?;
    Some(hex(&Sha256::digest(&lock)))
}

/// `cargo fetch` for the host (packages for other platforms, such as Windows' system crates, are
/// never built here); whether it succeeded.
async fn fetch(manifest: &Path, crate_dir: &Path) -> bool {
    let limits = Limits {
        time: FETCH_LIMIT,
        output_cap: 64 * 1024,
        memory: None,
        parent_death: true,
    };
    let mut command = process::command(plain_cargo(), &limits);
    command
        .arg("fetch")
        .arg("--manifest-path")
        .arg(manifest)
        .current_dir(crate_dir);
    if let Some(host) = host_tuple().await {
        command.arg("--target").arg(host);
    }
    let never = CancellationToken::new();
    matches!(
        process::run(command, limits, &never, None).await,
        Ok(finished) if matches!(finished.ended, Ended::Exited(status) if status.success())
    )
}

/// The host's target tuple, as the rustc of the cargo that runs the fetch names it.
async fn host_tuple() -> Option<String> {
    let output = tokio::process::Command::new(crate::grading::toolchain::rustc_program())
        .args(["--print", "host-tuple"])
        .output()
        .await
        .ok()?;
    let host = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !host.is_empty()).then_some(host)
}
