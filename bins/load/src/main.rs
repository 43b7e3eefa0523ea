//! `shipgate-load`: run `[load]` from shipgate.toml and judge it by its thresholds.
//!
//! Thin glue over `shipgate_load`: parse arguments, apply overrides, run with a
//! progress line, write reports, map the thresholds to an exit code.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use shipgate_config::{Document, Vars};
use shipgate_load::{
    Engine, LoadConfig, Plan, Progress, Report, RunResult, Shape, Stage, read_summary,
};
use shipgate_report::{ExitCode as Code, Junit, Markdown, Redactor, Render};
use shipgate_stats::Threshold;
use tokio_util::sync::CancellationToken;

/// Generate load from the [load] section of shipgate.toml and judge it.
///
/// Subcommand `merge` combines the JSON summaries of generators that ran at the same
/// time (a distributed run) into one report, histograms merged exactly.
///
/// Closed model (users with weights, think time and stages) or open model (arrival
/// rate). Every request lands in HDR histograms; thresholds such as `p95 < 500ms` and
/// `error_rate < 1%` decide the exit code. Ctrl-C stops gracefully.
///
/// Exit codes: 0 every threshold holds, 1 a threshold failed (or --smoke-only found a
/// failure), 2 a configuration or usage error.
///
/// Examples:
///   shipgate-load --env staging
///   shipgate-load --env staging --users 50 --spawn-rate 10 --run-time 2m --csv target/run
///   shipgate-load --env staging --rate 200 --run-time 1m --max-vus 100
///   shipgate-load --env staging --smoke-only
///   shipgate-load merge gen1.json gen2.json --html all.html
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Parser)]
#[command(version, verbatim_doc_comment, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The configuration file.
    #[arg(long, short, default_value = "shipgate.toml", env = "SHIPGATE_CONFIG")]
    config: PathBuf,
    /// The environment whose [environments.NAME] variables fill ${VAR}s.
    #[arg(long, short, env = "SHIPGATE_ENV")]
    env: Option<String>,
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
    let args = Args::parse();
    let outcome = match &args.command {
        Some(Command::Merge {
            summaries,
            thresholds,
            outputs,
        }) => merge(summaries, thresholds, outputs),
        None => run(&args),
    };
    match outcome {
        Ok(code) => code.into(),
        Err(message) => {
            eprintln!("shipgate-load: {message}");
            Code::Usage.into()
        }
    }
}

fn run(args: &Args) -> Result<Code, String> {
    let doc = Document::load(&args.config, args.env.as_deref(), Vars::process())
        .map_err(|e| e.to_string())?;
    let mut config: LoadConfig = doc
        .section("load")
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{} has no [load] section", args.config.display()))?;
    if let Some(host) = &args.host {
        config.host = Some(host.clone());
    }
    let mut plan = Plan::from_config(&config).map_err(|e| e.to_string())?;
    if let (Some(users), Some(run_time)) = (args.users, args.run_time) {
        plan.shape = Shape::Closed(vec![Stage {
            users,
            until: run_time,
            spawn_rate: args.spawn_rate,
        }]);
    }
    if let (Some(rate), Some(run_time)) = (args.rate, args.run_time) {
        plan.shape = Shape::Open {
            points: vec![(Duration::ZERO, rate), (run_time, rate)],
            max_vus: args.max_vus.max(1),
        };
    }
    plan.validate().map_err(|e| e.to_string())?;
    let client = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        request_timeout: config.timeout,
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let redactor = Redactor::new(doc.secrets());

    if args.smoke_only {
        let results = runtime.block_on(shipgate_load::smoke(&plan, client));
        let mut ok = true;
        for r in &results {
            match &r.result {
                Ok(d) => println!("ok    {}  {d:?}", r.name),
                Err(e) => {
                    ok = false;
                    println!("FAIL  {}  {}", r.name, redactor.redact(e));
                }
            }
        }
        return Ok(if ok { Code::Success } else { Code::Failure });
    }

    let _entered = runtime.enter();
    let engine = Engine::new(plan.clone(), client);
    let live = engine.live();
    let cancel = CancellationToken::new();
    let result = runtime.block_on(async {
        let stop = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("stopping: letting users finish their task (Ctrl-C again to abort)");
                stop.cancel();
                let _ = tokio::signal::ctrl_c().await;
                std::process::exit(130);
            }
        });
        let every = args.progress.max(Duration::from_millis(200));
        let total = plan.shape.duration();
        let finished = CancellationToken::new();
        let done = finished.clone();
        let progress = tokio::spawn(async move {
            let mut progress = Progress::new();
            let terminal = std::io::stderr().is_terminal();
            // On a terminal, a bar over the shape's duration, redrawn every second.
            let bar = terminal.then(|| {
                let bar = ProgressBar::new(total.as_secs().max(1));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {elapsed_precise} {bar:10} {pos}/{len}s {wide_msg}",
                    )
                    .expect("a valid template"),
                );
                bar
            });
            let mut ticker = tokio::time::interval(if terminal {
                Duration::from_secs(1)
            } else {
                every
            });
            ticker.tick().await;
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    () = done.cancelled() => break,
                }
                let tick = progress.tick(&live);
                match &bar {
                    Some(bar) => {
                        bar.set_position(tick.elapsed.as_secs());
                        bar.set_message(tick.summary());
                    }
                    None => eprintln!("{tick}"),
                }
            }
            // The last reading stays on screen above the table.
            if let Some(bar) = bar {
                bar.finish();
                eprintln!();
            }
        });
        let result = engine.run(cancel).await;
        finished.cancel();
        let _ = progress.await;
        result
    });
    let report = Report::new(&plan, &result);
    let shape = match &plan.shape {
        Shape::Closed(stages) => stages
            .iter()
            .map(|s| format!("{} users until {:?}", s.users, s.until))
            .collect::<Vec<_>>()
            .join(", "),
        Shape::Open { points, max_vus } => format!(
            "arrival {:?} (max {max_vus} VUs)",
            points
                .iter()
                .map(|(t, r)| format!("{r}/s at {t:?}"))
                .collect::<Vec<_>>()
        ),
    };
    let classes = plan
        .classes
        .iter()
        .map(|c| format!("{} (weight {}, {} tasks)", c.name, c.weight, c.tasks.len()))
        .collect::<Vec<_>>()
        .join(", ");
    let lines = [
        (
            "configuration".to_owned(),
            args.config.display().to_string(),
        ),
        (
            "environment".to_owned(),
            args.env.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("shape".to_owned(), shape),
        ("user classes".to_owned(), classes),
    ];
    emit(&report, &args.outputs, &lines, redactor)
}

/// `shipgate-load merge`: read the summaries, merge them, judge and report.
fn merge(paths: &[PathBuf], thresholds: &[String], outputs: &Outputs) -> Result<Code, String> {
    let mut merged = RunResult::empty();
    let mut judged_by: Option<(PathBuf, Vec<String>)> = None;
    for path in paths {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let summary =
            read_summary(&path.display().to_string(), &text).map_err(|e| e.to_string())?;
        let these: Vec<String> = summary.thresholds.iter().map(ToString::to_string).collect();
        match &judged_by {
            Some((first, theirs)) if thresholds.is_empty() && *theirs != these => {
                return Err(format!(
                    "{} and {} were judged by different thresholds ({theirs:?} and {these:?}); \
                     choose with --threshold",
                    first.display(),
                    path.display()
                ));
            }
            Some(_) => {}
            None => judged_by = Some((path.clone(), these)),
        }
        merged.merge(&summary.result);
    }
    let expressions = if thresholds.is_empty() {
        judged_by.map(|(_, t)| t).unwrap_or_default()
    } else {
        thresholds.to_vec()
    };
    let thresholds = expressions
        .iter()
        .map(|t| {
            t.parse::<Threshold>()
                .map_err(|e| format!("--threshold {t:?}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
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
        Redactor::new(Vec::<String>::new()),
    )
}

/// Prints the table and writes the requested reports; the thresholds' exit code.
fn emit(
    report: &Report,
    outputs: &Outputs,
    config: &[(String, String)],
    redactor: Redactor,
) -> Result<Code, String> {
    print!("{}", redactor.redact(&report.table()));
    if let Some(prefix) = &outputs.csv {
        report
            .write_csv(prefix)
            .map_err(|e| format!("cannot write CSV files {}_*.csv: {e}", prefix.display()))?;
    }
    if let Some(path) = &outputs.html {
        write(
            path,
            &redactor.redact(&report.html("shipgate-load", config)),
        )?;
    }
    if let Some(path) = &outputs.json {
        let text = serde_json::to_string_pretty(&report.json()).map_err(|e| e.to_string())?;
        write(path, &redactor.redact(&text))?;
    }
    let mut findings =
        shipgate_report::Report::new("shipgate-load thresholds").with_redactor(redactor);
    findings.extend(report.findings());
    let outputs: [(&Option<PathBuf>, &dyn Render); 2] =
        [(&outputs.junit, &Junit), (&outputs.markdown, &Markdown)];
    for (path, renderer) in outputs {
        if let Some(path) = path {
            write(
                path,
                &renderer
                    .render_to_string(&findings)
                    .map_err(|e| e.to_string())?,
            )?;
        }
    }
    Ok(report.exit_code())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    shipgate_report::write_atomic(path, text)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
