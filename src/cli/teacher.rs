//! The teacher's and author's commands: `verify`, `dev check` and `dev mutants`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::runtime;
use crate::classroom::{
    self, GradeSettings, Grader, Reference, ReferenceKind, StageStatus, VerifyOptions,
};
use crate::course::Course;
use crate::dev::{self, CheckOptions, mutants};
use crate::exit_codes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Junit,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Only this track.
    #[arg(long)]
    track: Option<String>,
    /// Only the stages up to this one (needs --track).
    #[arg(long, requires = "track")]
    through: Option<String>,
    /// Only this one stage, as TRACK/STAGE.
    #[arg(long, conflicts_with_all = ["track", "through"])]
    stage: Option<String>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    format: ReportFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A pristine copy of the course to grade against (outside the learner's repository).
    /// Default: the course built into this katas.
    #[arg(long, value_name = "DIR", conflicts_with = "untrusted_reference")]
    reference: Option<PathBuf>,
    /// Grade against the learner's own course folder. The learner controls it, so the grade then
    /// proves only that their code passes their tests; reports say so.
    #[arg(long)]
    untrusted_reference: bool,
    /// Run the learner's build and tests without the sandbox (bubblewrap). Their code then runs
    /// with your rights: it can read your files, use the network and leave processes behind.
    #[arg(long)]
    no_sandbox: bool,
    /// The grader's own folder for scratch crates and build output (outside the learner's
    /// repository). Default: ~/.cache/katas/grading.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// The memory a stage's test run may use in the sandbox, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    memory_limit_mib: u64,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only this track.
    #[arg(long)]
    track: Option<String>,
    /// Only this stage, as TRACK/STAGE.
    #[arg(long, conflicts_with = "track")]
    stage: Option<String>,
    /// Skip clippy and rustfmt on the reference solutions.
    #[arg(long)]
    no_lints: bool,
    /// Skip the stages' mutants and alternatives (`katas dev mutants`).
    #[arg(long)]
    no_mutants: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MutantsFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct MutantsArgs {
    /// Only this track.
    #[arg(long)]
    track: Option<String>,
    /// Only this stage, as TRACK/STAGE.
    #[arg(long, conflicts_with = "track")]
    stage: Option<String>,
    #[arg(long, value_enum, default_value_t = MutantsFormat::Text)]
    format: MutantsFormat,
}

/// `katas verify`.
pub fn verify(graded_root: &std::path::Path, args: &VerifyArgs) -> anyhow::Result<u8> {
    let settings = GradeSettings {
        work_dir: args.work_dir.clone(),
        sandbox: !args.no_sandbox,
        memory_limit: args.memory_limit_mib.saturating_mul(1024 * 1024),
    };
    let grader = Grader::new(&settings, graded_root).context("cannot grade")?;
    let reference = match &args.reference {
        Some(dir) => {
            Reference::directory(dir, graded_root).context("cannot load the reference course")?
        }
        None if args.untrusted_reference => Reference::learners_own(graded_root)?,
        None => Reference::bundled(grader.work_root())
            .context("cannot prepare the course built into this katas")?,
    };
    if reference.kind == ReferenceKind::LearnersOwn {
        anstream::eprintln!("warning: grading with {}", reference.describe());
    }
    if !grader.sandboxed() {
        anstream::eprintln!(
            "warning: grading without the sandbox (--no-sandbox): the learner's code runs with your rights, and code in the test process could forge its results"
        );
    }
    let options = VerifyOptions {
        track: args.track.clone(),
        through: args.through.clone(),
        stage: args.stage.clone(),
        ..VerifyOptions::default()
    };
    let report = runtime()?.block_on(classroom::verify(
        &grader,
        graded_root,
        &reference,
        &options,
    ))?;
    let text = match args.format {
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Junit => classroom::to_junit(&report)? + "\n",
        ReportFormat::Text => verify_text(&report),
    };
    match &args.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => anstream::stdout().write_all(text.as_bytes())?,
    }
    Ok(if report.any(StageStatus::Tampered) {
        exit_codes::TAMPERED
    } else if report.any(StageStatus::Error) {
        exit_codes::KATAS_ERROR
    } else if report.failed > 0 {
        exit_codes::FAILED
    } else {
        exit_codes::OK
    })
}

fn verify_text(report: &classroom::VerifyReport) -> String {
    let mut out = String::new();
    for stage in &report.stages {
        let status = match stage.status {
            StageStatus::Passed => "passed  ",
            StageStatus::Failed => "FAILED  ",
            StageStatus::Tampered => "TAMPERED",
            StageStatus::Error => "ERROR   ",
        };
        out.push_str(&format!(
            "{status} {}/{} ({} passed, {} failed, {} ms)\n",
            stage.track, stage.stage, stage.tests_passed, stage.tests_failed, stage.duration_ms
        ));
        if let Some(reason) = &stage.reason {
            for line in reason.lines().take(20) {
                out.push_str(&format!("           {line}\n"));
            }
        }
    }
    out.push_str(&format!(
        "\n{} passed, {} failed\n",
        report.passed, report.failed
    ));
    let reference = &report.reference;
    out.push_str(&format!(
        "graded against {} ({}{}), {}\n",
        reference.course,
        match reference.kind {
            ReferenceKind::Bundled => "the course built into this katas".to_owned(),
            ReferenceKind::Directory => "the reference folder".to_owned(),
            ReferenceKind::LearnersOwn => "the learner's own folder, UNTRUSTED".to_owned(),
        },
        reference
            .path
            .as_ref()
            .map(|p| format!(" {p}"))
            .unwrap_or_default(),
        if report.sandboxed {
            "in the sandbox"
        } else {
            "WITHOUT the sandbox"
        }
    ));
    out
}

/// `katas dev check`.
pub fn check(course: Course, args: &CheckArgs) -> anyhow::Result<u8> {
    let options = CheckOptions {
        track: args.track.clone(),
        stage: args.stage.clone(),
        no_lints: args.no_lints,
        no_mutants: args.no_mutants,
    };
    let print = |stage: &dev::StageCheck| {
        let mark = if stage.is_sound() { "ok  " } else { "FAIL" };
        let start = stage.start.map_or("-".to_owned(), |v| format!("{v:?}"));
        let solution = stage.solution.map_or("-".to_owned(), |v| format!("{v:?}"));
        anstream::println!(
            "{mark} {}/{}: start {start}, solution {solution} ({} tests)",
            stage.track,
            stage.stage,
            stage.tests
        );
        for problem in &stage.problems {
            anstream::println!("       {problem}");
        }
    };
    // Progress on stderr, so the report on stdout stays as it was; a whole course takes minutes.
    let started = std::time::Instant::now();
    let mut proving = 0usize;
    let on_start = |stage: &str| {
        proving += 1;
        anstream::eprintln!(
            "[{:>4}s] proving {stage} (stage {proving})",
            started.elapsed().as_secs()
        );
    };
    let report = runtime()?.block_on(dev::check(
        &course,
        &options,
        on_start,
        &mut print_progress,
        print,
    ))?;
    if report.without_solutions {
        anstream::println!(
            "\nnote: this course has no solutions/ folder (a learners' copy): checked the course, \
             its ladders and briefs, and that each track's first stage fails at its start; the \
             rest needs the reference solutions"
        );
    }
    for problem in &report.course_problems {
        anstream::println!("FAIL {problem}");
    }
    let proven: Vec<mutants::StageResult> = report
        .stages
        .iter()
        .filter_map(|s| s.mutants.clone())
        .collect();
    if !proven.is_empty() {
        let spent = proven.iter().map(|s| s.elapsed_ms).sum();
        let summary =
            mutants::MutantsReport::from_stages(proven, std::time::Duration::from_millis(spent));
        anstream::println!("\nmutants:\n{}", mutants::to_text(&summary).trim_end());
    }
    let sound = report.stages.iter().filter(|s| s.is_sound()).count();
    anstream::println!(
        "\n{sound} passed, {} failed (of {} stages)",
        report.stages.len() - sound + usize::from(!report.course_problems.is_empty()),
        report.stages.len()
    );
    Ok(if report.is_sound() {
        exit_codes::OK
    } else {
        exit_codes::FAILED
    })
}

/// A progress line on stderr, so a long mutants run shows where it is.
fn print_progress(at: mutants::Progress<'_>) {
    if let Some(lock) = at.waiting_for {
        anstream::eprintln!(
            "mutants {}/{}: waiting for another `katas dev mutants` on track {} to finish with its scratch folder (it holds {}); this run goes on when that one ends",
            at.track,
            at.stage,
            at.track,
            lock.display()
        );
    } else if at.position == 0 {
        anstream::eprintln!(
            "mutants {}/{}: building the reference ({} variants)",
            at.track,
            at.stage,
            at.total
        );
    } else {
        anstream::eprintln!(
            "mutants {}/{}: [{}/{}] {}",
            at.track,
            at.stage,
            at.position,
            at.total,
            at.name
        );
    }
}

/// `katas dev mutants`.
pub fn mutants(course: Course, args: &MutantsArgs) -> anyhow::Result<u8> {
    let options = mutants::MutantsOptions {
        track: args.track.clone(),
        stage: args.stage.clone(),
    };
    let report = runtime()?.block_on(mutants::mutants(
        &course,
        &options,
        &mut print_progress,
        |_| {},
    ))?;
    let text = match args.format {
        MutantsFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        MutantsFormat::Text => mutants::to_text(&report),
    };
    anstream::stdout().write_all(text.as_bytes())?;
    Ok(if report.is_sound() {
        exit_codes::OK
    } else {
        exit_codes::FAILED
    })
}
