//! The watch loop's style checks after a pass: clippy, then rustfmt's check, in the background
//! (cancelled by the next run), what they found recorded and asked about; and `f`, rustfmt on
//! the learner's sources.

use tokio_util::sync::CancellationToken;

use super::{App, Message};
use crate::runner::{self, error_chain};

impl App {
    /// Starts clippy (its own build folder: it never waits for nor invalidates the test build)
    /// and then rustfmt's check on the crate run `id` passed with; cancelled by the next run.
    pub(super) fn check_style(&mut self, id: u64) {
        if let Some(old) = self.style.take() {
            old.cancel();
        }
        let at = self.working();
        let request = self.session.clippy_request(at);
        let lint_args = if self.session.stage(at).strict {
            crate::hints::strict_lint_args()
        } else {
            crate::hints::lint_args()
        };
        let cancel = CancellationToken::new();
        self.style = Some(cancel.clone());
        let tx = self.tx.clone();
        self.run_tasks.retain(|task| !task.is_finished());
        self.run_tasks.push(tokio::spawn(async move {
            let report = match runner::clippy::clippy(&request, &lint_args, &cancel).await {
                Ok(report) => report,
                Err(err) => runner::ClippyReport {
                    end: runner::ClippyEnd::Failed(error_chain(&err)),
                    lints: Vec::new(),
                    elapsed: std::time::Duration::ZERO,
                },
            };
            if cancel.is_cancelled() || report.end == runner::ClippyEnd::Cancelled {
                return;
            }
            let fmt_clean = runner::rustfmt::is_formatted(&request.crate_dir, &cancel).await;
            if cancel.is_cancelled() {
                return;
            }
            let _ = tx.send(Message::StyleChecked {
                id,
                report: Box::new(report),
                fmt_clean,
            });
        }));
    }

    /// Records what the style check found, passes a strict stage it found clean, and asks the
    /// first lint's question (shown in the hint pane, stepped with `h` like any ladder).
    pub(super) fn record_style(&mut self, report: &runner::ClippyReport, fmt_clean: Option<bool>) {
        let at = self.working();
        if let Err(err) = self.session.record_style(at, report, fmt_clean) {
            self.notice(error_chain(&err));
        }
        if self.session.stage(at).strict
            && report.is_clean()
            && let Err(err) = self.session.record_strict_pass(at)
        {
            self.notice(error_chain(&err));
        }
        // Unasked, only a question that needs no confirmation (not the final nudge): the learner
        // steps on with `h`, as on any ladder.
        let answer = self.session.hint(at, false);
        let unasked = matches!(
            &answer.decision,
            crate::hints::Decision::Show { confirm, .. } if confirm.is_empty()
        );
        if unasked && matches!(answer.ladder.key, crate::hints::LadderKey::Lint(_)) {
            let _ = self.tx.send(Message::Hint(answer));
        }
        self.send_snapshot();
    }

    /// Runs rustfmt on the learner's sources; the save it makes is seen by the watcher and
    /// starts the rebuild, as any save does.
    pub(super) fn format(&mut self) {
        let track = self.session.track(self.working());
        let dir = self.session.course.crate_dir(track);
        let tx = self.tx.clone();
        self.run_tasks.retain(|task| !task.is_finished());
        self.run_tasks.push(tokio::spawn(async move {
            let cancel = CancellationToken::new();
            let text = match runner::rustfmt::format(&dir, &cancel).await {
                Ok(()) => "Formatted with rustfmt.".to_owned(),
                Err(err) => error_chain(&err),
            };
            let _ = tx.send(Message::Notice(text));
        }));
    }
}
