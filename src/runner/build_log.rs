//! Reading cargo's JSON messages (`--message-format=json-diagnostic-rendered-ansi`): compiler
//! diagnostics with their codes and places, the test executable, and build progress.

use std::io::BufRead;
use std::path::PathBuf;

use cargo_metadata::Message;
use cargo_metadata::diagnostic::{Diagnostic as RustcDiagnostic, DiagnosticLevel};

/// The most diagnostics kept from one build: past this, the first ones are what matters.
const MAX_DIAGNOSTICS: usize = 200;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A compiler message, reduced to what katas shows and what hints need.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The error code, e.g. `E0382`.
    pub code: Option<String>,
    pub message: String,
    /// The compiler's own rendering, with its colours (ANSI).
    pub rendered: String,
    /// The primary span's file, relative to the crate.
    pub file: Option<String>,
    pub line: Option<usize>,
    /// The primary span's label (e.g. "value borrowed here after move").
    pub label: Option<String>,
    /// The other labelled spans, as (line, label): e.g. (18, "value moved here"), so a hint
    /// can name the line of the move rather than the line of the later use.
    pub related: Vec<(usize, String)>,
}

/// What a build said, accumulated message by message.
#[derive(Debug, Default)]
pub struct BuildLog {
    pub diagnostics: Vec<Diagnostic>,
    /// The test executable of the requested target, once built.
    pub executable: Option<PathBuf>,
    /// Whether cargo reported the build finished successfully.
    pub success: Option<bool>,
    /// Units finished so far (fresh ones included).
    pub units_done: usize,
    /// The crate cargo finished last.
    pub last_unit: Option<String>,
    /// Lines that were not JSON (cargo prints some to stdout, e.g. when a build script talks).
    pub text: Vec<String>,
    /// Every unit cargo built or found fresh: what a grader checks came from trusted places.
    pub units: Vec<BuiltUnit>,
}

/// One compiled target, as cargo's artifact message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltUnit {
    /// The manifest of the package the target belongs to.
    pub manifest_path: PathBuf,
    pub target: String,
    /// The target's kinds (`lib`, `test`, `custom-build`, `proc-macro`, ...).
    pub kinds: Vec<String>,
    /// The target's root source file.
    pub src_path: PathBuf,
}

impl BuildLog {
    /// Takes one line of cargo's stdout.
    pub fn push_line(&mut self, line: &str, test_target: &str) {
        let message = serde_json::from_str::<Message>(line)
            .unwrap_or_else(|_| Message::TextLine(line.to_owned()));
        match message {
            Message::CompilerMessage(msg) => {
                if let Some(diagnostic) = reduce(&msg.message)
                    && self.diagnostics.len() < MAX_DIAGNOSTICS
                {
                    self.diagnostics.push(diagnostic);
                }
            }
            Message::CompilerArtifact(artifact) => {
                self.units_done += 1;
                self.last_unit = Some(artifact.target.name.clone());
                self.units.push(BuiltUnit {
                    manifest_path: artifact.manifest_path.clone().into(),
                    target: artifact.target.name.clone(),
                    kinds: artifact
                        .target
                        .kind
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    src_path: artifact.target.src_path.clone().into(),
                });
                let is_test = artifact.target.kind.iter().any(|k| k.to_string() == "test");
                if is_test && artifact.target.name == test_target {
                    self.executable = artifact.executable.map(PathBuf::from);
                }
            }
            Message::BuildFinished(finished) => self.success = Some(finished.success),
            Message::TextLine(text) if !text.trim().is_empty() => self.text.push(text),
            _ => {}
        }
    }

    /// Reads a whole recorded stream.
    pub fn parse(reader: impl BufRead, test_target: &str) -> Self {
        let mut log = Self::default();
        for line in reader.lines().map_while(Result::ok) {
            log.push_line(&line, test_target);
        }
        log
    }

    /// The errors, in the order the compiler gave them.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }
}

/// Keeps errors and warnings that point somewhere; drops the compiler's summaries ("aborting due
/// to 2 previous errors", "3 warnings emitted"), which say nothing a learner can act on.
fn reduce(d: &RustcDiagnostic) -> Option<Diagnostic> {
    let severity = match d.level {
        DiagnosticLevel::Error | DiagnosticLevel::Ice => Severity::Error,
        DiagnosticLevel::Warning => Severity::Warning,
        _ => return None,
    };
    if d.spans.is_empty() && d.code.is_none() {
        return None;
    }
    let primary = d.spans.iter().find(|s| s.is_primary).or(d.spans.first());
    Some(Diagnostic {
        severity,
        code: d.code.as_ref().map(|c| c.code.clone()),
        message: d.message.clone(),
        rendered: d.rendered.clone().unwrap_or_else(|| d.message.clone()),
        file: primary.map(|s| s.file_name.clone()),
        line: primary.map(|s| s.line_start),
        label: primary.and_then(|s| s.label.clone()),
        related: d
            .spans
            .iter()
            .filter(|s| !s.is_primary)
            .filter_map(|s| Some((s.line_start, s.label.clone()?)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded from `cargo test --no-run --message-format=json-diagnostic-rendered-ansi` on a
    /// crate with a use-after-move (cargo 1.95), trimmed to the messages that matter here.
    const MOVED_VALUE: &str = include_str!("testdata/e0382.jsonl");

    /// Recorded from a successful build of the same crate's tests.
    const BUILT: &str = include_str!("testdata/built.jsonl");

    #[test]
    fn a_compile_error_keeps_its_code_place_and_names() {
        let log = BuildLog::parse(MOVED_VALUE.as_bytes(), "stages");
        let errors: Vec<_> = log.errors().collect();
        assert_eq!(errors.len(), 1, "{:#?}", log.diagnostics);
        let error = errors[0];
        assert_eq!(error.code.as_deref(), Some("E0382"));
        assert!(error.message.contains("moved value"), "{}", error.message);
        assert_eq!(error.file.as_deref(), Some("src/lib.rs"));
        assert!(error.line.is_some());
        assert!(
            error
                .related
                .iter()
                .any(|(line, label)| label.contains("moved") && Some(*line) < error.line),
            "the move's line is kept: {:?}",
            error.related
        );
        assert!(
            error.rendered.contains("\u{1b}["),
            "rendered keeps the compiler's colours"
        );
        assert_eq!(log.success, Some(false));
        assert_eq!(log.executable, None);
    }

    #[test]
    fn a_successful_build_names_the_test_executable() {
        let log = BuildLog::parse(BUILT.as_bytes(), "stages");
        assert_eq!(log.success, Some(true));
        let exe = log.executable.expect("the stages test executable");
        assert!(
            exe.to_string_lossy().contains("stages-"),
            "{}",
            exe.display()
        );
        assert!(log.units_done >= 2);
    }

    #[test]
    fn non_json_lines_are_kept_as_text() {
        let mut log = BuildLog::default();
        log.push_line("warning: something odd", "stages");
        log.push_line("{\"reason\":\"build-finished\",\"success\":true}", "stages");
        assert_eq!(log.text, ["warning: something odd"]);
        assert_eq!(log.success, Some(true));
    }
}
