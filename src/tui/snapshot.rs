//! What the screen shows of a session: built from the course and progress after every change,
//! so `update` and `view` never touch either.

use super::model::{Snapshot, SolutionView, TrackView};
use crate::course::StageRef;
use crate::progress::StageStatus;
use crate::session::Session;

/// What the screen shows of the session now. `previous` is the snapshot on screen: what has not
/// changed since (the reference solution's files) is taken from it rather than read again after
/// every save.
pub fn snapshot(session: &Session, previous: Option<&Snapshot>) -> Snapshot {
    let course = &session.course;
    let at = session.working();
    let tracks = course
        .tracks
        .iter()
        .map(|track| TrackView {
            id: track.id.clone(),
            title: track.title.clone(),
            stages: (0..track.stages.len())
                .map(|i| {
                    (
                        track.stages[i].id.clone(),
                        track.stages[i].title.clone(),
                        session.progress.status(track, i),
                    )
                })
                .collect(),
        })
        .collect();
    let track = session.track(at);
    let stage = session.stage(at);
    let passed = session.progress.is_passed(&track.id, &stage.id);
    let hint = session.hint(at, false);
    Snapshot {
        course: course.name.clone(),
        tracks,
        at: Some(at),
        stage_id: stage.id.clone(),
        stage_title: stage.title.clone(),
        brief: stage.brief.clone(),
        reflection: stage.reflection.clone(),
        passed,
        edited_tests: session.edited_tests(at),
        solution: solution_view(session, at, passed, previous),
        hints: hint.ladder.rungs[..hint.shown_before.min(hint.ladder.rungs.len())].to_vec(),
        hints_lint: matches!(hint.ladder.key, crate::hints::LadderKey::Lint(_)),
        hints_about: hint.ladder.about,
        lib_path: course
            .display_path(&course.crate_dir(track).join("src/lib.rs"))
            .display()
            .to_string(),
        strict: stage.strict,
    }
}

/// The reference the learner may read: the working stage's once passed; else the previous
/// stage's (which they passed), and that one may be adopted.
fn solution_view(
    session: &Session,
    at: StageRef,
    passed: bool,
    previous: Option<&Snapshot>,
) -> Option<SolutionView> {
    let track = session.track(at);
    let (index, adoptable) = if passed {
        (at.stage, false)
    } else {
        let previous = at.stage.checked_sub(1)?;
        (
            previous,
            session.progress.status(track, previous) == StageStatus::Passed,
        )
    };
    let stage = &track.stages[index];
    let unchanged = previous
        .filter(|p| p.at.is_some_and(|p_at| p_at.track == at.track))
        .and_then(|p| p.solution.as_ref())
        .filter(|s| s.stage == stage.id && s.adoptable == adoptable);
    if let Some(solution) = unchanged {
        return Some(solution.clone());
    }
    let dir = session.course.solution_dir(track, stage);
    let mut text = String::new();
    for file in crate::fsutil::list_files(&dir).ok()? {
        let contents = std::fs::read_to_string(dir.join(&file)).ok()?;
        text.push_str(&format!("// ==== {} ====\n{contents}\n", file.display()));
    }
    Some(SolutionView {
        stage: stage.id.clone(),
        text,
        adoptable,
    })
}
