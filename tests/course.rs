//! The bundled course is sound: `katas dev check` on the repository itself. Every stage of every
//! track fails in its start state, passes with its reference solution (earlier stages' tests
//! included), and its solution is clippy- and rustfmt-clean; every ladder follows the rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[test]
fn the_bundled_course_is_sound() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, stdout, stderr) = common::output(root, &["dev", "check"]);
    println!("{stdout}");
    assert_eq!(
        code, 0,
        "katas dev check found problems:\n{stdout}\n{stderr}"
    );
}
