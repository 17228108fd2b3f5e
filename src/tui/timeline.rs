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
    // A timeline around an operation the failure names ("…, around c1#3 (named above)…")
    // opens at that operation's first row.
    let around = lines[..header].iter().rev().find_map(|l| {
        let (_, rest) = l.split_once(", around ")?;
        rest.split_whitespace().next().map(str::to_owned)
    });
    let named = around.and_then(|name| {
        rows.iter().skip(1).position(|row| {
            row.match_indices(name.as_str()).any(|(i, _)| {
                !row[i + name.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit())
            })
        })
    });
    let violation = named
        .or_else(|| {
            tick.and_then(|tick| {
                rows.iter().skip(1).position(|row| {
                    row.split('│')
                        .next()
                        .and_then(|t| t.trim().parse::<u64>().ok())
                        .is_some_and(|at| at >= tick)
                })
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

    #[test]
    fn a_timeline_around_a_named_operation_opens_at_it() {
        let output = "\
✗ not linearizable (seed 3, tick 900)
  no order explains c1#3

3 of 800 events, around c1#3 (named above), with the faults before it:
   tick │ n0          │ clients
      0 │ ✗✗ CRASHED  │
      … │
    300 │             │ m9 c1#30→n0 Get
    310 │             │ m10 c1#3→n0 Put
";
        let timeline = timeline_of("t", output).unwrap();
        assert!(
            timeline.rows[timeline.violation].contains("m10 c1#3→"),
            "{timeline:?}"
        );
    }
}
