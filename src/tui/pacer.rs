//! When the screen is drawn: at once for anything the learner did or a verdict, at most every
//! [`FRAME`] for build progress.
//!
//! A build reports every unit it checks - about a hundred messages on a warm kv_store build,
//! most of them within milliseconds - and drawing the whole screen for each of them took the
//! CPU the compiler needed on a two-core machine (about 50 ms of katas' time per save). The
//! progress bar needs no more than a few frames a second; a verdict or a key needs its frame
//! now.

use std::time::Duration;

use tokio::time::Instant;

/// The shortest time between two frames drawn for progress alone.
pub const FRAME: Duration = Duration::from_millis(50);

/// Decides whether the next turn of the event loop draws.
#[derive(Debug)]
pub struct FramePacer {
    /// A change that must be shown at once.
    pending: bool,
    /// Progress waiting to be shown, and when it may be.
    deferred: Option<Instant>,
    last: Option<Instant>,
}

impl FramePacer {
    /// The first turn draws.
    pub fn new() -> Self {
        Self {
            pending: true,
            deferred: None,
            last: None,
        }
    }

    /// Whether this turn draws.
    pub fn draw_now(&self) -> bool {
        self.pending || self.deferred.is_some_and(|at| Instant::now() >= at)
    }

    /// A frame was drawn: it showed everything so far.
    pub fn drawn(&mut self) {
        self.pending = false;
        self.deferred = None;
        self.last = Some(Instant::now());
    }

    /// Something changed: build progress only (`progress`), or anything else.
    pub fn changed(&mut self, progress: bool) {
        if !progress {
            self.pending = true;
            return;
        }
        let earliest = self.last.map(|last| last + FRAME);
        match earliest {
            Some(at) if Instant::now() < at => {
                self.deferred.get_or_insert(at);
            }
            _ => self.pending = true,
        }
    }

    /// Resolves when deferred progress may be drawn; never when none waits.
    pub async fn due(&self) {
        match self.deferred {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn progress_is_drawn_at_most_once_a_frame_and_anything_else_at_once() {
        let mut pacer = FramePacer::new();
        assert!(pacer.draw_now(), "the first turn draws");
        pacer.drawn();
        // A burst of progress right after a frame: nothing drawn until the frame time is up.
        for _ in 0..100 {
            pacer.changed(true);
            assert!(!pacer.draw_now());
        }
        pacer.due().await;
        assert!(
            pacer.draw_now(),
            "deferred progress is drawn once its time comes"
        );
        pacer.drawn();
        assert!(!pacer.draw_now());
        // A verdict (or a key) right after a frame is drawn at once.
        pacer.changed(false);
        assert!(pacer.draw_now());
        pacer.drawn();
        // Progress long after the last frame is drawn at once too.
        tokio::time::sleep(FRAME * 2).await;
        pacer.changed(true);
        assert!(pacer.draw_now());
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_due_when_nothing_waits() {
        let mut pacer = FramePacer::new();
        pacer.drawn();
        let waited = tokio::time::timeout(Duration::from_secs(3600), pacer.due()).await;
        assert!(waited.is_err(), "due() resolved with nothing deferred");
    }
}
