//! The command line: clap definitions, and the dispatch to each command's module.

mod classroom;
mod grade;
mod learner;
mod render;
mod teacher;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::course::{self, Course, CourseError};
use crate::exit_codes;
use crate::session::SessionError;

/// katas: learn distributed systems in Rust, one stage at a time.
///
/// Run `katas watch` (or `katas run` after each change) in the course folder. Help comes as
/// questions: `katas hint`.
#[derive(Debug, Parser)]
#[command(name = "katas", version, about, long_about = None)]
pub struct Cli {
    /// The course folder (the one with info.toml). Default: the nearest above the current folder.
    #[arg(long, global = true, env = "KATAS_COURSE", value_name = "DIR")]
    course: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main screen: watches your crate, builds and tests on every save, and teaches.
    Watch {
        /// Poll for changes instead of waiting for file events (network file systems).
        #[arg(long)]
        poll: bool,
        /// No clippy after a pass (on a slow machine): no lint questions; a strict stage still
        /// runs clippy, its verdict needs it.
        #[arg(long)]
        no_clippy: bool,
    },
    /// Lists the tracks and stages, with where you stand.
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Builds and tests your working stage (with every earlier stage of the track).
    Run {
        /// A stage you have reached, as TRACK/STAGE; a bare TRACK switches to that track.
        stage: Option<String>,
        /// Replay one seed of the simulated tests (as a failure's replay line says), in katas'
        /// own build folder; a replay is not recorded as a run of the stage.
        #[arg(long)]
        seed: Option<u64>,
        /// Run only the tests whose name contains this (e.g. the failing test's).
        #[arg(long)]
        test: Option<String>,
    },
    /// Asks for help: the next question of the ladder that fits your latest run.
    Hint {
        /// Open the next rung now, without a new attempt first.
        #[arg(long)]
        stuck: bool,
        /// Confirm without asking (for when there is no terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Moves on to the next stage once your working stage has passed.
    Next,
    /// Puts a stage back in its start state: for the first stage the track's start, for a later
    /// one the reference solution of the stage before. Your files are backed up first.
    Reset {
        /// The stage to reset, as TRACK/STAGE.
        #[arg(required_unless_present = "progress")]
        stage: Option<String>,
        /// Instead: move the progress file aside and start afresh (your code is untouched).
        #[arg(long, conflicts_with = "stage")]
        progress: bool,
        /// Confirm without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Grades stages non-interactively, whatever the learner's progress; exit code 0 only if
    /// every verified stage passed.
    Verify(teacher::VerifyArgs),
    /// Grades a whole class from a roster of learners' repositories, in parallel, into JUnit,
    /// JSON, CSV, Markdown and an HTML class report; `grade merge` joins shards' grades.
    Grade(grade::GradeArgs),
    /// Reports a learner's progress per stage (status, attempts, hints, time), or merges many
    /// learners' JSON reports into one class table (--merge).
    Report(classroom::ReportArgs),
    /// Course authoring.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DevCommand {
    /// Proves the course is sound: it loads, its ladders follow the rules, every stage fails in
    /// its start state and passes with its reference solution, solutions pass clippy and rustfmt,
    /// and the tests kill every mutant and accept every alternative (unless --no-mutants).
    Check(teacher::CheckArgs),
    /// Scaffolds a new track: start crate, a first stage, its reference solution, its entry in
    /// info.toml; sound for `dev check` as it is.
    New(classroom::NewArgs),
    /// Copies the course for learners: everything but solutions/, .katas/, target/ and .git/
    /// (and the stages' mutants and alternatives).
    Export(classroom::ExportArgs),
    /// Proves the stages' tests strong: each stage's mutants (plausible wrong solutions, in its
    /// mutants.toml) must fail them and its alternatives pass; prints a table per stage and the
    /// course's mutation score; exit code 1 on a survivor or any other failure.
    Mutants(teacher::MutantsArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

/// Runs katas and turns the outcome into an exit code; errors are printed with their whole chain.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        // A closed pipe (`katas list | head`) is the reader's choice, not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::from(exit_codes::OK),
        Err(err) => {
            anstream::eprintln!("error: {err:#}");
            let course_error = err.downcast_ref::<CourseError>().is_some()
                || matches!(
                    err.downcast_ref::<SessionError>(),
                    Some(SessionError::Course(_))
                );
            let code = if course_error {
                exit_codes::COURSE_ERROR
            } else {
                exit_codes::KATAS_ERROR
            };
            ExitCode::from(code)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    // The class grader grades against its --reference (or the bundled course), not the course
    // around the current folder.
    if let Command::Grade(args) = &cli.command {
        return grade::grade(args);
    }
    // Grading reads nothing of the learner's course but their sources: it is not loaded.
    if let Command::Verify(args) = &cli.command {
        return teacher::verify(&course_root(cli.course.as_deref())?, args);
    }
    let course = load_course(cli.course.as_deref())?;
    match cli.command {
        Command::Watch { poll, no_clippy } => {
            crate::tui::watch(course, crate::tui::WatchOptions { poll, no_clippy })
        }
        Command::List { format } => learner::list(course, format == ListFormat::Json),
        Command::Run { stage, seed, test } => learner::run(
            course,
            stage.as_deref(),
            learner::Replay {
                seed,
                test: test.as_deref(),
            },
        ),
        Command::Hint { stuck, yes } => learner::hint(course, stuck, yes),
        Command::Next => learner::next(course),
        Command::Reset {
            stage,
            progress,
            yes,
        } => learner::reset(course, stage.as_deref(), progress, yes),
        Command::Verify(_) => unreachable_verify(),
        Command::Report(args) => classroom::report(course, &args),
        Command::Grade(args) => grade::grade(&args),
        Command::Dev {
            command: DevCommand::Check(args),
        } => teacher::check(course, &args),
        Command::Dev {
            command: DevCommand::New(args),
        } => classroom::new_track(course, &args),
        Command::Dev {
            command: DevCommand::Export(args),
        } => classroom::export(course, &args),
        Command::Dev {
            command: DevCommand::Mutants(args),
        } => teacher::mutants(course, &args),
    }
}

fn load_course(given: Option<&std::path::Path>) -> Result<Course, CourseError> {
    course::load(&course_root(given)?)
}

/// The course folder: the one given, else the nearest folder above the current one with an
/// `info.toml`.
fn course_root(given: Option<&std::path::Path>) -> Result<PathBuf, CourseError> {
    match given {
        Some(dir) if dir.join("info.toml").is_file() => Ok(dir.to_path_buf()),
        Some(dir) => Err(CourseError::NotACourse {
            root: dir.to_path_buf(),
        }),
        None => {
            let here = std::env::current_dir().map_err(|_| CourseError::NotFound {
                start: PathBuf::from("."),
            })?;
            course::find_root(&here)
        }
    }
}

/// `verify` is dispatched before the course is loaded; this arm only keeps the match whole.
fn unreachable_verify() -> anyhow::Result<u8> {
    Ok(exit_codes::KATAS_ERROR)
}

/// A runtime for the commands that run cargo: one thread is enough, the work is in children.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
