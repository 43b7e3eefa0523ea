//! `cargo xtask`: shipgate's project automation, in Rust so it runs wherever cargo does.
//!
//! ```text
//! cargo xtask setup   install what the tests need (pinned; --check only reports)
//! cargo xtask tidy    file length, sleeps in tests, String errors in public APIs
//! cargo xtask ci      fmt --check, tidy, invariants, clippy -D warnings, docs, demo, tests
//! cargo xtask test    the whole test suite (nextest, then doctests)
//! cargo xtask demo    start the demo app on loopback, run shipgate against it, write reports
//! cargo xtask demo ecs  the ECS runbooks' story against moto_server (under a minute)
//! cargo xtask bench   benchmarks against named peers (stats, load)
//! cargo xtask dist    release binaries and checksums in target/dist
//! cargo xtask fuzz    the parsers under cargo-fuzz (fuzz/), seeded from fixtures/fuzz
//! ```

mod demo;
mod demo_deploy;
mod demo_ecs;
mod fuzz;
mod invariants;
mod run;
mod setup;
mod tidy;

use std::process::ExitCode;

use run::{Cmd, Failed, workspace_root};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup   install what the tests need when it is missing: Debian packages
          (postgresql, mariadb-server, redis-server, nginx, chromium, wrk, …), pinned
          PyPI packages (osmem-server, aiosmtpd) and cargo-nextest. Idempotent.
          `setup --check` only reports. test, demo and ci run it first
  tidy    shape rules: no source file over 600 lines outside tests, no sleep in
          a test without `// tidy: …` saying why, no Result<_, String> in a
          public library signature
  ci      everything CI checks: fmt --check, tidy, architecture invariants, clippy
          -D warnings, docs with warnings denied, the demo, then the tests
  test    the whole test suite: cargo nextest (profile ci), then doctests.
          Tests start real PostgreSQL, MariaDB, Redis, nginx, an SMTP and an
          Elasticsearch-API server themselves, on free loopback ports
  demo    build and start the demo app on 127.0.0.1, run every shipgate layer
          that exists against it, write reports to target/shipgate-demo/;
          `demo ecs`: the ECS runbooks' story (secrets, ALB blue-green in steps,
          an alarm's rollback, a task definition rollback, an RDS restore)
          against moto_server, in target/shipgate-demo-ecs/
  bench   benchmarks, each against a named peer in the same run:
          `cargo xtask bench stats` (record cost vs bare HdrHistogram, merge),
          `cargo xtask bench load` (CPU per request vs wrk, 100k users, open model)
  dist    release builds of the binaries, their shell completions (bash, zsh,
          fish) and man pages, with SHA256SUMS, in target/dist/
  fuzz    the cargo-fuzz targets (fuzz/), each for --seconds N (60) or --runs N,
          on corpora seeded from fixtures/fuzz/; needs `cargo install cargo-fuzz`

exit codes: 0 success, 1 a step failed, 2 usage error";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => match args.get(1).map(String::as_str) {
            None => setup::run(setup::Mode::Install),
            Some("--check") => setup::run(setup::Mode::Check),
            Some(other) => {
                eprintln!("xtask: setup takes only --check, not `{other}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        Some("ci") => setup::ensure().and_then(|()| ci()),
        Some("test") => setup::ensure().and_then(|()| test()),
        Some("demo") => match args.get(1).map(String::as_str) {
            None => setup::ensure().and_then(|()| demo::run()),
            Some("ecs") => setup::ensure().and_then(|()| demo_ecs::run()),
            Some(other) => {
                eprintln!("xtask demo: unknown story `{other}` (there is `ecs`)");
                return ExitCode::from(2);
            }
        },
        Some("tidy") => tidy::check(),
        Some("bench") => setup::ensure().and_then(|()| bench(args.get(1).map(String::as_str))),
        Some("dist") => dist(),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            if let Some(cmd) = other {
                eprintln!("xtask: unknown command `{cmd}`\n");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed(message)) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn ci() -> Result<(), Failed> {
    Cmd::cargo(["fmt", "--all", "--", "--check"]).run()?;
    tidy::check()?;
    invariants::check()?;
    // Clippy sees the code as built without features and with the cloud features.
    for features in [None, Some(FEATURES)] {
        let mut clippy = Cmd::cargo(["clippy", "--workspace", "--all-targets", "--locked"]);
        if let Some(f) = features {
            clippy = clippy.args(["--features", f]);
        }
        clippy.args(["--", "-D", "warnings"]).run()?;
    }
    // The checks embedded without their heavy clients: builds, and refuses those kinds.
    Cmd::cargo([
        "test",
        "--locked",
        "--package",
        "shipgate-checks",
        "--no-default-features",
        "--lib",
    ])
    .run()?;
    Cmd::cargo([
        "doc",
        "--workspace",
        "--no-deps",
        "--locked",
        "--features",
        FEATURES,
    ])
    .env("RUSTDOCFLAGS", "-D warnings")
    .run()?;
    demo::run()?;
    demo_ecs::run()?;
    // Last, so the test runners' summaries close the log.
    test()
}

/// The optional features the tests build and run: the cloud drivers, against their
/// stand-ins (moto_server for AWS).
pub(crate) const FEATURES: &str = "shipgate-deploy/ecs,shipgate-deploy-cli/ecs,shipgate-checks/aws,shipgate-check/aws,shipgate-watch/cloudwatch";

fn test() -> Result<(), Failed> {
    Cmd::cargo([
        "nextest",
        "run",
        "--workspace",
        "--locked",
        "--profile",
        "ci",
        "--features",
        FEATURES,
    ])
    .run()?;
    // nextest does not run doctests; the crate overviews' examples must stay true.
    Cmd::cargo([
        "test",
        "--workspace",
        "--locked",
        "--doc",
        "--features",
        FEATURES,
    ])
    .run()
}

/// Benchmarks, by target; each compares against a named peer in the same run.
const BENCHES: &[(&str, &str, &str)] = &[
    ("stats", "shipgate-stats", "record"),
    ("load", "shipgate-load", "vs_wrk"),
];

fn bench(target: Option<&str>) -> Result<(), Failed> {
    let chosen: Vec<_> = BENCHES
        .iter()
        .filter(|(name, _, _)| target.is_none_or(|t| t == *name))
        .collect();
    if chosen.is_empty() {
        let known: Vec<&str> = BENCHES.iter().map(|b| b.0).collect();
        return Err(Failed(format!(
            "no benchmark `{}`; known: {}",
            target.unwrap_or_default(),
            known.join(", ")
        )));
    }
    for (name, package, bench) in chosen {
        if *name == "load" {
            // The bench also measures the binary as shipped.
            Cmd::cargo([
                "build",
                "--release",
                "--locked",
                "--package",
                "shipgate-load-cli",
            ])
            .run()?;
        }
        Cmd::cargo(["bench", "--locked", "--package", package, "--bench", bench]).run()?;
    }
    Ok(())
}

fn dist() -> Result<(), Failed> {
    let binaries = invariants::binaries()?;
    if binaries.is_empty() {
        println!("nothing to ship yet: bins/ holds no binary crate");
        return Ok(());
    }
    // The binaries ops people run ship with the cloud drivers.
    let mut build = Cmd::cargo([
        "build",
        "--release",
        "--locked",
        "--features",
        "shipgate-deploy-cli/ecs,shipgate-check/aws",
    ]);
    for name in &binaries {
        build = build.args(["--bin", name]);
    }
    build.run()?;
    let root = workspace_root();
    let release = root.join("target/release");
    let dist = root.join("target/dist");
    std::fs::create_dir_all(&dist)
        .map_err(|e| Failed(format!("cannot create {}: {e}", dist.display())))?;
    let mut names = Vec::new();
    for name in binaries {
        std::fs::copy(release.join(&name), dist.join(&name))
            .map_err(|e| Failed(format!("cannot copy {name}: {e}")))?;
        names.push(name);
    }
    // Each binary writes its own completions and man page from its clap definition.
    for name in names.clone() {
        let bin = dist.join(&name);
        for (shell, file) in [
            ("bash", name.clone()),
            ("zsh", format!("_{name}")),
            ("fish", format!("{name}.fish")),
        ] {
            let text = Cmd::new(&bin)
                .args(["--generate-completions", shell])
                .output()?;
            names.push(write_dist(
                &dist,
                &format!("completions/{shell}/{file}"),
                &text,
            )?);
        }
        let man = Cmd::new(&bin).args(["--generate-man"]).output()?;
        names.push(write_dist(&dist, &format!("man/man1/{name}.1"), &man)?);
    }
    let sums = Cmd::new("sha256sum")
        .args(&names)
        .current_dir(&dist)
        .output()?;
    std::fs::write(dist.join("SHA256SUMS"), sums)
        .map_err(|e| Failed(format!("cannot write SHA256SUMS: {e}")))?;
    println!(
        "wrote {} files (binaries, completions, man pages) and SHA256SUMS to {}",
        names.len(),
        dist.display()
    );
    Ok(())
}

/// Writes `bytes` to `dist/relative`; the relative path, for SHA256SUMS.
fn write_dist(dist: &std::path::Path, relative: &str, bytes: &[u8]) -> Result<String, Failed> {
    let path = dist.join(relative);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(&path, bytes)
        .map_err(|e| Failed(format!("cannot write {}: {e}", path.display())))?;
    Ok(relative.to_owned())
}
