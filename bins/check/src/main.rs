//! `shipgate-check`: run the `pre` or `post` checks of shipgate.toml and report.
//!
//! Thin glue: parse arguments, load the configuration, call `shipgate_checks::run`,
//! render with `shipgate_report`, map the result to an exit code.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use shipgate_checks::{Context, RunConfig};
use shipgate_cli::{ConfigArgs, Failure, LogArgs, ReportArgs};
use shipgate_config::Vars;
use shipgate_report::{ExitCode as Code, Phase, Report};

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
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    report: ReportArgs,
    /// Run only the checks with these names (and the checks they depend on).
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    #[command(flatten)]
    log: LogArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Which {
    Pre,
    Post,
}

fn main() -> ExitCode {
    let args: Args = shipgate_cli::parse();
    shipgate_cli::exit("shipgate-check", run(&args))
}

fn run(args: &Args) -> Result<Code, Failure> {
    let logging = shipgate_cli::init_logging(&args.log);
    let doc = args.config.load(&logging)?;
    let (phase, name) = match args.phase {
        Which::Pre => (Phase::Pre, "pre"),
        Which::Post => (Phase::Post, "post"),
    };
    let (settings, specs) =
        shipgate_checks::phase_specs(&doc, name, &args.only).map_err(phase_error)?;
    // The values of the variables env checks treat as secrets join the config's own,
    // masked in every output and log line.
    let vars = Vars::process();
    let redactor = doc.redactor();
    redactor.add(shipgate_checks::env_secrets(&specs, &vars));

    let http = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        connect_timeout: settings.timeout.min(Duration::from_secs(10)),
        request_timeout: settings.timeout.max(Duration::from_secs(1)),
        ..Default::default()
    })
    .map_err(|e| Failure::usage("cannot build the HTTP client", e))?;
    let ctx = Context {
        vars,
        http,
        base_dir: args.config.base_dir(),
    };
    let run_config = RunConfig {
        timeout: settings.timeout,
        concurrency: settings.concurrency,
    };
    let title = match doc.environment() {
        Some(env) => format!("shipgate-check {name} ({env})"),
        None => format!("shipgate-check {name}"),
    };
    let mut report = Report::new(title).with_redactor(redactor);
    let findings = shipgate_cli::runtime(None)?
        .block_on(shipgate_checks::run(&specs, phase, run_config, &ctx))
        .map_err(|e| Failure::usage("the checks cannot run", e))?;
    report.extend(findings);
    args.report.emit(&report)?;
    Ok(report.exit_code())
}

/// A phase's configuration error as a usage failure.
fn phase_error(e: shipgate_checks::PhaseError) -> Failure {
    use shipgate_checks::PhaseError as E;
    match e {
        E::Config(c) => c.into(),
        E::Only(source) => Failure::usage("--only", source),
        other => Failure::usage_msg(other.to_string()),
    }
}
