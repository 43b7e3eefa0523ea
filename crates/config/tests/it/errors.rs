use std::time::Duration;

use serde::Deserialize;
use shipgate_config::{Document, ErrorKind, Location, Vars};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Checks {
    #[allow(dead_code)]
    retries: u32,
    #[serde(default, with = "shipgate_config::duration::option")]
    #[allow(dead_code)]
    timeout: Option<Duration>,
    #[serde(default)]
    #[allow(dead_code)]
    severity: Option<Severity>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Warn,
    Fail,
}

fn load(text: &str) -> shipgate_config::Error {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    std::fs::write(&path, text).unwrap();
    match Document::load(&path, None, Vars::default()) {
        Err(e) => e,
        Ok(doc) => doc.section::<Checks>("checks").unwrap_err(),
    }
}

fn at(line: usize, column: usize) -> Option<Location> {
    Some(Location { line, column })
}

#[test]
fn a_value_of_the_wrong_type_points_at_the_value() {
    let err = load("[checks]\nretries = \"three\"\n");
    assert_eq!(err.kind(), ErrorKind::InvalidValue);
    assert_eq!(err.location(), at(2, 11), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:2:11: ", err.path().display())),
        "{text}"
    );
    assert!(text.contains("2 | retries = \"three\""), "{text}");
    assert!(text.contains("^^^^^^^"), "{text}");
}

#[test]
fn an_unknown_key_in_a_section_points_at_the_key_with_a_hint() {
    let err = load("[checks]\nretries = 3\ntiemout = \"1s\"\n");
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(err.location(), at(3, 1), "{err}");
    assert_eq!(err.hint(), Some("did you mean `timeout`?"));
    assert!(err.to_string().contains("= help: did you mean `timeout`?"));
}

#[test]
fn an_unknown_enum_value_gets_a_hint() {
    let err = load("[checks]\nretries = 3\nseverity = \"wran\"\n");
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(err.location(), at(3, 12), "{err}");
    assert_eq!(err.hint(), Some("did you mean `warn`?"));
}

#[test]
fn an_unknown_top_level_section_is_rejected_with_a_hint() {
    let err = load("[chekcs]\nretries = 3\n");
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(err.location(), at(1, 2), "{err}");
    assert_eq!(err.hint(), Some("did you mean `checks`?"));
}

#[test]
fn an_unterminated_string_is_a_syntax_error_with_a_position() {
    let err = load("[checks]\nretries = 3\nname = \"oops\n");
    assert_eq!(err.kind(), ErrorKind::Syntax);
    let loc = err.location().expect("a position");
    assert_eq!(loc.line, 3, "{err}");
    assert!(loc.column >= 8, "{err}");
}

#[test]
fn a_bad_duration_says_what_was_expected() {
    let err = load("[checks]\nretries = 3\ntimeout = \"5\"\n");
    assert_eq!(err.kind(), ErrorKind::InvalidValue);
    assert_eq!(err.location(), at(3, 11), "{err}");
    assert!(err.message().contains("like \"500ms\""), "{err}");
}

#[test]
fn an_undefined_variable_points_at_its_string() {
    let err = load(
        "[environments.dev]\nA = \"1\"\n\n[checks]\nretries = 3\nname = \"${NOT_SET_ANYWHERE_7F3}\"\n",
    );
    // `name` is unknown too, but interpolation runs first and fails first.
    assert_eq!(err.kind(), ErrorKind::UndefinedVariable);
    assert_eq!(err.location(), at(6, 8), "{err}");
    assert!(err.message().contains("NOT_SET_ANYWHERE_7F3"));
}

#[test]
fn a_missing_file_is_a_read_error_naming_the_file() {
    let err = Document::load("/nonexistent/shipgate.toml", None, Vars::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Read);
    assert!(
        err.to_string()
            .starts_with("/nonexistent/shipgate.toml: cannot read")
    );
}
