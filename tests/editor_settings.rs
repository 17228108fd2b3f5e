//! The committed editor settings: every track crate is linked for rust-analyzer (which finds
//! Cargo projects only at the opened folder and one level below) in VS Code's, Zed's, Helix's
//! and Neovim's project settings, with relative paths; and, where rust-analyzer is installed,
//! rust-analyzer itself, started on the repository root with those settings, indexes each
//! learner's crate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `exercises/<track>/Cargo.toml` for every track of the course, relative to the root.
fn track_manifests() -> BTreeSet<String> {
    let course = katas::course::load(&root()).unwrap();
    course
        .tracks
        .iter()
        .map(|track| {
            let manifest = course.crate_dir(track).join("Cargo.toml");
            assert!(manifest.is_file(), "{} exists", manifest.display());
            manifest
                .strip_prefix(root())
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// JSON with `//` comment lines (VS Code's and Zed's settings are JSONC).
fn jsonc(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let json: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn strings(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// rust-analyzer's settings as VS Code holds them, without the `rust-analyzer.` prefix: what
/// an editor sends as `initializationOptions`.
fn vscode_rust_analyzer_settings() -> Value {
    let settings = jsonc(".vscode/settings.json");
    let linked = settings["rust-analyzer.linkedProjects"].clone();
    let target_dir = settings["rust-analyzer.cargo.targetDir"].clone();
    json!({ "linkedProjects": linked, "cargo": { "targetDir": target_dir } })
}

#[test]
fn every_editors_settings_link_every_track_crate_by_a_relative_path() {
    let expected = track_manifests();
    assert!(!expected.is_empty());

    let vscode = vscode_rust_analyzer_settings();
    let zed = jsonc(".zed/settings.json")["lsp"]["rust-analyzer"]["initialization_options"].clone();
    let helix: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join(".helix/languages.toml")).unwrap())
            .unwrap();
    let helix = &helix["language-server"]["rust-analyzer"]["config"];
    let helix_linked: BTreeSet<String> = helix["linkedProjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    // Neovim's file is Lua: the quoted manifests of its `linkedProjects` list.
    let lua = std::fs::read_to_string(root().join(".nvim.lua")).unwrap();
    let block = lua
        .split_once("linkedProjects = {")
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(list, _)| list)
        .expect(".nvim.lua has a linkedProjects list");
    let nvim: BTreeSet<String> = block
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();

    for (editor, linked) in [
        ("VS Code", strings(&vscode["linkedProjects"])),
        ("Zed", strings(&zed["linkedProjects"])),
        ("Helix", helix_linked),
        ("Neovim", nvim),
    ] {
        assert_eq!(linked, expected, "{editor} links exactly the track crates");
        for path in &linked {
            assert!(
                Path::new(path).is_relative(),
                "{editor}: {path} is relative"
            );
        }
    }
    // rust-analyzer builds in each crate's target/rust-analyzer, never in katas' build folder.
    assert_eq!(vscode["cargo"]["targetDir"], json!(true));
    assert_eq!(zed["cargo"]["targetDir"], json!(true));
    assert_eq!(helix["cargo"]["targetDir"].as_bool(), Some(true));
    assert!(lua.contains("targetDir = true"));
    let course = katas::course::load(&root()).unwrap();
    for track in &course.tracks {
        assert!(
            !course.target_dir().starts_with(course.crate_dir(track)),
            "katas builds outside the crate rust-analyzer builds in"
        );
    }
}

/// A name the learner's crate defines at its top level (`pub struct KvStore`).
fn a_public_item(crate_dir: &Path) -> String {
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    lib.lines()
        .find_map(|line| {
            let rest = [
                "pub struct ",
                "pub enum ",
                "pub trait ",
                "pub fn ",
                "pub mod ",
            ]
            .iter()
            .find_map(|p| line.strip_prefix(p))?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .unwrap_or_else(|| panic!("{} defines no public item", crate_dir.display()))
}

/// A minimal LSP client over rust-analyzer's standard input and output.
struct Lsp {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
    next_id: u64,
}

impl Lsp {
    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.input, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.input.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            assert!(
                self.output.read_line(&mut line).unwrap() > 0,
                "rust-analyzer ended"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                length = n.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.output.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// Sends a request and returns its result, answering the server's own requests meanwhile.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message["id"] == json!(id) && message.get("method").is_none() {
                return message["result"].clone();
            }
            if message.get("method").is_some() && message.get("id").is_some() {
                let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": null});
                self.send(&reply);
            }
        }
    }
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn rust_analyzer_opened_on_the_root_indexes_every_learners_crate() {
    let program = std::env::var_os("KATAS_RUST_ANALYZER").unwrap_or_else(|| "rust-analyzer".into());
    let works = Command::new(&program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        eprintln!(
            "skipped: no rust-analyzer on PATH (or in KATAS_RUST_ANALYZER); the settings themselves are checked by every_editors_settings_link_every_track_crate_by_a_relative_path"
        );
        return;
    }
    let root = root();
    let mut child = Command::new(&program)
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let input = child.stdin.take().unwrap();
    let output = BufReader::new(child.stdout.take().unwrap());
    let mut lsp = Lsp {
        child,
        input,
        output,
        next_id: 0,
    };
    let uri = format!("file://{}", root.display());
    lsp.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": uri,
            "workspaceFolders": [{"uri": uri, "name": "katas"}],
            "capabilities": {},
            "initializationOptions": vscode_rust_analyzer_settings(),
        }),
    );
    lsp.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let course = katas::course::load(&root).unwrap();
    for track in &course.tracks {
        let crate_dir = course.crate_dir(track);
        let name = a_public_item(&crate_dir);
        let inside = format!("{}/", crate_dir.display());
        // Indexing takes a while: ask until the symbol is found in the learner's crate.
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let found = lsp.request("workspace/symbol", json!({ "query": name }));
            let in_crate = found.as_array().is_some_and(|symbols| {
                symbols.iter().any(|s| {
                    s["name"] == json!(name)
                        && s["location"]["uri"]
                            .as_str()
                            .is_some_and(|u| u.contains(inside.as_str()))
                })
            });
            if in_crate {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "rust-analyzer never indexed `{name}` of {inside}: the track crate is not linked"
            );
            std::thread::sleep(Duration::from_secs(2));
        }
    }
}
