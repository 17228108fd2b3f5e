//! `katas dev new TRACK`: scaffolds a track that is sound from the first minute: a start crate
//! (its own workspace, its `Cargo.lock`, a `todo!()` where the learner's work goes), a first stage
//! with its brief, tests, hint ladders and reflection, its reference solution, and the track's
//! entry in `info.toml`.
//!
//! The scaffold is a worked example, not a blank: `katas dev check` passes on it as it is (the
//! stage fails in its start state and passes with its solution), so an author changes one thing at
//! a time and `dev check` says when something stops holding. Nothing is ever overwritten: an id
//! already in use, as a track or as a folder, is refused.

mod templates;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::course::Course;
use crate::fsutil::write_atomic;
use crate::runner;
use templates::{BRIEF, SOLUTION_LIB, STAGE_TOML, START_LIB, START_MANIFEST, SUMMARY, TESTS};

/// `cargo generate-lockfile` of a crate without dependencies takes a moment; this is plenty.
const LOCKFILE_LIMIT: Duration = Duration::from_secs(120);

/// What to scaffold.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// The track's id: its folder, its crate's name, its Rust module.
    pub track: String,
    /// The first stage's id.
    pub stage: String,
    /// The track's title; by default made from its id.
    pub title: Option<String>,
}

/// What was scaffolded.
#[derive(Debug, Clone)]
pub struct NewTrack {
    pub track: String,
    pub stage: String,
    /// The files written, relative to the course root, `info.toml` last.
    pub files: Vec<PathBuf>,
}

/// Why a track could not be scaffolded. Nothing is left half-written: on any error, the folders
/// made so far are removed and `info.toml` is not changed.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    /// The id cannot name a folder, a crate and a Rust module.
    #[error("`{given}` is not a valid {what} id: {why}\n    fix: use lowercase letters, digits and `_`, starting with a letter{}", suggestion.as_ref().map(|s| format!(", e.g. `{s}`")).unwrap_or_default())]
    BadId {
        what: &'static str,
        given: String,
        why: String,
        suggestion: Option<String>,
    },

    /// The course already has this track.
    #[error(
        "the course already has a track `{track}` (in info.toml)\n    fix: pick another id; to \
         add a stage to `{track}`, follow docs/course-format.md (a folder under course/{track}/, \
         its id in the track's `stages`)"
    )]
    TrackExists { track: String },

    /// A folder the scaffold would write is already there.
    #[error(
        "{} already exists, though info.toml has no track `{track}`\n    fix: move it away, or \
         pick another id (katas dev new never overwrites files)",
        path.display()
    )]
    PathExists { track: String, path: PathBuf },

    /// A folder the scaffold writes into is a link: following it could write outside the course.
    #[error(
        "{} is a symbolic link, and katas writes only inside the course folder\n    fix: replace \
         the link with the folder it points to",
        path.display()
    )]
    Link { path: PathBuf },

    /// `info.toml` cannot take one more track.
    #[error("cannot add the track to info.toml: {what}\n    fix: {fix}")]
    Index { what: String, fix: String },

    /// A file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// cargo could not make the start crate's lockfile.
    #[error(
        "`cargo generate-lockfile` failed in {}:\n{output}\n    fix: make sure cargo is installed \
         and on PATH, then run katas dev new again",
        path.display()
    )]
    Lockfile { path: PathBuf, output: String },
}

impl NewError {
    /// Whether the command line asked for something impossible (rather than katas failing).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            NewError::BadId { .. } | NewError::TrackExists { .. } | NewError::PathExists { .. }
        )
    }

    /// Whether the course itself stands in the way (a link where a folder should be).
    pub fn is_course_problem(&self) -> bool {
        matches!(self, NewError::Link { .. })
    }
}

/// Scaffolds a track in `course`.
pub async fn new_track(course: &Course, options: &NewOptions) -> Result<NewTrack, NewError> {
    check_id("track", &options.track)?;
    check_id("stage", &options.stage)?;
    let (track, stage) = (options.track.as_str(), options.stage.as_str());
    if course.tracks.iter().any(|t| t.id == track) {
        return Err(NewError::TrackExists {
            track: track.to_owned(),
        });
    }
    let root = &course.root;
    let owned: Vec<PathBuf> = ["course", "solutions", "exercises"]
        .iter()
        .map(|top| Path::new(top).join(track))
        .collect();
    for path in &owned {
        if fs::symlink_metadata(root.join(path)).is_ok() {
            return Err(NewError::PathExists {
                track: track.to_owned(),
                path: path.clone(),
            });
        }
    }
    // A course is untrusted input: a link in place of `course/` or `solutions/` would have the
    // scaffold write wherever it points.
    for top in ["course", "solutions"] {
        if fs::symlink_metadata(root.join(top)).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(NewError::Link {
                path: PathBuf::from(top),
            });
        }
    }
    let index_path = root.join("info.toml");
    let title = options.title.clone().unwrap_or_else(|| title_of(track));
    let index = with_track(&index_path, track, &title, stage)?;

    let result = scaffold(course, track, stage, &title).await;
    let result = match result {
        Ok(mut files) => write_atomic(&index_path, index.as_bytes())
            .map_err(|source| NewError::Write {
                path: index_path.clone(),
                source,
            })
            .map(|()| {
                files.push(PathBuf::from("info.toml"));
                files
            }),
        Err(err) => Err(err),
    };
    match result {
        Ok(files) => Ok(NewTrack {
            track: track.to_owned(),
            stage: stage.to_owned(),
            files,
        }),
        Err(err) => {
            // Only folders this call created: each was checked to be absent above.
            for path in &owned {
                let _ = fs::remove_dir_all(root.join(path));
            }
            Err(err)
        }
    }
}

/// Writes the start crate, the stage and the solution; returns the files, relative to the root.
async fn scaffold(
    course: &Course,
    track: &str,
    stage: &str,
    title: &str,
) -> Result<Vec<PathBuf>, NewError> {
    let fill = |template: &str| {
        template
            .replace("{crate}", track)
            .replace("{stage}", stage)
            .replace("{title}", title)
    };
    let start = Path::new("course").join(track).join("start");
    let stage_dir = Path::new("course").join(track).join(stage);
    let solution = Path::new("solutions").join(track).join(stage);
    let files = [
        (start.join("Cargo.toml"), fill(START_MANIFEST)),
        (start.join("src/lib.rs"), fill(START_LIB)),
        (stage_dir.join("stage.toml"), fill(STAGE_TOML)),
        (stage_dir.join("brief.md"), fill(BRIEF)),
        (stage_dir.join("tests.rs"), fill(TESTS)),
        (solution.join("src/lib.rs"), fill(SOLUTION_LIB)),
    ];
    let mut written = Vec::new();
    for (relative, text) in files {
        let path = course.root.join(&relative);
        let write = || -> io::Result<()> {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::write(&path, text)
        };
        write().map_err(|source| NewError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(relative);
    }
    let start_dir = course.root.join(&start);
    let lockfile_error = |output: String| NewError::Lockfile {
        path: start_dir.clone(),
        output,
    };
    let out = runner::cargo(
        &["generate-lockfile"],
        &start_dir,
        &course.target_dir(),
        LOCKFILE_LIMIT,
    )
    .await
    .map_err(|err| lockfile_error(format!("{err:#}")))?;
    if !out.success || !start_dir.join("Cargo.lock").is_file() {
        return Err(lockfile_error(out.output));
    }
    written.insert(1, start.join("Cargo.lock"));
    Ok(written)
}

/// The text of `info.toml` with the new track appended, its comments and layout kept.
fn with_track(path: &Path, track: &str, title: &str, stage: &str) -> Result<String, NewError> {
    let text = fs::read_to_string(path).map_err(|err| NewError::Index {
        what: format!("cannot read it: {err}"),
        fix: "make sure info.toml is readable".to_owned(),
    })?;
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|err| NewError::Index {
        what: format!("it is not valid TOML: {err}"),
        fix: "fix info.toml (katas list names the line)".to_owned(),
    })?;
    let summary =
        format!("{SUMMARY} (written by `katas dev new`: say in one line what learners build)");
    let mut stages = toml_edit::Array::new();
    stages.push(stage);
    match doc.get_mut("tracks") {
        Some(toml_edit::Item::ArrayOfTables(tracks)) => {
            let mut table = toml_edit::Table::new();
            table.insert("id", toml_edit::value(track));
            table.insert("title", toml_edit::value(title));
            table.insert("summary", toml_edit::value(summary));
            table.insert("stages", toml_edit::value(stages));
            table.decor_mut().set_prefix("\n");
            tracks.push(table);
        }
        Some(toml_edit::Item::Value(toml_edit::Value::Array(tracks))) => {
            let mut table = toml_edit::InlineTable::new();
            table.insert("id", track.into());
            table.insert("title", title.into());
            table.insert("summary", summary.into());
            table.insert("stages", toml_edit::Value::Array(stages));
            tracks.push(table);
        }
        _ => {
            return Err(NewError::Index {
                what: "its `tracks` is not a list of [[tracks]] tables".to_owned(),
                fix: "write the tracks as [[tracks]] tables (docs/course-format.md)".to_owned(),
            });
        }
    }
    Ok(doc.to_string())
}

/// Ids name folders, crates and Rust modules: snake_case identifiers that are not Rust keywords
/// and do not shadow a crate every Rust program has.
fn check_id(what: &'static str, id: &str) -> Result<(), NewError> {
    let bad = |why: &str| NewError::BadId {
        what,
        given: id.to_owned(),
        why: why.to_owned(),
        suggestion: suggest(id).filter(|s| s != id && check_id(what, s).is_ok()),
    };
    let mut chars = id.chars();
    match chars.next() {
        None => return Err(bad("it is empty")),
        Some(c) if !c.is_ascii_lowercase() => {
            return Err(bad("it must start with a lowercase letter"));
        }
        _ => {}
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(bad(
            "ids name folders, crates and Rust modules, so only lowercase letters, digits and `_` \
             may be in one",
        ));
    }
    if id.len() > 64 {
        return Err(bad("it is longer than 64 characters"));
    }
    if RESERVED.contains(&id) {
        return Err(bad(
            "it is a Rust keyword or the name of a built-in crate, so `use` could not name it",
        ));
    }
    Ok(())
}

/// A valid id close to an invalid one: `My-Track` → `my_track`.
fn suggest(id: &str) -> Option<String> {
    let mut out = String::new();
    for c in id.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    match out.chars().next() {
        None => None,
        Some(c) if c.is_ascii_digit() => Some(format!("t_{out}")),
        Some(_) if RESERVED.contains(&out.as_str()) => Some(format!("{out}_track")),
        Some(_) => Some(out),
    }
}

/// `kv_store` → `Kv store`.
fn title_of(id: &str) -> String {
    let words = id.replace('_', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// The ids the course loader refuses too: one list, so `dev new` and loading never disagree.
use crate::course::RESERVED_IDS as RESERVED;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_snake_case_identifiers_and_never_keywords() {
        for good in ["tally", "kv_store", "raft2"] {
            assert!(check_id("track", good).is_ok(), "{good}");
        }
        for bad in ["", "My-Track", "2pc", "../x", "type", "std", "a b"] {
            assert!(check_id("track", bad).is_err(), "{bad:?}");
        }
        let err = check_id("track", "My-Track").unwrap_err().to_string();
        assert!(err.contains("e.g. `my_track`"), "{err}");
        let err = check_id("track", "type").unwrap_err().to_string();
        assert!(
            err.contains("keyword") && err.contains("`type_track`"),
            "{err}"
        );
    }

    #[test]
    fn the_new_track_is_appended_and_comments_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("info.toml");
        fs::write(
            &path,
            "# My course.\nformat = 1\nname = \"C\"\n\n# The first track.\n[[tracks]]\nid = \"a\"\ntitle = \"A\"\nstages = [\"s\"]\n",
        )
        .unwrap();
        let text = with_track(&path, "tally", "Tally \"one\"", "basics").unwrap();
        assert!(text.starts_with("# My course.\n"), "{text}");
        assert!(
            text.contains("# The first track.\n[[tracks]]\nid = \"a\""),
            "{text}"
        );
        assert!(
            text.contains("\n\n[[tracks]]\nid = \"tally\"\ntitle = 'Tally \"one\"'"),
            "{text}"
        );
        assert!(text.contains("stages = [\"basics\"]"), "{text}");
    }

    #[test]
    fn titles_are_made_from_ids() {
        assert_eq!(title_of("kv_store"), "Kv store");
    }
}
