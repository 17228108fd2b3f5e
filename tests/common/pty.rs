//! `katas watch` in a pseudo-terminal read through a terminal emulator (`vt100`), for the tests
//! that drive the screen as a learner does.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// A running `katas watch` and the screen it draws.
pub struct Screen {
    pub parser: Arc<Mutex<vt100::Parser>>,
    pub writer: Arc<Mutex<Box<dyn Write + Send>>>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    pub master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Screen {
    pub fn start(course: &Path) -> Self {
        Self::start_with(course, &["watch"], &[])
    }

    /// `katas <args>` in a 40x120 terminal that answers queries as a real one does: the cursor
    /// position (`ESC [ 6 n`) and the device attributes (`ESC [ c`).
    pub fn start_with(course: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_katas"));
        cmd.args(args);
        cmd.cwd(course);
        cmd.env_remove("CI");
        cmd.env_remove("KATAS_COURSE");
        cmd.env("TERM", "xterm-256color");
        for (key, value) in envs {
            cmd.env(key, value);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(40, 120, 0)));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let feed = Arc::clone(&parser);
        let writer = Arc::new(Mutex::new(pair.master.take_writer().unwrap()));
        let answer = Arc::clone(&writer);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut parser = feed.lock().unwrap();
                parser.process(&buf[..n]);
                let chunk = &buf[..n];
                let mut replies = Vec::new();
                if chunk.windows(4).any(|w| w == b"\x1b[6n") {
                    let (row, col) = parser.screen().cursor_position();
                    replies.extend(format!("\x1b[{};{}R", row + 1, col + 1).into_bytes());
                }
                if chunk.windows(3).any(|w| w == b"\x1b[c") {
                    replies.extend(b"\x1b[?62;22c");
                }
                drop(parser);
                if !replies.is_empty() {
                    let mut writer = answer.lock().unwrap();
                    let _ = writer.write_all(&replies);
                    let _ = writer.flush();
                }
            }
        });
        Self {
            parser,
            writer,
            child,
            master: pair.master,
        }
    }

    pub fn contents(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text`, or fails with the screen as it is.
    pub fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline {
            if self.contents().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the screen never showed {text:?}; it shows:\n{}",
            self.contents()
        );
    }

    pub fn press(&mut self, key: &str) {
        let mut writer = self.writer.lock().unwrap();
        writer.write_all(key.as_bytes()).unwrap();
        writer.flush().unwrap();
    }

    /// Waits for the process to end and returns whether it succeeded.
    pub fn wait_exit(&mut self) -> bool {
        self.wait_exit_code() == 0
    }

    /// Waits for the process to end and returns its exit code.
    pub fn wait_exit_code(&mut self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.exit_code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "katas watch did not exit; the screen shows:\n{}",
            self.contents()
        );
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Writes a file the way vim and VS Code save: a temporary file renamed over the old one.
pub fn atomic_save(path: &Path, contents: &str) {
    let tmp = path.with_extension("rs.katas-test-tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Whether a process is still running (a zombie waiting to be reaped is not).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

impl Screen {
    /// Whether the screen shows `text` now.
    pub fn contains_now(&self, text: &str) -> bool {
        self.contents().contains(text)
    }

    /// Waits until `done` holds of the screen's text, or fails with the screen as it is.
    pub fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline {
            if done(&self.contents()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the screen never showed {what}; it shows:\n{}",
            self.contents()
        );
    }
}

/// Waits until `done` holds (a file appeared, a process ended), or fails saying `what`.
pub fn wait_for_condition(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("waited in vain for {what}");
}
