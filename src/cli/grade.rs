//! `katas grade`: grading a whole class from a roster, with progress while it runs and a summary
//! at the end; and `katas grade merge`, which joins the shards' grades into the class's.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::classroom::class::{
    self, CellStatus, ClassGrades, ClassOptions, Event, FetchMode, Phase, Shard,
};
use crate::exit_codes;
use crate::fsutil::write_atomic;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct GradeArgs {
    #[command(subcommand)]
    command: Option<GradeCommand>,
    /// The roster: a TOML file listing each learner's `name` and `git` URL (with an optional
    /// `ref`) or local `path` (docs/teachers-guide.md, "The whole class, from your side").
    #[arg(required = true, value_name = "ROSTER")]
    roster: Option<PathBuf>,
    /// The teacher's course to grade against (its info.toml, course/ and crates/ are trusted).
    /// Default: the course built into this katas.
    #[arg(long, value_name = "DIR")]
    reference: Option<PathBuf>,
    /// Learners graded at once, each in its own job slot. Default: the machine's cores.
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// The folder the reports go to.
    #[arg(long, value_name = "DIR", default_value = "grades")]
    out: PathBuf,
    /// Grade only the K-th of N shards of the roster (learners dealt out in turn); merge the
    /// shards' grades.json with `katas grade merge`.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// The time limit of one stage's build and of its tests, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    stage_time_limit: u64,
    /// The time limit of one learner, fetch and every stage together, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    learner_time_limit: u64,
    /// Where the job slots build and submissions are fetched to, kept between runs so builds
    /// stay warm. Default: OUT/.work.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Grade every learner afresh, even those whose commit was graded before.
    #[arg(long)]
    no_cache: bool,
    /// Only fetch the learners' repositories (into WORK/fetched/), grade nothing: the CI step
    /// that holds the credentials, before any learner code runs. Then grade with --prefetched.
    #[arg(long, conflicts_with = "prefetched")]
    fetch_only: bool,
    /// Grade what --fetch-only fetched (same roster, --shard and --work-dir), asking no remote.
    #[arg(long)]
    prefetched: bool,
    /// Run the learners' builds and tests without the sandbox (bubblewrap). Their code then runs
    /// with your rights: it can read your files, use the network and forge its results.
    #[arg(long)]
    no_sandbox: bool,
    /// The memory a stage's test run may use in the sandbox, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    memory_limit_mib: u64,
}

#[derive(Debug, Subcommand)]
enum GradeCommand {
    /// Joins the grades.json of every shard into the class's reports.
    Merge {
        /// The shards' grades.json files.
        #[arg(required = true, value_name = "SHARD_JSON")]
        shards: Vec<PathBuf>,
        /// The folder the class's reports go to.
        #[arg(long, value_name = "DIR", default_value = "grades")]
        out: PathBuf,
    },
}

/// `katas grade`.
pub fn grade(args: &GradeArgs) -> anyhow::Result<u8> {
    if let Some(GradeCommand::Merge { shards, out }) = &args.command {
        return merge(shards, out);
    }
    let Some(roster) = &args.roster else {
        anyhow::bail!("name the roster to grade: katas grade ROSTER");
    };
    let started = Instant::now();
    let learners = class::load_roster(roster)?;
    let work_dir = args
        .work_dir
        .clone()
        .unwrap_or_else(|| args.out.join(".work"));
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("cannot make the work folder {}", work_dir.display()))?;
    let work_dir = std::path::absolute(&work_dir)?;
    let (reference, used) = class::load_reference(
        args.reference.as_deref(),
        &work_dir,
        &class::submissions_dir(&work_dir),
    )?;
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    if jobs == 0 {
        anyhow::bail!("--jobs must be at least 1");
    }
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    if args.no_sandbox {
        anstream::eprintln!(
            "warning: grading without the sandbox (--no-sandbox): learners' code runs with your \
             rights, and code in the test process could forge its results"
        );
    }
    let options = ClassOptions {
        jobs,
        work_dir: work_dir.clone(),
        cache_dir: (!args.no_cache).then(|| args.out.join(".cache")),
        stage_time_limit: Some(Duration::from_secs(args.stage_time_limit.max(1))),
        learner_time_limit: Duration::from_secs(args.learner_time_limit.max(1)),
        shard,
        grader: crate::classroom::GradeSettings {
            work_dir: Some(work_dir.clone()),
            sandbox: !args.no_sandbox,
            memory_limit: args.memory_limit_mib.saturating_mul(1024 * 1024),
        },
        fetch: if args.fetch_only {
            FetchMode::Only
        } else if args.prefetched {
            FetchMode::Prefetched
        } else {
            FetchMode::Direct
        },
    };
    let total = learners.iter().filter(|l| shard.holds(l.index)).count();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(jobs + 1)
        .enable_all()
        .build()?;
    let grades = runtime.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(class::grade_class(learners, reference, used, options, tx));
        let mut display = Display::new(total);
        while let Some(event) = rx.recv().await {
            display.show(&event);
        }
        display.finish();
        task.await
    })??;
    if args.fetch_only {
        let failed: Vec<&class::LearnerGrades> = grades
            .learners
            .iter()
            .filter(|l| l.problem.is_some())
            .collect();
        anstream::println!(
            "Fetched {} of {} learner(s) in {:.1}s; grade them with --prefetched.",
            grades.learners.len() - failed.len(),
            grades.learners.len(),
            started.elapsed().as_secs_f64()
        );
        for learner in failed {
            anstream::println!(
                "  {}: {}",
                class::printable_name(&learner.learner),
                learner.problem.as_deref().unwrap_or_default()
            );
        }
        return Ok(exit_codes::OK);
    }
    write_reports(&args.out, &grades)?;
    print_summary(&grades, &args.out, started.elapsed(), jobs, shard);
    Ok(exit_codes::OK)
}

fn merge(shards: &[PathBuf], out: &Path) -> anyhow::Result<u8> {
    let grades: Vec<ClassGrades> = shards
        .iter()
        .map(|p| class::read_grades(p))
        .collect::<Result<_, _>>()?;
    let class = class::merge_shards(grades)?;
    write_reports(out, &class)?;
    anstream::println!(
        "Merged {} shard(s): {} learner(s).",
        shards.len(),
        class.learners.len()
    );
    print_counts(&class);
    anstream::println!("Reports in {}: {}", out.display(), REPORT_FILES);
    Ok(exit_codes::OK)
}

const REPORT_FILES: &str = "class.html, grades.json, grades.csv, grades.md, junit/";

/// Writes every report of the grades into `out`.
fn write_reports(out: &Path, grades: &ClassGrades) -> anyhow::Result<()> {
    let write = |name: &str, text: &str| {
        let path = out.join(name);
        write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    };
    std::fs::create_dir_all(out.join("junit"))
        .with_context(|| format!("cannot make {}", out.join("junit").display()))?;
    write(
        "grades.json",
        &(serde_json::to_string_pretty(grades)? + "\n"),
    )?;
    write("grades.csv", &class::csv(grades))?;
    write("grades.md", &class::markdown(grades))?;
    write("class.html", &class::html(grades))?;
    for learner in &grades.learners {
        let xml = class::junit(grades, learner)?;
        write(
            &format!("junit/{}.xml", class::file_stem(learner)),
            &(xml + "\n"),
        )?;
    }
    Ok(())
}

fn print_summary(grades: &ClassGrades, out: &Path, took: Duration, jobs: usize, shard: Shard) {
    let n = grades.learners.len();
    let cached = grades.learners.iter().filter(|l| l.cached).count();
    let of_shard = if shard == Shard::WHOLE {
        String::new()
    } else {
        format!(" (shard {shard} of a roster of {})", grades.roster_size)
    };
    anstream::println!(
        "\nGraded {n} learner(s){of_shard} in {:.1}s with {jobs} job(s); {cached} unchanged since \
         an earlier run (taken from the cache).",
        took.as_secs_f64()
    );
    print_counts(grades);
    anstream::println!("Reports in {}: {}", out.display(), REPORT_FILES);
}

fn print_counts(grades: &ClassGrades) {
    let full = grades
        .learners
        .iter()
        .filter(|l| l.passed() == grades.stages.len())
        .count();
    anstream::println!(
        "{full} of {} learner(s) passed every stage.",
        grades.learners.len()
    );
    for stats in class::stage_stats(grades) {
        let counts: Vec<String> = CellStatus::ALL
            .iter()
            .map(|s| format!("{} {}", stats.count(*s), s.word()))
            .collect();
        anstream::println!("  {}: {}", stats.key, counts.join(", "));
    }
    for learner in grades.learners.iter().filter(|l| l.problem.is_some()) {
        anstream::println!(
            "  {} ({}): {}",
            crate::classroom::class::printable_name(&learner.learner),
            learner.source,
            learner.problem.as_deref().unwrap_or_default()
        );
    }
}

/// Progress on stderr: bars on a terminal (the class, and each learner being graded), plain
/// lines otherwise (a CI log).
struct Display {
    total: usize,
    done: usize,
    bars: Option<Bars>,
}

/// The bars on a terminal: the class's, and one per learner being graded.
struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    learners: Vec<(usize, ProgressBar)>,
}

impl Display {
    fn new(total: usize) -> Self {
        let bars = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::new();
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30.green/white}] {pos}/{len} learners {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            let overall = multi.add(ProgressBar::new(total as u64).with_style(style));
            overall.enable_steady_tick(Duration::from_millis(200));
            Bars {
                multi,
                overall,
                learners: Vec::new(),
            }
        });
        Self {
            total,
            done: 0,
            bars,
        }
    }

    fn show(&mut self, event: &Event) {
        match event {
            Event::Phase {
                learner,
                name,
                slot,
                phase,
            } => {
                let what = match phase {
                    Phase::Resolving => "asking for the commit".to_owned(),
                    Phase::Warming => "building the course's dependencies in this slot".to_owned(),
                    Phase::Fetching => "fetching".to_owned(),
                    Phase::Grading { track, tracks } => {
                        format!("building and testing track {} of {tracks}", track + 1)
                    }
                };
                let name = class::printable_name(name);
                match &mut self.bars {
                    Some(Bars {
                        multi, learners, ..
                    }) => {
                        let bar = match learners.iter().find(|(i, _)| i == learner) {
                            Some((_, bar)) => bar.clone(),
                            None => {
                                let style = ProgressStyle::with_template(
                                    "  {spinner} {elapsed:>4} {prefix}: {msg}",
                                )
                                .unwrap_or_else(|_| ProgressStyle::default_spinner());
                                let bar = multi.add(ProgressBar::new_spinner().with_style(style));
                                bar.set_prefix(format!("slot {slot} {name}"));
                                bar.enable_steady_tick(Duration::from_millis(120));
                                learners.push((*learner, bar.clone()));
                                bar
                            }
                        };
                        bar.set_message(what);
                    }
                    None => anstream::eprintln!("katas grade: {name}: {what}"),
                }
            }
            Event::Done { learner, grades } => {
                self.done += 1;
                let line = format!(
                    "[{}/{}] {}: {}/{} passed{}{} ({:.1}s)",
                    self.done,
                    self.total,
                    class::printable_name(&grades.learner),
                    grades.passed(),
                    grades.verdicts.len(),
                    if grades.cached {
                        ", unchanged (cache)"
                    } else {
                        ""
                    },
                    grades
                        .problem
                        .as_deref()
                        .map(|p| format!("; {p}"))
                        .unwrap_or_default(),
                    grades.duration_ms as f64 / 1000.0
                );
                match &mut self.bars {
                    Some(Bars {
                        multi,
                        overall,
                        learners,
                    }) => {
                        if let Some(at) = learners.iter().position(|(i, _)| i == learner) {
                            let (_, bar) = learners.remove(at);
                            bar.finish_and_clear();
                            multi.remove(&bar);
                        }
                        let _ = multi.println(line);
                        overall.inc(1);
                    }
                    None => anstream::eprintln!("katas grade: {line}"),
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bars) = &self.bars {
            bars.overall.finish_and_clear();
        }
    }
}
