//! Where hints did not help a class: the ladders its learners were shown and still needed the
//! final nudge for, or left the stage unpassed after. An author reads it as "this ladder's
//! questions do not lead to the bug", a teacher as "this is where to explain in class".

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::classroom::report::{LadderUse, LearnerReport};

/// How many ladders the class report lists.
const LISTED: usize = 10;
/// How many of a ladder's failures the report quotes.
const QUOTED: usize = 3;

/// One ladder of one stage, over the class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HintMiss {
    /// `track/stage`.
    pub stage: String,
    /// The ladder's key (`test:<name>`, `error:<code>`, ...).
    pub ladder: String,
    /// Learners who were shown it.
    pub shown: usize,
    /// Of those, learners it did not help: they needed its nudge, or have not passed since.
    pub not_helped: usize,
    /// The failures it was shown for, the most common first (at most a few).
    pub failures: Vec<String>,
}

/// The class's ladders that helped least, from learner reports.
pub fn hint_misses(reports: &[(PathBuf, LearnerReport)]) -> Vec<HintMiss> {
    misses_of(reports.iter().map(|(_, report)| {
        report
            .stages
            .iter()
            .map(|s| (s.key(), s.ladders.as_slice()))
    }))
}

/// The same ranking over any learners: for each, their stages' (`track/stage`, ladders used).
/// Only ladders that failed someone are listed, those that failed most learners first.
pub fn misses_of<'a, L, S>(learners: L) -> Vec<HintMiss>
where
    L: IntoIterator<Item = S>,
    S: IntoIterator<Item = (String, &'a [LadderUse])>,
{
    #[derive(Default)]
    struct Tally<'a> {
        shown: BTreeSet<usize>,
        not_helped: BTreeSet<usize>,
        failures: BTreeMap<&'a str, usize>,
    }
    let mut by_ladder: BTreeMap<(String, &str), Tally> = BTreeMap::new();
    for (learner, stages) in learners.into_iter().enumerate() {
        for (stage, ladders) in stages {
            for used in ladders {
                let tally = by_ladder
                    .entry((stage.clone(), used.ladder.as_str()))
                    .or_default();
                tally.shown.insert(learner);
                if !used.helped {
                    tally.not_helped.insert(learner);
                }
                for failure in &used.failures {
                    *tally.failures.entry(failure.as_str()).or_default() += 1;
                }
            }
        }
    }
    let mut misses: Vec<HintMiss> = by_ladder
        .into_iter()
        .filter(|(_, tally)| !tally.not_helped.is_empty())
        .map(|((stage, ladder), tally)| {
            let mut failures: Vec<(&str, usize)> = tally.failures.into_iter().collect();
            failures.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            HintMiss {
                stage,
                ladder: ladder.to_owned(),
                shown: tally.shown.len(),
                not_helped: tally.not_helped.len(),
                failures: failures
                    .into_iter()
                    .take(QUOTED)
                    .map(|(f, _)| f.to_owned())
                    .collect(),
            }
        })
        .collect();
    misses.sort_by(|a, b| {
        (b.not_helped, b.shown)
            .cmp(&(a.not_helped, a.shown))
            .then_with(|| (&a.stage, &a.ladder).cmp(&(&b.stage, &b.ladder)))
    });
    misses.truncate(LISTED);
    misses
}

/// The lines of the class report about hints that did not help, each starting with `indent`.
pub fn render(misses: &[HintMiss], indent: &str) -> String {
    if misses.is_empty() {
        return format!("{indent}Every ladder shown was followed by a pass without its nudge.\n");
    }
    let mut out = String::new();
    for (rank, miss) in misses.iter().enumerate() {
        out.push_str(&format!(
            "{indent}{}. {} `{}`: shown to {}, did not help {} (nudge needed or not passed since).\n",
            rank + 1,
            miss.stage,
            miss.ladder,
            miss.shown,
            miss.not_helped
        ));
        for failure in &miss.failures {
            out.push_str(&format!("{indent}   shown for: {failure}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(ladder: &str, helped: bool, failures: &[&str]) -> LadderUse {
        LadderUse {
            ladder: ladder.into(),
            rungs: 2,
            nudged: !helped,
            failures: failures.iter().map(|f| (*f).to_owned()).collect(),
            helped,
        }
    }

    #[test]
    fn the_ladders_that_failed_most_learners_come_first_and_helpful_ones_are_left_out() {
        let a = [
            used(
                "test:remove",
                false,
                &["assertion failed at tests/stages/log.rs:40"],
            ),
            used("error:E0382", true, &["E0382 at src/lib.rs:19"]),
        ];
        let b = [used(
            "test:remove",
            false,
            &["assertion failed at tests/stages/log.rs:40"],
        )];
        let c = [used("test:remove", true, &[]), used("stage", false, &[])];
        let learners = vec![
            vec![("kv/log".to_owned(), a.as_slice())],
            vec![("kv/log".to_owned(), b.as_slice())],
            vec![("kv/log".to_owned(), c.as_slice())],
        ];
        let misses = misses_of(learners);
        let got: Vec<(&str, usize, usize)> = misses
            .iter()
            .map(|m| (m.ladder.as_str(), m.shown, m.not_helped))
            .collect();
        // test:remove failed 2 of the 3 shown it; stage failed 1 of 1; E0382 helped everyone.
        assert_eq!(got, [("test:remove", 3, 2), ("stage", 1, 1)]);
        assert_eq!(
            misses[0].failures,
            ["assertion failed at tests/stages/log.rs:40"]
        );
        let text = render(&misses, "");
        assert!(
            text.starts_with("1. kv/log `test:remove`: shown to 3, did not help 2"),
            "{text}"
        );
        assert!(text.contains("   shown for: assertion failed at tests/stages/log.rs:40"));
    }
}
