//! `shipgate-load`: run `[load]` from shipgate.toml and judge it by its thresholds.
//!
//! Thin glue over `shipgate_load`: parse arguments, apply overrides, run with a
//! progress line, write reports, map the thresholds to an exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use shipgate_cli::{ConfigArgs, Failure, LogArgs};
use shipgate_load::{Engine, Files, LoadConfig, Overrides, Plan, Report, ShapeConfig, Tick};
use shipgate_report::{ExitCode as Code, Redactor};
use shipgate_stats::Threshold;
use tokio_util::sync::CancellationToken;

/// Generate load from the [load] section of shipgate.toml and judge it, or GET one URL
/// with no file at all (`shipgate-load URL --users N --run-time D`, or `--rate R`).
///
/// Subcommand `merge` combines the JSON summaries of generators that ran at the same
/// time (a distributed run) into one report, histograms merged exactly.
///
/// Closed model (users with weights, think time and stages) or open model (arrival
/// rate). Every request lands in HDR histograms; thresholds such as `p95 < 500ms` and
/// `error_rate < 1%` decide the exit code. Ctrl-C stops gracefully.
///
/// Exit codes: 0 every threshold holds, 1 a threshold failed (with no thresholds: any
/// request failed; or --smoke-only found a failure; or a report could not be written),
/// 2 a configuration or usage error (nothing ran).
///
/// Examples:
///   shipgate-load http://127.0.0.1:8080/ --users 50 --run-time 30s --threshold "p95 < 200ms"
///   shipgate-load http://127.0.0.1:8080/health --rate 500 --run-time 1m
///   shipgate-load --env staging
///   shipgate-load --env staging --users 50 --spawn-rate 10 --run-time 2m --csv target/run
///   shipgate-load --env staging --rate 200 --run-time 1m --max-vus 100
///   shipgate-load --env staging --smoke-only
///   shipgate-load merge gen1.json gen2.json --html all.html
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Parser)]
#[command(
    name = "shipgate-load",
    version,
    verbatim_doc_comment,
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// GET this URL instead of running [load] (no configuration file is read); give
    /// --users or --rate, and --run-time.
    #[arg(value_name = "URL")]
    url: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
    /// Judge the run by this threshold too (repeatable), e.g. --threshold "p95 < 500ms".
    #[arg(long = "threshold", value_name = "EXPR")]
    thresholds: Vec<String>,
    /// Override [load] host (the `{{host}}` of requests).
    #[arg(long)]
    host: Option<String>,
    /// Replace the shape: this many users (closed model) for --run-time.
    #[arg(long, requires = "run_time", conflicts_with = "rate")]
    users: Option<u32>,
    /// Users started per second with --users.
    #[arg(long, default_value_t = 10.0)]
    spawn_rate: f64,
    /// Replace the shape: this many iterations per second (open model) for --run-time.
    #[arg(long, requires = "run_time")]
    rate: Option<f64>,
    /// Virtual users for --rate: iterations in flight at most.
    #[arg(long, default_value_t = 100)]
    max_vus: u32,
    /// How long --users or --rate runs, e.g. 90s, 5m.
    #[arg(long, value_parser = humantime::parse_duration)]
    run_time: Option<Duration>,
    /// Run each task once per class (on_start, tasks, on_stop) and stop at the first failure.
    #[arg(long)]
    smoke_only: bool,
    #[command(flatten)]
    outputs: Outputs,
    /// Time between progress lines when stderr is not a terminal (on a terminal, a
    /// bar is redrawn every second): users, req/s since the last line, p95 of the last
    /// five seconds, failures.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    progress: Duration,
    /// Worker threads generating load (default: the CPUs this process may use). With
    /// one, a single-threaded runtime: the cheapest per request, as wrk's `-t1`.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Accepted for Locust runbooks; shipgate-load has no web UI and always runs headless.
    #[arg(long)]
    headless: bool,
    #[command(flatten)]
    log: LogArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Merge the JSON summaries (--json) of generators that ran at the same time into
    /// one report, and judge it by their thresholds (or by --threshold).
    ///
    /// Exit codes as for a run: 0 every threshold holds, 1 one failed, 2 a summary
    /// cannot be read or the summaries were judged by different thresholds.
    #[command(verbatim_doc_comment)]
    Merge {
        /// JSON summaries written by `shipgate-load --json`.
        #[arg(required = true, num_args = 1.., value_name = "SUMMARY")]
        summaries: Vec<PathBuf>,
        /// Judge by these thresholds instead (repeatable), e.g. --threshold "p95 < 500ms".
        #[arg(long = "threshold", value_name = "EXPR")]
        thresholds: Vec<String>,
        #[command(flatten)]
        outputs: Outputs,
    },
}

/// Reports to write, besides the console table.
#[derive(Debug, clap::Args)]
struct Outputs {
    /// Write Locust-compatible CSVs: PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv.
    #[arg(long, value_name = "PREFIX")]
    csv: Option<PathBuf>,
    /// Write the self-contained HTML report (charts over time, thresholds, requests).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the JSON summary (schema shipgate.load/v1, with the stats snapshot).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the thresholds as JUnit XML.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write the thresholds as Markdown (e.g. to $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args: Args = shipgate_cli::parse();
    let outcome = match &args.command {
        Some(Command::Merge {
            summaries,
            thresholds,
            outputs,
        }) => merge(summaries, thresholds, outputs),
        None => run(&args),
    };
    shipgate_cli::exit("shipgate-load", outcome)
}

fn run(args: &Args) -> Result<Code, Failure> {
    let logging = shipgate_cli::init_logging(&args.log);
    let (config, source, redactor) = match &args.url {
        Some(url) => quick(url, args)?,
        None => {
            let doc = args.config.load()?;
            let config: LoadConfig = shipgate_cli::required_section(&doc, "load")?;
            let source = format!("{}: [load]", doc.path().display());
            (config, source, Redactor::new(doc.secrets()))
        }
    };
    logging.mask(redactor.clone());
    let timeout = config.timeout;
    let plan =
        Plan::from_config(&config.with(overrides(args))).map_err(|e| Failure::usage(source, e))?;
    let client = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        request_timeout: timeout,
        ..Default::default()
    })
    .map_err(|e| Failure::usage("cannot build the HTTP client", e))?;
    let runtime = shipgate_cli::runtime(args.threads)?;
    if args.smoke_only {
        let results = runtime.block_on(shipgate_load::smoke(&plan, client));
        for r in &results {
            match &r.result {
                Ok(d) => println!("ok    {}  {d:?}", r.name),
                Err(e) => println!("FAIL  {}  {}", r.name, redactor.redact(&e.message)),
            }
        }
        let ok = results.iter().all(|r| r.result.is_ok());
        return Ok(if ok { Code::Success } else { Code::Failure });
    }
    let _entered = runtime.enter();
    let engine = Engine::new(plan.clone(), client);
    let cancel = CancellationToken::new();
    let result = runtime.block_on(async {
        shipgate_cli::cancel_on_ctrl_c(cancel.clone(), "stopping: letting users finish their task");
        let terminal = std::io::stderr().is_terminal();
        // On a terminal, a bar over the shape's duration, redrawn every second; else a
        // line every --progress.
        let bar = terminal.then(|| bar(plan.shape.duration()));
        let every = if terminal {
            Duration::from_secs(1)
        } else {
            args.progress.max(Duration::from_millis(200))
        };
        let on_tick = |tick: &Tick| match &bar {
            Some(bar) => {
                bar.set_position(tick.elapsed.as_secs());
                bar.set_message(tick.summary());
            }
            None => eprintln!("{tick}"),
        };
        let result = shipgate_load::run_with_progress(engine, cancel, every, on_tick).await;
        // The last reading stays on screen above the table.
        if let Some(bar) = bar {
            bar.finish();
            eprintln!();
        }
        result
    });
    let report = Report::new(&plan, &result);
    let mut lines = vec![
        (
            "configuration".to_owned(),
            args.url.as_ref().map_or_else(
                || args.config.config.display().to_string(),
                |url| format!("GET {url} (no file)"),
            ),
        ),
        (
            "environment".to_owned(),
            args.config.env.clone().unwrap_or_else(|| "-".to_owned()),
        ),
    ];
    lines.extend(plan.describe());
    emit(&report, &args.outputs, &lines, &redactor)
}

/// The `[load]` of `shipgate-load URL …`: one GET in the shape the flags give. The URL's
/// password, if it has one, is masked like a configuration secret.
fn quick(url: &str, args: &Args) -> Result<(LoadConfig, String, Redactor), Failure> {
    let Some(shape) = overrides(args).shape else {
        return Err(Failure::usage_msg(format!(
            "shipgate-load {url}: give --users N or --rate R, and --run-time D"
        )));
    };
    let config = LoadConfig::single_get(url, shape)
        .map_err(|e| Failure::usage(format!("URL {url:?}"), e))?;
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password.to_owned());
    Ok((config, url.to_owned(), Redactor::new(password)))
}

/// `--host`, `--threshold`, and `--users`/`--rate` with `--run-time`, as a change to
/// `[load]`.
fn overrides(args: &Args) -> Overrides {
    let shape = match (args.users, args.rate, args.run_time) {
        (Some(users), _, Some(duration)) => Some(ShapeConfig::Constant {
            users,
            duration,
            spawn_rate: args.spawn_rate,
        }),
        (None, Some(rate), Some(duration)) => Some(ShapeConfig::Arrival {
            rate,
            duration: Some(duration),
            stages: Vec::new(),
            max_vus: args.max_vus.max(1),
        }),
        _ => None,
    };
    Overrides {
        host: args.host.clone(),
        shape,
        thresholds: args.thresholds.clone(),
    }
}

fn bar(total: Duration) -> ProgressBar {
    let bar = ProgressBar::new(total.as_secs().max(1));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} {bar:10} {pos}/{len}s {wide_msg}",
        )
        .expect("a valid template"),
    );
    bar
}

/// `shipgate-load merge`: read the summaries, merge them, judge and report.
fn merge(paths: &[PathBuf], thresholds: &[String], outputs: &Outputs) -> Result<Code, Failure> {
    let mut summaries = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read {}", path.display()), e))?;
        summaries.push((path.display().to_string(), text));
    }
    let chosen = thresholds
        .iter()
        .map(|t| {
            t.parse::<Threshold>()
                .map_err(|e| Failure::usage(format!("--threshold {t:?}"), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (merged, thresholds) =
        shipgate_load::merge_summaries(&summaries, (!chosen.is_empty()).then_some(&chosen[..]))
            .map_err(|e| Failure::usage("cannot merge", e))?;
    let report = Report::judged(&thresholds, &merged);
    let sources = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let lines = [("merged from".to_owned(), sources)];
    emit(
        &report,
        outputs,
        &lines,
        &Redactor::new(Vec::<String>::new()),
    )
}

/// Prints the table and writes the requested reports; the thresholds' exit code.
fn emit(
    report: &Report,
    outputs: &Outputs,
    context: &[(String, String)],
    redactor: &Redactor,
) -> Result<Code, Failure> {
    print!("{}", redactor.redact(&report.table()));
    let files = Files {
        csv: outputs.csv.clone(),
        html: outputs.html.clone(),
        json: outputs.json.clone(),
        junit: outputs.junit.clone(),
        markdown: outputs.markdown.clone(),
    };
    report
        .write_files(&files, context, redactor)
        .map_err(|e| Failure::aborted("the run finished, but not every report was written", e))?;
    Ok(report.exit_code())
}
