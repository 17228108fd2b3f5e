//! Running a test over a fixed set of seeds, reporting failures, and simple checkers.

use std::fmt::{self, Debug, Display};
use std::panic::{self, AssertUnwindSafe};

use crate::node::{NodeId, Tick};

/// A violated property, with everything needed to understand and replay it.
///
/// Boxed inside, so that `Result<(), Failure>` stays one pointer wide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure(Box<Report>);

/// The contents of a [`Failure`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct Report {
    seed: u64,
    at: Tick,
    property: String,
    detail: String,
    timeline: String,
    stats: String,
    events: Vec<String>,
}

impl Failure {
    pub(crate) fn new(
        seed: u64,
        at: Tick,
        property: String,
        detail: String,
        (timeline, stats, events): (String, String, Vec<String>),
    ) -> Self {
        Failure(Box::new(Report {
            seed,
            at,
            property,
            detail,
            timeline,
            stats,
            events,
        }))
    }

    /// The seed of the run.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }

    /// The simulation time when the property was found violated.
    pub fn at(&self) -> Tick {
        self.0.at
    }

    /// The property, in a few words ("at most one leader per term").
    pub fn property(&self) -> &str {
        &self.0.property
    }

    /// What exactly was seen, and what it means.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The end of the run as a timeline, one column per node.
    pub fn timeline(&self) -> &str {
        &self.0.timeline
    }

    /// Every kept event, one per line: two runs with identical events replayed identically.
    pub fn events(&self) -> &[String] {
        &self.0.events
    }
}

impl Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.0;
        writeln!(f, "✗ {} (seed {}, tick {})", r.property, r.seed, r.at)?;
        for line in r.detail.lines() {
            writeln!(f, "  {line}")?;
        }
        writeln!(f, "  run: {}", r.stats)?;
        writeln!(f)?;
        write!(f, "{}", r.timeline)
    }
}

impl std::error::Error for Failure {}

/// The seeds a test runs.
///
/// By default a test runs its fixed seeds `1..=count`. The environment changes that:
/// `KATAS_SEED=17` runs only seed 17 (to replay a failure exactly); `KATAS_SEEDS=500` runs seeds
/// `1..=500` (to hunt for rarer bugs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seeds {
    seeds: Vec<u64>,
}

/// The seeds `1..=count`, or what `KATAS_SEED` / `KATAS_SEEDS` ask for.
pub fn seeds(count: u64) -> Seeds {
    let read = |name: &str| -> Option<u64> { std::env::var(name).ok()?.trim().parse().ok() };
    if let Some(seed) = read("KATAS_SEED") {
        return Seeds { seeds: vec![seed] };
    }
    let count = read("KATAS_SEEDS").map_or(count, |n| n.max(1));
    Seeds {
        seeds: (1..=count).collect(),
    }
}

impl Seeds {
    /// Exactly these seeds, whatever the environment says.
    pub fn only(seeds: impl IntoIterator<Item = u64>) -> Seeds {
        Seeds {
            seeds: seeds.into_iter().collect(),
        }
    }

    /// The seeds, in order.
    pub fn list(&self) -> &[u64] {
        &self.seeds
    }

    /// Runs `run` once per seed and fails the calling test at the first failure, printing the
    /// seed, the violated property, the timeline and how to replay that exact run.
    ///
    /// A failing seed is run a second time: if the replay differs, the message says so, since
    /// then the node depends on something other than the seed (a `HashMap`'s iteration order,
    /// the wall clock, a thread).
    #[track_caller]
    pub fn check(&self, mut run: impl FnMut(u64) -> Result<(), Failure>) {
        for &seed in &self.seeds {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| run(seed)));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(failure)) => {
                    let replay = panic::catch_unwind(AssertUnwindSafe(|| run(seed)));
                    let same =
                        matches!(&replay, Ok(Err(again)) if again.events() == failure.events());
                    fail_test(&failure, same);
                }
                Err(payload) => {
                    eprintln!(
                        "\nthe panic above happened in the run with seed {seed}; {}",
                        replay_line(seed, &test_name())
                    );
                    panic::resume_unwind(payload);
                }
            }
        }
    }
}

/// The name of the running test, as libtest names its thread.
fn test_name() -> String {
    std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("<test name>")
        .to_string()
}

/// How to replay one seed of a test: through katas, which reuses its own build folder (a
/// plain `cargo test` in the crate builds every dependency again into the crate's `target/`),
/// or by hand in the crate's folder, which cargo names in `CARGO_MANIFEST_DIR`.
fn replay_line(seed: u64, name: &str) -> String {
    let folder = std::env::var("CARGO_MANIFEST_DIR").ok();
    // The crate's folder is `exercises/<track>`: naming the track makes the replay run that
    // track's crate, whichever track the learner worked on last.
    let track = folder
        .as_deref()
        .and_then(|f| std::path::Path::new(f).file_name())
        .and_then(|t| t.to_str())
        .map(|t| format!("{t} "))
        .unwrap_or_default();
    let folder = folder.unwrap_or_else(|| "your track's crate".to_string());
    format!(
        "replay exactly this run: katas run {track}--seed {seed} --test {name}   (from the course folder)\n\
         or by hand, in {folder}: KATAS_SEED={seed} cargo test --test stages -- {name} --exact\n"
    )
}

/// Fails the calling test with the failure's report.
#[allow(clippy::panic)] // Failing the calling test is this function's whole purpose.
#[track_caller]
fn fail_test(failure: &Failure, reproducible: bool) -> ! {
    let name = test_name();
    let mut report = format!("\n{failure}\n");
    report.push_str(&replay_line(failure.seed(), &name));
    if !reproducible {
        report.push_str(
            "WARNING: running this seed again did not give the same events. Your nodes depend on \
             something besides the seed: iterating a HashMap/HashSet (use BTreeMap/BTreeSet), the \
             wall clock, threads or another random source (use ctx.rng()).\n",
        );
    }
    panic!("{report}");
}

/// Checks that every node ended with the same value, e.g. after the network healed.
///
/// The error names the first node that disagrees with the first node, and both values.
pub fn converged<T: PartialEq + Debug>(values: &[(NodeId, T)]) -> Result<(), String> {
    let Some((first, expected)) = values.first() else {
        return Ok(());
    };
    for (node, value) in values.iter().skip(1) {
        if value != expected {
            return Err(format!(
                "{first} ended with {expected:?} but {node} ended with {value:?}: the nodes did not converge"
            ));
        }
    }
    Ok(())
}

/// Checks a budget: `Err` with a message naming the measure, the value and the limit.
pub fn within_budget(measure: &str, value: f64, limit: f64) -> Result<(), String> {
    if value <= limit {
        Ok(())
    } else {
        Err(format!(
            "{measure} was {value:.1}, over the budget of {limit:.1}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converged_names_the_disagreeing_node() {
        assert!(converged(&[(NodeId(0), 1), (NodeId(1), 1)]).is_ok());
        let err = converged(&[(NodeId(0), 1), (NodeId(1), 1), (NodeId(2), 3)]).unwrap_err();
        assert!(err.contains("n2 ended with 3"), "{err}");
    }

    #[test]
    fn seeds_default_to_one_through_count() {
        if std::env::var("KATAS_SEED").is_err() && std::env::var("KATAS_SEEDS").is_err() {
            assert_eq!(seeds(3).list(), &[1, 2, 3]);
        }
        assert_eq!(Seeds::only([5, 9]).list(), &[5, 9]);
    }

    #[test]
    fn budget_message_names_measure_and_limit() {
        assert!(within_budget("messages per op", 3.0, 4.0).is_ok());
        let err = within_budget("messages per op", 5.0, 4.0).unwrap_err();
        assert!(err.contains("messages per op was 5.0, over the budget of 4.0"));
    }
}
