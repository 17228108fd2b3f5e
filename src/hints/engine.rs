//! Deciding when the next rung of a ladder may open, and recording what was shown.

use jiff::Timestamp;

use super::choose::{Ladder, LadderKey};
use crate::progress::{HintRecord, Progress};

/// Why a rung asks for a confirmation before it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// The learner has not made a new attempt since the last rung, and says they are stuck.
    Stuck,
    /// The last rung is a concrete nudge: it always asks.
    FinalNudge,
}

/// What may happen on a request for help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Rung `index` (0-based) may be shown, after the confirmations listed (none, or some).
    Show { index: usize, confirm: Vec<Confirm> },
    /// The next rung waits for a new attempt: think, change something, run.
    Wait { shown: usize },
    /// Every rung has been shown.
    Exhausted,
}

/// The number of rungs of a ladder already shown in a stage, and the attempt of the last one.
pub fn shown_rungs(
    progress: &Progress,
    track: &str,
    stage: &str,
    key: &LadderKey,
) -> (usize, Option<u32>) {
    let record_key = key.as_record();
    let Some(stage) = progress.stage(track, stage) else {
        return (0, None);
    };
    let records: Vec<&HintRecord> = stage
        .hints
        .iter()
        .filter(|h| h.ladder == record_key)
        .collect();
    let shown = records.iter().map(|h| h.rung as usize).max().unwrap_or(0);
    (shown, records.last().map(|h| h.attempt))
}

/// Whether the next rung may open: the first always may; a later one after a new attempt, or
/// when the learner says they are stuck (with a confirmation); the last always asks.
pub fn decide(
    ladder: &Ladder,
    shown: usize,
    last_attempt: Option<u32>,
    attempts: u32,
    stuck: bool,
) -> Decision {
    if shown >= ladder.rungs.len() {
        return Decision::Exhausted;
    }
    let mut confirm = Vec::new();
    let new_attempt = last_attempt.is_none_or(|at| attempts > at);
    if shown > 0 && !new_attempt {
        if !stuck {
            return Decision::Wait { shown };
        }
        confirm.push(Confirm::Stuck);
    }
    if shown + 1 == ladder.rungs.len() {
        confirm.push(Confirm::FinalNudge);
    }
    Decision::Show {
        index: shown,
        confirm,
    }
}

/// Records that rung `index` of a ladder was shown.
pub fn record(
    progress: &mut Progress,
    track: &str,
    stage: &str,
    ladder: &Ladder,
    index: usize,
    forced: bool,
    now: Timestamp,
) {
    let record = progress.stage_mut(track, stage);
    let attempt = record.attempts;
    record.hints.push(HintRecord {
        ladder: ladder.key.as_record(),
        rung: u32::try_from(index + 1).unwrap_or(u32::MAX),
        at: now,
        attempt,
        forced,
        last: index + 1 == ladder.rungs.len(),
    });
    if let Some(failure) = &ladder.failure {
        let seen = record
            .hint_failures
            .entry(ladder.key.as_record())
            .or_default();
        if !seen.contains(failure) {
            seen.push(failure.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::{Rung, Stage};
    use std::time::Duration;

    fn ladder() -> Ladder {
        super::super::choose::choose(&stage(), &[], None)
    }

    fn stage() -> Stage {
        let rung = |text: &str| Rung {
            text: text.to_owned(),
            line: 1,
        };
        Stage {
            id: "log".into(),
            title: "An append-only log".into(),
            brief: String::new(),
            tests: String::new(),
            test_names: vec!["survives_reopen".into(), "removes_replayed".into()],
            concepts: vec![],
            time_limit: Duration::from_secs(10),
            memory_limit_mib: 2048,
            test_threads: None,
            features: Vec::new(),
            strict: false,
            hints: vec![
                rung("Plan?"),
                rung("Concept?"),
                rung("Code?"),
                rung("Nudge."),
            ],
            test_hints: vec![],
            reflection: vec![],
        }
    }

    #[test]
    fn the_next_rung_waits_for_a_new_attempt() {
        let ladder = ladder();
        assert_eq!(
            decide(&ladder, 0, None, 3, false),
            Decision::Show {
                index: 0,
                confirm: vec![]
            }
        );
        assert_eq!(
            decide(&ladder, 1, Some(3), 3, false),
            Decision::Wait { shown: 1 }
        );
        assert_eq!(
            decide(&ladder, 1, Some(3), 4, false),
            Decision::Show {
                index: 1,
                confirm: vec![]
            }
        );
    }

    #[test]
    fn being_stuck_opens_it_with_a_confirmation() {
        let ladder = ladder();
        assert_eq!(
            decide(&ladder, 1, Some(3), 3, true),
            Decision::Show {
                index: 1,
                confirm: vec![Confirm::Stuck]
            }
        );
    }

    #[test]
    fn the_final_nudge_always_asks_and_then_the_ladder_is_done() {
        let ladder = ladder();
        assert_eq!(
            decide(&ladder, 3, Some(3), 9, false),
            Decision::Show {
                index: 3,
                confirm: vec![Confirm::FinalNudge]
            }
        );
        assert_eq!(
            decide(&ladder, 3, Some(3), 3, true),
            Decision::Show {
                index: 3,
                confirm: vec![Confirm::Stuck, Confirm::FinalNudge]
            }
        );
        assert_eq!(decide(&ladder, 4, Some(3), 9, true), Decision::Exhausted);
    }

    #[test]
    fn recorded_rungs_resume_where_they_were() {
        let mut progress = Progress::default();
        let ladder = ladder();
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        progress.record_run("kv", "log", "a", now);
        record(&mut progress, "kv", "log", &ladder, 0, false, now);
        progress.record_run("kv", "log", "b", now);
        record(&mut progress, "kv", "log", &ladder, 1, false, now);
        assert_eq!(
            shown_rungs(&progress, "kv", "log", &LadderKey::Stage),
            (2, Some(2))
        );
        assert_eq!(
            shown_rungs(&progress, "kv", "log", &LadderKey::Test("x".into())),
            (0, None)
        );
        let stored = toml::to_string(&progress).unwrap();
        let back: Progress = toml::from_str(&stored).unwrap();
        assert_eq!(
            shown_rungs(&back, "kv", "log", &LadderKey::Stage),
            (2, Some(2))
        );
    }
}
