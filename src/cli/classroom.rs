//! The commands for teachers and authors beyond grading: `report` (one learner's progress, or many
//! learners' reports merged into a class table), `dev new` (scaffold a track) and `dev export`
//! (the learner's copy of a course).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::runtime;
use crate::classroom::{self, TableFormat};
use crate::course::Course;
use crate::dev::{self, NewOptions};
use crate::exit_codes;
use crate::fsutil::write_atomic;
use crate::progress::ProgressStore;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    Text,
    /// The machine format, and the input of `--merge`.
    Json,
    /// For a spreadsheet.
    Csv,
    /// For a slide, an issue or a wiki page.
    Markdown,
}

impl From<Format> for TableFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Text => TableFormat::Text,
            Format::Json => TableFormat::Json,
            Format::Csv => TableFormat::Csv,
            Format::Markdown => TableFormat::Markdown,
        }
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The learner's name in the report. Default: `git config user.name`, else the name of the
    /// course folder. Pass it when you report on someone else's checkout.
    #[arg(long, value_name = "NAME", conflicts_with = "merge")]
    learner: Option<String>,
    /// Merge learners' JSON reports (made with `katas report --format json`) into one class
    /// table: who passed what, where the class needed most help, median attempts per stage.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    merge: Vec<PathBuf>,
    /// A `katas verify --format json` report of this learner's repository: its verdicts replace
    /// the progress file's self-reported standing for the stages it graded, and the report says
    /// which claims were verified.
    #[arg(long, value_name = "FILE", conflicts_with = "merge")]
    verified: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The track's id: a snake_case name for its folder, crate and Rust module, e.g. `kv_store`.
    track: String,
    /// The first stage's id.
    #[arg(long, default_value = "basics")]
    stage: String,
    /// The track's title. Default: made from its id.
    #[arg(long)]
    title: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Leave the reference solutions out: the copy learners get. Required, so that a copy with
    /// the answers is never made by accident.
    #[arg(long, required = true)]
    without_solutions: bool,
    /// The folder to export to: new or empty, and outside the course.
    dir: PathBuf,
}

/// `katas report`.
pub fn report(course: Course, args: &ReportArgs) -> anyhow::Result<u8> {
    let format = TableFormat::from(args.format);
    let text = if args.merge.is_empty() {
        let store = ProgressStore::in_state_dir(&course.state_dir());
        if !store.path().exists() {
            anstream::eprintln!(
                "note: there is no progress file at {}: every stage is reported as not started",
                store.path().display()
            );
        }
        let progress = store.load()?;
        let learner = args
            .learner
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map_or_else(|| default_learner(&course.root), str::to_owned);
        let mut report =
            classroom::learner_report(&course, &progress, &learner, jiff::Timestamp::now());
        if let Some(path) = &args.verified {
            report.apply_verdicts(&read_verdicts(path)?);
        }
        report.render(format)?
    } else {
        let reports = classroom::read_reports(&course, &args.merge)?;
        let merged = classroom::merge(&course, reports);
        for warning in &merged.warnings {
            anstream::eprintln!("warning: {warning}");
        }
        merged.class.render(format)?
    };
    write_out(args.output.as_deref(), &text)?;
    Ok(exit_codes::OK)
}

/// The verdicts of a `katas verify --format json` report.
fn read_verdicts(path: &Path) -> anyhow::Result<Vec<(String, String, classroom::StageStatus)>> {
    #[derive(serde::Deserialize)]
    struct Verdict {
        track: String,
        stage: String,
        status: classroom::StageStatus,
    }
    #[derive(serde::Deserialize)]
    struct Verified {
        stages: Vec<Verdict>,
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the verify report {}", path.display()))?;
    let verified: Verified = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not the JSON of `katas verify --format json`; make it with `katas verify --format json --output FILE`",
            path.display()
        )
    })?;
    Ok(verified
        .stages
        .into_iter()
        .map(|v| (v.track, v.stage, v.status))
        .collect())
}

/// The name a report carries by default: the git user's, else the course folder's (a classroom
/// repository is named after its learner).
fn default_learner(root: &Path) -> String {
    let from_git = Command::new("git")
        .args(["config", "user.name"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|name| !name.is_empty());
    from_git.unwrap_or_else(|| {
        root.file_name().map_or_else(
            || "learner".to_owned(),
            |name| name.to_string_lossy().into_owned(),
        )
    })
}

fn write_out(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match path {
        Some(path) => write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write the report to {}", path.display())),
        None => Ok(anstream::stdout().write_all(text.as_bytes())?),
    }
}

/// Says why a request was refused and picks its exit code: a wrong command line, or a course
/// that cannot take what was asked.
fn refused(err: &dyn std::fmt::Display, usage: bool) -> u8 {
    anstream::eprintln!("error: {err}");
    if usage {
        exit_codes::USAGE
    } else {
        exit_codes::COURSE_ERROR
    }
}

/// `katas dev new`.
pub fn new_track(course: Course, args: &NewArgs) -> anyhow::Result<u8> {
    let options = NewOptions {
        track: args.track.clone(),
        stage: args.stage.clone(),
        title: args.title.clone(),
    };
    let created = match runtime()?.block_on(dev::new_track(&course, &options)) {
        Ok(created) => created,
        Err(err) if err.is_usage() || err.is_course_problem() => {
            return Ok(refused(&err, err.is_usage()));
        }
        Err(err) => return Err(err.into()),
    };
    let mut out = anstream::stdout();
    writeln!(
        out,
        "Scaffolded the track `{}` with its first stage `{}`:",
        created.track, created.stage
    )?;
    for file in &created.files {
        writeln!(out, "  {}", file.display())?;
    }
    writeln!(
        out,
        "\nNext: `katas dev check --track {track}` proves it sound (it fails in its start state and \
         passes with its solution).\nThen make it yours, one part at a time, running dev check \
         after each: docs/teachers-guide.md (\"Write a stage\") walks through it.",
        track = created.track
    )?;
    Ok(exit_codes::OK)
}

/// `katas dev export --without-solutions DIR`.
pub fn export(course: Course, args: &ExportArgs) -> anyhow::Result<u8> {
    if !args.without_solutions {
        anyhow::bail!("say --without-solutions: katas exports only the learner's copy of a course");
    }
    let export = match dev::export_without_solutions(&course, &args.dir) {
        Ok(export) => export,
        Err(err) if err.is_usage() || err.is_course_problem() => {
            return Ok(refused(&err, err.is_usage()));
        }
        Err(err) => return Err(err.into()),
    };
    let mut out = anstream::stdout();
    writeln!(
        out,
        "Exported the learner's copy of \"{}\" to {}: {} files, {} track(s), {} stage(s).\n\
         Left out: solutions/, .katas/, target/ and .git/.",
        course.name,
        export.dest.display(),
        export.files,
        export.tracks,
        export.stages
    )?;
    for warning in &export.warnings {
        anstream::eprintln!("warning: {warning}");
    }
    writeln!(
        out,
        "\nNext: make it the assignment's template repository (docs/teachers-guide.md, \"Make an \
         assignment\")."
    )?;
    Ok(exit_codes::OK)
}
