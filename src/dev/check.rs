//! `katas dev check`: proves every stage of a course sound. Its ladders and brief follow the
//! teaching rules; it fails in its start state (so it cannot be passed without work); it passes
//! with its reference solution, earlier stages' tests included; the solution is clippy- and
//! rustfmt-clean, and a strict stage's clean under the course's lint set too; and (unless told
//! not to) that its tests kill its mutants and accept its alternatives (`dev mutants`). Once per
//! check, the lint catalog is held to its teaching rules and to the installed clippy's lint names.

use std::time::Duration;

use super::mutants::{self, Progress, StageResult};
use crate::course::{Course, CourseError, Problem, Track};
use crate::hints::{self, lint_stage};
use crate::layout::{self, Base};
use crate::runner::{self, RunOutcome, RunRequest, Verdict};

/// clippy and rustfmt each get this long per stage.
const TOOL_LIMIT: Duration = Duration::from_secs(20 * 60);

/// Which stages to check.
#[derive(Debug, Default, Clone)]
pub struct CheckOptions {
    pub track: Option<String>,
    /// One stage, as TRACK/STAGE.
    pub stage: Option<String>,
    /// Skip clippy and rustfmt (for a quick look while writing).
    pub no_lints: bool,
    /// Skip the mutants and alternatives (`dev mutants`).
    pub no_mutants: bool,
}

/// The check of one stage.
#[derive(Debug, Clone)]
pub struct StageCheck {
    pub track: String,
    pub stage: String,
    /// The start state's verdict (must not be `Passed`).
    pub start: Option<Verdict>,
    /// The reference solution's verdict (must be `Passed`), and its test count.
    pub solution: Option<Verdict>,
    pub tests: usize,
    pub problems: Vec<String>,
    /// The stage's mutants and alternatives, when they were run.
    pub mutants: Option<StageResult>,
}

impl StageCheck {
    /// A stage's check with its teaching-rule problems, before anything is built.
    fn linted(track: &Track, index: usize) -> Self {
        let stage = &track.stages[index];
        Self {
            track: track.id.clone(),
            stage: stage.id.clone(),
            start: None,
            solution: None,
            tests: 0,
            mutants: None,
            problems: lint_stage(track, stage)
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }

    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The whole check.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Problems not tied to one stage (a track's start crate).
    pub course_problems: Vec<Problem>,
    pub stages: Vec<StageCheck>,
    /// The course has no `solutions/` (a learners' copy, made by `dev export`): only what needs
    /// no reference solution was checked.
    pub without_solutions: bool,
}

impl CheckReport {
    pub fn is_sound(&self) -> bool {
        self.course_problems.is_empty() && self.stages.iter().all(StageCheck::is_sound)
    }
}

/// Checks the chosen stages, calling `on_start` with a stage's `track/stage` as its proof begins
/// (a whole course takes minutes: say what it is doing), `progress` before each mutant is built,
/// and `on_stage` as each one is done.
pub async fn check(
    course: &Course,
    options: &CheckOptions,
    mut on_start: impl FnMut(&str),
    progress: &mut dyn FnMut(Progress<'_>),
    mut on_stage: impl FnMut(&StageCheck),
) -> Result<CheckReport, CourseError> {
    let mut report = CheckReport {
        without_solutions: !course.root.join("solutions").is_dir(),
        ..CheckReport::default()
    };
    let mut catalog_checked = false;
    for (track, stages) in
        course.selection(options.track.as_deref(), None, options.stage.as_deref())?
    {
        if !catalog_checked {
            catalog_checked = true;
            report
                .course_problems
                .extend(check_lint_catalog(course, options).await);
        }
        report.course_problems.extend(check_start(course, track));
        for index in stages {
            if let Some(stage) = track.stages.get(index) {
                on_start(&format!("{}/{}", track.id, stage.id));
            }
            let result = if report.without_solutions {
                check_stage_without_solutions(course, track, index).await
            } else {
                let mut result = check_stage(course, track, index, options).await;
                if !options.no_mutants && result.solution == Some(Verdict::Passed) {
                    let proven = mutants::prove_stage(course, track, index, progress).await;
                    result.problems.extend(proven.failures());
                    result.mutants = Some(proven);
                }
                result
            };
            on_stage(&result);
            report.stages.push(result);
        }
    }
    Ok(report)
}

/// The lint catalog the course's clippy questions come from: its teaching rules, and - unless
/// lints are skipped - that every lint it names exists in the installed clippy (a renamed or
/// removed lint would silently never fire).
async fn check_lint_catalog(course: &Course, options: &CheckOptions) -> Vec<Problem> {
    let file = std::path::PathBuf::from("src/hints/lints.rs");
    let problem = |what: String, fix: &str| Problem {
        file: file.clone(),
        line: None,
        what: format!("katas' lint catalog: {what}"),
        fix: fix.to_owned(),
    };
    let mut problems: Vec<Problem> = hints::catalog_problems()
        .into_iter()
        .map(|what| problem(what, "fix the entry in katas' lint catalog"))
        .collect();
    if options.no_lints {
        return problems;
    }
    let target = course.scratch_target_dir();
    for entry in hints::LINT_CATALOG {
        let args = ["clippy", "--explain", entry.lint];
        match runner::cargo(&args, &course.root, &target, TOOL_LIMIT).await {
            Ok(out) if out.success => {}
            Ok(_) => problems.push(problem(
                format!("`clippy::{}` is not a lint of the installed clippy", entry.lint),
                "rename it as clippy's documentation now names it, or drop it (`cargo clippy --explain <lint>` checks a name)",
            )),
            Err(err) => {
                problems.push(problem(
                    format!("cannot ask clippy about its lints: {err}"),
                    "install clippy: `rustup component add clippy`",
                ));
                break;
            }
        }
    }
    problems
}

/// In a learners' copy: the ladders and brief, and - for a track's first stage, whose start
/// needs no reference solution - that the start state fails.
async fn check_stage_without_solutions(course: &Course, track: &Track, index: usize) -> StageCheck {
    let mut result = StageCheck::linted(track, index);
    if index == 0 {
        check_start_state(course, track, index, &mut result).await;
    }
    result
}

/// The stage must not pass in its start state: it would ask for nothing new.
async fn check_start_state(course: &Course, track: &Track, index: usize, result: &mut StageCheck) {
    let start_dir = course
        .state_dir()
        .join("check")
        .join(format!("{}-start", track.id));
    match build_and_run(course, track, &Base::start_of(index), index, &start_dir).await {
        Ok(outcome) => {
            result.start = Some(outcome.verdict);
            match outcome.verdict {
                Verdict::Passed => result.problems.push(
                    "passes in its start state: its tests ask for nothing the previous stage did not already do".to_owned(),
                ),
                Verdict::BuildError => result.problems.push(format!("its start state does not build:\n{}", indent(&outcome.build_output))),
                _ => {}
            }
        }
        Err(err) => result
            .problems
            .push(format!("cannot prepare its start state: {err}")),
    }
}

/// A track's start crate must be its own workspace and pin its dependencies.
fn check_start(course: &Course, track: &Track) -> Vec<Problem> {
    let start = course.start_dir(track);
    let relative = course.display_path(&start).to_path_buf();
    let mut problems = Vec::new();
    match std::fs::read_to_string(start.join("Cargo.toml")) {
        Ok(manifest) => {
            let is_workspace = manifest
                .parse::<toml_edit::DocumentMut>()
                .is_ok_and(|doc| doc.contains_key("workspace"));
            if !is_workspace {
                problems.push(Problem {
                    file: relative.join("Cargo.toml"),
                    line: None,
                    what: "the start crate is not a workspace of its own".to_owned(),
                    fix: "add an empty `[workspace]` table, so cargo never mistakes it for part of another workspace".to_owned(),
                });
            }
        }
        Err(err) => problems.push(Problem {
            file: relative.join("Cargo.toml"),
            line: None,
            what: format!("cannot be read: {err}"),
            fix: "create the track's start crate (docs/course-format.md)".to_owned(),
        }),
    }
    if !start.join("Cargo.lock").exists() {
        problems.push(Problem {
            file: relative.join("Cargo.lock"),
            line: None,
            what: "missing: the track's dependencies are not pinned".to_owned(),
            fix: "run `cargo generate-lockfile` in the start crate and commit Cargo.lock, so learners build what the course was checked with".to_owned(),
        });
    }
    problems
}

async fn check_stage(
    course: &Course,
    track: &Track,
    index: usize,
    options: &CheckOptions,
) -> StageCheck {
    let mut result = StageCheck::linted(track, index);
    check_start_state(course, track, index, &mut result).await;
    let scratch = course.state_dir().join("check");

    let solution_dir = scratch.join(format!("{}-solution", track.id));
    match build_and_run(course, track, &Base::Solution(index), index, &solution_dir).await {
        Ok(outcome) => {
            result.solution = Some(outcome.verdict);
            result.tests = outcome.tests.len();
            if outcome.verdict != Verdict::Passed {
                result.problems.push(format!(
                    "its reference solution does not pass:\n{}",
                    indent(&why(&outcome))
                ));
            }
        }
        Err(err) => result
            .problems
            .push(format!("cannot prepare its reference solution: {err}")),
    }
    if !options.no_lints && result.solution == Some(Verdict::Passed) {
        let target = course.scratch_target_dir();
        let tools: [(&str, &[&str]); 2] = [
            (
                "cargo clippy --all-targets -- -D warnings",
                &["clippy", "--all-targets", "--quiet", "--", "-D", "warnings"],
            ),
            ("cargo fmt --check", &["fmt", "--check"]),
        ];
        let strict_args: Vec<String> = std::iter::once("clippy".to_owned())
            .chain(["--quiet".to_owned(), "--".to_owned()])
            .chain(hints::strict_lint_args())
            .collect();
        let strict: Vec<&str> = strict_args.iter().map(String::as_str).collect();
        let strict_tool: [(&str, &[&str]); 1] = [(
            "cargo clippy with the course's lint set (a strict stage)",
            &strict,
        )];
        let strict_tools = if track.stages[index].strict {
            &strict_tool[..]
        } else {
            &[]
        };
        for (name, args) in tools.iter().chain(strict_tools) {
            match runner::cargo(args, &solution_dir, &target, TOOL_LIMIT).await {
                Ok(out) if out.success => {}
                Ok(out) => result.problems.push(format!(
                    "its reference solution fails `{name}`:\n{}",
                    indent(&out.output)
                )),
                Err(err) => result.problems.push(format!("cannot run `{name}`: {err}")),
            }
        }
    }
    result
}

async fn build_and_run(
    course: &Course,
    track: &Track,
    base: &Base,
    index: usize,
    dir: &std::path::Path,
) -> Result<RunOutcome, String> {
    layout::assemble(course, track, base, index, |s| s.tests.clone(), dir)
        .map_err(|e| e.to_string())?;
    let stage = &track.stages[index];
    let mut request = RunRequest::new(dir, &course.scratch_target_dir(), stage.time_limit * 2);
    request.test_threads = stage.test_threads;
    runner::run_to_end(&request).await
}

fn why(outcome: &RunOutcome) -> String {
    match outcome.verdict {
        Verdict::CompileError => outcome
            .errors()
            .take(3)
            .map(|e| crate::classroom::strip_ansi(&e.rendered))
            .collect::<Vec<_>>()
            .join("\n"),
        Verdict::BuildError => outcome.build_output.clone(),
        Verdict::TimedOut => format!("the tests ran past {}s", outcome.time_limit.as_secs()),
        _ => outcome
            .failed()
            .map(|t| format!("{} failed:\n{}", t.name, t.output))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn indent(text: &str) -> String {
    text.trim_end()
        .lines()
        .take(60)
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
