//! `cargo xtask tidy` (and the first step of `ci`): the shape rules a review would
//! otherwise have to repeat.
//!
//! - No source file outside tests over [`MAX_LINES`] lines: split it by concern.
//! - No sleep in a test unless the line above says why it is not synchronisation
//!   (`// tidy: pacing, not synchronisation (...)` or `// tidy: on a paused clock...`):
//!   a test that waits "long enough" is a flaky test. Wait for the event instead.
//! - No `Result<_, String>` in a public library signature: errors are types with kinds
//!   and sources.

use std::path::{Path, PathBuf};

use crate::run::{Failed, workspace_root};

/// The longest a non-test source file may be.
const MAX_LINES: usize = 600;

/// The marker that allows a sleep in a test, on the line itself or the line above.
const SLEEP_MARKER: &str = "// tidy:";

pub(crate) fn check() -> Result<(), Failed> {
    eprintln!("$ (xtask) tidy");
    let root = workspace_root();
    let mut problems = Vec::new();
    for file in rust_files(&root) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        problems.extend(problems_in(&shown, &text, is_test_file(&file)));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failed(format!("tidy:\n  {}", problems.join("\n  "))))
    }
}

/// The problems in one file, as `path:line: what`.
fn problems_in(path: &str, text: &str, test_file: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    if !test_file && lines.len() > MAX_LINES {
        problems.push(format!(
            "{path}: {} lines (at most {MAX_LINES} outside tests): split it by concern",
            lines.len()
        ));
    }
    for (i, line) in lines.iter().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let sleeps = code.contains("thread::sleep(") || code.contains("time::sleep(");
        let explained = line.contains(SLEEP_MARKER)
            || i.checked_sub(1)
                .is_some_and(|j| lines[j].contains(SLEEP_MARKER));
        if test_file && sleeps && !explained {
            problems.push(format!(
                "{path}:{}: a sleep in a test: wait for the event, or say why it is not \
                 synchronisation with `{SLEEP_MARKER} …` on the line above",
                i + 1
            ));
        }
    }
    if !test_file {
        for (line, signature) in public_signatures(&lines) {
            if returns_string_error(&signature) {
                problems.push(format!(
                    "{path}:{line}: `Result<_, String>` in a public signature: return a typed error"
                ));
            }
        }
    }
    problems
}

/// Each `pub fn` (not `pub(crate)`) and `pub` field with its whole signature text.
fn public_signatures(lines: &[&str]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        let public = t.starts_with("pub ") && !t.starts_with("pub(");
        if public && (t.contains("fn ") || t.contains(": Result<")) {
            let is_fn = t.contains("fn ");
            let mut signature = t.to_owned();
            let mut j = i;
            let done = |s: &str| s.contains('{') || s.contains(';') || (!is_fn && s.ends_with(','));
            while !done(&signature) {
                j += 1;
                let Some(next) = lines.get(j) else { break };
                signature.push(' ');
                signature.push_str(next.trim());
            }
            out.push((i + 1, signature));
        }
        i += 1;
    }
    out
}

/// Whether the text has a `Result<…, String>` (at the top level of the `Result`).
fn returns_string_error(signature: &str) -> bool {
    let mut rest = signature;
    while let Some(at) = rest.find("Result<") {
        let inner = &rest[at + "Result<".len()..];
        let mut depth = 0usize;
        let mut last_comma = None;
        for (k, c) in inner.char_indices() {
            match c {
                '<' | '(' | '[' => depth += 1,
                '>' | ')' | ']' if depth == 0 => {
                    if let Some(comma) = last_comma {
                        let error: &str = &inner[comma + 1..k];
                        if error.trim() == "String" {
                            return true;
                        }
                    }
                    break;
                }
                '>' | ')' | ']' => depth -= 1,
                ',' if depth == 0 => last_comma = Some(k),
                _ => {}
            }
        }
        rest = inner;
    }
    false
}

fn is_test_file(path: &Path) -> bool {
    path.components().any(|c| {
        matches!(
            c.as_os_str().to_str(),
            Some("tests" | "benches" | "examples")
        )
    })
}

/// Every `.rs` file of the workspace's members, outside `target/`.
fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = ["crates", "bins", "xtask", "fixtures"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_errors_are_found_at_the_top_level_of_a_result_only() {
        assert!(returns_string_error("pub fn f() -> Result<(), String> {"));
        assert!(returns_string_error(
            "pub fn f() -> Result<Vec<(u8, String)>, String> {"
        ));
        assert!(!returns_string_error(
            "pub fn f() -> Result<Vec<(u8, String)>, Error> {"
        ));
        assert!(!returns_string_error("pub fn f() -> Option<String> {"));
        assert!(returns_string_error(
            "pub result: Result<Duration, String>,"
        ));
    }

    #[test]
    fn a_sleep_in_a_test_needs_its_reason_on_the_line_above() {
        let bare = "async fn t() {\n    tokio::time::sleep(d).await;\n}\n";
        assert_eq!(problems_in("t.rs", bare, true).len(), 1);
        let explained = "async fn t() {\n    // tidy: pacing, not synchronisation\n    tokio::time::sleep(d).await;\n}\n";
        assert!(problems_in("t.rs", explained, true).is_empty());
        // Outside tests a sleep is the library's business.
        assert!(problems_in("lib.rs", bare, false).is_empty());
    }

    #[test]
    fn long_files_fail_outside_tests_only() {
        let long = "// x\n".repeat(MAX_LINES + 1);
        assert_eq!(problems_in("src/a.rs", &long, false).len(), 1);
        assert!(problems_in("tests/a.rs", &long, true).is_empty());
    }

    #[test]
    fn public_signatures_span_lines_and_skip_crate_visibility() {
        let lines = [
            "pub fn f(",
            "    a: u8,",
            ") -> Result<(), String> {",
            "pub(crate) fn g() -> Result<(), String> {",
        ];
        let found = public_signatures(&lines);
        assert_eq!(found.len(), 1);
        assert!(returns_string_error(&found[0].1), "{found:?}");
    }
}
