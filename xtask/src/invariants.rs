//! Architecture invariants from docs/ARCHITECTURE.md, checked against `cargo metadata`.
//!
//! Each workspace member is listed in [`LAYERS`] with the shipgate crates it may use.
//! A new crate, or a new edge between crates, fails CI until it is added here and in
//! docs/ARCHITECTURE.md, so the code map cannot drift from the code.

use serde_json::Value;

use crate::run::{Cmd, Failed, workspace_root};

/// Member, and the workspace crates it may depend on outside of tests.
const LAYERS: &[(&str, &[&str])] = &[
    ("shipgate-report", &[]),
    ("shipgate-config", &["shipgate-report"]),
    ("shipgate-stats", &[]),
    ("shipgate-host", &[]),
    // The AWS SDK's configuration; only the cloud features use it.
    ("shipgate-aws", &[]),
    ("shipgate-http", &["shipgate-config"]),
    (
        "shipgate-checks",
        &[
            "shipgate-aws",
            "shipgate-config",
            "shipgate-host",
            "shipgate-http",
            "shipgate-report",
        ],
    ),
    ("shipgate-testkit", &[]),
    // What every binary shares (flags, logging, runtime, report files, exit codes).
    ("shipgate-cli", &["shipgate-config", "shipgate-report"]),
    ("shipgate-demo-app", &[]),
    (
        "shipgate-check",
        &[
            "shipgate-checks",
            "shipgate-cli",
            "shipgate-config",
            "shipgate-http",
            "shipgate-report",
        ],
    ),
    (
        "shipgate-notify",
        &["shipgate-config", "shipgate-http", "shipgate-report"],
    ),
    (
        "shipgate-load",
        &[
            "shipgate-config",
            "shipgate-http",
            "shipgate-report",
            "shipgate-stats",
        ],
    ),
    (
        "shipgate-load-cli",
        &[
            "shipgate-cli",
            "shipgate-config",
            "shipgate-http",
            "shipgate-load",
            "shipgate-report",
            "shipgate-stats",
        ],
    ),
    (
        "shipgate-notify-cli",
        &[
            "shipgate-cli",
            "shipgate-config",
            "shipgate-http",
            "shipgate-notify",
            "shipgate-report",
        ],
    ),
    (
        "shipgate-deploy",
        &[
            "shipgate-aws",
            "shipgate-config",
            "shipgate-http",
            "shipgate-report",
        ],
    ),
    (
        "shipgate-deploy-cli",
        &[
            "shipgate-cli",
            "shipgate-config",
            "shipgate-deploy",
            "shipgate-http",
            "shipgate-notify",
            "shipgate-pipeline",
            "shipgate-report",
            "shipgate-watch",
        ],
    ),
    (
        "shipgate-watch",
        &[
            "shipgate-aws",
            "shipgate-config",
            "shipgate-host",
            "shipgate-http",
            "shipgate-notify",
            "shipgate-report",
        ],
    ),
    (
        "shipgate-watch-cli",
        &[
            "shipgate-cli",
            "shipgate-config",
            "shipgate-http",
            "shipgate-notify",
            "shipgate-pipeline",
            "shipgate-report",
            "shipgate-watch",
        ],
    ),
    // The layer that composes the others: promotion gates, approvals, the watch
    // window wired to the deployment layer.
    (
        "shipgate-pipeline",
        &[
            "shipgate-checks",
            "shipgate-config",
            "shipgate-deploy",
            "shipgate-http",
            "shipgate-load",
            "shipgate-notify",
            "shipgate-report",
            "shipgate-watch",
        ],
    ),
    // xtask reads the testkit's list of what the tests need, to install it.
    ("xtask", &["shipgate-testkit"]),
];

/// Crates that only tests may use.
const TEST_ONLY: &[&str] = &["shipgate-testkit"];

struct Member {
    name: String,
    is_binary_crate: bool,
    bins: Vec<String>,
    deps: Vec<(String, bool)>,
}

fn members() -> Result<Vec<Member>, Failed> {
    let out =
        Cmd::cargo(["metadata", "--format-version", "1", "--no-deps", "--locked"]).output()?;
    let meta: Value =
        serde_json::from_slice(&out).map_err(|e| Failed(format!("cargo metadata: {e}")))?;
    let bins_dir = workspace_root().join("bins");
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    Ok(packages
        .iter()
        .map(|p| Member {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            is_binary_crate: p["manifest_path"]
                .as_str()
                .is_some_and(|m| m.starts_with(&*bins_dir.to_string_lossy())),
            bins: p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| {
                    t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "bin"))
                })
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect(),
            deps: p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["path"].is_string())
                .map(|d| {
                    (
                        d["name"].as_str().unwrap_or_default().to_owned(),
                        d["kind"] == "dev",
                    )
                })
                .collect(),
        })
        .collect())
}

/// Checks every member's workspace dependencies against [`LAYERS`].
pub(crate) fn check() -> Result<(), Failed> {
    eprintln!("$ (xtask) architecture invariants");
    let members = members()?;
    let binary_crates: Vec<&str> = members
        .iter()
        .filter(|m| m.is_binary_crate)
        .map(|m| m.name.as_str())
        .collect();
    let mut problems = Vec::new();
    for member in &members {
        let Some((_, allowed)) = LAYERS.iter().find(|(name, _)| *name == member.name) else {
            problems.push(format!(
                "`{}` is not in xtask/src/invariants.rs LAYERS: add it there and to docs/ARCHITECTURE.md",
                member.name
            ));
            continue;
        };
        for (dep, dev) in &member.deps {
            if binary_crates.contains(&dep.as_str()) {
                problems.push(format!(
                    "`{}` depends on the binary crate `{dep}`: binaries sit on top of everything",
                    member.name
                ));
            } else if !dev && TEST_ONLY.contains(&dep.as_str()) && member.name != "xtask" {
                problems.push(format!(
                    "`{}` uses `{dep}` outside of tests: make it a dev-dependency",
                    member.name
                ));
            } else if !dev && !allowed.contains(&dep.as_str()) {
                problems.push(format!(
                    "`{}` depends on `{dep}`, which its layer does not allow: see docs/ARCHITECTURE.md",
                    member.name
                ));
            }
        }
    }
    problems.extend(default_build_without_aws()?);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failed(format!(
            "architecture invariants broken:\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// `cargo build` without features (the workspace's default members) builds no AWS
/// crate: a team that does not deploy to AWS compiles none of its SDK.
fn default_build_without_aws() -> Result<Vec<String>, Failed> {
    let out = Cmd::cargo([
        "tree",
        "--edges",
        "normal,build",
        "--prefix",
        "none",
        "--format",
        "{p}",
        "--locked",
    ])
    .output()?;
    let text = String::from_utf8_lossy(&out);
    let mut found: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.starts_with("aws-") || *name == "shipgate-aws")
        .collect();
    found.sort_unstable();
    found.dedup();
    Ok(found
        .into_iter()
        .map(|name| {
            format!(
                "`cargo build` without features builds `{name}`: the AWS SDK belongs behind a cloud feature (ecs)"
            )
        })
        .collect())
}

/// The binaries shipped by `cargo xtask dist`: every bin target of the crates in bins/.
pub(crate) fn binaries() -> Result<Vec<String>, Failed> {
    Ok(members()?
        .into_iter()
        .filter(|m| m.is_binary_crate)
        .flat_map(|m| m.bins)
        .collect())
}
