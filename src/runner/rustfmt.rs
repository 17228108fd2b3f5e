//! rustfmt on the learner's own sources: checking them (the one-line advice after a pass) and
//! formatting them (the watch screen's `f`).
//!
//! `cargo fmt` would also format the crate's `tests/`, where the course installs the stages'
//! tests: formatting those would make katas see edited tests. So rustfmt runs on the crate's
//! roots in `src/` (`lib.rs`, `main.rs`, `src/bin/*.rs`), and follows their `mod`s from there,
//! with the crate's edition and its own `rustfmt.toml`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::DEFAULT_OUTPUT_CAP;
use super::launch;
use super::process::{self, Ended, Limits};

/// How long rustfmt may take on a learner's crate.
pub const FMT_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Why the crate could not be formatted.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("the crate has no src/lib.rs or src/main.rs to format")]
    NoSources,
    #[error("cannot start rustfmt (is it installed? `rustup component add rustfmt`)")]
    Spawn(#[source] std::io::Error),
    #[error("rustfmt could not format the crate:\n{0}")]
    Failed(String),
    #[error("rustfmt was stopped (cancelled, or at its time limit of {}s)", FMT_TIME_LIMIT.as_secs())]
    Stopped,
}

/// The rustfmt beside the cargo katas uses (`$CARGO`'s toolchain), else the one on `PATH`.
fn rustfmt_program() -> PathBuf {
    let cargo = PathBuf::from(launch::plain_cargo());
    let beside = cargo.with_file_name("rustfmt");
    if cargo.components().count() > 1 && beside.is_file() {
        beside
    } else {
        PathBuf::from("rustfmt")
    }
}

/// The crate's root sources, relative to the crate: rustfmt follows their modules.
fn roots(crate_dir: &Path) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = ["src/lib.rs", "src/main.rs"]
        .iter()
        .map(PathBuf::from)
        .filter(|p| crate_dir.join(p).is_file())
        .collect();
    if let Ok(entries) = std::fs::read_dir(crate_dir.join("src/bin")) {
        let mut bins: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| PathBuf::from("src/bin").join(e.file_name()))
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        bins.sort();
        roots.extend(bins);
    }
    roots
}

/// The crate's edition, from its manifest; rustfmt's own default (2015) would misread `async`.
fn edition(crate_dir: &Path) -> String {
    std::fs::read_to_string(crate_dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|manifest| {
            manifest
                .get("package")?
                .get("edition")?
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "2015".to_owned())
}

async fn rustfmt(
    crate_dir: &Path,
    check: bool,
    cancel: &CancellationToken,
) -> Result<process::Finished, FormatError> {
    let roots = roots(crate_dir);
    if roots.is_empty() {
        return Err(FormatError::NoSources);
    }
    let limits = Limits {
        time: FMT_TIME_LIMIT,
        output_cap: DEFAULT_OUTPUT_CAP,
        memory: None,
        parent_death: true,
    };
    let mut command = process::command(rustfmt_program(), &limits);
    command
        .arg("--edition")
        .arg(edition(crate_dir))
        .args(check.then_some("--check"))
        .args(&roots)
        .current_dir(crate_dir);
    process::run(command, limits, cancel, None)
        .await
        .map_err(FormatError::Spawn)
}

/// Whether the crate's sources are formatted as rustfmt would: `Some(false)` when rustfmt finds
/// differences, `None` when it could not say (not installed, a syntax error, cancelled).
pub async fn is_formatted(crate_dir: &Path, cancel: &CancellationToken) -> Option<bool> {
    let finished = rustfmt(crate_dir, true, cancel).await.ok()?;
    match finished.ended {
        Ended::Exited(status) if status.success() => Some(true),
        // `rustfmt --check` prints the differences on stdout and exits 1; a parse error goes to
        // stderr with nothing on stdout.
        Ended::Exited(_) if !finished.stdout.text().trim().is_empty() => Some(false),
        _ => None,
    }
}

/// Formats the crate's sources in place (its tests are the course's, and left alone).
pub async fn format(crate_dir: &Path, cancel: &CancellationToken) -> Result<(), FormatError> {
    let finished = rustfmt(crate_dir, false, cancel).await?;
    match finished.ended {
        Ended::Exited(status) if status.success() => Ok(()),
        Ended::Exited(_) => Err(FormatError::Failed(finished.stderr.text())),
        Ended::Cancelled | Ended::TimedOut => Err(FormatError::Stopped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roots_are_the_crates_sources_not_its_tests() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src/bin")).unwrap();
        std::fs::create_dir_all(dir.path().join("tests/stages")).unwrap();
        for file in ["src/lib.rs", "src/bin/tool.rs", "tests/stages/main.rs"] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        assert_eq!(
            roots(dir.path()),
            [
                PathBuf::from("src/lib.rs"),
                PathBuf::from("src/bin/tool.rs")
            ]
        );
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"x\"\nedition = \"2021\"\n",
        )
        .unwrap();
        assert_eq!(edition(dir.path()), "2021");
    }

    #[tokio::test]
    async fn format_formats_the_sources_and_leaves_the_tests() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("tests")).unwrap();
        let messy = "pub fn  a( )->u8{1}\n";
        std::fs::write(dir.path().join("src/lib.rs"), messy).unwrap();
        std::fs::write(dir.path().join("tests/t.rs"), messy).unwrap();
        let cancel = CancellationToken::new();
        if is_formatted(dir.path(), &cancel).await.is_none() {
            eprintln!("skipped: no rustfmt here");
            return;
        }
        assert_eq!(is_formatted(dir.path(), &cancel).await, Some(false));
        format(dir.path(), &cancel).await.unwrap();
        assert_eq!(is_formatted(dir.path(), &cancel).await, Some(true));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("tests/t.rs")).unwrap(),
            messy,
            "the tests are the course's: rustfmt leaves them"
        );
    }
}
