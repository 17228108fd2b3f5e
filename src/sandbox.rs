//! A sandbox for code katas does not trust: the learner's build and tests, run by a grader.
//!
//! On Linux it is bubblewrap (`bwrap`): a fresh mount namespace that shows only what the run
//! needs (the system's `/usr`, the pinned toolchain, the crate, the build folder), no network but
//! its own loopback, its own PID namespace (when the run ends, everything it started ends with
//! it, daemons and double forks included), no controlling terminal, and a memory limit. The test
//! phase runs without `/proc`, so code in the test process cannot reach the grader's results
//! file through `/proc/self/fd` or read the process's memory through `/proc/self/mem`.
//!
//! Why by hand: bubblewrap is the tool (Flatpak's), but no well-kept crate drives it; the
//! command line is small and documented, and is built here from a plain description of the jail.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use tokio::process::Command;

/// The sandbox's default memory limit for a test run: generous for any stage's tests, small
/// enough that a runaway allocation is stopped long before the machine swaps.
pub const DEFAULT_MEMORY_LIMIT: u64 = 4 << 30;

/// Why the sandbox cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "bubblewrap (`bwrap`) is not installed, and grading runs the learner's code in it; install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`; Arch: `sudo pacman -S bubblewrap`), or pass --no-sandbox to grade without it (the learner's code then runs with your rights)"
    )]
    NotInstalled,
    #[error(
        "bubblewrap is installed but cannot make a sandbox here: {0}; on Ubuntu 24.04 and later, allow unprivileged user namespaces for bwrap (an AppArmor profile, or `sysctl kernel.apparmor_restrict_unprivileged_userns=0`), or pass --no-sandbox to grade without it"
    )]
    NotWorking(String),
    #[error(
        "the grading sandbox needs Linux (bubblewrap); on this system pass --no-sandbox to grade without it (the learner's code then runs with your rights)"
    )]
    Unsupported,
}

/// A working bubblewrap, found and tried once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    bwrap: PathBuf,
    /// util-linux's `prlimit`, to set the memory limit inside the jail (katas forbids `unsafe`,
    /// so it cannot set a child's limits itself).
    prlimit: Option<PathBuf>,
}

/// What one jailed command may see and do.
#[derive(Debug, Clone, Default)]
pub struct Jail {
    /// Folders and files shown read-only, at their own paths.
    pub read_only: Vec<PathBuf>,
    /// Folders shown writable, at their own paths.
    pub writable: Vec<PathBuf>,
    /// Whether `/proc` is mounted (cargo and rustc need it; the test run must not have it).
    pub proc: bool,
    /// The whole environment: nothing else is inherited.
    pub env: Vec<(OsString, OsString)>,
    pub cwd: PathBuf,
    /// An address-space limit in bytes, if any.
    pub memory: Option<u64>,
}

/// The system folders every jail shows read-only: programs and shared libraries. `/etc` is not
/// shown whole (it can hold secrets): only what the dynamic loader and the C toolchain's
/// alternatives need.
const SYSTEM: &[&str] = &[
    "/usr",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
];

/// On merged-/usr systems these are links into `/usr`; elsewhere, folders of their own.
const SYSTEM_LINKS: &[&str] = &["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

impl Sandbox {
    /// Finds bubblewrap and proves it can make a sandbox on this machine.
    pub fn find() -> Result<Self, SandboxError> {
        if !cfg!(target_os = "linux") {
            return Err(SandboxError::Unsupported);
        }
        let bwrap = find_program("bwrap").ok_or(SandboxError::NotInstalled)?;
        let sandbox = Self {
            bwrap,
            prlimit: find_program("prlimit"),
        };
        sandbox.probe()?;
        Ok(sandbox)
    }

    /// Runs `true` in a jail like the ones grading uses: unprivileged user namespaces can be
    /// switched off, and bwrap then fails only when used.
    fn probe(&self) -> Result<(), SandboxError> {
        let jail = Jail {
            cwd: PathBuf::from("/"),
            ..Jail::default()
        };
        let truth = find_program("true").unwrap_or_else(|| PathBuf::from("/usr/bin/true"));
        let output = self
            .std_command(&jail, &truth, &[] as &[&str])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|err| SandboxError::NotWorking(err.to_string()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(SandboxError::NotWorking(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ))
        }
    }

    /// The command that runs `program args` inside `jail`.
    pub fn command<S: AsRef<OsStr>>(&self, jail: &Jail, program: &Path, args: &[S]) -> Command {
        Command::from(self.std_command(jail, program, args))
    }

    fn std_command<S: AsRef<OsStr>>(
        &self,
        jail: &Jail,
        program: &Path,
        args: &[S],
    ) -> std::process::Command {
        let mut command = std::process::Command::new(&self.bwrap);
        command
            .args(["--unshare-all", "--die-with-parent", "--new-session"])
            .args(["--clearenv", "--dev", "/dev", "--tmpfs", "/tmp"]);
        for path in SYSTEM {
            command.arg("--ro-bind-try").arg(path).arg(path);
        }
        for link in SYSTEM_LINKS {
            let path = Path::new(link);
            match std::fs::read_link(path) {
                Ok(target) => {
                    command.arg("--symlink").arg(target).arg(path);
                }
                Err(_) => {
                    command.arg("--ro-bind-try").arg(path).arg(path);
                }
            }
        }
        if jail.proc {
            command.args(["--proc", "/proc"]);
        }
        for path in &jail.read_only {
            command.arg("--ro-bind").arg(path).arg(path);
        }
        for path in &jail.writable {
            command.arg("--bind").arg(path).arg(path);
        }
        for (key, value) in &jail.env {
            command.arg("--setenv").arg(key).arg(value);
        }
        command.arg("--chdir").arg(&jail.cwd).arg("--");
        match (jail.memory, &self.prlimit) {
            (Some(bytes), Some(prlimit)) => {
                command
                    .arg(prlimit)
                    .arg(format!("--as={bytes}"))
                    .arg("--")
                    .arg(program);
            }
            _ => {
                command.arg(program);
            }
        }
        command.args(args);
        command
    }

    /// Whether a memory limit can be set (util-linux's `prlimit` was found).
    pub fn limits_memory(&self) -> bool {
        self.prlimit.is_some()
    }
}

/// A program on `PATH`, as an absolute path.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Whether a run's output says it hit the memory limit: Rust's allocator reports a failed
/// allocation this way before it aborts.
pub fn out_of_memory(output: &str) -> bool {
    output.contains("memory allocation of ") && output.contains(" failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &Command) -> Vec<String> {
        command
            .as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    fn sandbox() -> Sandbox {
        Sandbox {
            bwrap: PathBuf::from("/usr/bin/bwrap"),
            prlimit: Some(PathBuf::from("/usr/bin/prlimit")),
        }
    }

    #[test]
    fn a_jail_shows_only_what_it_lists_and_clears_the_environment() {
        let jail = Jail {
            read_only: vec![PathBuf::from("/trusted")],
            writable: vec![PathBuf::from("/work/target")],
            proc: false,
            env: vec![("PATH".into(), "/usr/bin".into())],
            cwd: PathBuf::from("/work/crate"),
            memory: Some(1024),
        };
        let args = args(&sandbox().command(&jail, Path::new("/bin/x"), &["--list"]));
        let text = args.join(" ");
        for must in [
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--ro-bind /trusted /trusted",
            "--bind /work/target /work/target",
            "--setenv PATH /usr/bin",
            "--chdir /work/crate -- /usr/bin/prlimit --as=1024 -- /bin/x --list",
        ] {
            assert!(text.contains(must), "{must:?} missing from {text}");
        }
        assert!(
            !text.contains("--proc"),
            "the test phase has no /proc: {text}"
        );
        assert!(
            !text.contains("--ro-bind /etc /etc"),
            "/etc is not shown whole: {text}"
        );
    }

    #[test]
    fn the_build_phase_gets_proc() {
        let jail = Jail {
            proc: true,
            cwd: PathBuf::from("/"),
            ..Jail::default()
        };
        let text =
            args(&sandbox().command(&jail, Path::new("/bin/cargo"), &[] as &[&str])).join(" ");
        assert!(text.contains("--proc /proc"), "{text}");
        assert!(!text.contains("prlimit"), "no limit asked: {text}");
    }

    #[test]
    fn an_allocation_failure_is_recognised() {
        assert!(out_of_memory(
            "memory allocation of 3221225472 bytes failed\nnote: run with ..."
        ));
        assert!(!out_of_memory("test x ... ok"));
    }
}
