//! `cargo xtask fuzz [--seconds N] [--runs N] [TARGET…]`: the cargo-fuzz targets in
//! fuzz/ (the config reader and section types, thresholds and watch conditions,
//! assertions and captures, templates, the HTTP/1.1 response reader, load summaries
//! and stats snapshots), each run on a corpus seeded from `fixtures/fuzz/<target>/` in
//! target/fuzz-corpus/, on the pinned stable toolchain with RUSTC_BOOTSTRAP=1.
//! A crash leaves its input in `fuzz/artifacts/<target>/`; add it to the target's seeds
//! and a regression test when it is fixed.

use std::path::Path;

use crate::run::{Cmd, Failed, workspace_root};

const TARGETS: &[&str] = &[
    "config",
    "threshold",
    "expr",
    "template",
    "h1_response",
    "summary",
];

pub(crate) fn run(args: &[String]) -> Result<(), Failed> {
    let mut seconds = 60u64;
    let mut runs: Option<u64> = None;
    let mut chosen = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |flag: &str| -> Result<u64, Failed> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Failed(format!("fuzz: {flag} takes a number")))
        };
        match a.as_str() {
            "--seconds" => seconds = number("--seconds")?,
            "--runs" => runs = Some(number("--runs")?),
            t if TARGETS.contains(&t) => chosen.push(t.to_owned()),
            other => {
                return Err(Failed(format!(
                    "fuzz: unknown argument `{other}` (targets: {})",
                    TARGETS.join(", ")
                )));
            }
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    if !crate::setup::on_path("cargo-fuzz") {
        return Err(Failed(
            "cargo-fuzz is not installed: run `cargo install --locked cargo-fuzz`".into(),
        ));
    }
    let root = workspace_root();
    for target in &chosen {
        let corpus = root.join("target/fuzz-corpus").join(target);
        seed(&root.join("fixtures/fuzz").join(target), &corpus)?;
        let mut libfuzzer = vec![format!("-max_total_time={seconds}")];
        if let Some(r) = runs {
            libfuzzer.push(format!("-runs={r}"));
        }
        Cmd::new("cargo")
            .args(["fuzz", "run", "--sanitizer", "none", "--release", target])
            .args([corpus.as_os_str()])
            .args(["--"])
            .args(&libfuzzer)
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(&root.join("fuzz"))
            .run()
            .map_err(|e| Failed(format!("fuzz target {target}: {}", e.0)))?;
    }
    Ok(())
}

/// Copies the committed seeds into the working corpus (which grows as libFuzzer finds
/// new inputs, outside the repository).
fn seed(seeds: &Path, corpus: &Path) -> Result<(), Failed> {
    std::fs::create_dir_all(corpus)
        .map_err(|e| Failed(format!("cannot create {}: {e}", corpus.display())))?;
    let Ok(entries) = std::fs::read_dir(seeds) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let to = corpus.join(e.file_name());
        if !to.exists() {
            std::fs::copy(e.path(), &to)
                .map_err(|err| Failed(format!("cannot copy {}: {err}", e.path().display())))?;
        }
    }
    Ok(())
}
