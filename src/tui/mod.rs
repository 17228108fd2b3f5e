//! `katas watch`: the learner's main screen, in the Elm architecture. One loop turns terminal
//! events, file changes, signals and run results into [`Message`]s; [`update`] decides; the loop
//! carries out the [`Effect`]s; [`view`] draws.

mod checks;
mod editor;
mod markdown;
mod model;
mod pacer;
mod popups;
mod result;
mod snapshot;
mod style;
mod theme;
mod timeline;
mod update;
mod view;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use model::{
    Activity, Effect, Focus, Message, Mode, Model, Pending, Snapshot, SolutionView, Style,
    TrackView,
};
pub use snapshot::snapshot;
pub use timeline::{Timeline, timeline_of};
pub use update::update;
pub use view::{scroll_limits, view};

use crate::course::{Course, StageRef};
use crate::exit_codes;
use crate::runner::{self, error_chain};
use crate::session::{Advance, Session};
use crate::watch::{self, WatchKind};
use pacer::FramePacer;

/// Options of `katas watch`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WatchOptions {
    /// Poll for changes instead of waiting for file events.
    pub poll: bool,
    /// No clippy after a pass (slow machines); a strict stage still runs it for its verdict.
    pub no_clippy: bool,
}

/// Why the screen cannot open.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(
        "katas watch needs an interactive terminal ({0})\n    \
         fix: run it in a terminal; in scripts and CI use `katas run` (one build and test) or `katas verify`"
    )]
    NoTerminal(&'static str),
}

/// Runs the watch screen until the learner quits.
pub fn watch(course: Course, options: WatchOptions) -> anyhow::Result<u8> {
    if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        return Err(WatchError::NoTerminal("CI is set").into());
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(WatchError::NoTerminal("standard input or output is not a terminal").into());
    }
    let mut session = Session::open(course)?;
    let working = session.working();
    session.enter(working.track)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let terminal = ratatui::try_init()?;
    // From here on the terminal is raw: the guard restores it on every way out, errors included;
    // ratatui's panic hook does it for panics.
    let guard = Restore;
    let updated = session.tests_updated_note();
    let mut app = App::new(session, options, no_color);
    app.pending_notice = updated;
    let signalled = Arc::clone(&app.signalled);
    let result = runtime.block_on(app.run(terminal));
    drop(guard);
    // Ended by SIGTERM or SIGHUP: the shell's convention, 128 + the signal, says so.
    let code = match signalled.load(Ordering::SeqCst) {
        0 => exit_codes::OK,
        signal => 128 + signal,
    };
    result.map(|()| code)
}

struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

struct App {
    session: Session,
    options: WatchOptions,
    model: Model,
    tx: mpsc::UnboundedSender<Message>,
    rx: mpsc::UnboundedReceiver<Message>,
    run: Option<CancellationToken>,
    /// The style check (clippy, rustfmt) in flight: the next run cancels it.
    style: Option<CancellationToken>,
    /// The task of the run in flight (and of cancelled ones still killing their processes):
    /// quitting waits for them, so nothing a run started outlives the screen.
    run_tasks: Vec<tokio::task::JoinHandle<()>>,
    watcher: Option<watch::Watcher>,
    /// The signal (SIGTERM, SIGHUP) that ended the screen, 0 if none.
    signalled: Arc<AtomicU8>,
    /// A notice from before the screen opened (the course updated some stage tests), shown once
    /// the first run has started: starting a run clears the notices of the one before.
    pending_notice: Option<String>,
}

impl App {
    fn new(session: Session, options: WatchOptions, no_color: bool) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut model = Model::new(WatchKind::Events, no_color);
        model.clippy = !options.no_clippy;
        Self {
            session,
            options,
            model,
            tx,
            rx,
            run: None,
            style: None,
            run_tasks: Vec::new(),
            watcher: None,
            signalled: Arc::new(AtomicU8::new(0)),
            pending_notice: None,
        }
    }

    /// The event loop, then - however it ended, an error included - the end of every run: a
    /// cancelled run returns once its process group is dead and its strays are reaped (bounded
    /// by the grace period). Waiting for that, rather than the runtime's end dropping it
    /// halfway, is what leaves nothing running after the screen closes.
    async fn run(mut self, terminal: DefaultTerminal) -> anyhow::Result<()> {
        let result = self.event_loop(terminal).await;
        for token in [self.run.take(), self.style.take()].into_iter().flatten() {
            token.cancel();
        }
        for task in self.run_tasks.drain(..) {
            let _ = task.await;
        }
        result
    }

    async fn event_loop(&mut self, mut terminal: DefaultTerminal) -> anyhow::Result<()> {
        self.watch_working_crate();
        self.spawn_signal_handlers();
        self.send_snapshot();
        if let Ok(size) = terminal.size() {
            self.model.size = (size.width, size.height);
        }
        let _ = self.tx.send(Message::SourcesChanged);
        let mut events = EventStream::new();
        // Effects that can wait until the screen shows what just happened: recording a verdict
        // costs a flush to disk, and the learner should not wait for it to see the verdict.
        let mut after_draw: Vec<Effect> = Vec::new();
        let mut frames = FramePacer::new();
        let mut style_traced = false;
        loop {
            if frames.draw_now() {
                terminal.draw(|frame| view(&self.model, frame))?;
                frames.drawn();
                let style_checked = matches!(self.model.style, Style::Checked { .. });
                if style_checked && !style_traced {
                    // The first frame that shows what clippy found.
                    crate::trace::mark(crate::trace::Phase::StyleShown);
                }
                style_traced = style_checked;
                if !after_draw.is_empty() {
                    // A verdict waits to be recorded: this frame is the one that shows it.
                    crate::trace::mark(crate::trace::Phase::FrameDrawn);
                }
                for effect in after_draw.drain(..) {
                    self.execute(effect);
                }
            }
            let message = tokio::select! {
                event = events.next() => match event {
                    Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => Message::Key(key),
                    Some(Ok(Event::Resize(width, height))) => Message::Resize { width, height },
                    Some(Ok(_)) => continue,
                    Some(Err(err)) => return Err(err.into()),
                    None => Message::Terminate,
                },
                Some(message) = self.rx.recv() => message,
                () = frames.due() => continue,
            };
            frames.changed(matches!(message, Message::RunProgress { .. }));
            for effect in update(&mut self.model, message) {
                if effect == Effect::OpenEditor {
                    // The editor needs the terminal, and all of its input: stop reading first.
                    drop(events);
                    self.open_editor(&mut terminal)?;
                    events = EventStream::new();
                    continue;
                }
                if matches!(effect, Effect::Record { .. }) {
                    after_draw.push(effect);
                    continue;
                }
                self.execute(effect);
            }
            if self.model.quit {
                return Ok(());
            }
        }
    }

    fn working(&self) -> StageRef {
        self.session.working()
    }

    fn execute(&mut self, effect: Effect) {
        match effect {
            Effect::StartRun { id } => self.start_run(id),
            Effect::Record { outcome } => {
                let at = self.working();
                let mut outcome = *outcome;
                // A strict stage whose tests pass has not passed until clippy is clean: the run
                // counts, the pass waits for the style check (see `RecordStyle`).
                if self.session.stage(at).strict && outcome.verdict == runner::Verdict::Passed {
                    outcome.verdict = runner::Verdict::Failed;
                }
                if let Err(err) = self.session.record_run(at, &outcome) {
                    self.notice(error_chain(&err));
                }
                crate::trace::mark(crate::trace::Phase::Recorded);
                self.send_snapshot();
            }
            Effect::CheckStyle { id } => self.check_style(id),
            Effect::RecordStyle { report, fmt_clean } => self.record_style(&report, fmt_clean),
            Effect::Format => self.format(),
            Effect::AskHint { stuck } => {
                let answer = self.session.hint(self.working(), stuck);
                let _ = self.tx.send(Message::Hint(answer));
            }
            Effect::ShowHint {
                answer,
                index,
                forced,
            } => {
                if let Err(err) =
                    self.session
                        .record_hint(self.working(), &answer.ladder, index, forced)
                {
                    self.notice(error_chain(&err));
                }
                self.send_snapshot();
            }
            Effect::Advance => {
                let track = self.working().track;
                match self.session.advance(track) {
                    Ok(Advance::Moved(_)) => self.after_stage_change(),
                    Ok(Advance::TrackDone) => self.notice(
                        "You passed every stage of this track! Press l to pick another.".to_owned(),
                    ),
                    Ok(Advance::NotPassed(_)) => {
                        self.notice("The next stage opens once this one passes.".to_owned())
                    }
                    Err(err) => self.notice(error_chain(&err)),
                }
            }
            Effect::SwitchTrack(track) => match self.session.enter(track) {
                Ok(_) => {
                    self.watch_working_crate();
                    self.after_stage_change();
                    if let Some(note) = self.session.tests_updated_note() {
                        self.notice(note);
                    }
                }
                Err(err) => self.notice(error_chain(&err)),
            },
            Effect::ShowStage(at) => {
                if let Some((track, stage)) = self.session.course.get(at) {
                    let mut markdown = stage.brief.clone();
                    markdown.push_str("\n\n## Reflection\n\n");
                    for question in &stage.reflection {
                        markdown.push_str(&format!("- {question}\n"));
                    }
                    let title = format!(" {}/{} (passed) ", track.id, stage.id);
                    let _ = self.tx.send(Message::StageDetail { title, markdown });
                }
            }
            Effect::Adopt => match self.session.reset(self.working()) {
                Ok(backup) => {
                    self.after_stage_change();
                    let kept = backup
                        .map(|b| format!(" Your files are kept in {}.", b.display()))
                        .unwrap_or_default();
                    self.notice(format!(
                        "Adopted the previous stage's reference solution.{kept}"
                    ));
                }
                Err(err) => self.notice(error_chain(&err)),
            },
            Effect::OpenEditor | Effect::Quit => {}
        }
    }

    fn after_stage_change(&mut self) {
        self.model.outcome = None;
        self.send_snapshot();
        let _ = self.tx.send(Message::SourcesChanged);
    }

    fn notice(&self, text: String) {
        let _ = self.tx.send(Message::Notice(text));
    }

    /// Cancels the run in flight and the style check (their whole process groups) and starts
    /// run `id`.
    fn start_run(&mut self, id: u64) {
        for old in [self.run.take(), self.style.take()].into_iter().flatten() {
            old.cancel();
        }
        if self.watcher.as_ref().is_some_and(watch::Watcher::is_stale) {
            self.watch_working_crate();
        }
        let at = self.working();
        if let Err(err) = self.session.enter(at.track) {
            let _ = self.tx.send(Message::RunFailed {
                id,
                error: error_chain(&err),
            });
            return;
        }
        if let Some(note) = self.pending_notice.take() {
            self.notice(note);
        }
        let cancel = CancellationToken::new();
        self.run = Some(cancel.clone());
        let request = self.session.run_request(at);
        let tx = self.tx.clone();
        self.run_tasks.retain(|task| !task.is_finished());
        let task = tokio::spawn(async move {
            let (events_tx, mut events_rx) = mpsc::unbounded_channel();
            let progress = tx.clone();
            let forward = tokio::spawn(async move {
                while let Some(event) = events_rx.recv().await {
                    let _ = progress.send(Message::RunProgress { id, event });
                }
            });
            let result = runner::run(&request, &cancel, Some(events_tx)).await;
            let _ = forward.await;
            let message = match result {
                Ok(outcome) => Message::RunFinished {
                    id,
                    outcome: Box::new(outcome),
                },
                Err(err) => Message::RunFailed {
                    id,
                    error: error_chain(&err),
                },
            };
            let _ = tx.send(message);
        });
        self.run_tasks.push(task);
    }

    /// (Re)starts watching the working track's crate.
    fn watch_working_crate(&mut self) {
        self.watcher = None;
        let track = self.session.track(self.working());
        let dir = self.session.course.crate_dir(track);
        let (raw_tx, raw_rx) = mpsc::unbounded_channel::<PathBuf>();
        match watch::start(&dir, self.options.poll, raw_tx) {
            Ok(watcher) => {
                self.model.watch = watcher.kind.clone();
                self.watcher = Some(watcher);
                let tx = self.tx.clone();
                tokio::spawn(watch::debounce(raw_rx, watch::DEBOUNCE, move |_| {
                    let _ = tx.send(Message::SourcesChanged);
                }));
            }
            Err(err) => {
                self.model.watch = WatchKind::Polling {
                    reason: "no file watching here".to_owned(),
                };
                self.notice(error_chain(&err));
            }
        }
    }

    fn spawn_signal_handlers(&self) {
        #[cfg(unix)]
        for (kind, number) in [
            (tokio::signal::unix::SignalKind::terminate(), 15),
            (tokio::signal::unix::SignalKind::hangup(), 1),
            // Ctrl-C arrives as a key in raw mode; a SIGINT sent from elsewhere must not kill
            // katas before it restores the terminal. It is a way to quit: exit code 0.
            (tokio::signal::unix::SignalKind::interrupt(), 0),
        ] {
            let tx = self.tx.clone();
            let signalled = Arc::clone(&self.signalled);
            if let Ok(mut signal) = tokio::signal::unix::signal(kind) {
                tokio::spawn(async move {
                    if signal.recv().await.is_some() {
                        if number != 0 {
                            signalled.store(number, Ordering::SeqCst);
                        }
                        let _ = tx.send(Message::Terminate);
                    }
                });
            }
        }
    }

    fn send_snapshot(&self) {
        let _ = self.tx.send(Message::Snapshot(snapshot(
            &self.session,
            Some(&self.model.snapshot),
        )));
    }

    /// Leaves the screen, runs `$VISUAL` or `$EDITOR` on the crate's `src/lib.rs`, comes back.
    /// The event stream must be dropped before (see `editor.rs`).
    fn open_editor(&mut self, terminal: &mut DefaultTerminal) -> anyhow::Result<()> {
        let Some(command) = editor::command() else {
            self.model.notice = Some("Set $EDITOR (or $VISUAL) to open files from here; or use your editor beside katas.".to_owned());
            return Ok(());
        };
        let track = self.session.track(self.working());
        let file = self.session.course.crate_dir(track).join("src/lib.rs");
        if let Err(err) = editor::edit(&command, &file, terminal)? {
            self.model.notice = Some(err);
        }
        Ok(())
    }
}
