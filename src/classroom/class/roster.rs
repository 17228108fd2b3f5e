//! The roster: the file that lists a class's learners and where each one's work is, and the
//! shards a roster is split into when a class outgrows one machine.
//!
//! ```toml
//! [[learner]]
//! name = "ada"
//! git = "https://github.com/my-org/kv-assignment-ada.git"
//! ref = "main"            # optional: a branch, a tag or a commit; default the remote's HEAD
//!
//! [[learner]]
//! name = "bob"
//! path = "submissions/bob"  # a local folder, relative to the roster file
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One learner of the roster, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learner {
    /// The position in the roster, which orders every report (and lets shards merge back).
    pub index: usize,
    pub name: String,
    pub source: Source,
}

/// Where a learner's work is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A git repository, fetched shallow; `reference` is a branch, tag or commit.
    Git {
        url: String,
        reference: Option<String>,
    },
    /// A folder on this machine (a clone the teacher made, an unpacked hand-in).
    Folder(PathBuf),
}

impl Source {
    /// The source in words, for reports: the URL (with its ref) or the folder.
    pub fn describe(&self) -> String {
        match self {
            Source::Git {
                url,
                reference: Some(r),
            } => format!("{url}#{r}"),
            Source::Git { url, .. } => url.clone(),
            Source::Folder(dir) => dir.display().to_string(),
        }
    }
}

/// Why a roster cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("cannot read the roster {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the roster {} is not valid TOML for a roster: {message}\nfix: list learners as \
         [[learner]] tables with `name` and either `git` (and an optional `ref`) or `path` \
         (docs/teachers-guide.md, \"The whole class, from your side\")",
        path.display()
    )]
    Syntax { path: PathBuf, message: String },
    #[error("the roster {} is wrong:\n{}", path.display(), problems.join("\n"))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterFile {
    #[serde(default)]
    learner: Vec<LearnerEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LearnerEntry {
    name: String,
    git: Option<String>,
    #[serde(rename = "ref")]
    reference: Option<String>,
    path: Option<PathBuf>,
}

/// Reads and checks a roster; folders are made relative to the roster's own folder.
pub fn load(path: &Path) -> Result<Vec<Learner>, RosterError> {
    let text = std::fs::read_to_string(path).map_err(|source| RosterError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, base).map_err(|err| match err {
        ParseError::Syntax(message) => RosterError::Syntax {
            path: path.to_path_buf(),
            message,
        },
        ParseError::Invalid(problems) => RosterError::Invalid {
            path: path.to_path_buf(),
            problems,
        },
    })
}

enum ParseError {
    Syntax(String),
    Invalid(Vec<String>),
}

fn parse(text: &str, base: &Path) -> Result<Vec<Learner>, ParseError> {
    let file: RosterFile =
        toml::from_str(text).map_err(|err| ParseError::Syntax(err.message().to_owned()))?;
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    let mut learners = Vec::new();
    if file.learner.is_empty() {
        problems.push(
            "it lists no learner: add a [[learner]] table with `name` and `git` or `path`"
                .to_owned(),
        );
    }
    for (index, entry) in file.learner.into_iter().enumerate() {
        let at = format!("learner {} (`{}`)", index + 1, entry.name.escape_debug());
        let name = entry.name.trim().to_owned();
        if name.is_empty() || name.chars().any(char::is_control) {
            problems.push(format!(
                "{at}: a name must be printable and not empty (it names the learner's report files)"
            ));
        } else if !names.insert(name.to_lowercase()) {
            problems.push(format!(
                "{at}: the name is used twice (names are compared ignoring case): give each \
                 learner their own"
            ));
        }
        let source = match (entry.git, entry.path, entry.reference) {
            (Some(url), None, reference) => {
                if url.trim().is_empty() || url.starts_with('-') {
                    problems.push(format!("{at}: `git` must be a repository URL"));
                }
                if reference
                    .as_deref()
                    .is_some_and(|r| r.starts_with('-') || r.trim().is_empty())
                {
                    problems.push(format!(
                        "{at}: `ref` must be a branch, a tag or a commit, not an option"
                    ));
                }
                Source::Git { url, reference }
            }
            (None, Some(dir), None) => Source::Folder(base.join(dir)),
            (None, Some(_), Some(_)) => {
                problems.push(format!(
                    "{at}: `ref` goes with `git`; a folder is graded as it is"
                ));
                continue;
            }
            (Some(_), Some(_), _) => {
                problems.push(format!(
                    "{at}: give `git` or `path`, not both: where is the work?"
                ));
                continue;
            }
            (None, None, _) => {
                problems.push(format!(
                    "{at}: say where the work is: `git = \"URL\"` or `path = \"folder\"`"
                ));
                continue;
            }
        };
        learners.push(Learner {
            index,
            name,
            source,
        });
    }
    if problems.is_empty() {
        Ok(learners)
    } else {
        Err(ParseError::Invalid(problems))
    }
}

/// One shard of a roster: the `index`-th (from 1) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole roster as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N`, 1 ≤ K ≤ N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!(
                "`{text}` is not a shard: write K/N with 1 ≤ K ≤ N, e.g. `--shard 2/4` for the \
                 second of four"
            )
        };
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether the learner at roster position `index` is in this shard. Learners are dealt out
    /// in turn, so that shards stay even when a roster is sorted by anything that costs time.
    pub fn holds(self, index: usize) -> bool {
        index % self.count == self.index - 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match parse(text, Path::new("/class")) {
            Err(ParseError::Invalid(p)) => p,
            Err(ParseError::Syntax(s)) => vec![s],
            Ok(_) => Vec::new(),
        }
    }

    #[test]
    fn a_roster_lists_git_repositories_and_folders_in_order() {
        let learners = parse(
            "[[learner]]\nname = \"ada\"\ngit = \"file:///r/ada\"\nref = \"main\"\n\n\
             [[learner]]\nname = \"bob\"\npath = \"subs/bob\"\n",
            Path::new("/class"),
        )
        .ok()
        .unwrap();
        assert_eq!(learners.len(), 2);
        assert_eq!(
            learners[0].source,
            Source::Git {
                url: "file:///r/ada".into(),
                reference: Some("main".into())
            }
        );
        assert_eq!(
            learners[1].source,
            Source::Folder(PathBuf::from("/class/subs/bob"))
        );
        assert_eq!(learners[1].index, 1);
    }

    #[test]
    fn every_problem_of_a_roster_is_named() {
        let found = problems(
            "[[learner]]\nname = \"ada\"\ngit = \"u\"\npath = \"p\"\n\
             [[learner]]\nname = \"Ada\"\ngit = \"u\"\n\
             [[learner]]\nname = \"cy\"\n\
             [[learner]]\nname = \"dan\"\ngit = \"u\"\nref = \"--upload-pack=x\"\n",
        );
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].contains("not both"), "{found:?}");
        assert!(found[1].contains("used twice"), "{found:?}");
        assert!(found[2].contains("say where the work is"), "{found:?}");
        assert!(found[3].contains("not an option"), "{found:?}");
        assert!(problems("[[learner]]\nname = \"a\"\nurl = \"u\"\n")[0].contains("unknown field"));
        assert!(problems("")[0].contains("no learner"));
    }

    #[test]
    fn shards_deal_the_roster_out_in_turn_and_cover_it_once() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let shards: Vec<Shard> = (1..=3).map(|index| Shard { index, count: 3 }).collect();
        for learner in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.holds(learner)).count(), 1);
        }
        assert!(shards[0].holds(0) && shards[1].holds(1) && shards[0].holds(3));
    }
}
