//! Finding a stage's test functions in its `tests.rs`, so ladders can be checked against them.

/// The names of the functions marked as tests (`#[test]`, `#[tokio::test]`, ...) in a test file.
///
/// A textual scan, not a parse: stage test files are plain, and a scan has no failure modes to
/// report. An attribute line mentioning `test` marks the next `fn` as a test.
pub(crate) fn test_functions(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut marked = false;
    for line in source.lines().map(str::trim) {
        if line.starts_with("#[") {
            let attribute = line.split(']').next().unwrap_or_default();
            if attribute.ends_with("test")
                || attribute.contains("test(")
                || attribute.contains("::test")
            {
                marked = true;
            }
            continue;
        }
        if let Some(name) = fn_name(line) {
            if marked {
                names.push(name.to_owned());
            }
            marked = false;
        }
    }
    names
}

fn fn_name(line: &str) -> Option<&str> {
    let rest = line.split_once("fn ")?.1;
    let prefix = line.split_once("fn ")?.0;
    let prefix_ok = prefix
        .split_whitespace()
        .all(|w| matches!(w, "pub" | "async" | "unsafe" | "const"));
    if !prefix_ok {
        return None;
    }
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_functions_are_found_after_test_attributes_only() {
        let source = r#"
use kv::Store;

fn helper() -> Store { Store::new() }

#[test]
fn plain() {}

#[tokio::test(start_paused = true)]
async fn paused() {}

#[test]
#[should_panic(expected = "x")]
fn with_more_attributes() {}

proptest! {
    #[test]
    fn merged_in_any_order(a in 0..10u32) {}
}
"#;
        assert_eq!(
            test_functions(source),
            [
                "plain",
                "paused",
                "with_more_attributes",
                "merged_in_any_order"
            ]
        );
    }
}
