//! What a failing test said: the place it panicked and its message (the assertion), read from
//! the output libtest captured. Hints use it to choose and fill a ladder; the screen leads with it.

/// The panic of a failed test.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// `file:line:column`, as the panic names it.
    pub location: Option<String>,
    /// The panic message, e.g. "assertion `left == right` failed: set replaces the value" and
    /// its `left:`/`right:` lines; at most [`MESSAGE_LINES`] lines.
    pub message: String,
}

/// The most lines of a panic message kept: the assertion and its two sides, with room for a
/// multi-line message.
pub const MESSAGE_LINES: usize = 8;

impl Failure {
    /// Whether the test stopped at a `todo!()` or `unimplemented!()`: unwritten code, which says
    /// less about a bug than a failed assertion does.
    pub fn is_unwritten(&self) -> bool {
        self.message.starts_with("not yet implemented")
            || self.message.starts_with("not implemented")
    }

    /// The message's first line (the assertion).
    pub fn headline(&self) -> &str {
        self.message.lines().next().unwrap_or_default()
    }
}

/// The first panic in a test's output, or `None` when it did not panic (a time-out).
pub fn failure_of(output: &str) -> Option<Failure> {
    let mut lines = output.lines();
    let location = loop {
        let line = lines.next()?;
        // "thread 'name' panicked at …", or since Rust 1.9x "thread 'name' (1234) panicked at …".
        if line.starts_with("thread '")
            && let Some((_, after)) = line.split_once(" panicked at ")
        {
            // Since Rust 1.73: "panicked at src/x.rs:1:2:" and the message on the next lines.
            break after
                .trim_end()
                .strip_suffix(':')
                .unwrap_or(after)
                .to_owned();
        }
    };
    // The message's first paragraph: an assertion and its sides, or the headline of a longer
    // report (a simulator's failure, with its timeline after a blank line).
    let message: Vec<&str> = lines
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| {
            !l.trim().is_empty()
                && !l.starts_with("note: run with `RUST_BACKTRACE")
                && !l.starts_with("stack backtrace:")
        })
        .take(MESSAGE_LINES)
        .collect();
    Some(Failure {
        location: Some(location).filter(|l| !l.is_empty()),
        message: message.join("\n").trim_end().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSERTION: &str = "\
some output of the test
thread 'memory::set_overwrites_the_previous_value' panicked at tests/stages/memory.rs:50:5:
assertion `left == right` failed: set replaces the value
  left: Some(\"1\")
 right: Some(\"2\")
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
";

    #[test]
    fn the_assertion_and_its_place_are_read_from_the_panic() {
        let failure = failure_of(ASSERTION).unwrap();
        assert_eq!(
            failure.location.as_deref(),
            Some("tests/stages/memory.rs:50:5")
        );
        assert_eq!(
            failure.headline(),
            "assertion `left == right` failed: set replaces the value"
        );
        assert!(
            failure.message.ends_with("right: Some(\"2\")"),
            "{}",
            failure.message
        );
        assert!(!failure.is_unwritten());
    }

    #[test]
    fn the_thread_id_of_newer_rusts_is_read_past() {
        // Recorded from a learner's run on rustc 1.95.
        let output = "\nthread 'memory::a_new_store_is_empty' (25818) panicked at src/lib.rs:20:9:\nnot yet implemented: create an empty store\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        let failure = failure_of(output).unwrap();
        assert_eq!(failure.location.as_deref(), Some("src/lib.rs:20:9"));
        assert_eq!(
            failure.message,
            "not yet implemented: create an empty store"
        );
        assert!(failure.is_unwritten());
    }

    #[test]
    fn a_long_report_gives_its_first_paragraph() {
        let report = "thread 't' panicked at tests/stages/b.rs:4:5:\n\n✗ every value reaches every node (seed 7, tick 130)\n  n2 never saw 5\n\n   tick │ n0\n";
        let failure = failure_of(report).unwrap();
        assert_eq!(
            failure.message,
            "✗ every value reaches every node (seed 7, tick 130)\n  n2 never saw 5"
        );
    }

    #[test]
    fn a_todo_is_unwritten_code_and_no_panic_is_none() {
        let todo = "thread 'memory::x' panicked at src/lib.rs:9:9:\nnot yet implemented\n";
        assert!(failure_of(todo).unwrap().is_unwritten());
        assert_eq!(failure_of("running for over 60 seconds\n"), None);
    }
}
