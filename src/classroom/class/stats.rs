//! The class's numbers per stage: how many learners got each verdict (graded), and from the
//! learners' own progress files (self-reported) the median attempts, who asked for hints, and
//! the stages where the class needed most of them.

use super::results::{CellStatus, ClassGrades};
use crate::classroom::merge::median;

/// One stage's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct StageStats {
    pub key: String,
    pub title: String,
    /// Learners per verdict, in [`CellStatus::ALL`] order.
    pub counts: [usize; 5],
    /// Learners whose progress file says anything about this stage.
    pub reported: usize,
    /// Median attempts of the learners who made at least one (self-reported).
    pub median_attempts: Option<f64>,
    /// Learners shown at least one rung, the final nudge included (self-reported).
    pub hinted: usize,
    /// Learners shown the final nudge (self-reported).
    pub nudged: usize,
    pub hint_rungs: u64,
}

impl StageStats {
    pub fn count(&self, status: CellStatus) -> usize {
        CellStatus::ALL
            .iter()
            .position(|s| *s == status)
            .map_or(0, |i| self.counts[i])
    }
}

/// Every stage's numbers, in course order.
pub fn stage_stats(grades: &ClassGrades) -> Vec<StageStats> {
    grades
        .stages
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let mut counts = [0; 5];
            for learner in &grades.learners {
                if let Some(v) = learner.verdicts.get(i)
                    && let Some(at) = CellStatus::ALL.iter().position(|s| *s == v.status)
                {
                    counts[at] += 1;
                }
            }
            let reports: Vec<_> = grades
                .learners
                .iter()
                .filter_map(|l| l.self_reported.as_ref()?.get(i))
                .collect();
            StageStats {
                key: info.key(),
                title: info.title.clone(),
                counts,
                reported: reports
                    .iter()
                    .filter(|r| r.attempts + r.hint_rungs + r.nudges > 0)
                    .count(),
                median_attempts: median(
                    reports
                        .iter()
                        .filter(|r| r.attempts > 0)
                        .map(|r| u64::from(r.attempts))
                        .collect(),
                ),
                hinted: reports
                    .iter()
                    .filter(|r| r.hint_rungs + r.nudges > 0)
                    .count(),
                nudged: reports.iter().filter(|r| r.nudges > 0).count(),
                hint_rungs: reports.iter().map(|r| u64::from(r.hint_rungs)).sum(),
            }
        })
        .collect()
}

/// The stages where the class needed most hints: most learners nudged, then most hinted, then
/// the highest median attempts (as `katas report --merge` ranks them). Learners count once each.
pub fn most_hints(stats: &[StageStats]) -> Vec<&StageStats> {
    crate::classroom::merge::ranked_by_help(stats, |s| (s.nudged, s.hinted, s.median_attempts))
}
