//! Loading a course from disk: `info.toml`, then each stage's folder, collecting every problem.
//!
//! Loading never stops at the first problem: an author fixing a course wants the whole list, each
//! with its file, line and fix. Nothing here panics, whatever the input.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;

use super::concepts::{closest_concept, concept_kind};
use super::test_scan::test_functions;
use super::{Course, CourseError, Problem, Rung, Stage, TestLadder, Track};

/// The version of the course format this katas reads.
pub const COURSE_FORMAT: u32 = 1;

/// The test-run time limit of a stage that sets none.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(60);

/// The test run's memory limit (MiB) of a stage that sets none.
pub const DEFAULT_MEMORY_LIMIT_MIB: u64 = crate::runner::DEFAULT_MEMORY_LIMIT_MIB;

/// The memory limits a stage may set (MiB): less than this and the test harness itself fails;
/// more, and a runaway test takes the machine.
const MEMORY_LIMIT_RANGE: std::ops::RangeInclusive<u64> = 64..=65_536;

/// Ids that name a folder katas itself uses in a track (`course/<track>/start`), or the test
/// binary's own `main.rs`: a stage of that name would collide with them.
const TAKEN_STAGE_IDS: &[&str] = &["start", "main"];

/// The longest time limit a stage may set: past this a hung test would hold a grader too long.
const MAX_TIME_LIMIT_SECS: u64 = 3600;

/// The test threads a stage may ask for: more would only multiply a runaway test.
const TEST_THREADS_RANGE: std::ops::RangeInclusive<u64> = 1..=64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    format: Spanned<u32>,
    name: String,
    tracks: Spanned<Vec<RawTrack>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrack {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    summary: String,
    stages: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    title: String,
    concepts: Spanned<Vec<Spanned<String>>>,
    time_limit_secs: Option<Spanned<u64>>,
    memory_limit_mib: Option<Spanned<u64>>,
    test_threads: Option<Spanned<u64>>,
    #[serde(default)]
    features: Vec<Spanned<String>>,
    #[serde(default)]
    strict: bool,
    hints: Spanned<Vec<Spanned<String>>>,
    reflection: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    test_hints: Vec<RawTestLadder>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTestLadder {
    test: Spanned<String>,
    rungs: Spanned<Vec<Spanned<String>>>,
}

/// Finds the course that holds `start`: the nearest folder at or above it with an `info.toml`.
pub fn find_root(start: &Path) -> Result<PathBuf, CourseError> {
    start
        .ancestors()
        .find(|dir| dir.join("info.toml").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| CourseError::NotFound {
            start: start.to_path_buf(),
        })
}

/// Loads and validates the course in `root`.
pub fn load(root: &Path) -> Result<Course, CourseError> {
    if !root.join("info.toml").is_file() {
        return Err(CourseError::NotACourse {
            root: root.to_path_buf(),
        });
    }
    // Absolute, because cargo and the tests run in the crate's folder, not in this one.
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let root = root.as_path();
    // cargo refuses such a path, and the learner would see a build failure they cannot fix in
    // their code (counted as an attempt, too): say what is wrong before anything runs.
    if root.to_str().is_none() {
        return Err(CourseError::Invalid {
            root: root.to_path_buf(),
            problems: vec![Problem {
                file: root.to_path_buf(),
                line: None,
                what: "the course folder's path is not valid UTF-8, and cargo cannot build in \
                       such a folder"
                    .to_owned(),
                fix: "move the course to a folder whose path is UTF-8 (rename the folder with \
                      the odd characters)"
                    .to_owned(),
            }],
        });
    }
    let mut loader = Loader::new(root);
    let course = loader.course();
    match (course, loader.problems.is_empty()) {
        (Some(course), true) => Ok(course),
        _ => Err(CourseError::Invalid {
            root: root.to_path_buf(),
            problems: loader.problems,
        }),
    }
}

struct Loader {
    root: PathBuf,
    /// The canonical root, to tell whether a file (or the link it is) stays inside the course.
    canonical_root: Option<PathBuf>,
    problems: Vec<Problem>,
}

/// A file's text with the name it is reported under.
struct Source {
    file: PathBuf,
    text: String,
    /// The byte offset of every `\n` in `text`, in order: the loader asks the line of every
    /// ladder and text it reads, and counting from the top each time made loading the bundled
    /// course quadratic in a stage file's length (most of katas' start-up time).
    newlines: Vec<usize>,
}

impl Source {
    fn new(file: PathBuf, text: String) -> Self {
        let newlines = text.match_indices('\n').map(|(at, _)| at).collect();
        Self {
            file,
            text,
            newlines,
        }
    }

    /// The 1-based line of a byte offset (as [`line_of`], in logarithmic time).
    fn line(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&at| at < offset) + 1
    }

    fn problem(
        &self,
        offset: Option<usize>,
        what: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        Problem {
            file: self.file.clone(),
            line: offset.map(|o| self.line(o)),
            what: what.into(),
            fix: fix.into(),
        }
    }
}

impl Loader {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            canonical_root: root.canonicalize().ok(),
            problems: Vec::new(),
        }
    }

    fn report(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    fn course(&mut self) -> Option<Course> {
        let source = self.read(Path::new("info.toml"))?;
        let raw: RawIndex = self.parse(&source)?;
        if *raw.format.get_ref() != COURSE_FORMAT {
            let what = format!(
                "course format {} is not one this katas reads (it reads format {COURSE_FORMAT})",
                raw.format.get_ref()
            );
            let fix = if *raw.format.get_ref() > COURSE_FORMAT {
                "update katas to a version that reads this format"
            } else {
                "set `format = 1` and follow docs/course-format.md"
            };
            self.report(source.problem(Some(raw.format.span().start), what, fix));
            return None;
        }
        if raw.tracks.get_ref().is_empty() {
            self.report(source.problem(
                Some(raw.tracks.span().start),
                "the course has no tracks",
                "add a [[tracks]] table (see docs/course-format.md)",
            ));
        }
        let mut tracks: Vec<Track> = Vec::new();
        for raw_track in raw.tracks.into_inner() {
            let offset = raw_track.id.span().start;
            if let Some(track) = self.track(&source, raw_track) {
                if tracks.iter().any(|t| t.id == track.id) {
                    self.report(source.problem(
                        Some(offset),
                        format!("track id `{}` is used twice", track.id),
                        "give every track its own id",
                    ));
                } else {
                    tracks.push(track);
                }
            }
        }
        Some(Course {
            root: self.root.clone(),
            name: raw.name,
            tracks,
        })
    }

    fn track(&mut self, index: &Source, raw: RawTrack) -> Option<Track> {
        let id = raw.id.get_ref().clone();
        if !self.check_id(index, &raw.id, "track") {
            return None;
        }
        let start = Path::new("course")
            .join(&id)
            .join("start")
            .join("Cargo.toml");
        if let Some(problem) = self.check_inside(&start) {
            self.report(problem);
        }
        if raw.stages.get_ref().is_empty() {
            self.report(index.problem(
                Some(raw.stages.span().start),
                format!("track `{id}` has no stages"),
                "list its stages in order: stages = [\"first\", \"second\"]",
            ));
        }
        let mut stages: Vec<Stage> = Vec::new();
        for stage_id in raw.stages.into_inner() {
            if !self.check_id(index, &stage_id, "stage") {
                continue;
            }
            if stages.iter().any(|s| &s.id == stage_id.get_ref()) {
                self.report(index.problem(
                    Some(stage_id.span().start),
                    format!(
                        "stage `{}` is listed twice in track `{id}`",
                        stage_id.get_ref()
                    ),
                    "list each stage once",
                ));
                continue;
            }
            if let Some(stage) = self.stage(&id, stage_id.get_ref(), &start) {
                stages.push(stage);
            }
        }
        Some(Track {
            id,
            title: raw.title,
            summary: raw.summary,
            stages,
        })
    }

    /// A stage of `track`, whose start manifest is `start` (relative to the course).
    fn stage(&mut self, track: &str, id: &str, start: &Path) -> Option<Stage> {
        let dir = Path::new("course").join(track).join(id);
        let manifest = self.read(&dir.join("stage.toml"));
        let brief = self.read(&dir.join("brief.md"));
        let tests = self.read(&dir.join("tests.rs"));
        let (manifest, brief, tests) = (manifest?, brief?, tests?);
        let raw: RawStage = self.parse(&manifest)?;

        if brief.text.trim().is_empty() {
            self.report(brief.problem(
                None,
                "the brief is empty",
                "write the brief: ## Plan, ## Concept, ## Code",
            ));
        }
        let test_names = test_functions(&tests.text);
        if test_names.is_empty() {
            self.report(tests.problem(
                None,
                "no tests found: the file has no #[test] functions",
                "write the stage's tests as #[test] (or #[tokio::test]) functions",
            ));
        }

        let concepts = self.concepts(&manifest, raw.concepts);
        let time_limit = self.time_limit(&manifest, raw.time_limit_secs);
        let memory_limit_mib = self.memory_limit(&manifest, raw.memory_limit_mib);
        let test_threads = self.test_threads(&manifest, raw.test_threads);
        let features = self.features(&manifest, start, raw.features);
        let hints = self.ladder(&manifest, raw.hints, "hints");
        let reflection = self
            .ladder(&manifest, raw.reflection, "reflection")
            .into_iter()
            .map(|rung| rung.text)
            .collect();
        let mut test_hints: Vec<TestLadder> = Vec::new();
        for raw_ladder in raw.test_hints {
            let line = manifest.line(raw_ladder.test.span().start);
            let test = raw_ladder.test.into_inner();
            if test_hints.iter().any(|l| l.test == test) {
                self.report(Problem {
                    file: manifest.file.clone(),
                    line: Some(line),
                    what: format!("test `{test}` has two ladders"),
                    fix: "merge them into one [[test_hints]] table".to_owned(),
                });
                continue;
            }
            let rungs = self.ladder(&manifest, raw_ladder.rungs, "rungs");
            test_hints.push(TestLadder { test, rungs, line });
        }
        Some(Stage {
            id: id.to_owned(),
            title: raw.title,
            brief: brief.text,
            tests: tests.text,
            test_names,
            concepts,
            time_limit,
            memory_limit_mib,
            test_threads,
            features,
            strict: raw.strict,
            hints,
            test_hints,
            reflection,
        })
    }

    fn concepts(&mut self, source: &Source, raw: Spanned<Vec<Spanned<String>>>) -> Vec<String> {
        if raw.get_ref().is_empty() {
            self.report(source.problem(
                Some(raw.span().start),
                "`concepts` is empty",
                "tag the stage with the concepts it exercises (see docs/course-format.md)",
            ));
        }
        let mut concepts = Vec::new();
        for tag in raw.into_inner() {
            let offset = tag.span().start;
            let tag = tag.into_inner();
            if concept_kind(&tag).is_none() {
                let fix = match closest_concept(&tag) {
                    Some(close) => format!(
                        "did you mean `{close}`? (the vocabulary is in docs/course-format.md)"
                    ),
                    None => "use a tag from the vocabulary in docs/course-format.md".to_owned(),
                };
                self.report(source.problem(Some(offset), format!("unknown concept `{tag}`"), fix));
            } else {
                concepts.push(tag);
            }
        }
        concepts
    }

    /// The setting `key` when it lies in `range`; otherwise a problem that says what to use
    /// (`fix`), and `None`.
    fn ranged(
        &mut self,
        source: &Source,
        raw: &Spanned<u64>,
        key: &str,
        range: std::ops::RangeInclusive<u64>,
        fix: String,
    ) -> Option<u64> {
        let value = *raw.get_ref();
        if range.contains(&value) {
            return Some(value);
        }
        self.report(source.problem(
            Some(raw.span().start),
            format!("{key} = {value} is out of range"),
            fix,
        ));
        None
    }

    fn time_limit(&mut self, source: &Source, raw: Option<Spanned<u64>>) -> Duration {
        raw.and_then(|raw| {
            self.ranged(
                source,
                &raw,
                "time_limit_secs",
                1..=MAX_TIME_LIMIT_SECS,
                format!("use a number of seconds from 1 to {MAX_TIME_LIMIT_SECS}"),
            )
        })
        .map_or(DEFAULT_TIME_LIMIT, Duration::from_secs)
    }

    fn test_threads(&mut self, source: &Source, raw: Option<Spanned<u64>>) -> Option<usize> {
        let threads = self.ranged(
            source,
            &raw?,
            "test_threads",
            TEST_THREADS_RANGE,
            format!(
                "use a number of threads from {} to {}, or leave it out for libtest's default (one per core)",
                TEST_THREADS_RANGE.start(),
                TEST_THREADS_RANGE.end()
            ),
        )?;
        usize::try_from(threads).ok()
    }

    /// The stage's `features`: each must be one the track's start manifest defines (an optional
    /// dependency or a `[features]` entry), or katas could not switch it on.
    fn features(
        &mut self,
        source: &Source,
        start: &Path,
        raw: Vec<Spanned<String>>,
    ) -> Vec<String> {
        if raw.is_empty() {
            return Vec::new();
        }
        // A start manifest that is missing or does not parse is reported where it is read.
        let defined = std::fs::read_to_string(self.root.join(start))
            .ok()
            .and_then(|text| text.parse::<toml_edit::DocumentMut>().ok())
            .map(|doc| crate::layout::features::defined(&doc));
        let mut features: Vec<String> = Vec::new();
        for feature in raw {
            let offset = feature.span().start;
            let feature = feature.into_inner();
            if features.contains(&feature) {
                self.report(source.problem(
                    Some(offset),
                    format!("feature `{feature}` is listed twice"),
                    "list each feature once",
                ));
                continue;
            }
            if let Some(defined) = &defined
                && !defined.contains(&feature)
            {
                let known: Vec<&str> = defined.iter().map(String::as_str).collect();
                self.report(source.problem(
                    Some(offset),
                    format!(
                        "feature `{feature}` is not defined by {} (it defines: {})",
                        start.display(),
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                    format!(
                        "declare the dependency there with `optional = true` (its feature is its \
                         name), or add `{feature} = [...]` to its [features]; or remove it from \
                         `features`"
                    ),
                ));
                continue;
            }
            features.push(feature);
        }
        features
    }

    fn memory_limit(&mut self, source: &Source, raw: Option<Spanned<u64>>) -> u64 {
        raw.and_then(|raw| {
            self.ranged(
                source,
                &raw,
                "memory_limit_mib",
                MEMORY_LIMIT_RANGE,
                format!(
                    "use a number of MiB from {} to {} (the default is {DEFAULT_MEMORY_LIMIT_MIB})",
                    MEMORY_LIMIT_RANGE.start(),
                    MEMORY_LIMIT_RANGE.end()
                ),
            )
        })
        .unwrap_or(DEFAULT_MEMORY_LIMIT_MIB)
    }

    fn ladder(
        &mut self,
        source: &Source,
        raw: Spanned<Vec<Spanned<String>>>,
        key: &str,
    ) -> Vec<Rung> {
        if raw.get_ref().is_empty() {
            self.report(source.problem(
                Some(raw.span().start),
                format!("`{key}` is empty"),
                format!("write the {key} (see docs/course-format.md)"),
            ));
        }
        let mut rungs = Vec::new();
        for text in raw.into_inner() {
            let line = source.line(text.span().start);
            let text = text.into_inner();
            if text.trim().is_empty() {
                self.report(Problem {
                    file: source.file.clone(),
                    line: Some(line),
                    what: format!("an entry of `{key}` is blank"),
                    fix: "write it, or remove it".to_owned(),
                });
            } else {
                rungs.push(Rung {
                    text: text.trim().to_owned(),
                    line,
                });
            }
        }
        rungs
    }

    /// Ids name folders and Rust modules, so they must be snake_case identifiers: that also rules
    /// out `..`, `/` and absolute paths, so no id can lead outside the course folder.
    fn check_id(&mut self, source: &Source, id: &Spanned<String>, what: &str) -> bool {
        let name = id.get_ref();
        let reserved = RESERVED_IDS.contains(&name.as_str());
        let taken = what == "stage" && TAKEN_STAGE_IDS.contains(&name.as_str());
        if reserved || taken {
            let why = if reserved {
                "a Rust keyword or the name of a crate every Rust program has".to_owned()
            } else {
                format!("a name katas uses itself in every track (`{name}`)")
            };
            self.report(source.problem(
                Some(id.span().start),
                format!(
                    "{what} id `{name}` is {why}: learners would see compiler errors, not your \
                     stage"
                ),
                format!(
                    "rename the {what} in info.toml and its folder, e.g. `{name}_{what}` \
                     (`katas dev new` refuses such ids for the same reason)"
                ),
            ));
            return false;
        }
        if is_identifier(name) {
            return true;
        }
        self.report(source.problem(
            Some(id.span().start),
            format!(
                "{what} id `{}` is not a snake_case identifier",
                id.get_ref()
            ),
            format!(
                "{what} ids name folders and Rust modules: use lowercase letters, digits and `_`, \
                 starting with a letter (no `/`, `..` or spaces)"
            ),
        ));
        false
    }

    /// `None` when `relative` exists and stays inside the course; else the problem.
    fn check_inside(&self, relative: &Path) -> Option<Problem> {
        let path = self.root.join(relative);
        let problem = |what: String, fix: &str| {
            Some(Problem {
                file: relative.to_path_buf(),
                line: None,
                what,
                fix: fix.to_owned(),
            })
        };
        let Ok(canonical) = path.canonicalize() else {
            return problem(
                "missing file".to_owned(),
                "create it (docs/course-format.md says what belongs there)",
            );
        };
        match &self.canonical_root {
            Some(root) if !canonical.starts_with(root) => problem(
                format!(
                    "leads outside the course folder (to {})",
                    canonical.display()
                ),
                "course files must live inside the course folder: replace the link with the file",
            ),
            _ => None,
        }
    }

    fn read(&mut self, relative: &Path) -> Option<Source> {
        if let Some(problem) = self.check_inside(relative) {
            self.report(problem);
            return None;
        }
        // Opening a FIFO for reading waits for a writer forever: look before opening.
        if let Ok(meta) = std::fs::metadata(self.root.join(relative))
            && !meta.is_file()
        {
            let kind = if meta.is_dir() {
                "a folder"
            } else {
                "not a regular file (a FIFO, a socket or a device)"
            };
            self.report(Problem {
                file: relative.to_path_buf(),
                line: None,
                what: format!("is {kind}"),
                fix: "make it a plain UTF-8 text file".to_owned(),
            });
            return None;
        }
        match std::fs::read_to_string(self.root.join(relative)) {
            Ok(text) => Some(Source::new(relative.to_path_buf(), text)),
            Err(err) => {
                self.report(Problem {
                    file: relative.to_path_buf(),
                    line: None,
                    what: format!("cannot be read: {err}"),
                    fix: "make it a readable UTF-8 text file".to_owned(),
                });
                None
            }
        }
    }

    fn parse<T: DeserializeOwned>(&mut self, source: &Source) -> Option<T> {
        match toml::from_str(&source.text) {
            Ok(value) => Some(value),
            Err(err) => {
                let message = err.message().trim().to_owned();
                let fix = if message.contains("unknown field") {
                    "remove or rename the key: the keys this table takes are listed above"
                        .to_owned()
                } else if message.contains("missing field") {
                    "add the key (docs/course-format.md shows each one)".to_owned()
                } else {
                    "fix the TOML at that line".to_owned()
                };
                self.report(source.problem(err.span().map(|s| s.start), message, fix));
                None
            }
        }
    }
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Rust's keywords (strict and reserved) and the crates every program can name: an id is a
/// module name (`mod fn;` does not compile) and a folder, so it may be none of them.
pub const RESERVED_IDS: &[&str] = &[
    "as",
    "async",
    "await",
    "break",
    "const",
    "continue",
    "crate",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "fn",
    "for",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "match",
    "mod",
    "move",
    "mut",
    "pub",
    "ref",
    "return",
    "self",
    "Self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "gen",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
];

pub(crate) fn is_identifier(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_snake_case_and_never_paths() {
        assert!(is_identifier("kv_store"));
        assert!(is_identifier("stage2"));
        for bad in ["", "..", "../x", "/abs", "Kv", "2nd", "a-b", "a b"] {
            assert!(!is_identifier(bad), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn lines_are_counted_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
        let source = Source::new(PathBuf::from("s"), "a\nb\n\nc".to_owned());
        for offset in 0..10 {
            assert_eq!(
                source.line(offset),
                line_of(&source.text, offset),
                "{offset}"
            );
        }
    }
}
