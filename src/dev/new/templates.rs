//! The files `katas dev new` writes: a small worked example of a track (a tally), sound for
//! `katas dev check` as it is. `{crate}`, `{stage}` and `{title}` are filled in.
//!
//! The solution is held to what `dev check` asks of every reference solution (clippy with
//! `-D warnings`, rustfmt), and the ladders to the teaching rules; the tests in
//! `tests/classroom.rs` run `dev check` on a scaffolded track, so a template that breaks either
//! fails there.

pub(super) const SUMMARY: &str = "A tally to start from";

pub(super) const START_MANIFEST: &str = r#"[package]
name = "{crate}"
version = "0.1.0"
edition = "2024"
publish = false

# Declare every dependency the track will need here, then run `cargo generate-lockfile` and commit
# Cargo.lock, so learners build what the course was checked with (docs/course-format.md).
[dependencies]

# Each track crate is its own workspace.
[workspace]
"#;

pub(super) const START_LIB: &str = r#"//! {title}: the crate learners grow, stage by stage.
//!
//! This is the track's start state, written by `katas dev new`. Replace the tally with the first
//! thing your learners build, and keep a `todo!()` where their work goes: the first stage must
//! fail until they do it (`katas dev check` makes sure it does).

/// Counts the values it is given and adds them up.
#[derive(Debug, Default)]
pub struct Tally {
    count: u64,
    sum: u64,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one value.
    pub fn record(&mut self, value: u64) {
        todo!("count {value} and add it to the sum")
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of the recorded values.
    pub fn sum(&self) -> u64 {
        self.sum
    }
}
"#;

pub(super) const SOLUTION_LIB: &str = r#"//! {title}: the crate learners grow, stage by stage.
//!
//! The reference solution of stage `{stage}`: what learners compare their own with, so keep it
//! the Rust you would want them to write.

/// Counts the values it is given and adds them up.
#[derive(Debug, Default)]
pub struct Tally {
    count: u64,
    sum: u64,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one value.
    pub fn record(&mut self, value: u64) {
        self.count += 1;
        self.sum += value;
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of the recorded values.
    pub fn sum(&self) -> u64 {
        self.sum
    }
}
"#;

pub(super) const TESTS: &str = r#"use {crate}::Tally;

#[test]
fn a_new_tally_is_empty() {
    let tally = Tally::new();
    assert_eq!((tally.count(), tally.sum()), (0, 0));
}

#[test]
fn recording_counts_and_sums() {
    let mut tally = Tally::new();
    tally.record(2);
    tally.record(40);
    assert_eq!(tally.count(), 2, "two values were recorded");
    assert_eq!(tally.sum(), 42, "2 + 40");
}
"#;

pub(super) const STAGE_TOML: &str = r#"# The first stage of {title}, written by `katas dev new` as a working example: replace each
# part with your own, and run `katas dev check --track {crate}` after each change.
# Every key is described in docs/course-format.md.
title = "A first tally"
concepts = ["ownership", "borrowing"]
time_limit_secs = 30

# Plan -> Concept -> Code -> nudge: every rung but the last is a question.
hints = [
  "Plan: after `record(2)` and `record(40)`, what must `count` and `sum` return?",
  "Concept: which receiver lets `record` change the tally: `&self` or `&mut self`, and why?",
  "Code: in `record`, which two fields change, and by how much each?",
  "Nudge: add one to `self.count` and `value` to `self.sum`.",
]

# Asked once the stage passes: the trade-offs and failure scenarios of what was just built.
reflection = [
  "The sum is a `u64`: what happens when it overflows, and what should happen instead?",
  "Two threads record at once: what could go wrong, and what would you change?",
]

[[test_hints]]
test = "recording_counts_and_sums"
rungs = [
  "Which of the two assertions failed, and what value did it expect?",
  "Nudge: `record` changes both fields: `self.count += 1;` and `self.sum += value;`.",
]
"#;

pub(super) const BRIEF: &str = r#"# A first tally

<!-- Written by `katas dev new`: this brief, the tests, the ladders and the reference solution are
a working example. Replace each with your stage's own; `katas dev check --track {crate}` says when
something no longer holds. -->

## Plan

A tally counts the values it is given and adds them up. Before writing code, decide: after
`record(2)` and `record(40)`, what do `count()` and `sum()` say?

## Concept

A method that changes its value takes `&mut self`: the caller lends the tally out, mutably, for
the length of the call, and nobody else can look at it meanwhile.

## Code

Implement `Tally::record` in `src/lib.rs`, so that both tests in `tests/stages/{stage}.rs` pass.
"#;
