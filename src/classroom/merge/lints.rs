//! Which idioms a class struggles with: the catalog's clippy lints its learners' code met after
//! passes, ranked by how many learners still have them (met, never fixed), then by how many met
//! them at all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::classroom::report::LearnerReport;

/// How many lints the class report lists.
const LISTED: usize = 10;

/// One lint, over the class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintStruggle {
    /// Without `clippy::`.
    pub lint: String,
    /// The concept it teaches (ownership, errors, ...), from the catalog.
    pub concept: String,
    /// Learners whose code met it on some stage.
    pub met: usize,
    /// Of those, learners who fixed it everywhere they met it.
    pub fixed: usize,
}

/// The class's lints, the ones most learners still have first.
pub fn lint_struggles(reports: &[(PathBuf, LearnerReport)]) -> Vec<LintStruggle> {
    struggles_of(reports.iter().map(|(_, report)| {
        report
            .stages
            .iter()
            .map(|s| (s.lints_met.as_slice(), s.lints_fixed.as_slice()))
    }))
}

/// The same ranking over any learners: for each, their stages' (lints met, lints fixed).
pub fn struggles_of<'a, L, S>(learners: L) -> Vec<LintStruggle>
where
    L: IntoIterator<Item = S>,
    S: IntoIterator<Item = (&'a [String], &'a [String])>,
{
    // lint -> (learners who met it, learners who have not fixed it on every stage they met it)
    let mut by_lint: BTreeMap<&str, (BTreeSet<usize>, BTreeSet<usize>)> = BTreeMap::new();
    for (learner, stages) in learners.into_iter().enumerate() {
        for (met, fixed) in stages {
            for lint in met {
                let entry = by_lint.entry(lint.as_str()).or_default();
                entry.0.insert(learner);
                if !fixed.contains(lint) {
                    entry.1.insert(learner);
                }
            }
        }
    }
    let mut struggles: Vec<LintStruggle> = by_lint
        .into_iter()
        .map(|(lint, (met, open))| LintStruggle {
            lint: lint.to_owned(),
            concept: crate::hints::lint_lookup(lint)
                .map_or("clippy", |l| l.concept)
                .to_owned(),
            met: met.len(),
            fixed: met.len() - open.len(),
        })
        .collect();
    struggles.sort_by(|a, b| {
        (b.met - b.fixed, b.met)
            .cmp(&(a.met - a.fixed, a.met))
            .then_with(|| a.lint.cmp(&b.lint))
    });
    struggles.truncate(LISTED);
    struggles
}

/// The lines of the class report about lints, each starting with `indent`.
pub fn render(struggles: &[LintStruggle], learners: usize, indent: &str) -> String {
    if struggles.is_empty() {
        return format!("{indent}No clippy lint met (clippy runs after a pass).\n");
    }
    struggles
        .iter()
        .enumerate()
        .map(|(rank, s)| {
            format!(
                "{indent}{}. clippy::{} ({}): met by {} of {learners}, fixed by {}.\n",
                rank + 1,
                s.lint,
                s.concept,
                s.met,
                s.fixed
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classroom::report::{REPORT_FORMAT, REPORT_VERSION, StageReport, Standing};

    fn report(stages: Vec<(&[&str], &[&str])>) -> (PathBuf, LearnerReport) {
        let stages = stages
            .into_iter()
            .enumerate()
            .map(|(i, (met, fixed))| StageReport {
                track: "kv".into(),
                stage: format!("s{i}"),
                title: String::new(),
                status: Standing::Passed,
                passed_at: None,
                attempts: 1,
                runs: 1,
                hint_rungs: 0,
                nudges: 0,
                stuck: 0,
                active_secs: 0,
                source: Default::default(),
                verified: None,
                lints_met: met.iter().map(|s| (*s).to_owned()).collect(),
                lints_fixed: fixed.iter().map(|s| (*s).to_owned()).collect(),
                ladders: Vec::new(),
            })
            .collect();
        (
            PathBuf::from("r.json"),
            LearnerReport {
                format: REPORT_FORMAT.into(),
                version: REPORT_VERSION,
                course: "c".into(),
                learner: "l".into(),
                generated_at: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
                stages,
            },
        )
    }

    #[test]
    fn the_lints_most_learners_still_have_come_first() {
        let reports = vec![
            report(vec![(&["ptr_arg", "unwrap_used"], &["ptr_arg"])]),
            report(vec![
                (&["ptr_arg"], &[]),
                (&["unwrap_used"], &["unwrap_used"]),
            ]),
            report(vec![(&["ptr_arg"], &[])]),
        ];
        let struggles = lint_struggles(&reports);
        let got: Vec<(&str, usize, usize)> = struggles
            .iter()
            .map(|s| (s.lint.as_str(), s.met, s.fixed))
            .collect();
        // ptr_arg: 3 met, 1 fixed (2 open); unwrap_used: 2 met, 1 fixed (1 open).
        assert_eq!(got, [("ptr_arg", 3, 1), ("unwrap_used", 2, 1)]);
        assert_eq!(struggles[0].concept, "borrowing");
        let text = render(&struggles, 3, "  ");
        assert!(
            text.starts_with("  1. clippy::ptr_arg (borrowing): met by 3 of 3, fixed by 1."),
            "{text}"
        );
    }
}
