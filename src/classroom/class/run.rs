//! Grading a class in parallel: a fixed number of job slots, each with its own build folder
//! reused across the learners it grades, pulling learners from one queue. Each learner is graded
//! under its own time limit; whatever a submission does, it costs only its own slot its own time.
//!
//! Knows nothing of terminals: what happens is sent as [`Event`]s for a display to show.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::cache::{Cache, KeyParts};
use super::fetch;
use super::grade::{self, OnTrack, SubmissionSettings};
use super::results::{
    CellStatus, ClassGrades, GRADES_FORMAT, GRADES_VERSION, LearnerGrades, ReferenceUsed, StageInfo,
};
use super::roster::{Learner, Shard, Source};
use crate::classroom::{GradeError, GradeSettings, Grader, Reference, VerifyOptions, verify};
use crate::fsutil::copy_tree;

/// How the class is graded.
#[derive(Debug, Clone)]
pub struct ClassOptions {
    /// Parallel job slots.
    pub jobs: usize,
    /// The grading folder: each job slot's grader (`slots/<k>/`, its build folder) and the
    /// fetched submissions, kept between runs so builds stay warm.
    pub work_dir: PathBuf,
    /// Where earlier grades are kept; `None`: grade everything afresh.
    pub cache_dir: Option<PathBuf>,
    pub stage_time_limit: Option<Duration>,
    /// Fetch and grading of one learner, together.
    pub learner_time_limit: Duration,
    pub shard: Shard,
    pub fetch: FetchMode,
    /// The graders' settings (sandbox, memory limit); their folder is `work_dir`.
    pub grader: GradeSettings,
}

/// How submissions in git are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchMode {
    /// Fetched and graded in one go.
    Direct,
    /// Only fetched, into `WORK/fetched/`, and not graded: the step of a CI job that holds the
    /// credentials for the learners' repositories, before any learner code runs.
    Only,
    /// Graded from what `Only` fetched, with no network access to the repositories needed.
    Prefetched,
}

/// What a learner's grading is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Asking the remote which commit to grade.
    Resolving,
    /// Building the course's dependencies in a fresh slot (once per slot and track).
    Warming,
    Fetching,
    /// Building and testing the `track`-th track (from 0) of `tracks`.
    Grading {
        track: usize,
        tracks: usize,
    },
}

/// A learner's grading, for displays.
#[derive(Debug, Clone)]
pub enum Event {
    Phase {
        learner: usize,
        name: String,
        slot: usize,
        phase: Phase,
    },
    Done {
        learner: usize,
        grades: Box<LearnerGrades>,
    },
}

struct Shared {
    reference: Reference,
    reference_used: ReferenceUsed,
    options: ClassOptions,
    cache: Option<Cache>,
    queue: Mutex<VecDeque<Learner>>,
    events: UnboundedSender<Event>,
}

/// The grader folder's part where fetched submissions are copied, one folder per job slot.
pub fn submissions_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("submissions")
}

/// Grades the learners of the shard, `options.jobs` at a time, each job slot with a grader of its
/// own (its own scratch crate and build folder in `options.work_dir`).
pub async fn grade_class(
    learners: Vec<Learner>,
    reference: Reference,
    reference_used: ReferenceUsed,
    options: ClassOptions,
    events: UnboundedSender<Event>,
) -> Result<ClassGrades, GradeError> {
    let roster_size = learners.len();
    let mine: VecDeque<Learner> = learners
        .into_iter()
        .filter(|l| options.shard.holds(l.index))
        .collect();
    let stages: Vec<StageInfo> = reference
        .course
        .tracks
        .iter()
        .flat_map(|t| {
            t.stages.iter().map(|s| StageInfo {
                track: t.id.clone(),
                stage: s.id.clone(),
                title: s.title.clone(),
            })
        })
        .collect();
    let course = reference.course.name.clone();
    let shard = options.shard;
    let jobs = options.jobs.max(1).min(mine.len().max(1));
    let mut settings = options.grader.clone();
    settings.work_dir = Some(options.work_dir.clone());
    let graded = submissions_dir(&options.work_dir);
    let graders: Vec<Grader> = (0..jobs)
        .map(|_| Grader::new(&settings, &graded))
        .collect::<Result<_, _>>()?;
    let sandboxed = graders.iter().all(Grader::sandboxed);
    let shared = Arc::new(Shared {
        cache: options.cache_dir.as_deref().map(Cache::new),
        reference_used: reference_used.clone(),
        reference,
        options,
        queue: Mutex::new(mine),
        events,
    });
    let mut workers = Vec::new();
    for (slot, grader) in (1..=jobs).zip(graders) {
        let shared = Arc::clone(&shared);
        workers.push(tokio::spawn(worker(shared, slot, grader)));
    }
    let mut learners = Vec::new();
    for worker in workers {
        // A worker that panicked loses only its own results; the others are kept.
        if let Ok(done) = worker.await {
            learners.extend(done);
        }
    }
    learners.sort_by_key(|l: &LearnerGrades| l.index);
    Ok(ClassGrades {
        format: GRADES_FORMAT.to_owned(),
        version: GRADES_VERSION,
        course,
        reference: reference_used,
        stages,
        shard,
        roster_size,
        sandboxed,
        learners,
    })
}

async fn worker(shared: Arc<Shared>, slot: usize, grader: Grader) -> Vec<LearnerGrades> {
    let slot_dir = submissions_dir(&shared.options.work_dir).join(format!("slot-{slot}"));
    let mut warmed = false;
    let mut done = Vec::new();
    loop {
        let next = shared.queue.lock().ok().and_then(|mut q| q.pop_front());
        let Some(learner) = next else { break };
        let grades = grade_learner(&shared, &grader, &learner, slot, &slot_dir, &mut warmed).await;
        let _ = shared.events.send(Event::Done {
            learner: learner.index,
            grades: Box::new(grades.clone()),
        });
        done.push(grades);
    }
    done
}

async fn grade_learner(
    shared: &Shared,
    grader: &Grader,
    learner: &Learner,
    slot: usize,
    slot_dir: &Path,
    warmed: &mut bool,
) -> LearnerGrades {
    let started = Instant::now();
    let options = &shared.options;
    let reference = &shared.reference.course;
    let phase = |phase| {
        let _ = shared.events.send(Event::Phase {
            learner: learner.index,
            name: learner.name.clone(),
            slot,
            phase,
        });
    };
    let mut grades = LearnerGrades {
        index: learner.index,
        learner: learner.name.clone(),
        source: learner.source.describe(),
        commit: None,
        problem: None,
        duration_ms: 0,
        cached: false,
        verdicts: Vec::new(),
        self_reported: None,
    };
    let limit = options.learner_time_limit;
    let cancel = CancellationToken::new();
    let missing = |mut grades: LearnerGrades, why: String| {
        grades.verdicts = grade::all_errors(reference, &why);
        grades.problem = Some(why);
        grades.duration_ms = millis(started.elapsed());
        grades
    };

    let fetched = options
        .work_dir
        .join("fetched")
        .join(format!("{:03}", learner.index + 1));
    let is_git = matches!(learner.source, Source::Git { .. });
    if options.fetch == FetchMode::Only {
        phase(Phase::Fetching);
        if is_git {
            match fetch::prefetch(&learner.source, &fetched, limit, &cancel).await {
                Ok(commit) => grades.commit = Some(commit),
                Err(err) => grades.problem = Some(format!("not fetched: {err}")),
            }
        }
        grades.duration_ms = millis(started.elapsed());
        return grades;
    }
    let prefetched = is_git && options.fetch == FetchMode::Prefetched;

    phase(Phase::Resolving);
    let resolved = if prefetched {
        fetch::fetched_commit(&fetched, limit, &cancel).await
    } else {
        fetch::resolve(&learner.source, limit, &cancel).await
    };
    let commit = match resolved {
        Ok(commit) => commit,
        Err(err) => return missing(grades, format!("not graded: {err}")),
    };
    let parts = KeyParts {
        commit: &commit,
        reference: &shared.reference_used.fingerprint,
        stage_time_limit: options.stage_time_limit,
        learner_time_limit: limit,
    };
    if let Some(cached) = shared.cache.as_ref().and_then(|c| c.get(learner, &parts)) {
        return LearnerGrades {
            index: learner.index,
            learner: learner.name.clone(),
            source: learner.source.describe(),
            cached: true,
            ..cached
        };
    }

    if !*warmed {
        phase(Phase::Warming);
        warm(grader, &shared.reference, &slot_dir.join("warm")).await;
        *warmed = true;
    }
    // The learner's own clock starts here: fetch and grading together.
    let deadline = tokio::time::Instant::now() + limit;
    let timer = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(deadline).await;
            cancel.cancel();
        })
    };
    let submission = slot_dir.join("submission");
    phase(Phase::Fetching);
    let got = if prefetched {
        fetch::copy_fetched(&fetched, &submission, limit, &cancel).await
    } else {
        fetch::fetch(&learner.source, &submission, limit, &cancel).await
    };
    let outcome = match got {
        Err(err) => {
            timer.abort();
            let out_of_time = cancel.is_cancelled();
            let why = if out_of_time {
                format!(
                    "not graded: the fetch used up the learner's {}s",
                    limit.as_secs()
                )
            } else {
                format!("not graded: {err}")
            };
            return missing(grades, why);
        }
        Ok(commit) => {
            grades.commit = Some(commit);
            let events = shared.events.clone();
            let (index, name) = (learner.index, learner.name.clone());
            let on_track: OnTrack = std::sync::Arc::new(move |track, tracks| {
                let _ = events.send(Event::Phase {
                    learner: index,
                    name: name.clone(),
                    slot,
                    phase: Phase::Grading { track, tracks },
                });
            });
            grade_fetched(shared, grader, &submission, &cancel, on_track).await
        }
    };
    timer.abort();
    match outcome {
        Ok((verdicts, self_reported)) => {
            grades.verdicts = verdicts;
            grades.self_reported = self_reported;
        }
        Err(why) => {
            grades.verdicts = grade::all_errors(reference, &why);
            grades.problem = Some(why);
        }
    }
    if cancel.is_cancelled() {
        let why = format!(
            "not judged: the learner's time limit of {}s ran out",
            limit.as_secs()
        );
        for verdict in &mut grades.verdicts {
            if verdict.status == CellStatus::Error {
                verdict.status = CellStatus::Failed;
                verdict.reason = Some(why.clone());
            }
        }
        grades.problem = Some(format!(
            "stopped at the learner's time limit of {}s",
            limit.as_secs()
        ));
    }
    grades.duration_ms = millis(started.elapsed());
    let _ = std::fs::remove_dir_all(&submission);
    // Grades of a commit are kept only when they are the commit's own: the one asked of the
    // remote, graded to the end of its limits.
    if let (Some(cache), Some(graded)) = (&shared.cache, &grades.commit)
        && *graded == commit
    {
        let _ = cache.put(learner, &parts, &grades);
    }
    grades
}

type Graded = (
    Vec<super::results::StageGrade>,
    Option<Vec<super::results::SelfReported>>,
);

async fn grade_fetched(
    shared: &Shared,
    grader: &Grader,
    submission: &Path,
    cancel: &CancellationToken,
    on_track: OnTrack,
) -> Result<Graded, String> {
    let reference = &shared.reference.course;
    let reached = grade::reached_stages(submission, reference);
    let self_reported = grade::self_reported(submission, reference);
    let settings = SubmissionSettings {
        stage_time_limit: shared.options.stage_time_limit,
        cancel: cancel.clone(),
        on_track: Some(on_track),
    };
    let report = grade::grade_submission(grader, submission, &shared.reference, &settings)
        .await
        .map_err(|err| format!("not graded: {err}"))?;
    Ok((grade::verdicts(&report, reference, &reached), self_reported))
}

/// Grades each track's start crate (the reference's own, trusted) through the slot's grader,
/// first stage only and without the class's limits, so the slot's build folder holds the course's
/// dependencies before the first learner is timed. The verdicts are thrown away; a failure here is
/// the course's, and shows in grading.
async fn warm(grader: &Grader, reference: &Reference, dir: &Path) {
    if dir.exists() && std::fs::remove_dir_all(dir).is_err() {
        return;
    }
    for track in &reference.course.tracks {
        let crate_dir = dir.join("exercises").join(&track.id);
        if copy_tree(&reference.course.start_dir(track), &crate_dir).is_err() {
            return;
        }
    }
    for track in &reference.course.tracks {
        let Some(first) = track.stages.first() else {
            continue;
        };
        let options = VerifyOptions {
            stage: Some(format!("{}/{}", track.id, first.id)),
            ..VerifyOptions::default()
        };
        let _ = verify(grader, dir, reference, &options).await;
    }
}

fn millis(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}
