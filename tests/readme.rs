//! The README's course table and `katas list --format json` example match the course.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

#[test]
fn the_course_table_lists_every_stage_of_every_track() {
    let course = katas::course::load(&root()).unwrap();
    let readme = readme();
    for track in &course.tracks {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", track.id)))
            .unwrap_or_else(|| panic!("README has no row for `{}`", track.id));
        let stages = row.split('|').nth(2).unwrap();
        assert_eq!(
            stages.split(';').count(),
            track.stages.len(),
            "README lists the stages of `{}`: {row}",
            track.id
        );
    }
}

#[test]
fn the_list_example_is_the_first_stage_as_it_is() {
    let readme = readme();
    let example = readme
        .split_once("`katas list --format json`:\n\n```json\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(json, _)| json)
        .expect("README has the list example");
    let example: serde_json::Value = serde_json::from_str(example).unwrap();
    let course = katas::course::load(&root()).unwrap();
    let track = &course.tracks[0];
    let stage = &track.stages[0];
    let shown = &example["tracks"][0]["stages"][0];
    assert_eq!(example["tracks"][0]["id"], track.id.as_str());
    assert_eq!(shown["id"], stage.id.as_str());
    assert_eq!(shown["title"], stage.title.as_str());
    assert_eq!(shown["concepts"], serde_json::json!(stage.concepts));
    assert_eq!(shown["hint_rungs"], stage.hints.len());
    assert_eq!(shown["test_ladders"], stage.test_hints.len());
    assert_eq!(shown["reflections"], stage.reflection.len());
}
