//! The TUI's state and its one vocabulary of change: [`Message`] in, [`Effect`]s out (see
//! `update.rs`). What `update` wants done comes back as effects, which the loop carries out and
//! answers with more messages.

use crossterm::event::KeyEvent;

use crate::course::StageRef;
use crate::progress::StageStatus;
use crate::runner::{ClippyReport, RunEvent, RunOutcome};
use crate::session::HintAnswer;
use crate::watch::WatchKind;

/// What the screen shows of the course, taken from the session after every change of progress.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub course: String,
    pub tracks: Vec<TrackView>,
    pub at: Option<StageRef>,
    /// The working stage's brief (Markdown), title, reflection.
    pub stage_id: String,
    pub stage_title: String,
    pub brief: String,
    pub reflection: Vec<String>,
    /// Whether the working stage has passed.
    pub passed: bool,
    /// Stages whose test files the learner changed.
    pub edited_tests: Vec<String>,
    /// The reference solution the learner may look at (`s`): the last passed stage's.
    pub solution: Option<SolutionView>,
    /// The rungs of the current ladder shown so far, and what they are about.
    pub hints: Vec<String>,
    pub hints_about: String,
    /// Whether the shown rungs are a clippy lint's ladder (asked after a pass).
    pub hints_lint: bool,
    /// The file the learner edits, as shown (e.g. `exercises/kv_store/src/lib.rs`).
    pub lib_path: String,
    /// Whether the working stage is strict: it passes only when clippy is clean too.
    pub strict: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackView {
    pub id: String,
    pub title: String,
    pub stages: Vec<(String, String, StageStatus)>,
}

/// A reference solution's files, for reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SolutionView {
    pub stage: String,
    pub text: String,
    /// Whether adopting it is offered: it is the start of the working stage (the learner passed
    /// the stage before and is stuck on this one).
    pub adoptable: bool,
}

/// What a run is doing now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    Idle,
    Building {
        done: usize,
        total: Option<usize>,
        unit: Option<String>,
    },
    Testing {
        tests: usize,
    },
    /// Another cargo holds the build lock.
    WaitingForLock,
}

/// What the style checks after a pass (clippy, then rustfmt) said of the verdict on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Style {
    /// Not run for this verdict: it is not a pass, or clippy is off (`--no-clippy`).
    Unchecked,
    /// clippy runs, in the background: the verdict is already on screen.
    Checking,
    Checked {
        report: Box<ClippyReport>,
        /// `Some(false)`: rustfmt would format the crate differently.
        fmt_clean: Option<bool>,
    },
}

/// Which overlay, if any, is open.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Main,
    Help,
    /// The list of tracks and stages, with the selected row.
    List {
        selected: usize,
    },
    /// A question waiting for y/n.
    Confirm(Pending),
    Solution {
        scroll: u16,
    },
    /// Read-only Markdown over the whole screen: the working stage's brief (`b`), or a passed
    /// stage revisited from the list with its reflection.
    Detail {
        title: String,
        markdown: String,
        scroll: u16,
    },
    /// The failing replication test's timeline, full width, unwrapped: `scroll` rows down,
    /// `column` characters right.
    Timeline {
        scroll: u16,
        column: u16,
    },
}

/// What a confirmation is for.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Hint {
        answer: HintAnswer,
        index: usize,
        forced: bool,
    },
    Adopt,
}

/// Which pane the arrow keys scroll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Brief,
    Result,
}

/// The whole state of the screen.
#[derive(Debug, Clone)]
pub struct Model {
    pub snapshot: Snapshot,
    pub activity: Activity,
    /// The id of the run in flight (results of older runs are stale and dropped).
    pub run_id: u64,
    pub running: bool,
    pub outcome: Option<RunOutcome>,
    pub mode: Mode,
    pub focus: Focus,
    pub brief_scroll: u16,
    pub result_scroll: u16,
    /// A one-line message for the learner (e.g. why a key did nothing).
    pub notice: Option<String>,
    pub watch: WatchKind,
    pub no_color: bool,
    pub quit: bool,
    /// The terminal's size (width, height), to stop scrolling at the end; (0, 0) until known.
    pub size: (u16, u16),
    /// Whether the Result pane lists the passing tests (`p`) or only counts them.
    pub show_passing: bool,
    /// Whether the learner closed the hint panel (`c`); the next hint opens it again.
    pub hints_closed: bool,
    /// Whether clippy runs after a pass (off with `--no-clippy`; a strict stage runs it anyway,
    /// its verdict needs it).
    pub clippy: bool,
    pub style: Style,
}

/// Everything that can happen.
#[derive(Debug, Clone)]
pub enum Message {
    Key(KeyEvent),
    /// The terminal's size, at the start and on every resize.
    Resize {
        width: u16,
        height: u16,
    },
    /// The learner saved (debounced).
    SourcesChanged,
    Snapshot(Snapshot),
    RunProgress {
        id: u64,
        event: RunEvent,
    },
    RunFinished {
        id: u64,
        outcome: Box<RunOutcome>,
    },
    /// clippy and rustfmt finished for run `id` (a cancelled check sends nothing).
    StyleChecked {
        id: u64,
        report: Box<ClippyReport>,
        fmt_clean: Option<bool>,
    },
    /// The run could not happen at all (cargo missing...).
    RunFailed {
        id: u64,
        error: String,
    },
    Hint(HintAnswer),
    /// A stage to revisit (from the list).
    StageDetail {
        title: String,
        markdown: String,
    },
    /// Something the learner should read, e.g. an error of an effect.
    Notice(String),
    /// SIGTERM or SIGHUP.
    Terminate,
}

/// What the loop is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Cancel any run in flight and start run `id`.
    StartRun {
        id: u64,
    },
    /// Record the finished run in progress (and send a fresh snapshot).
    Record {
        outcome: Box<RunOutcome>,
    },
    /// Run clippy and rustfmt's check on the crate of run `id`, which passed, in the background
    /// (cancelled by the next run).
    CheckStyle {
        id: u64,
    },
    /// Record what they found (progress, the facts hints need), settle a strict stage, and ask
    /// the first lint's question.
    RecordStyle {
        report: Box<ClippyReport>,
        fmt_clean: Option<bool>,
    },
    /// Format the learner's sources with rustfmt (`f`); the save it makes starts a run.
    Format,
    /// Ask the hint engine (stuck: open the next rung without a new attempt).
    AskHint {
        stuck: bool,
    },
    /// Show and record a rung.
    ShowHint {
        answer: HintAnswer,
        index: usize,
        forced: bool,
    },
    /// Go to the next stage.
    Advance,
    /// Make another track the working one.
    SwitchTrack(usize),
    /// Look again at a passed stage.
    ShowStage(StageRef),
    /// Adopt the reference solution of the stage before the working one.
    Adopt,
    OpenEditor,
    Quit,
}

impl Model {
    pub fn new(watch: WatchKind, no_color: bool) -> Self {
        Self {
            snapshot: Snapshot::default(),
            activity: Activity::Idle,
            run_id: 0,
            running: false,
            outcome: None,
            mode: Mode::Main,
            focus: Focus::Result,
            brief_scroll: 0,
            result_scroll: 0,
            notice: None,
            watch,
            no_color,
            quit: false,
            size: (0, 0),
            show_passing: false,
            hints_closed: false,
            clippy: true,
            style: Style::Unchecked,
        }
    }

    pub(super) fn start_run(&mut self) -> Effect {
        self.run_id += 1;
        self.running = true;
        // What clippy said was about the code before this save.
        self.style = Style::Unchecked;
        self.activity = Activity::Building {
            done: 0,
            total: None,
            unit: None,
        };
        Effect::StartRun { id: self.run_id }
    }

    /// Whether the latest verdict is a pass of the working stage.
    pub fn passed(&self) -> bool {
        self.snapshot.passed && !self.running
    }

    /// The timeline of the first failing test that printed one, in the latest verdict.
    pub fn timeline(&self) -> Option<super::timeline::Timeline> {
        self.outcome
            .as_ref()?
            .failed()
            .find_map(|t| super::timeline::timeline_of(&t.name, &t.output))
    }

    /// The rows of the list overlay: a track row, then its stages.
    pub fn list_rows(&self) -> Vec<(usize, Option<usize>)> {
        let mut rows = Vec::new();
        for (t, track) in self.snapshot.tracks.iter().enumerate() {
            rows.push((t, None));
            rows.extend((0..track.stages.len()).map(|s| (t, Some(s))));
        }
        rows
    }
}
