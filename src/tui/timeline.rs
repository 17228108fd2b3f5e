//! A replication test's timeline, found in its output: the rows the simulator printed (one
//! column per node, time flowing down) and the row of the violation, so the full-width view
//! can open there.

/// A timeline taken from a test's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The test it comes from.
    pub test: String,
    /// The header row and the event rows, as printed.
    pub rows: Vec<String>,
    /// The index in `rows` of the first event at or after the violation's tick.
    pub violation: usize,
}

/// The timeline in `output`, if the test printed one (`✗ property (seed S, tick T)`, then a
/// header row starting with `tick │`).
pub fn timeline_of(test: &str, output: &str) -> Option<Timeline> {
    let lines: Vec<&str> = output.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.trim_start().starts_with("tick │"))?;
    let rows: Vec<String> = lines[header..]
        .iter()
        .take_while(|l| l.contains('│') || l.contains("──"))
        .map(|l| (*l).to_owned())
        .collect();
    let tick = lines[..header].iter().rev().find_map(|l| {
        let (_, rest) = l.split_once(", tick ")?;
        rest.split(')').next()?.trim().parse::<u64>().ok()
    });
    let violation = tick
        .and_then(|tick| {
            rows.iter().skip(1).position(|row| {
                row.split('│')
                    .next()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .is_some_and(|at| at >= tick)
            })
        })
        .map_or(rows.len().saturating_sub(1), |i| i + 1);
    Some(Timeline {
        test: test.to_owned(),
        rows,
        violation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
thread 'broadcast::values_spread' panicked at tests/stages/broadcast.rs:40:5:

✗ every value reaches every node (seed 7, tick 130)
  n2 never saw 5
  run: 120 messages

   tick │ n0           │ n1           │ n2           │ clients
    100 │ send 5 → n1  │              │              │
    120 │              │ crash        │              │
    130 │              │              │ read → []    │
    140 │ ── heal ───────────────────────────────
replay exactly this run: katas run --seed 7
";

    #[test]
    fn the_rows_and_the_violations_row_are_found() {
        let timeline = timeline_of("broadcast::values_spread", OUTPUT).unwrap();
        assert_eq!(timeline.rows.len(), 5, "{:#?}", timeline.rows);
        assert!(timeline.rows[0].trim_start().starts_with("tick │"));
        assert!(timeline.rows[timeline.violation].contains("read → []"));
        assert!(timeline_of("x", "assertion failed: 1 == 2").is_none());
    }
}
