//! Lending the terminal to the learner's editor (`e`) and taking it back.
//!
//! crossterm reads the terminal by itself, so three things matter. Its event stream must be
//! gone before the editor starts (the loop drops it), or it would take the editor's keys.
//! Taking the screen back must not ask the terminal where its cursor is, as
//! `Terminal::clear` does: the first poll after an event stream is dropped is answered by a
//! left-over wake-up, which crossterm's `cursor::position` takes for a terminal that never
//! answers ("The cursor position could not be read within a normal duration") - and that
//! error used to end the watch. And what the editor left unread (the terminal's late answers
//! to its queries, keys typed as it closed) is discarded, not taken as katas keys.

use std::io;
use std::path::Path;
use std::time::Duration;

use crossterm::event;
use crossterm::terminal::{Clear, ClearType, EnterAlternateScreen};
use ratatui::DefaultTerminal;
use ratatui::backend::CrosstermBackend;

/// How long input must be quiet, after the editor, before katas reads keys again.
const QUIET: Duration = Duration::from_millis(30);

/// The learner's editor command: `$VISUAL`, else `$EDITOR`; an empty one counts as unset.
pub(super) fn command() -> Option<String> {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(std::env::var_os)
        .map(|e| e.to_string_lossy().trim().to_owned())
        .find(|e| !e.is_empty())
}

/// Leaves the screen, runs `editor` on `file`, and takes the screen back into `terminal`.
/// The outer error is the terminal's (katas cannot go on); the inner one says why the editor
/// could not run, for a notice.
pub(super) fn edit(
    editor: &str,
    file: &Path,
    terminal: &mut DefaultTerminal,
) -> io::Result<Result<(), String>> {
    ratatui::restore();
    // `$EDITOR` may hold arguments ("code --wait"): split on whitespace, as git does.
    let mut words = editor.split_whitespace();
    let status = match words.next() {
        Some(program) => std::process::Command::new(program)
            .args(words)
            .arg(file)
            .status()
            .map_err(|e| format!("could not start the editor `{editor}`: {e}"))
            .and_then(|status| {
                // An editor that fails still hands the terminal back; say so, and go on.
                if status.success() {
                    Ok(())
                } else {
                    Err(format!("the editor `{editor}` ended with {status}"))
                }
            }),
        None => Err("$EDITOR is empty".to_owned()),
    };
    *terminal = take_back()?;
    Ok(status)
}

/// Raw mode and the alternate screen again, cleared, with input the editor left discarded;
/// a fresh `Terminal` so the next frame is drawn whole.
fn take_back() -> io::Result<DefaultTerminal> {
    discard_unread_input();
    crossterm::terminal::enable_raw_mode()?;
    crossterm::execute!(io::stdout(), EnterAlternateScreen, Clear(ClearType::All))?;
    drain_events()?;
    ratatui::Terminal::new(CrosstermBackend::new(io::stdout()))
}

/// Discards what the terminal sent that nobody read yet (the kernel's input queue).
#[cfg(unix)]
fn discard_unread_input() {
    use nix::sys::termios::{FlushArg, tcflush};
    // Not a terminal (cannot happen: watch refuses to start without one): nothing to discard.
    let _ = tcflush(io::stdin(), FlushArg::TCIFLUSH);
}

#[cfg(not(unix))]
fn discard_unread_input() {}

/// Reads and drops crossterm's events until input has been quiet for [`QUIET`] twice in a row:
/// the first quiet poll may be the left-over wake-up of the dropped event stream, not quiet.
fn drain_events() -> io::Result<()> {
    let mut quiet = 0;
    while quiet < 2 {
        if event::poll(QUIET)? {
            let _ = event::read()?;
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    Ok(())
}
