//! The crate features a track's stages switch on: a stage whose tests or solution need a heavy
//! dependency (tokio, a redis client) names it in its `stage.toml` (`features = ["tokio"]`), the
//! track's manifest declares that dependency `optional`, and from that stage on katas lists it in
//! the crate's `[features] default`.
//!
//! Why: every dependency of a track is declared from the start (the lock file pins them all, and a
//! learner never edits the manifest), yet the first stages need none of the heavy ones. Declared
//! plainly, the first build of the first stage compiled all of them: kv_store's took 33 s on
//! 2 cores where its first stage needs 16 s. Writing the features into `default` (not passing
//! `--features` on katas' command lines) keeps the learner's own `cargo test`, their editor's
//! rust-analyzer and katas building the same crate.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

use crate::course::Track;
use crate::fsutil::write_atomic;

/// The features stages `0..=upto` of a track switch on, each once, in stage order.
pub fn through(track: &Track, upto: usize) -> Vec<String> {
    let mut features: Vec<String> = Vec::new();
    for stage in track.stages.iter().take(upto.saturating_add(1)) {
        for feature in &stage.features {
            if !features.contains(feature) {
                features.push(feature.clone());
            }
        }
    }
    features
}

/// The features a manifest defines: its `[features]` table's keys and the implicit feature of each
/// optional dependency (one that no feature names as `dep:<name>`).
pub fn defined(manifest: &toml_edit::DocumentMut) -> BTreeSet<String> {
    let mut defined: BTreeSet<String> = BTreeSet::new();
    let mut hidden: BTreeSet<String> = BTreeSet::new();
    if let Some(features) = manifest.get("features").and_then(|f| f.as_table_like()) {
        for (name, members) in features.iter() {
            defined.insert(name.to_owned());
            for member in members.as_array().into_iter().flatten() {
                if let Some(dep) = member.as_str().and_then(|m| m.strip_prefix("dep:")) {
                    hidden.insert(dep.to_owned());
                }
            }
        }
    }
    let mut tables: Vec<&dyn toml_edit::TableLike> = Vec::new();
    if let Some(deps) = manifest.get("dependencies").and_then(|d| d.as_table_like()) {
        tables.push(deps);
    }
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table_like()) {
        for (_, target) in targets.iter() {
            if let Some(deps) = target.get("dependencies").and_then(|d| d.as_table_like()) {
                tables.push(deps);
            }
        }
    }
    for deps in tables {
        for (name, dep) in deps.iter() {
            let optional = dep
                .as_table_like()
                .and_then(|t| t.get("optional"))
                .and_then(|o| o.as_bool())
                .unwrap_or(false);
            if optional && !hidden.contains(name) {
                defined.insert(name.to_owned());
            }
        }
    }
    defined
}

/// Lists `wanted` in the manifest's `[features] default`, keeping whatever else is there, and
/// writes the manifest (atomically) when that changed it. A wanted feature the manifest does not
/// define is left out: a crate copied before its track declared that dependency optional still
/// builds as it did (its dependency is on anyway), where `default = ["tokio"]` would be an error.
/// Returns whether the manifest was written.
pub fn enable(manifest: &Path, wanted: &[String]) -> io::Result<bool> {
    if wanted.is_empty() {
        return Ok(false);
    }
    let mut doc = super::read_manifest(manifest)?;
    let defined = defined(&doc);
    let missing: Vec<&String> = {
        let listed = default_list(&doc);
        wanted
            .iter()
            .filter(|f| defined.contains(*f) && !listed.contains(*f))
            .collect()
    };
    if missing.is_empty() {
        return Ok(false);
    }
    let features = doc
        .entry("features")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
    let Some(features) = features.as_table_like_mut() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: `features` is not a table", manifest.display()),
        ));
    };
    let default = features
        .entry("default")
        .or_insert(toml_edit::value(toml_edit::Array::new()));
    let Some(default) = default.as_array_mut() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: `features.default` is not a list", manifest.display()),
        ));
    };
    for feature in missing {
        default.push(feature.as_str());
    }
    write_atomic(manifest, doc.to_string().as_bytes())?;
    Ok(true)
}

/// The names in `[features] default`.
fn default_list(doc: &toml_edit::DocumentMut) -> BTreeSet<String> {
    doc.get("features")
        .and_then(|f| f.get("default"))
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const MANIFEST: &str = r#"[package]
name = "kv"
version = "0.1.0"

[dependencies]
serde = "1"
# The runtime of the server stage.
tokio = { version = "1", optional = true }
redis = { version = "1", optional = true }
shuttle = { version = "0.9", optional = true }

[features]
# Kept: the learner's own.
bench = ["tokio"]
model = ["dep:shuttle"]
"#;

    fn manifest(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Cargo.toml");
        fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn optional_dependencies_and_feature_keys_are_defined_but_hidden_ones_are_not() {
        let doc: toml_edit::DocumentMut = MANIFEST.parse().unwrap();
        let defined: Vec<String> = defined(&doc).into_iter().collect();
        assert_eq!(defined, strings(&["bench", "model", "redis", "tokio"]));
    }

    #[test]
    fn wanted_features_join_the_default_list_once_and_comments_stay() {
        let (_dir, path) = manifest(MANIFEST);
        assert!(enable(&path, &strings(&["tokio", "redis"])).unwrap());
        let text = fs::read_to_string(&path).unwrap();
        let doc: toml_edit::DocumentMut = text.parse().unwrap();
        assert_eq!(
            default_list(&doc).into_iter().collect::<Vec<_>>(),
            strings(&["redis", "tokio"])
        );
        assert!(
            text.contains("# The runtime of the server stage."),
            "{text}"
        );
        assert!(text.contains("# Kept: the learner's own."), "{text}");
        assert!(
            !enable(&path, &strings(&["tokio", "redis"])).unwrap(),
            "nothing to add: the manifest is not written again"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn a_learners_own_defaults_are_kept() {
        let text = MANIFEST.replace("bench = [\"tokio\"]", "default = [\"bench\"]\nbench = []");
        let (_dir, path) = manifest(&text);
        assert!(enable(&path, &strings(&["tokio"])).unwrap());
        let doc: toml_edit::DocumentMut = fs::read_to_string(&path).unwrap().parse().unwrap();
        assert_eq!(
            default_list(&doc).into_iter().collect::<Vec<_>>(),
            strings(&["bench", "tokio"])
        );
    }

    #[test]
    fn a_feature_the_manifest_does_not_define_is_left_out() {
        // A crate copied before tokio became optional: tokio is a plain dependency (always on),
        // and `default = ["tokio"]` would make cargo refuse the manifest.
        let text = MANIFEST.replace(", optional = true }", " }");
        let (_dir, path) = manifest(&text);
        assert!(!enable(&path, &strings(&["tokio", "redis"])).unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn a_broken_manifest_is_an_error_and_stays_as_it_was() {
        let (_dir, path) = manifest("[package\nname = ");
        let err = enable(&path, &strings(&["tokio"])).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(fs::read_to_string(&path).unwrap(), "[package\nname = ");
    }
}
