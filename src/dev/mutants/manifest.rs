//! Loading a stage's `mutants.toml`: its mutants (plausible wrong solutions) and alternatives
//! (independent correct ones), each a patch against the stage's reference solution.
//!
//! Like the course loader, it never stops at the first problem: every one is reported with its
//! file, line and fix. The format is in docs/course-format.md ("Mutants and alternatives").

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::patch;
use crate::course::{Course, Problem, Stage, Track, is_identifier, line_of};

/// The file, in a stage's folder, that lists its mutants and alternatives.
pub const MANIFEST: &str = "mutants.toml";

/// The folders of a stage that hold the patches (left out of a learners' copy).
pub const PATCH_FOLDERS: [&str; 2] = ["mutants", "alternatives"];

/// The most runs a mutant may ask for: past this, make the test deterministic instead.
const MAX_RUNS: i64 = 20;

/// A wrong solution that the stage's tests must reject, or a correct one they must accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub kind: VariantKind,
    pub name: String,
    /// The bug (a mutant) or the design (an alternative), one line.
    pub description: String,
    /// The patch file, relative to the course root (for messages).
    pub patch_file: PathBuf,
    /// The patch's text.
    pub patch: String,
    /// How many runs must all fail for a mutant to count as killed (1 for alternatives).
    pub runs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VariantKind {
    Mutant,
    Alternative,
}

/// A stage's variants, mutants first, in the file's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageVariants {
    pub variants: Vec<Variant>,
}

impl StageVariants {
    pub fn mutants(&self) -> impl Iterator<Item = &Variant> {
        self.variants
            .iter()
            .filter(|v| v.kind == VariantKind::Mutant)
    }

    pub fn alternatives(&self) -> impl Iterator<Item = &Variant> {
        self.variants
            .iter()
            .filter(|v| v.kind == VariantKind::Alternative)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    mutant: Vec<RawMutant>,
    #[serde(default)]
    alternative: Vec<RawAlternative>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMutant {
    name: Spanned<String>,
    bug: Spanned<String>,
    patch: Spanned<String>,
    runs: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlternative {
    name: Spanned<String>,
    design: Spanned<String>,
    patch: Spanned<String>,
}

/// One entry of either list, before validation.
struct RawVariant {
    kind: VariantKind,
    name: Spanned<String>,
    description: Spanned<String>,
    patch: Spanned<String>,
    runs: Option<Spanned<i64>>,
}

/// The stage's variants: `Ok(None)` when it has no `mutants.toml`, else every problem found.
pub fn load(
    course: &Course,
    track: &Track,
    stage: &Stage,
) -> Result<Option<StageVariants>, Vec<Problem>> {
    let dir = course.stage_dir(track, stage);
    let file = course.display_path(&dir.join(MANIFEST)).to_path_buf();
    let path = dir.join(MANIFEST);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|err| {
        vec![Problem {
            file: file.clone(),
            line: None,
            what: format!("cannot be read: {err}"),
            fix: "make it a readable UTF-8 text file".to_owned(),
        }]
    })?;
    let mut loader = Loader {
        course,
        dir: &dir,
        file,
        text: &text,
        problems: Vec::new(),
    };
    let variants = loader.variants();
    if loader.problems.is_empty() {
        Ok(Some(variants))
    } else {
        Err(loader.problems)
    }
}

struct Loader<'a> {
    course: &'a Course,
    /// The stage folder.
    dir: &'a Path,
    /// The manifest, relative to the course root.
    file: PathBuf,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Loader<'_> {
    fn problem(&mut self, offset: Option<usize>, what: impl Into<String>, fix: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.clone(),
            line: offset.map(|o| line_of(self.text, o)),
            what: what.into(),
            fix: fix.into(),
        });
    }

    fn variants(&mut self) -> StageVariants {
        let raw: RawManifest = match toml::from_str(self.text) {
            Ok(raw) => raw,
            Err(err) => {
                let message = err.message().trim().to_owned();
                let fix = if message.contains("unknown field") {
                    "a [[mutant]] takes name, bug, patch and runs; an [[alternative]] takes name, \
                     design and patch (docs/course-format.md)"
                } else if message.contains("missing field") {
                    "add the key (docs/course-format.md shows each one)"
                } else {
                    "fix the TOML at that line"
                };
                self.problem(err.span().map(|s| s.start), message, fix);
                return StageVariants::default();
            }
        };
        if raw.mutant.is_empty() && raw.alternative.is_empty() {
            self.problem(
                None,
                "lists no mutant and no alternative",
                "add [[mutant]] and [[alternative]] tables, or remove the file",
            );
        }
        let entries = raw
            .mutant
            .into_iter()
            .map(|m| RawVariant {
                kind: VariantKind::Mutant,
                name: m.name,
                description: m.bug,
                patch: m.patch,
                runs: m.runs,
            })
            .chain(raw.alternative.into_iter().map(|a| RawVariant {
                kind: VariantKind::Alternative,
                name: a.name,
                description: a.design,
                patch: a.patch,
                runs: None,
            }));
        let mut variants = StageVariants::default();
        let mut names = BTreeSet::new();
        let mut patches = BTreeSet::new();
        for entry in entries {
            if let Some(variant) = self.variant(entry, &mut names, &mut patches) {
                variants.variants.push(variant);
            }
        }
        self.unlisted_patches(&patches);
        variants
    }

    fn variant(
        &mut self,
        raw: RawVariant,
        names: &mut BTreeSet<String>,
        patches: &mut BTreeSet<PathBuf>,
    ) -> Option<Variant> {
        let before = self.problems.len();
        let name = raw.name.get_ref().clone();
        let at = Some(raw.name.span().start);
        if !is_identifier(&name) {
            self.problem(
                at,
                format!("`{name}` is not a snake_case name"),
                "name it with lowercase letters, digits and `_`, starting with a letter",
            );
        } else if !names.insert(name.clone()) {
            self.problem(
                at,
                format!("the name `{name}` is used twice in this stage"),
                "give every mutant and alternative of a stage its own name",
            );
        }
        let key = match raw.kind {
            VariantKind::Mutant => "bug",
            VariantKind::Alternative => "design",
        };
        let description = raw.description.get_ref().trim().to_owned();
        if description.is_empty() || description.contains('\n') {
            self.problem(
                Some(raw.description.span().start),
                format!("`{key}` of `{name}` must be one line, and not blank"),
                match raw.kind {
                    VariantKind::Mutant => "say the bug as a learner would write it, in one line",
                    VariantKind::Alternative => "say the design in one line",
                },
            );
        }
        let runs = match raw.runs {
            None => 1,
            Some(runs) => match u32::try_from(*runs.get_ref()) {
                Ok(n) if (1..=MAX_RUNS).contains(&i64::from(n)) => n,
                _ => {
                    self.problem(
                        Some(runs.span().start),
                        format!("runs = {} is out of range", runs.get_ref()),
                        format!(
                            "use 1 to {MAX_RUNS}; better, make the test deterministic so 1 suffices"
                        ),
                    );
                    1
                }
            },
        };
        let patch = self.patch(&name, &raw.patch, patches);
        if self.problems.len() > before {
            return None;
        }
        let (patch_file, patch) = patch?;
        Some(Variant {
            kind: raw.kind,
            name,
            description,
            patch_file,
            patch,
            runs,
        })
    }

    /// The patch file's path (relative to the course root) and text, checked to parse.
    fn patch(
        &mut self,
        name: &str,
        raw: &Spanned<String>,
        patches: &mut BTreeSet<PathBuf>,
    ) -> Option<(PathBuf, String)> {
        let at = Some(raw.span().start);
        let relative = PathBuf::from(raw.get_ref());
        if relative.as_os_str().is_empty()
            || !relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            self.problem(
                at,
                format!(
                    "the patch of `{name}`, `{}`, is not a path inside the stage folder",
                    raw.get_ref()
                ),
                "write it relative to the stage folder, e.g. patch = \"mutants/my_bug.patch\"",
            );
            return None;
        }
        let path = self.dir.join(&relative);
        let shown = self.course.display_path(&path).to_path_buf();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                self.problem(
                    at,
                    format!("the patch of `{name}`, {}, does not exist", shown.display()),
                    "write it (`diff -ru reference/ variant/ > that file`), or fix the path",
                );
                return None;
            }
            Err(err) => {
                self.problem(
                    at,
                    format!(
                        "the patch of `{name}`, {}, cannot be read: {err}",
                        shown.display()
                    ),
                    "make it a readable UTF-8 text file",
                );
                return None;
            }
        };
        patches.insert(relative);
        if let Err(err) = patch::changes(&text) {
            self.problems.push(Problem {
                file: shown,
                line: None,
                what: format!("the patch of `{name}` {err}"),
                fix: "regenerate it: `diff -ru a/ b/ > file` with a/ the reference crate and b/ \
                      the variant"
                    .to_owned(),
            });
            return None;
        }
        Some((shown, text))
    }

    /// A patch in `mutants/` or `alternatives/` that no entry names is a forgotten mutant.
    fn unlisted_patches(&mut self, listed: &BTreeSet<PathBuf>) {
        for folder in PATCH_FOLDERS {
            let Ok(entries) = std::fs::read_dir(self.dir.join(folder)) else {
                continue;
            };
            let mut unlisted: Vec<PathBuf> = entries
                .flatten()
                .map(|e| Path::new(folder).join(e.file_name()))
                .filter(|p| !listed.contains(p))
                .collect();
            unlisted.sort();
            for path in unlisted {
                self.problem(
                    None,
                    format!(
                        "{} is in the stage folder but no entry lists it",
                        path.display()
                    ),
                    "add a [[mutant]] or [[alternative]] with that patch, or delete the file",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a\n+b\n";

    /// The mini fixture course, with this `mutants.toml` and these patch files in `counter/count`.
    fn load_with(
        manifest: &str,
        files: &[(&str, &str)],
    ) -> Result<Option<StageVariants>, Vec<Problem>> {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("mini");
        crate::fsutil::copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini"),
            &root,
        )
        .unwrap();
        let stage_dir = root.join("course/counter/count");
        std::fs::write(stage_dir.join(MANIFEST), manifest).unwrap();
        for (path, text) in files {
            let path = stage_dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let course = crate::course::load(&root).unwrap();
        let track = &course.tracks[0];
        load(&course, track, &track.stages[0])
    }

    fn problems(manifest: &str, files: &[(&str, &str)]) -> Vec<String> {
        load_with(manifest, files)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_valid_manifest_loads_mutants_then_alternatives() {
        let manifest = "[[alternative]]\nname = \"other\"\ndesign = \"another way\"\npatch = \"alternatives/other.patch\"\n\n[[mutant]]\nname = \"off_by_one\"\nbug = \"counts twice\"\npatch = \"mutants/off_by_one.patch\"\nruns = 3\n";
        let variants = load_with(
            manifest,
            &[
                ("mutants/off_by_one.patch", PATCH),
                ("alternatives/other.patch", PATCH),
            ],
        )
        .unwrap()
        .unwrap();
        let names: Vec<_> = variants
            .variants
            .iter()
            .map(|v| (v.name.as_str(), v.runs))
            .collect();
        assert_eq!(names, [("off_by_one", 3), ("other", 1)]);
        assert_eq!(
            variants.variants[0].patch_file,
            Path::new("course/counter/count/mutants/off_by_one.patch")
        );
    }

    #[test]
    fn no_manifest_is_no_variants() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("mini");
        crate::fsutil::copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini"),
            &root,
        )
        .unwrap();
        let course = crate::course::load(&root).unwrap();
        let track = &course.tracks[0];
        assert_eq!(load(&course, track, &track.stages[0]), Ok(None));
    }

    #[test]
    fn bad_toml_names_the_file_and_the_line() {
        let found = problems("[[mutant]]\nname = \"x\"\nbug = \"y\npatch = 3\n", &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("course/counter/count/mutants.toml:3:"),
            "{found:?}"
        );
        let found = problems(
            "[[mutant]]\nname = \"x\"\nbugs = \"y\"\npatch = \"p\"\n",
            &[],
        );
        assert!(found[0].contains(":3: unknown field `bugs`"), "{found:?}");
        assert!(
            found[0].contains("fix: a [[mutant]] takes name, bug, patch and runs"),
            "{found:?}"
        );
    }

    #[test]
    fn a_missing_patch_is_named_with_its_line_and_fix() {
        let found = problems(
            "[[mutant]]\nname = \"lost\"\nbug = \"y\"\npatch = \"mutants/lost.patch\"\n",
            &[],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("course/counter/count/mutants.toml:4: the patch of `lost`, course/counter/count/mutants/lost.patch, does not exist"),
            "{found:?}"
        );
        assert!(found[0].contains("fix: write it"), "{found:?}");
    }

    #[test]
    fn duplicate_names_bad_runs_and_stray_patches_are_each_reported() {
        let manifest = "[[mutant]]\nname = \"twice\"\nbug = \"a\"\npatch = \"mutants/a.patch\"\nruns = 0\n\n[[alternative]]\nname = \"twice\"\ndesign = \"b\"\npatch = \"mutants/a.patch\"\n";
        let found = problems(
            manifest,
            &[("mutants/a.patch", PATCH), ("mutants/stray.patch", PATCH)],
        );
        assert!(
            found
                .iter()
                .any(|p| p.contains(":5: runs = 0 is out of range")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.contains(":8: the name `twice` is used twice in this stage")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p
                    .contains("mutants/stray.patch is in the stage folder but no entry lists it")),
            "{found:?}"
        );
    }

    #[test]
    fn a_patch_that_is_not_a_diff_or_escapes_is_refused() {
        let found = problems(
            "[[mutant]]\nname = \"junk\"\nbug = \"y\"\npatch = \"mutants/junk.patch\"\n",
            &[("mutants/junk.patch", "not a diff\n")],
        );
        assert!(
            found[0].contains("mutants/junk.patch: the patch of `junk` is not a unified diff"),
            "{found:?}"
        );
        let found = problems(
            "[[mutant]]\nname = \"out\"\nbug = \"y\"\npatch = \"../count/tests.rs\"\n",
            &[],
        );
        assert!(
            found[0].contains(
                ":4: the patch of `out`, `../count/tests.rs`, is not a path inside the stage folder"
            ),
            "{found:?}"
        );
    }
}
