//! The style check after a pass: clippy with the course's lint set, on the learner's track crate
//! (rustfmt's check is in `rustfmt.rs`).
//!
//! clippy builds in its own folder (`.katas/target-clippy`): it never waits for the test build's
//! lock nor invalidates its artifacts, so the next save's verdict is as fast with it as without.
//! It lints the library and binaries only, not the tests: `unwrap` is fine in a test.

use std::ffi::OsString;
use std::io::BufRead;
use std::time::Duration;

use cargo_metadata::Message;
use cargo_metadata::diagnostic::DiagnosticLevel;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::launch;
use super::process::{self, Ended, Limits};
use super::{DEFAULT_OUTPUT_CAP, RunError, RunRequest};

/// The folder, under the course's `.katas`, where clippy builds.
pub const CLIPPY_TARGET: &str = "target-clippy";

/// The most lints kept from one run: a learner works through the first ones.
const MAX_LINTS: usize = 200;

/// One clippy lint on the learner's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// The lint's name without `clippy::`, e.g. `needless_range_loop`.
    pub lint: String,
    pub message: String,
    /// The primary span's file, relative to the crate.
    pub file: Option<String>,
    pub line: Option<usize>,
    /// clippy's own rendering, for the learner who wants the whole story.
    pub rendered: String,
}

/// How a clippy run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClippyEnd {
    /// clippy ran to its end; `lints` says what it found (empty: clean).
    Finished,
    /// A save (or the user) cancelled it.
    Cancelled,
    /// It hit its time limit.
    TimedOut,
    /// clippy could not lint the crate (it does not compile under clippy, clippy is not
    /// installed): what it said.
    Failed(String),
}

/// What a clippy run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClippyReport {
    pub end: ClippyEnd,
    pub lints: Vec<Lint>,
    pub elapsed: Duration,
}

impl ClippyReport {
    /// Whether clippy ran to its end and found nothing: what a strict stage needs.
    pub fn is_clean(&self) -> bool {
        self.end == ClippyEnd::Finished && self.lints.is_empty()
    }
}

/// The clippy lints in cargo's JSON messages, in clippy's order; other messages (rustc's own
/// warnings, artifacts) are not clippy's teaching and are skipped.
pub fn parse_lints(reader: impl BufRead) -> Vec<Lint> {
    let mut lints = Vec::new();
    for line in reader.lines().map_while(Result::ok) {
        if let Some(lint) = lint_of(&line)
            && lints.len() < MAX_LINTS
        {
            lints.push(lint);
        }
    }
    lints
}

fn lint_of(line: &str) -> Option<Lint> {
    let Ok(Message::CompilerMessage(msg)) = serde_json::from_str::<Message>(line) else {
        return None;
    };
    let d = msg.message;
    if !matches!(d.level, DiagnosticLevel::Warning | DiagnosticLevel::Error) {
        return None;
    }
    let lint = d.code.as_ref()?.code.strip_prefix("clippy::")?.to_owned();
    let primary = d.spans.iter().find(|s| s.is_primary).or(d.spans.first());
    Some(Lint {
        lint,
        file: primary.map(|s| s.file_name.clone()),
        line: primary.map(|s| s.line_start),
        rendered: d.rendered.clone().unwrap_or_else(|| d.message.clone()),
        message: d.message,
    })
}

/// A compiler error that is not a clippy lint, as `file:line: message`.
fn error_of(line: &str) -> Option<String> {
    let Ok(Message::CompilerMessage(msg)) = serde_json::from_str::<Message>(line) else {
        return None;
    };
    let d = msg.message;
    if d.level != DiagnosticLevel::Error || d.spans.is_empty() {
        return None;
    }
    let code = d.code.as_ref().map(|c| format!("[{}] ", c.code));
    let span = d.spans.iter().find(|s| s.is_primary).or(d.spans.first())?;
    Some(format!(
        "{}:{}: {}{}",
        span.file_name,
        span.line_start,
        code.unwrap_or_default(),
        d.message
    ))
}

/// Runs clippy on the request's crate, in the request's build folder (callers give it
/// [`CLIPPY_TARGET`]), with `lint_args` (see `hints::lint_args`) after `--`, under the request's
/// build time limit; started as the request's launch says (plain, or pinned for grading).
pub async fn clippy(
    request: &RunRequest,
    lint_args: &[String],
    cancel: &CancellationToken,
) -> Result<ClippyReport, RunError> {
    let limits = Limits {
        time: request.build_time_limit,
        output_cap: 16 * DEFAULT_OUTPUT_CAP,
        memory: None,
        parent_death: true,
    };
    let args: Vec<OsString> = vec![
        "clippy".into(),
        "--manifest-path".into(),
        request.crate_dir.join("Cargo.toml").into(),
        "--target-dir".into(),
        request.target_dir.clone().into(),
        "--message-format=json".into(),
        "--color=never".into(),
        "--quiet".into(),
    ];
    let after = lint_args.iter().map(OsString::from).collect();
    let command = launch::cargo_command_with(request, args, after, &limits);
    let (lines_tx, mut lines_rx) = mpsc::unbounded_channel::<String>();
    let reader = tokio::spawn(async move {
        let mut lints = Vec::new();
        let mut errors = Vec::new();
        while let Some(line) = lines_rx.recv().await {
            if let Some(lint) = lint_of(&line) {
                if lints.len() < MAX_LINTS {
                    lints.push(lint);
                }
            } else if let Some(error) = error_of(&line)
                && errors.len() < 3
            {
                errors.push(error);
            }
        }
        (lints, errors)
    });
    let finished = process::run(command, limits, cancel, Some(lines_tx))
        .await
        .map_err(|source| RunError::Spawn {
            program: "cargo clippy".to_owned(),
            source,
        })?;
    let (lints, errors) = reader.await.unwrap_or_default();
    let end = match finished.ended {
        Ended::Cancelled => ClippyEnd::Cancelled,
        Ended::TimedOut => ClippyEnd::TimedOut,
        Ended::Exited(status) if status.success() => ClippyEnd::Finished,
        // Forbidden lints (a strict stage's gate) are errors: clippy ran and found them.
        Ended::Exited(_) if !lints.is_empty() => ClippyEnd::Finished,
        // A compiler error under clippy (e.g. E0453, an `allow` of a forbidden lint) says more
        // than cargo's "could not compile".
        Ended::Exited(_) if !errors.is_empty() => ClippyEnd::Failed(errors.join("\n")),
        Ended::Exited(_) => ClippyEnd::Failed(finished.stderr.text()),
    };
    Ok(ClippyReport {
        end,
        lints,
        elapsed: finished.elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from `cargo clippy --message-format=json -- -Wclippy::unwrap_used
    /// -Wclippy::needless_range_loop` (clippy 0.1.95) on a crate with four lints.
    const LINTED: &str = include_str!("testdata/clippy.jsonl");

    #[test]
    fn clippy_lints_keep_their_name_place_and_message() {
        let lints = parse_lints(LINTED.as_bytes());
        let names: Vec<&str> = lints.iter().map(|l| l.lint.as_str()).collect();
        assert_eq!(
            names,
            ["ptr_arg", "needless_range_loop", "unwrap_used", "len_zero"]
        );
        let range = &lints[1];
        assert_eq!(range.file.as_deref(), Some("src/lib.rs"));
        assert_eq!(range.line, Some(5));
        assert!(range.message.contains("`i`"), "{}", range.message);
        assert!(range.rendered.contains("needless_range_loop"));
    }

    #[test]
    fn other_messages_are_not_lints() {
        assert!(
            parse_lints("not json\n{\"reason\":\"build-finished\",\"success\":true}\n".as_bytes())
                .is_empty()
        );
        // A rustc warning has a code but is not clippy's.
        let rustc = LINTED
            .lines()
            .next()
            .unwrap_or_default()
            .replace("clippy::ptr_arg", "unused_variables");
        assert!(parse_lints(rustc.as_bytes()).is_empty());
    }
}
