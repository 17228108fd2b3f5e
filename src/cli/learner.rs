//! The learner's commands: list, run, hint, next, reset.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{render, runtime};
use crate::course::{Course, StageRef};
use crate::exit_codes;
use crate::hints::{self, Confirm, Decision};
use crate::runner::{self, RunEvent, RunOutcome, RunRequest, Verdict};
use crate::session::{Advance, Session};

/// `katas list`.
pub fn list(course: Course, json: bool) -> anyhow::Result<u8> {
    let session = Session::open(course)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list_json(&session))?);
    } else {
        print!(
            "{}",
            render::list(&session.course, &session.progress, session.working().track)
        );
        println!(
            "\n(passed: as your progress file {} records it; a teacher's grade comes from `katas verify`)",
            session
                .course
                .display_path(&session.course.state_dir().join("state.toml"))
                .display()
        );
    }
    Ok(exit_codes::OK)
}

/// The `list --format json` document (its shape is documented in the README).
fn list_json(session: &Session) -> serde_json::Value {
    let tracks: Vec<serde_json::Value> = session
        .course
        .tracks
        .iter()
        .map(|track| {
            let stages: Vec<serde_json::Value> = track
                .stages
                .iter()
                .enumerate()
                .map(|(i, stage)| {
                    serde_json::json!({
                        "id": stage.id,
                        "title": stage.title,
                        "status": session.progress.status(track, i),
                        "concepts": stage.concepts,
                        "hint_rungs": stage.hints.len(),
                        "test_ladders": stage.test_hints.len(),
                        "reflections": stage.reflection.len(),
                    })
                })
                .collect();
            serde_json::json!({ "id": track.id, "title": track.title, "stages": stages })
        })
        .collect();
    // Every status here is the learner's own record, not a verified verdict.
    serde_json::json!({ "course": session.course.name, "source": "progress_file", "tracks": tracks })
}

/// What `katas run --seed N --test NAME` narrows a run to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Replay<'a> {
    pub seed: Option<u64>,
    pub test: Option<&'a str>,
}

impl Replay<'_> {
    /// A narrowed run checks one seed or some tests only: it must not count as a pass.
    fn narrowed(&self) -> bool {
        self.seed.is_some() || self.test.is_some()
    }
}

/// `katas run [TRACK/STAGE] [--seed N] [--test NAME]`.
pub fn run(course: Course, target: Option<&str>, replay: Replay<'_>) -> anyhow::Result<u8> {
    let mut session = Session::open(course)?;
    let requested = target
        .map(|reference| session.reached(reference))
        .transpose()?;
    let track = requested.map_or(session.working().track, |at| at.track);
    let working = session.enter(track)?;
    if let Some(note) = session.tests_updated_note() {
        eprintln!("{note}");
    }
    // A bare TRACK names the track, not its first stage: run its working stage.
    let at = match (target, requested) {
        (Some(reference), Some(at)) if reference.contains('/') => at,
        _ => working,
    };
    warn_edited(&session, working);
    let mut request = session.run_request(working);
    if at != working {
        request.filters = session.track(at).stages[..=at.stage]
            .iter()
            .map(|s| format!("{}::", s.id))
            .collect();
    }
    if let Some(seed) = replay.seed {
        request
            .test_env
            .push(("KATAS_SEED".to_owned(), seed.to_string()));
    }
    if let Some(test) = replay.test {
        request.filters = vec![test.to_owned()];
    }
    let (outcome, signal) = execute(&request)?;
    if let Some(signal) = signal {
        // Ended by SIGTERM or SIGHUP: the run is cancelled and its processes are gone; the
        // shell's convention says which signal it was.
        return Ok(128 + signal);
    }
    let stage = session.stage(at).clone();
    let total = session.track(at).stages.len();
    if replay.narrowed() {
        return replayed(&outcome, &stage, at.stage + 1, total, replay);
    }
    let passed = outcome.verdict == Verdict::Passed && at == working;
    // A strict stage's verdict needs clippy: it runs before the verdict is said. Elsewhere
    // clippy is advice, and runs after the verdict is on screen.
    let strict = if passed && stage.strict {
        anstream::eprintln!(
            "strict stage: the tests pass; now clippy, with the course's lint set..."
        );
        Some(style_check(&session, at, &hints::strict_lint_args())?)
    } else {
        None
    };
    let strict_failed = strict
        .as_ref()
        .is_some_and(|(report, _)| !report.is_clean());
    let mut recorded_outcome = outcome.clone();
    if strict_failed {
        recorded_outcome.verdict = Verdict::Failed;
    }
    // A save that fails (a full disk) must not hide the verdict: it is said after it.
    let recorded = if at == working {
        session.record_run(at, &recorded_outcome)
    } else {
        Ok(false)
    };
    let newly_passed = *recorded.as_ref().unwrap_or(&false);
    let details = render::details(&outcome);
    let mut out = anstream::stdout();
    if !details.trim().is_empty() {
        writeln!(out, "{}", details.trim_end())?;
    }
    writeln!(
        out,
        "\n{}",
        render::summary(&outcome, &stage, at.stage + 1, total)
    )?;
    for note in &outcome.notes {
        anstream::eprintln!("note: {note}");
    }
    recorded?;
    if let Some((report, fmt)) = &strict {
        session.record_style(at, report, *fmt)?;
        if strict_failed {
            writeln!(out, "\n{}", render::strict_failure(report))?;
            show_lint_question(&mut session, at, &mut out)?;
            return Ok(exit_codes::FAILED);
        }
    }
    match outcome.verdict {
        Verdict::Passed if at == working => {
            let word = if newly_passed {
                "Stage passed!"
            } else {
                "Still passing."
            };
            writeln!(out, "\n{word}\n\n{}", render::reflection(&stage))?;
            let next = if at.stage + 1 < total {
                "`katas next` opens the next stage."
            } else {
                "That was the last stage of this track. `katas list` shows the others."
            };
            writeln!(out, "{next}")?;
            let found = match strict {
                Some(found) => Some(found),
                None => {
                    out.flush()?;
                    // Advice: a clippy that cannot start must not turn a pass into an error.
                    match style_check(&session, at, &hints::lint_args()) {
                        Ok(found) => {
                            session.record_style(at, &found.0, found.1)?;
                            Some(found)
                        }
                        Err(err) => {
                            anstream::eprintln!("note: no clippy questions this time: {err:#}");
                            None
                        }
                    }
                }
            };
            if let Some((report, fmt)) = found {
                write!(out, "{}", render::style(&report, fmt))?;
                show_lint_question(&mut session, at, &mut out)?;
            }
        }
        Verdict::Passed => {}
        Verdict::Cancelled => return Ok(exit_codes::FAILED),
        _ => writeln!(out, "Stuck? `katas hint` asks you a question about it.")?,
    }
    Ok(if outcome.verdict == Verdict::Passed {
        exit_codes::OK
    } else {
        exit_codes::FAILED
    })
}

/// Reports a narrowed run (one seed, some tests), which is not recorded: passing one seed is
/// not passing the stage.
fn replayed(
    outcome: &RunOutcome,
    stage: &crate::course::Stage,
    number: usize,
    total: usize,
    replay: Replay<'_>,
) -> anyhow::Result<u8> {
    let mut out = anstream::stdout();
    let details = render::details(outcome);
    if !details.trim().is_empty() {
        writeln!(out, "{}", details.trim_end())?;
    }
    writeln!(out, "\n{}", render::summary(outcome, stage, number, total))?;
    let seed = replay
        .seed
        .map(|s| format!("seed {s}"))
        .unwrap_or_else(|| "the default seeds".to_owned());
    let tests = replay
        .test
        .map(|t| format!("tests matching `{t}`"))
        .unwrap_or_else(|| "every test".to_owned());
    writeln!(
        out,
        "A replay of {seed}, {tests}: not recorded as a run of the stage (`katas run` alone \
         grades it)."
    )?;
    if outcome.verdict == Verdict::Passed && outcome.tests.is_empty() {
        writeln!(
            out,
            "No test matched `--test`: `katas run` lists the test names on failure."
        )?;
    }
    Ok(
        if outcome.verdict == Verdict::Passed && !outcome.tests.is_empty() {
            exit_codes::OK
        } else {
            exit_codes::FAILED
        },
    )
}

/// clippy with the course's lint set, and `cargo fmt --check`, on a stage's crate; Ctrl-C
/// cancels them (the verdict is already said).
fn style_check(
    session: &Session,
    at: StageRef,
    lint_args: &[String],
) -> anyhow::Result<(runner::ClippyReport, Option<bool>)> {
    let request = session.clippy_request(at);
    let rt = runtime()?;
    rt.block_on(async {
        let cancel = CancellationToken::new();
        let on_ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_ctrl_c.cancel();
            }
        });
        let report = runner::clippy::clippy(&request, lint_args, &cancel)
            .await
            .map_err(|err| anyhow::anyhow!(runner::error_chain(&err)))?;
        let fmt = runner::rustfmt::is_formatted(&request.crate_dir, &cancel).await;
        Ok((report, fmt))
    })
}

/// After a pass with lints: the lint ladder's next question, with the same escalation as
/// `katas hint` (recorded as shown; the final nudge waits for `katas hint`).
fn show_lint_question(
    session: &mut Session,
    at: StageRef,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let answer = session.hint(at, false);
    if !matches!(answer.ladder.key, hints::LadderKey::Lint(_)) {
        return Ok(());
    }
    match &answer.decision {
        Decision::Show { index, confirm } if confirm.is_empty() => {
            writeln!(out, "\nA question about {}:", answer.ladder.about)?;
            writeln!(out, "  {}. {}", index + 1, answer.ladder.rungs[*index])?;
            session.record_hint(at, &answer.ladder, *index, false)?;
            writeln!(out, "`katas hint` asks the next question.")?;
        }
        _ => writeln!(out, "\n`katas hint` asks about {}.", answer.ladder.about)?,
    }
    Ok(())
}

/// Runs a request, reporting build progress on a terminal, and cancelling on Ctrl-C, SIGTERM or
/// SIGHUP (a closed terminal): a cancelled run kills its processes before it returns. Returns
/// the outcome, and the number of the signal (other than Ctrl-C) that ended it, if one did.
fn execute(request: &RunRequest) -> anyhow::Result<(RunOutcome, Option<u8>)> {
    let rt = runtime()?;
    let (outcome, signal) = rt.block_on(async {
        let cancel = CancellationToken::new();
        let on_ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_ctrl_c.cancel();
            }
        });
        let signal = Arc::new(AtomicU8::new(0));
        #[cfg(unix)]
        for (kind, number) in [
            (tokio::signal::unix::SignalKind::terminate(), 15),
            (tokio::signal::unix::SignalKind::hangup(), 1),
        ] {
            let (cancel, signal) = (cancel.clone(), Arc::clone(&signal));
            if let Ok(mut stream) = tokio::signal::unix::signal(kind) {
                tokio::spawn(async move {
                    if stream.recv().await.is_some() {
                        signal.store(number, Ordering::SeqCst);
                        cancel.cancel();
                    }
                });
            }
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let progress = std::io::stderr().is_terminal();
        let printer = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if event == RunEvent::WaitingForLock {
                    // Said on a line of its own, terminal or not: a build that waits with no
                    // word looks hung.
                    let clear = if progress { "\r\x1b[2K" } else { "" };
                    eprintln!("{clear}{}", runner::LOCK_WAIT_NOTE);
                    continue;
                }
                if !progress {
                    continue;
                }
                let line = match event {
                    RunEvent::Building {
                        done,
                        total: Some(total),
                        unit,
                    } => {
                        format!("building {done}/~{total} {}", unit.unwrap_or_default())
                    }
                    RunEvent::Building { done, unit, .. } => {
                        format!("building {done} {}", unit.unwrap_or_default())
                    }
                    RunEvent::Testing { tests } => format!("running {tests} tests"),
                    RunEvent::WaitingForLock => continue,
                };
                eprint!("\r\x1b[2K{line}");
            }
            if progress {
                eprint!("\r\x1b[2K");
            }
        });
        let result = runner::run(request, &cancel, Some(tx)).await;
        let _ = printer.await;
        let signal = Some(signal.load(Ordering::SeqCst)).filter(|&n| n != 0);
        result.map(|outcome| (outcome, signal))
    })?;
    Ok((outcome, signal))
}

fn warn_edited(session: &Session, at: StageRef) {
    let edited = session.edited_tests(at);
    if edited.is_empty() {
        return;
    }
    let track = session.track(at);
    let dir = session.course.crate_dir(track).join("tests/stages");
    let files: Vec<String> = edited
        .iter()
        .map(|stage| {
            let path = dir.join(format!("{stage}.rs"));
            session.course.display_path(&path).display().to_string()
        })
        .collect();
    // Most of these files are not tracked by git (katas writes them when a stage opens), so
    // `git checkout` is no fix: deleting one makes katas write the course's version again.
    let (stages, them) = if edited.len() == 1 {
        ("stage", "it")
    } else {
        ("stages", "them")
    };
    anstream::eprintln!(
        "warning: you changed the tests of {stages} {}.\n    \
         katas runs them as they are, but grading (`katas verify`) uses the course's own tests \
         and reports such stages as `tampered`.\n    fix: delete {} (katas writes the course's \
         version back on the next run), or `katas reset` the stage (your files are backed up \
         first); copy your changes elsewhere first if you want to keep {them}",
        edited.join(", "),
        files.join(" "),
    );
}

/// `katas hint [--stuck] [--yes]`.
pub fn hint(course: Course, stuck: bool, yes: bool) -> anyhow::Result<u8> {
    let mut session = Session::open(course)?;
    let at = session.working();
    session.enter(at.track)?;
    let answer = session.hint(at, stuck);
    let mut out = anstream::stdout();
    write!(out, "{}", render::hint(&answer))?;
    let Decision::Show { index, confirm } = &answer.decision else {
        return Ok(exit_codes::OK);
    };
    if !confirm.is_empty() && !yes {
        match ask(&render::confirmation(confirm))? {
            Answer::Yes => {}
            Answer::No => {
                writeln!(
                    out,
                    "Not shown. Keep going - you may be closer than you think."
                )?;
                return Ok(exit_codes::OK);
            }
            Answer::NoTerminal => {
                let flags = if stuck { "--stuck --yes" } else { "--yes" };
                writeln!(
                    out,
                    "Not shown: this one needs a confirmation, and there is no terminal to ask on. \
                     Run `katas hint {flags}` to open it."
                )?;
                return Ok(exit_codes::OK);
            }
        }
    }
    let rung = &answer.ladder.rungs[*index];
    writeln!(out, "  {}. {rung}", index + 1)?;
    session.record_hint(
        at,
        &answer.ladder,
        *index,
        confirm.contains(&Confirm::Stuck),
    )?;
    if index + 1 < answer.ladder.rungs.len() {
        writeln!(
            out,
            "\nThink about it, change something, run again; then `katas hint` opens the next question."
        )?;
    }
    Ok(exit_codes::OK)
}

/// The answer to a yes/no question.
enum Answer {
    Yes,
    No,
    /// Nobody could be asked: no terminal (a script, an editor's task runner).
    NoTerminal,
}

/// Asks a yes/no question on the terminal. Without a terminal there is no answer (and it says
/// how to confirm instead), so a script never hangs on a prompt.
fn ask(question: &str) -> anyhow::Result<Answer> {
    if !std::io::stdin().is_terminal() {
        anstream::eprintln!("{question}\n(no terminal to ask on: add --yes to confirm)");
        return Ok(Answer::NoTerminal);
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(if matches!(line.trim(), "y" | "Y" | "yes") {
        Answer::Yes
    } else {
        Answer::No
    })
}

/// Whether the learner said yes.
fn confirmed(question: &str) -> anyhow::Result<bool> {
    Ok(matches!(ask(question)?, Answer::Yes))
}

/// `katas next`.
pub fn next(course: Course) -> anyhow::Result<u8> {
    let mut session = Session::open(course)?;
    let track = session.working().track;
    session.enter(track)?;
    let mut out = anstream::stdout();
    match session.advance(track)? {
        Advance::Moved(at) => {
            let stage = session.stage(at);
            let path = session
                .course
                .crate_dir(session.track(at))
                .join("tests/stages")
                .join(format!("{}.rs", stage.id));
            writeln!(
                out,
                "Stage {} of {}: {} - {}\n",
                at.stage + 1,
                session.track(at).stages.len(),
                stage.id,
                stage.title
            )?;
            writeln!(out, "{}", stage.brief.trim_end())?;
            writeln!(
                out,
                "\nIts tests: {}\nRun `katas run` (or `katas watch`) when you are ready.",
                session.course.display_path(&path).display()
            )?;
            Ok(exit_codes::OK)
        }
        Advance::NotPassed(at) => {
            writeln!(
                out,
                "Stage `{}` has not passed yet: `katas run` to test it, `katas hint` for a question.",
                session.stage(at).id
            )?;
            Ok(exit_codes::FAILED)
        }
        Advance::TrackDone => {
            writeln!(
                out,
                "You have passed every stage of `{}`. `katas list` shows the other tracks; `katas run TRACK` starts one.",
                session.course.tracks[track].id
            )?;
            Ok(exit_codes::OK)
        }
    }
}

/// `katas reset TRACK/STAGE` or `katas reset --progress`.
pub fn reset(course: Course, stage: Option<&str>, progress: bool, yes: bool) -> anyhow::Result<u8> {
    let mut out = anstream::stdout();
    if progress {
        let store = crate::progress::ProgressStore::in_state_dir(&course.state_dir());
        if !yes
            && !confirmed(
                "Forget your progress (passed stages, attempts, hints)? Your code is not touched.",
            )?
        {
            return Ok(exit_codes::FAILED);
        }
        match store.move_aside()? {
            Some(aside) => writeln!(
                out,
                "Progress moved aside to {}; starting afresh.",
                aside.display()
            )?,
            None => writeln!(out, "There was no progress file; nothing to do.")?,
        }
        return Ok(exit_codes::OK);
    }
    let mut session = Session::open(course)?;
    let reference = stage.context("name the stage to reset, as TRACK/STAGE")?;
    let at = session.reached(reference)?;
    let from = match at.stage {
        0 => "the track's start".to_owned(),
        n => format!(
            "the reference solution of `{}`",
            session.track(at).stages[n - 1].id
        ),
    };
    let question = format!(
        "Reset `{reference}` to its start state ({from})? Your crate is backed up first, and passes \
         of this stage and later ones are cleared."
    );
    if !yes && !confirmed(&question)? {
        writeln!(out, "Nothing changed.")?;
        return Ok(exit_codes::FAILED);
    }
    match session.reset(at)? {
        Some(backup) => writeln!(out, "Done. Your previous files are in {}", backup.display())?,
        None => writeln!(out, "Done.")?,
    }
    Ok(exit_codes::OK)
}
