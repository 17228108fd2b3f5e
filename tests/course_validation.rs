//! Loading a course: every kind of mistake an author can make is reported with the file, the
//! line where there is one, and a fix - and no input, however broken, makes katas panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::Path;

use common::edit;
use katas::course::{self, CourseError, Problem};

/// The problems of the fixture course after `damage` was done to it.
fn problems_after(damage: impl FnOnce(&Path)) -> Vec<Problem> {
    let (_dir, root) = common::course("mini");
    damage(&root);
    match course::load(&root) {
        Err(CourseError::Invalid { problems, .. }) => problems,
        Ok(_) => panic!("the damaged course loaded"),
        Err(other) => panic!("expected a list of problems, got: {other}"),
    }
}

fn one(problems: &[Problem], needle: &str) -> Problem {
    problems
        .iter()
        .find(|p| p.to_string().contains(needle))
        .unwrap_or_else(|| panic!("no problem mentions {needle:?}: {problems:#?}"))
        .clone()
}

#[test]
fn the_fixture_course_is_valid() {
    let (_dir, root) = common::course("mini");
    let course = course::load(&root).unwrap();
    assert_eq!(course.tracks[0].stages.len(), 2);
    assert_eq!(
        course.tracks[0].stages[0].test_names,
        ["starts_at_zero", "counts_each_bump"]
    );
}

#[test]
fn an_unknown_key_in_info_toml() {
    let problems = problems_after(|root| {
        edit(
            &root.join("info.toml"),
            "title = \"A counter\"",
            "titel = \"A counter\"",
        )
    });
    let p = one(&problems, "titel");
    assert_eq!((p.file.to_str(), p.line), (Some("info.toml"), Some(7)));
}

#[test]
fn an_unknown_key_in_a_stage() {
    let problems = problems_after(|root| {
        edit(
            &root.join("course/counter/count/stage.toml"),
            "reflection =",
            "reflections =",
        )
    });
    let p = one(&problems, "reflections");
    assert!(
        p.file.ends_with("count/stage.toml") && p.line.is_some(),
        "{p}"
    );
}

#[test]
fn duplicate_track_and_stage_ids() {
    let problems = problems_after(|root| {
        let info = root.join("info.toml");
        let text = fs::read_to_string(&info).unwrap();
        let track = text.split_once("[[tracks]]").unwrap().1.to_owned();
        fs::write(&info, format!("{text}\n[[tracks]]{track}")).unwrap();
        edit(
            &info,
            "stages = [\"count\", \"reset\"]",
            "stages = [\"count\", \"count\"]",
        );
    });
    assert_eq!(
        one(&problems, "track id `counter` is used twice").line,
        Some(12)
    );
    one(&problems, "stage `count` is listed twice");
}

#[test]
fn missing_files_are_named() {
    let problems = problems_after(|root| {
        fs::remove_file(root.join("course/counter/reset/brief.md")).unwrap();
        fs::remove_file(root.join("course/counter/start/Cargo.toml")).unwrap();
    });
    assert!(one(&problems, "brief.md").what.contains("missing file"));
    one(&problems, "start/Cargo.toml");
}

#[test]
fn ids_that_would_escape_the_course_folder_are_refused() {
    for bad in ["../../etc", "/etc", "a/b", "Count"] {
        let problems = problems_after(|root| {
            edit(&root.join("info.toml"), "\"reset\"]", &format!("{bad:?}]"))
        });
        let p = one(&problems, "is not a snake_case identifier");
        assert!(p.fix.contains("no `/`, `..`"), "{p}");
    }
}

#[cfg(unix)]
#[test]
fn a_symlink_out_of_the_course_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.rs"), "#[test]\nfn t() {}\n").unwrap();
    let problems = problems_after(|root| {
        let tests = root.join("course/counter/reset/tests.rs");
        fs::remove_file(&tests).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.rs"), tests).unwrap();
    });
    one(&problems, "leads outside the course folder");
}

#[test]
fn empty_ladders_and_reflections() {
    let problems = problems_after(|root| {
        let stage = root.join("course/counter/reset/stage.toml");
        let text = fs::read_to_string(&stage).unwrap();
        let start = text.find("hints = [").unwrap();
        let end = text[start..].find("]\n").unwrap() + start + 1;
        fs::write(
            &stage,
            format!("{}hints = []{}", &text[..start], &text[end..]),
        )
        .unwrap();
        edit(
            &stage,
            "reflection = [\"Is a reset an event worth logging?\", \"What if a bump races a reset?\"]",
            "reflection = []",
        );
    });
    one(&problems, "`hints` is empty");
    one(&problems, "`reflection` is empty");
}

#[test]
fn an_unknown_concept_suggests_the_likely_one() {
    let problems = problems_after(|root| {
        edit(
            &root.join("course/counter/count/stage.toml"),
            "\"borrowing\"",
            "\"borowing\"",
        )
    });
    let p = one(&problems, "unknown concept `borowing`");
    assert!(p.fix.contains("did you mean `borrowing`?"), "{p}");
    assert_eq!(p.line, Some(2));
}

#[test]
fn a_stage_without_tests() {
    let problems = problems_after(|root| {
        fs::write(
            root.join("course/counter/reset/tests.rs"),
            "// nothing yet\n",
        )
        .unwrap()
    });
    one(&problems, "no tests found");
}

#[test]
fn a_newer_format_asks_for_a_newer_katas() {
    let problems = problems_after(|root| edit(&root.join("info.toml"), "format = 1", "format = 2"));
    assert!(
        one(&problems, "course format 2")
            .fix
            .contains("update katas")
    );
}

#[test]
fn an_out_of_range_time_limit() {
    let problems = problems_after(|root| {
        edit(
            &root.join("course/counter/count/stage.toml"),
            "time_limit_secs = 10",
            "time_limit_secs = 0",
        )
    });
    one(&problems, "time_limit_secs = 0 is out of range");
}

#[test]
fn broken_toml_points_at_its_line() {
    let problems = problems_after(|root| {
        edit(
            &root.join("course/counter/reset/stage.toml"),
            "title = \"Resetting\"",
            "title = \"Resetting",
        )
    });
    assert_eq!(one(&problems, "stage.toml").line, Some(1));
}

#[test]
fn all_problems_are_reported_at_once() {
    let problems = problems_after(|root| {
        edit(
            &root.join("course/counter/count/stage.toml"),
            "\"borrowing\"",
            "\"borowing\"",
        );
        fs::remove_file(root.join("course/counter/reset/tests.rs")).unwrap();
    });
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

/// Seeded mutations of every course file: each must load or fail with problems, never panic.
#[test]
fn no_damage_makes_loading_panic() {
    let (_dir, root) = common::course("mini");
    let files = [
        "info.toml",
        "course/counter/count/stage.toml",
        "course/counter/reset/stage.toml",
        "course/counter/count/tests.rs",
    ];
    let originals: Vec<Vec<u8>> = files
        .iter()
        .map(|f| fs::read(root.join(f)).unwrap())
        .collect();
    let mut seed: u64 = 0x5eed_cafe;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..300 {
        let which = round % files.len();
        let mut bytes = originals[which].clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % bytes.len().max(1);
            match next() % 3 {
                0 => bytes[at] = (next() % 256) as u8,
                1 => drop(bytes.drain(at..(at + (next() % 40) as usize).min(bytes.len()))),
                _ => bytes.insert(at, b"[]\"=\n#{"[(next() % 7) as usize]),
            }
        }
        fs::write(root.join(files[which]), &bytes).unwrap();
        let _ = course::load(&root);
        fs::write(root.join(files[which]), &originals[which]).unwrap();
    }
}

#[test]
fn ids_that_are_keywords_or_clash_with_katas_own_names_are_refused() {
    for (from, to) in [
        (
            "stages = [\"count\", \"reset\"]",
            "stages = [\"fn\", \"reset\"]",
        ),
        (
            "stages = [\"count\", \"reset\"]",
            "stages = [\"count\", \"start\"]",
        ),
        (
            "stages = [\"count\", \"reset\"]",
            "stages = [\"test\", \"reset\"]",
        ),
        ("id = \"counter\"", "id = \"std\""),
        ("id = \"counter\"", "id = \"self\""),
    ] {
        let problems = problems_after(|root| edit(&root.join("info.toml"), from, to));
        let p = problems
            .iter()
            .find(|p| p.what.contains("id `"))
            .unwrap_or_else(|| panic!("{to}: no id problem in {problems:#?}"));
        assert_eq!(p.file.to_str(), Some("info.toml"), "{p}");
        assert!(p.line.is_some(), "{p}");
        assert!(
            p.fix.contains("rename") && p.fix.contains("info.toml"),
            "{to}: {p}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_a_stage_file_is_refused_without_hanging() {
    for file in ["stage.toml", "brief.md", "tests.rs"] {
        let problems = problems_after(|root| {
            let path = root.join("course/counter/count").join(file);
            fs::remove_file(&path).unwrap();
            nix_mkfifo(&path);
        });
        let p = one(&problems, "not a regular file");
        assert!(p.file.ends_with(file), "{p}");
        assert!(p.fix.contains("plain"), "{p}");
    }
}

#[cfg(unix)]
fn nix_mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(target_os = "linux")]
#[test]
fn a_course_path_that_is_not_utf8_is_said_before_anything_runs() {
    use std::os::unix::ffi::OsStrExt;
    let (dir, root) = common::course("mini");
    let odd = dir.path().join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    fs::rename(&root, &odd).unwrap();
    let err = course::load(&odd).unwrap_err().to_string();
    assert!(
        err.contains("not valid UTF-8") && err.contains("fix: "),
        "{err}"
    );
}

#[test]
fn a_memory_limit_out_of_range_is_refused_and_one_in_range_is_kept() {
    let problems = problems_after(|root| {
        edit(
            &root.join("course/counter/count/stage.toml"),
            "time_limit_secs = 10",
            "time_limit_secs = 10\nmemory_limit_mib = 1",
        )
    });
    one(&problems, "memory_limit_mib = 1 is out of range");
    let (_dir, root) = common::course("mini");
    edit(
        &root.join("course/counter/count/stage.toml"),
        "time_limit_secs = 10",
        "time_limit_secs = 10\nmemory_limit_mib = 256",
    );
    let course = course::load(&root).unwrap();
    assert_eq!(course.tracks[0].stages[0].memory_limit_mib, 256);
    assert_eq!(
        course.tracks[0].stages[1].memory_limit_mib,
        course::DEFAULT_MEMORY_LIMIT_MIB
    );
}

#[test]
fn test_threads_out_of_range_are_refused_and_in_range_are_kept() {
    let problems = problems_after(|root| {
        edit(
            &root.join("course/counter/count/stage.toml"),
            "time_limit_secs = 10",
            "time_limit_secs = 10\ntest_threads = 0",
        )
    });
    one(&problems, "test_threads = 0 is out of range");
    let (_dir, root) = common::course("mini");
    edit(
        &root.join("course/counter/count/stage.toml"),
        "time_limit_secs = 10",
        "time_limit_secs = 10\ntest_threads = 8",
    );
    let course = course::load(&root).unwrap();
    assert_eq!(course.tracks[0].stages[0].test_threads, Some(8));
    assert_eq!(course.tracks[0].stages[1].test_threads, None);
}

#[test]
fn a_feature_the_start_manifest_does_not_define_is_refused_and_a_defined_one_is_kept() {
    let problems = problems_after(|root| {
        edit(
            &root.join("course/counter/reset/stage.toml"),
            "concepts = [\"ownership\"]",
            "concepts = [\"ownership\"]\nfeatures = [\"tokio\"]",
        )
    });
    let p = one(&problems, "feature `tokio` is not defined by");
    assert_eq!(p.file.to_str(), Some("course/counter/reset/stage.toml"));
    assert!(p.fix.contains("optional = true"), "{}", p.fix);
    let (_dir, root) = common::course("mini");
    common::give_reset_the_checker_feature(&root);
    let course = course::load(&root).unwrap();
    assert!(course.tracks[0].stages[0].features.is_empty());
    assert_eq!(course.tracks[0].stages[1].features, ["checker"]);
}

/// The learner's crates as committed hold the stage tests exactly as the course has them: a
/// stale copy would be graded as `tampered` on every fresh clone, and would test less.
#[test]
fn the_committed_exercise_crates_hold_the_courses_own_tests() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let course = katas::course::load(repo).unwrap();
    for track in &course.tracks {
        // Everything but the learner's sources and the installed tests is the start's.
        let start = repo.join("course").join(&track.id).join("start");
        for file in katas::fsutil::list_files(&start).unwrap() {
            if file.starts_with("src") {
                continue;
            }
            let committed = repo.join("exercises").join(&track.id).join(&file);
            assert_eq!(
                std::fs::read(&committed).ok(),
                std::fs::read(start.join(&file)).ok(),
                "{} differs from the track's start: copy course/{}/start/{} over it",
                committed.display(),
                track.id,
                file.display()
            );
        }
        let stages = repo.join("exercises").join(&track.id).join("tests/stages");
        for stage in &track.stages {
            let installed = stages.join(format!("{}.rs", stage.id));
            if let Ok(text) = std::fs::read_to_string(&installed) {
                assert_eq!(
                    text,
                    stage.tests,
                    "{} is stale: copy course/{}/{}/tests.rs over it",
                    installed.display(),
                    track.id,
                    stage.id
                );
            }
        }
    }
}
