//! The Rust toolchain grading builds with, pinned by katas.
//!
//! rustup picks a toolchain from `rust-toolchain.toml` files in the working folder and its
//! parents, and a toolchain file may name any folder as a "toolchain" (`path = ...`): a learner
//! could hand the grader a fake compiler. So katas asks for the sysroot once, from a folder of the
//! grader's own, and then runs that sysroot's `cargo` and `rustc` by absolute path, with a cleared
//! environment: no proxy, no toolchain file, no `RUSTC_WRAPPER` is consulted after that.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why the toolchain could not be pinned.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error(
        "cannot run `{program} --print sysroot` to find the Rust toolchain: is it installed and on PATH?"
    )]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{program} --print sysroot` failed: {stderr}")]
    Failed { program: String, stderr: String },
    #[error(
        "the toolchain at {0} has no `cargo` beside `rustc`; install cargo with the toolchain (rustup does)"
    )]
    NoCargo(PathBuf),
}

/// A toolchain, by absolute paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    pub sysroot: PathBuf,
    pub cargo: PathBuf,
    pub rustc: PathBuf,
}

impl Toolchain {
    /// Finds the toolchain the grader would use in `neutral`, a folder of the grader's own (no
    /// toolchain file of a learner's can be in it or above it).
    pub fn pin(neutral: &Path) -> Result<Self, ToolchainError> {
        let program = rustc_program();
        let output = Command::new(&program)
            .args(["--print", "sysroot"])
            .current_dir(neutral)
            .env_remove("RUSTC_WRAPPER")
            .output()
            .map_err(|source| ToolchainError::Spawn {
                program: program.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(ToolchainError::Failed {
                program,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        let bin = sysroot.join("bin");
        let cargo = bin.join(exe("cargo"));
        if !cargo.is_file() {
            return Err(ToolchainError::NoCargo(sysroot));
        }
        Ok(Self {
            rustc: bin.join(exe("rustc")),
            cargo,
            sysroot,
        })
    }

    /// `PATH` for the pinned tools: the toolchain's own folder, then the system's (for the
    /// linker).
    pub fn path_env(&self) -> std::ffi::OsString {
        let mut dirs = vec![self.sysroot.join("bin")];
        dirs.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from));
        std::env::join_paths(dirs).unwrap_or_default()
    }
}

/// The rustc to ask: the one beside the cargo that started katas (under `cargo run`), else the
/// one on PATH.
pub(crate) fn rustc_program() -> String {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|cargo| cargo.parent().map(|bin| bin.join(exe("rustc"))))
        .filter(|rustc| rustc.is_file())
        .map_or_else(|| "rustc".to_owned(), |p| p.display().to_string())
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_toolchain_is_found_by_absolute_path_and_ignores_toolchain_files() {
        let dir = tempfile::tempdir().unwrap();
        // A toolchain file naming a folder that is no toolchain: rustup would fail on it, so the
        // pin must not be taken from the learner's folder. Here it is the neutral folder's child,
        // which rustup never looks at.
        let learner = dir.path().join("learner");
        std::fs::create_dir_all(&learner).unwrap();
        std::fs::write(
            learner.join("rust-toolchain.toml"),
            "[toolchain]\npath = \"/nonexistent\"\n",
        )
        .unwrap();
        let pinned = Toolchain::pin(dir.path()).unwrap();
        assert!(
            pinned.cargo.is_absolute() && pinned.cargo.is_file(),
            "{pinned:?}"
        );
        assert!(pinned.rustc.starts_with(&pinned.sysroot), "{pinned:?}");
    }
}
