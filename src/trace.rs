//! Phase timings of the save-to-verdict loop, for the loop benchmark: with
//! `KATAS_TRACE_TIMINGS=<path>` set, every phase of a run appends one line `<phase> <ns>` to the
//! file, `<ns>` read from the system's monotonic clock (`CLOCK_MONOTONIC` on Unix), so another
//! process - the benchmark - can set its own timestamps beside them.
//!
//! Cheap enough to leave in: unset, a phase costs one load of an initialised `OnceLock`; set, one
//! short unbuffered write (the file is opened for appending once, each line is one `write`, so a
//! line is never torn and a crash loses nothing).

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// The variable that turns tracing on and names the file.
pub const ENV: &str = "KATAS_TRACE_TIMINGS";

/// The phases, in the order a save goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The watcher saw a relevant file event.
    Event,
    /// The event (or burst) was turned into "sources changed".
    Debounced,
    /// cargo was spawned.
    CargoStarted,
    /// cargo's artifact message named the test executable.
    BuildFinished,
    /// The test binary was spawned.
    TestsStarted,
    /// The test binary's last line was read and its results parsed.
    ResultsParsed,
    /// The screen showed the verdict.
    FrameDrawn,
    /// The verdict was saved to the progress file.
    Recorded,
    /// The screen showed what clippy found after a pass (its lints, or that it found none).
    StyleShown,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Debounced => "debounced",
            Self::CargoStarted => "cargo_started",
            Self::BuildFinished => "build_finished",
            Self::TestsStarted => "tests_started",
            Self::ResultsParsed => "results_parsed",
            Self::FrameDrawn => "frame_drawn",
            Self::Recorded => "recorded",
            Self::StyleShown => "style_shown",
        }
    }
}

fn sink() -> Option<&'static Mutex<File>> {
    static SINK: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    SINK.get_or_init(|| {
        let path = std::env::var_os(ENV).filter(|p| !p.is_empty())?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(Mutex::new)
    })
    .as_ref()
}

/// Nanoseconds on the monotonic clock shared by every process of the machine.
pub fn now_ns() -> u128 {
    #[cfg(unix)]
    {
        use nix::time::{ClockId, clock_gettime};
        if let Ok(t) = clock_gettime(ClockId::CLOCK_MONOTONIC) {
            #[allow(clippy::cast_sign_loss)] // the monotonic clock is never negative
            return t.tv_sec() as u128 * 1_000_000_000 + t.tv_nsec() as u128;
        }
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Notes that `phase` happened now, when tracing is on.
pub fn mark(phase: Phase) {
    let Some(sink) = sink() else { return };
    let line = format!("{} {}\n", phase.name(), now_ns());
    if let Ok(mut file) = sink.lock() {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Whether tracing is on (to skip work only a trace needs).
pub fn enabled() -> bool {
    sink().is_some()
}
