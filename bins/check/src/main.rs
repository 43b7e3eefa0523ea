//! `shipgate-check`: run the `pre` or `post` checks of shipgate.toml and report.
//!
//! Thin glue: parse arguments, load the configuration, call `shipgate_checks::run`,
//! render with `shipgate_report`, map the result to an exit code.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use shipgate_checks::{CheckKind, ChecksSettings, Context, RunConfig};
use shipgate_config::{Document, Vars};
use shipgate_report::{
    Console, ExitCode as Code, Json, Junit, Markdown, Phase, Redactor, Render, Report,
};

/// Run shipgate's pre-deployment checks or post-deployment smoke tests.
///
/// Reads the [checks] section of shipgate.toml: `pre` runs [[checks.pre]], `post` runs
/// [[checks.post]]. All checks run concurrently, each under its timeout; a check with
/// `depends_on` waits for those and is skipped when one did not pass.
///
/// Exit codes: 0 every check passed (warnings allowed), 1 a check failed, 2 a
/// configuration or usage error (nothing ran).
///
/// Examples:
///   shipgate-check pre --env staging
///   shipgate-check post --env production --junit target/post.xml --markdown "$GITHUB_STEP_SUMMARY"
///   shipgate-check pre --json - | jq '.findings[] | select(.outcome != "pass")'
// The doc comment is clap's --help text: its [brackets] are TOML, not rustdoc links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Parser)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Which checks: `pre` (before deploying) or `post` (after).
    #[arg(value_enum)]
    phase: Which,
    /// The configuration file.
    #[arg(long, short, default_value = "shipgate.toml", env = "SHIPGATE_CONFIG")]
    config: PathBuf,
    /// The environment whose [environments.NAME] variables fill ${VAR}s.
    #[arg(long, short, env = "SHIPGATE_ENV")]
    env: Option<String>,
    /// Write the JSON report (schema shipgate.report/v1) to this file, or `-` for stdout.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report (one testcase per check and per smoke step).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown report (e.g. to $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Run only the checks with these names (and the checks they depend on).
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    /// Colour on the console: auto (a terminal, unless NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Which {
    Pre,
    Post,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code.into(),
        Err(message) => {
            eprintln!("shipgate-check: {message}");
            Code::Usage.into()
        }
    }
}

/// Runs the phase; `Err` is a usage or configuration error (exit 2).
fn run(args: &Args) -> Result<Code, String> {
    let doc = Document::load(&args.config, args.env.as_deref(), Vars::process())
        .map_err(|e| e.to_string())?;
    if !doc.has_section("checks") {
        return Err(format!("{} has no [checks] section", args.config.display()));
    }
    // Only this phase is read (and interpolated): the other's variables need not be set.
    let config: ChecksSettings = doc
        .section_without("checks", &["pre", "post"])
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let (phase, name) = match args.phase {
        Which::Pre => (Phase::Pre, "pre"),
        Which::Post => (Phase::Post, "post"),
    };
    let mut specs: Vec<shipgate_checks::CheckSpec> = doc
        .subsection(&["checks", name])
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    if specs.is_empty() {
        return Err(format!(
            "{} has no [[checks.{name}]]",
            args.config.display()
        ));
    }
    if !args.only.is_empty() {
        specs = select(&specs, &args.only)?;
    }
    shipgate_checks::validate(&specs).map_err(|e| e.to_string())?;

    // Everything that is a secret is masked in every output: config secrets, and the
    // values of environment variables that env checks treat as secrets.
    let mut secrets = doc.secrets();
    for spec in &specs {
        if let CheckKind::Env(env) = &spec.kind {
            secrets.extend(env.secrets.iter().filter_map(|v| std::env::var(v).ok()));
        }
    }
    let http = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        connect_timeout: config.timeout.min(Duration::from_secs(10)),
        request_timeout: config.timeout.max(Duration::from_secs(1)),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let base_dir = args
        .config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    let ctx = Context {
        vars: Vars::process(),
        http,
        base_dir,
    };
    let run_config = RunConfig {
        timeout: config.timeout,
        concurrency: config.concurrency,
    };

    let title = match doc.environment() {
        Some(env) => format!("shipgate-check {name} ({env})"),
        None => format!("shipgate-check {name}"),
    };
    let mut report = Report::new(title).with_redactor(Redactor::new(secrets));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let findings = runtime
        .block_on(shipgate_checks::run(&specs, phase, run_config, &ctx))
        .map_err(|e| e.to_string())?;
    report.extend(findings);

    let stdout_taken = args.json.as_deref() == Some(Path::new("-"));
    let console = match args.color {
        Color::Always => Console::colored(),
        Color::Never => Console::plain(),
        Color::Auto if stdout_taken => Console::plain(),
        Color::Auto => Console::for_stdout(),
    };
    let console_text = console
        .render_to_string(&report)
        .map_err(|e| e.to_string())?;
    if stdout_taken {
        eprint!("{console_text}");
    } else {
        print!("{console_text}");
    }
    let outputs: [(&Option<PathBuf>, &dyn Render); 3] = [
        (&args.json, &Json),
        (&args.junit, &Junit),
        (&args.markdown, &Markdown),
    ];
    for (path, renderer) in outputs {
        if let Some(path) = path {
            write(path, renderer, &report)?;
        }
    }
    Ok(report.exit_code())
}

/// The named checks and, transitively, what they depend on, in configuration order.
fn select(
    specs: &[shipgate_checks::CheckSpec],
    only: &[String],
) -> Result<Vec<shipgate_checks::CheckSpec>, String> {
    let mut wanted: Vec<String> = only.to_vec();
    for name in only {
        if !specs.iter().any(|s| &s.name == name) {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "--only {name:?}: no such check (checks: {})",
                known.join(", ")
            ));
        }
    }
    let mut i = 0;
    while i < wanted.len() {
        if let Some(spec) = specs.iter().find(|s| s.name == wanted[i]) {
            for dep in &spec.depends_on {
                if !wanted.contains(dep) {
                    wanted.push(dep.clone());
                }
            }
        }
        i += 1;
    }
    Ok(specs
        .iter()
        .filter(|s| wanted.contains(&s.name))
        .cloned()
        .collect())
}

/// Writes a report whole (see `shipgate_report::write_atomic`); `-` is standard output.
fn write(path: &Path, renderer: &dyn Render, report: &Report) -> Result<(), String> {
    let text = renderer
        .render_to_string(report)
        .map_err(|e| e.to_string())?;
    if path == Path::new("-") {
        std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
        return Ok(());
    }
    shipgate_report::write_atomic(path, &text)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
