//! Attacks on the grade, performed as a learner who wants marks without the work would: each test
//! changes only what a learner controls (their `src/`, manifest, build script, cargo and toolchain
//! configuration, `.katas/`, symbolic links, the course folder of their repository, code that runs
//! inside the test process) on a stage whose code still fails its tests, and asserts that
//! `katas verify` never says `passed`. Where it is cheap, the test first shows that the attack
//! really fools a plain `cargo test`, so the test proves the grader closes a real hole.
//!
//! The course is the `mini` fixture (stage `counter/count`: `bump` is still `todo!()` at the
//! start); the reference is a pristine copy of it outside the learner's folder, graded in the
//! sandbox (bubblewrap must be installed: `.ci/run` installs it).

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{course, katas, output};

/// A learner's repository, a pristine reference and a grading folder, all in one temp folder.
struct Class {
    _dir: tempfile::TempDir,
    learner: PathBuf,
    reference: PathBuf,
    work: PathBuf,
}

impl Class {
    fn new() -> Self {
        let (dir, learner) = course("mini");
        let reference = dir.path().join("reference");
        common::copy(&learner, &reference);
        let work = dir.path().join("grading");
        let class = Self {
            learner,
            reference,
            work,
            _dir: dir,
        };
        class.install_start();
        class
    }

    fn root(&self) -> &Path {
        self._dir.path()
    }

    /// The learner's crate as `katas run` leaves it at the first stage: the start, with the
    /// stage's tests installed.
    fn install_start(&self) {
        let krate = self.krate();
        common::copy(&self.learner.join("course/counter/start"), &krate);
        fs::create_dir_all(krate.join("tests/stages")).unwrap();
        fs::copy(
            self.learner.join("course/counter/count/tests.rs"),
            krate.join("tests/stages/count.rs"),
        )
        .unwrap();
        fs::write(krate.join("tests/stages/main.rs"), "mod count;\n").unwrap();
    }

    fn krate(&self) -> PathBuf {
        self.learner.join("exercises/counter")
    }

    fn lib(&self) -> PathBuf {
        self.krate().join("src/lib.rs")
    }

    /// Replaces the body of `bump` (the unsolved method) with `code`.
    fn bump_does(&self, code: &str) {
        common::edit(&self.lib(), "todo!(\"count one event\")", code);
    }

    /// `katas verify` of `counter/count` against the reference, in the sandbox, plus `extra`
    /// arguments: (exit code, the stage's JSON verdict or null, stderr).
    fn verify(&self, extra: &[&str]) -> (i32, serde_json::Value, String) {
        let mut args = vec![
            "verify",
            "--stage",
            "counter/count",
            "--format",
            "json",
            "--work-dir",
            self.work.to_str().unwrap(),
        ];
        if !extra
            .iter()
            .any(|a| a.starts_with("--reference") || *a == "--untrusted-reference")
        {
            args.extend(["--reference", self.reference.to_str().unwrap()]);
        }
        args.extend(extra);
        let (code, stdout, stderr) = output(&self.learner, &args);
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
        (code, json["stages"][0].clone(), stderr)
    }

    /// Asserts the stage is not graded `passed`, and returns its verdict.
    fn assert_not_passed(&self, extra: &[&str]) -> serde_json::Value {
        let (code, stage, stderr) = self.verify(extra);
        assert_ne!(
            stage["status"], "passed",
            "the attack passed: {stage}\n{stderr}"
        );
        assert_ne!(code, 0, "verify exited 0 for an attack: {stage}\n{stderr}");
        stage
    }

    /// Runs the learner's own `cargo test --test stages` in their crate, as a naive grader would:
    /// whether it exits 0, and what it printed.
    fn plain_cargo_test(&self) -> (bool, String) {
        let out = std::process::Command::new(env!("CARGO"))
            .args(["test", "--test", "stages", "--quiet"])
            .current_dir(self.krate())
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

/// The libtest lines a forger prints for both of the stage's tests.
const FORGED_LINES: &str = "\\nrunning 2 tests\\ntest count::starts_at_zero ... ok\\ntest count::counts_each_bump ... ok\\n\\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\\n";

fn forge_then(end: &str) -> String {
    format!(
        "{{ use std::io::Write; let mut out = std::io::stdout().lock(); let _ = out.write_all(b\"{FORGED_LINES}\"); let _ = out.flush(); {end} }}"
    )
}

// ---------------------------------------------------------------------------------------------
// The controls: a correct crate passes, the unsolved start fails, graded the same way.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_correct_learner_crate_is_graded_passed_in_the_sandbox() {
    let class = Class::new();
    class.bump_does("self.count += 1");
    let (code, stage, stderr) = class.verify(&[]);
    assert_eq!(stage["status"], "passed", "{stage}\n{stderr}");
    assert_eq!(stage["tests_passed"], 2);
    assert_eq!(code, 0);
}

#[test]
fn the_unsolved_start_is_graded_failed() {
    let class = Class::new();
    let stage = class.assert_not_passed(&[]);
    assert_eq!(stage["status"], "failed");
    assert_eq!(
        stage["tests_passed"], 1,
        "starts_at_zero passes even at the start"
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Learner output read as results.
// ---------------------------------------------------------------------------------------------

#[test]
fn forged_test_lines_then_exit_zero_are_not_a_pass() {
    let class = Class::new();
    class.bump_does(&forge_then("std::process::exit(0)"));
    let (ok, text) = class.plain_cargo_test();
    assert!(
        ok && text.contains("2 passed"),
        "the attack fools plain cargo test: {text}"
    );
    let stage = class.assert_not_passed(&[]);
    assert_eq!(stage["status"], "failed");
}

#[test]
fn forged_test_lines_then_abort_are_not_a_pass() {
    let class = Class::new();
    class.bump_does(&forge_then("std::process::abort()"));
    class.assert_not_passed(&[]);
}

#[test]
fn forged_test_lines_then_holding_stdout_until_the_time_limit_are_not_a_pass() {
    let class = Class::new();
    class.bump_does(&forge_then(
        "std::mem::forget(out); loop { std::thread::sleep(std::time::Duration::from_secs(1)); }",
    ));
    class.assert_not_passed(&[]);
}

#[test]
fn code_before_main_is_refused_by_the_forbidden_unsafe() {
    let class = Class::new();
    let lib = fs::read_to_string(class.lib()).unwrap();
    let early = format!(
        "#[used]\n#[unsafe(link_section = \".init_array\")]\nstatic EARLY: extern \"C\" fn() = early;\nextern \"C\" fn early() {}\n",
        forge_then("std::process::exit(0)")
    );
    fs::write(class.lib(), format!("{lib}\n{early}")).unwrap();
    let (ok, text) = class.plain_cargo_test();
    assert!(ok, "life before main fools plain cargo test: {text}");
    let stage = class.assert_not_passed(&[]);
    assert_eq!(stage["status"], "failed");
    assert!(
        stage.to_string().contains("failed"),
        "it does not compile: {stage}"
    );
}

#[test]
fn global_asm_before_main_is_refused_too() {
    let class = Class::new();
    let lib = fs::read_to_string(class.lib()).unwrap();
    let early = format!(
        "core::arch::global_asm!(\".pushsection .init_array,\\\"aw\\\"\", \".quad {{0}}\", \".popsection\", sym early);\nextern \"C\" fn early() {}\n",
        forge_then("std::process::exit(0)")
    );
    fs::write(class.lib(), format!("{lib}\n{early}")).unwrap();
    class.assert_not_passed(&[]);
}

#[test]
fn writing_records_to_the_results_channel_from_learner_code_is_not_a_pass() {
    let class = Class::new();
    // Every way safe code could reach the results file: its path from the environment, any open
    // descriptor through /proc/self/fd or /dev/fd, and the test binary run again.
    class.bump_does(
        r#"{
        use std::io::Write;
        let records = b"count::starts_at_zero\ncount::counts_each_bump\n";
        let mut paths: Vec<std::path::PathBuf> = Vec::new();
        if let Some(p) = std::env::var_os("KATAS_WITNESS") { paths.push(p.into()); }
        for dir in ["/proc/self/fd", "/dev/fd"] {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() { paths.push(e.path()); }
            }
        }
        for n in 0..64 { paths.push(format!("/proc/self/fd/{n}").into()); paths.push(format!("/dev/fd/{n}").into()); }
        for p in paths {
            if let Ok(mut f) = std::fs::OpenOptions::new().append(true).create(true).open(&p) {
                let _ = f.write_all(records);
            }
        }
        if let Some(me) = std::env::args().next() {
            let _ = std::process::Command::new(me).args(["--exact", "count::starts_at_zero"]).status();
        }
        self.count += 2;
    }"#,
    );
    let stage = class.assert_not_passed(&[]);
    assert_eq!(stage["status"], "failed");
}

// ---------------------------------------------------------------------------------------------
// 2. The learner's manifest and build script are not built.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_test_target_of_the_learners_own_is_not_graded() {
    let class = Class::new();
    let manifest = class.krate().join("Cargo.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        format!("{text}\n[[test]]\nname = \"stages\"\npath = \"tests/mine.rs\"\n"),
    )
    .unwrap();
    fs::write(
        class.krate().join("tests/mine.rs"),
        "mod count {\n#[test]\nfn starts_at_zero() {}\n#[test]\nfn counts_each_bump() {}\n}\n",
    )
    .unwrap();
    let (ok, text) = class.plain_cargo_test();
    assert!(
        ok,
        "the learner's own target passes under plain cargo: {text}"
    );
    class.assert_not_passed(&[]);
}

#[test]
fn a_build_script_never_runs() {
    let class = Class::new();
    let marker = class.root().join("build-script-ran");
    let manifest = class.krate().join("Cargo.toml");
    common::edit(
        &manifest,
        "[package]\n",
        "[package]\nbuild = \"build.rs\"\n",
    );
    fs::write(
        class.krate().join("build.rs"),
        format!(
            "fn main() {{\n    let _ = std::fs::write({:?}, \"ran\");\n    let dir = std::env::var(\"CARGO_MANIFEST_DIR\").unwrap();\n    let _ = std::fs::write(format!(\"{{dir}}/tests/stages/count.rs\"), \"#[test] fn starts_at_zero() {{}}\\n#[test] fn counts_each_bump() {{}}\\n\");\n}}\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    class.assert_not_passed(&[]);
    assert!(!marker.exists(), "the learner's build script ran");
}

#[test]
fn a_swapped_course_crate_is_not_used() {
    let class = Class::new();
    // The learner's own copy of the course's checker agrees with anything, and their manifest
    // adds it again for every target.
    fs::write(
        class.learner.join("crates/checker/src/lib.rs"),
        "pub fn expect_count(_actual: u64, _expected: u64) {}\n",
    )
    .unwrap();
    let manifest = class.krate().join("Cargo.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        format!(
            "{text}\n[target.'cfg(all())'.dev-dependencies]\nchecker = {{ path = \"../../crates/checker\" }}\n"
        ),
    )
    .unwrap();
    class.bump_does("");
    let (ok, text) = class.plain_cargo_test();
    assert!(ok, "the weakened checker passes under plain cargo: {text}");
    class.assert_not_passed(&[]);
}

// ---------------------------------------------------------------------------------------------
// 3. The learner's cargo and toolchain configuration do not apply.
// ---------------------------------------------------------------------------------------------

/// A fake toolchain program that leaves a marker and pretends every test passed.
fn fake_tool(dir: &Path, name: &str, marker: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    fs::write(
        &path,
        format!("#!/bin/sh\necho used > {}\nexit 0\n", marker.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

#[test]
fn a_rustc_wrapper_in_the_learners_cargo_config_is_not_used() {
    let class = Class::new();
    let marker = class.root().join("wrapper-used");
    let wrapper = fake_tool(&class.root().join("fake"), "wrap.sh", &marker);
    for dir in [
        class.learner.join(".cargo"),
        class.krate().join(".cargo"),
        class.learner.join(".katas/verify/.cargo"),
    ] {
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("config.toml"),
            format!(
                "[build]\nrustc-wrapper = {:?}\n",
                wrapper.display().to_string()
            ),
        )
        .unwrap();
    }
    class.assert_not_passed(&[]);
    assert!(!marker.exists(), "the learner's rustc-wrapper ran");
}

#[test]
fn a_toolchain_file_naming_a_fake_toolchain_is_not_used() {
    let class = Class::new();
    let marker = class.root().join("toolchain-used");
    let fake = class.root().join("fake-toolchain");
    for tool in ["cargo", "rustc"] {
        fake_tool(&fake.join("bin"), tool, &marker);
    }
    for dir in [class.learner.clone(), class.krate()] {
        fs::write(
            dir.join("rust-toolchain.toml"),
            format!("[toolchain]\npath = {:?}\n", fake.display().to_string()),
        )
        .unwrap();
    }
    class.assert_not_passed(&[]);
    assert!(!marker.exists(), "the learner's toolchain ran");
}

// ---------------------------------------------------------------------------------------------
// 4. The reference is never chosen silently; everything about a stage comes from it.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_renamed_course_does_not_make_katas_grade_against_the_learners_copy() {
    let class = Class::new();
    common::edit(
        &class.learner.join("info.toml"),
        "name = \"Mini course\"",
        "name = \"Distributed systems in Rust\"",
    );
    fs::write(
        class.learner.join("course/counter/count/tests.rs"),
        "#[test]\nfn starts_at_zero() {}\n#[test]\nfn counts_each_bump() {}\n",
    )
    .unwrap();
    // No --reference: the course built into katas is the reference, and it has no such stage.
    let (code, stdout, stderr) = output(
        &class.learner,
        &[
            "verify",
            "--stage",
            "counter/count",
            "--work-dir",
            class.work.to_str().unwrap(),
        ],
    );
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(!stdout.contains("passed "), "{stdout}");
    assert!(stderr.contains("no track `counter`"), "{stderr}");
}

#[test]
fn edited_and_deleted_tests_in_the_learners_course_folder_are_tampered() {
    let class = Class::new();
    class.bump_does("self.count += 1");
    fs::write(
        class.learner.join("course/counter/count/tests.rs"),
        "#[test]\nfn starts_at_zero() {}\n",
    )
    .unwrap();
    let (code, stage, _) = class.verify(&[]);
    assert_eq!(stage["status"], "tampered", "{stage}");
    assert_eq!(code, i32::from(katas::exit_codes::TAMPERED));

    let class = Class::new();
    class.bump_does("self.count += 1");
    fs::remove_file(class.learner.join("course/counter/count/tests.rs")).unwrap();
    let (_, stage, _) = class.verify(&[]);
    assert_eq!(stage["status"], "tampered", "a deleted stage file: {stage}");
}

#[test]
fn the_learners_time_limit_is_not_used() {
    let class = Class::new();
    // A learner's stage.toml with a limit so short that the graded run would die before its
    // tests, if it were read: the reference's limit applies, so the correct crate passes.
    common::edit(
        &class.learner.join("course/counter/count/stage.toml"),
        "time_limit_secs = 10",
        "time_limit_secs = 1",
    );
    class.bump_does(
        "{ std::thread::sleep(std::time::Duration::from_millis(1500)); self.count += 1 }",
    );
    let (_, stage, stderr) = class.verify(&[]);
    assert_eq!(stage["status"], "passed", "{stage}\n{stderr}");
}

#[test]
fn a_reference_inside_the_learners_tree_is_refused_and_the_untrusted_one_is_named() {
    let class = Class::new();
    let inside = class.learner.join("course");
    let (code, _, stderr) = class.verify(&["--reference", inside.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("inside the graded course"), "{stderr}");

    class.bump_does("self.count += 1");
    let (_, stdout, stderr) = output(
        &class.learner,
        &[
            "verify",
            "--untrusted-reference",
            "--format",
            "json",
            "--work-dir",
            class.work.to_str().unwrap(),
            "--stage",
            "counter/count",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["reference"]["kind"], "learners_own");
    assert_eq!(json["reference"]["trusted"], false);
    assert!(stderr.contains("UNTRUSTED"), "{stderr}");
}

#[test]
fn reports_name_the_reference_they_were_graded_against() {
    let class = Class::new();
    let (_, stdout, _) = output(
        &class.learner,
        &[
            "verify",
            "--stage",
            "counter/count",
            "--format",
            "junit",
            "--reference",
            class.reference.to_str().unwrap(),
            "--work-dir",
            class.work.to_str().unwrap(),
        ],
    );
    assert!(stdout.contains("reference"), "{stdout}");
    assert!(
        stdout.contains(&class.reference.display().to_string()),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Nothing katas writes is reached through a learner's symbolic link.
// ---------------------------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn a_symlinked_katas_folder_does_not_redirect_the_graders_writes() {
    let class = Class::new();
    let graders = class.root().join("graders-own");
    fs::create_dir_all(&graders).unwrap();
    fs::write(graders.join("precious.txt"), "keep me").unwrap();
    fs::create_dir_all(class.learner.join(".katas")).unwrap();
    std::os::unix::fs::symlink(&graders, class.learner.join(".katas/verify")).unwrap();
    std::os::unix::fs::symlink(&graders, class.learner.join(".katas/trusted")).unwrap();
    class.assert_not_passed(&[]);
    let left: Vec<_> = fs::read_dir(&graders)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["precious.txt"], "the grader's folder was written to");
    assert_eq!(
        fs::read_to_string(graders.join("precious.txt")).unwrap(),
        "keep me"
    );
}

#[cfg(unix)]
#[test]
fn sources_linked_to_the_reference_solution_are_refused() {
    let class = Class::new();
    let solution = class.reference.join("solutions/counter/count/src");
    fs::remove_dir_all(class.krate().join("src")).unwrap();
    std::os::unix::fs::symlink(&solution, class.krate().join("src")).unwrap();
    let stage = class.assert_not_passed(&[]);
    assert_eq!(stage["status"], "failed", "{stage}");

    let class = Class::new();
    fs::remove_file(class.lib()).unwrap();
    std::os::unix::fs::symlink(solution.join("lib.rs"), class.lib()).unwrap();
    class.assert_not_passed(&[]);
}

// ---------------------------------------------------------------------------------------------
// 6. The learner's code runs in the sandbox.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_graders_files_cannot_be_read_by_the_learners_code() {
    let class = Class::new();
    // With the grader's reference solution within reach, a module read from it would pass.
    let solution = class.reference.join("solutions/counter/count/src/lib.rs");
    fs::write(
        class.lib(),
        format!(
            "#[path = {:?}]\nmod solution;\npub use solution::*;\n",
            solution.display().to_string()
        ),
    )
    .unwrap();
    let stage = class.assert_not_passed(&[]);
    assert_eq!(stage["status"], "failed");
    // The same crate, graded without the sandbox, shows what the sandbox is for.
    let (_, open, _) = class.verify(&["--no-sandbox"]);
    assert_eq!(open["status"], "passed", "{open}");
}

#[test]
fn the_learners_code_has_no_network() {
    let class = Class::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || for _ in listener.incoming() {});
    class.bump_does(&format!(
        "if std::net::TcpStream::connect({:?}).is_ok() {{ self.count += 1 }}",
        addr.to_string()
    ));
    class.assert_not_passed(&[]);
    let (_, open, _) = class.verify(&["--no-sandbox"]);
    assert_eq!(
        open["status"], "passed",
        "without the sandbox it connects: {open}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_daemon_started_by_the_learners_code_does_not_outlive_the_run() {
    let class = Class::new();
    let tag = format!("{}", 900_000 + std::process::id() % 90_000);
    class.bump_does(&format!(
        "{{ let _ = std::process::Command::new(\"setsid\").args([\"sh\", \"-c\", \"sleep {tag} & sleep {tag}\"]).spawn(); self.count += 1 }}"
    ));
    let (_, stage, _) = class.verify(&[]);
    assert_eq!(stage["status"], "passed", "{stage}");
    let left = std::process::Command::new("pgrep")
        .args(["-f", &format!("sleep {tag}")])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn a_test_over_the_memory_limit_is_stopped_and_said() {
    let class = Class::new();
    class.bump_does("{ let v = vec![1u8; 3 << 30]; self.count += u64::from(v[7]) }");
    let (_, stage, stderr) = class.verify(&["--memory-limit-mib", "512"]);
    assert_eq!(stage["status"], "failed", "{stage}\n{stderr}");
    let (_, stdout, _) = output(
        &class.learner,
        &[
            "verify",
            "--stage",
            "counter/count",
            "--memory-limit-mib",
            "512",
            "--reference",
            class.reference.to_str().unwrap(),
            "--work-dir",
            class.work.to_str().unwrap(),
        ],
    );
    assert!(stdout.contains("memory limit"), "{stdout}");
}

#[test]
fn grading_without_bubblewrap_is_refused_with_how_to_install_it() {
    let class = Class::new();
    // A PATH without bwrap (but with cargo and the system's tools).
    let cargo_bin = Path::new(env!("CARGO")).parent().unwrap().to_path_buf();
    let path = std::env::join_paths([cargo_bin, PathBuf::from("/nonexistent")]).unwrap();
    let out = katas(&class.learner)
        .env("PATH", path)
        .args([
            "verify",
            "--stage",
            "counter/count",
            "--reference",
            class.reference.to_str().unwrap(),
            "--work-dir",
            class.work.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(katas::exit_codes::KATAS_ERROR)),
        "{stderr}"
    );
    assert!(stderr.contains("apt-get install bubblewrap"), "{stderr}");
    assert!(stderr.contains("--no-sandbox"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// 8. Progress files are self-reported, and reports say so.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_hand_written_progress_file_is_reported_as_self_reported_and_overruled_by_verify() {
    let class = Class::new();
    fs::create_dir_all(class.learner.join(".katas")).unwrap();
    fs::write(
        class.learner.join(".katas/state.toml"),
        "version = 1\n\n[tracks.counter.stages.count]\npassed_at = \"2026-01-01T00:00:00Z\"\nattempts = 1\nruns = 1\n\n[tracks.counter.stages.reset]\npassed_at = \"2026-01-02T00:00:00Z\"\nattempts = 1\nruns = 1\n",
    )
    .unwrap();
    let (code, stdout, stderr) = output(&class.learner, &["report", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let count = &report["stages"][0];
    assert_eq!(count["status"], "passed", "the file claims it: {count}");
    assert_eq!(count["source"], "progress_file", "{count}");
    let (_, text, _) = output(&class.learner, &["report"]);
    assert!(text.contains("self-reported"), "{text}");
    let (_, listed, _) = output(&class.learner, &["list", "--format", "json"]);
    assert!(listed.contains("\"source\": \"progress_file\""), "{listed}");

    // The teacher's verify verdict overrules the claim.
    let verdicts = class.root().join("verify.json");
    let (_, _, _) = output(
        &class.learner,
        &[
            "verify",
            "--stage",
            "counter/count",
            "--format",
            "json",
            "--output",
            verdicts.to_str().unwrap(),
            "--reference",
            class.reference.to_str().unwrap(),
            "--work-dir",
            class.work.to_str().unwrap(),
        ],
    );
    let (code, stdout, stderr) = output(
        &class.learner,
        &[
            "report",
            "--format",
            "json",
            "--verified",
            verdicts.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let count = &report["stages"][0];
    assert_eq!(count["status"], "in_progress", "{count}");
    assert_eq!(count["source"], "verify", "{count}");
    assert_eq!(count["verified"], "failed", "{count}");
    assert!(count["passed_at"].is_null(), "{count}");
    let reset = &report["stages"][1];
    assert_eq!(
        reset["source"], "progress_file",
        "not verified, still the claim: {reset}"
    );
}
