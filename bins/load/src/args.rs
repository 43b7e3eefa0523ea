//! The command line: every flag's help text, and how flags become [`Overrides`] and
//! [`Files`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use shipgate_cli::{ConfigArgs, LogArgs};
use shipgate_load::{Files, Overrides, ShapeConfig};

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
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    /// GET this URL instead of running [load] (no configuration file is read); give
    /// --users or --rate, and --run-time.
    #[arg(value_name = "URL")]
    pub(crate) url: Option<String>,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    /// Judge the run by this threshold too (repeatable), e.g. --threshold "p95 < 500ms".
    #[arg(long = "threshold", value_name = "EXPR")]
    pub(crate) thresholds: Vec<String>,
    /// Override [load] host (the `{{host}}` of requests).
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// Replace the shape: this many users (closed model) for --run-time.
    #[arg(long, requires = "run_time", conflicts_with = "rate")]
    pub(crate) users: Option<u32>,
    /// Users started per second with --users.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) spawn_rate: f64,
    /// Replace the shape: this many iterations per second (open model) for --run-time.
    #[arg(long, requires = "run_time")]
    pub(crate) rate: Option<f64>,
    /// Virtual users for --rate: iterations in flight at most.
    #[arg(long, default_value_t = 100)]
    pub(crate) max_vus: u32,
    /// How long --users or --rate runs, e.g. 90s, 5m.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub(crate) run_time: Option<Duration>,
    /// Run each task once per class (on_start, tasks, on_stop) and stop at the first failure.
    #[arg(long)]
    pub(crate) smoke_only: bool,
    #[command(flatten)]
    pub(crate) outputs: Outputs,
    /// Time between progress lines when stderr is not a terminal (on a terminal, a
    /// bar is redrawn every second): users, req/s since the last line, p95 of the last
    /// five seconds, failures.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub(crate) progress: Duration,
    /// Worker threads generating load (default: the CPUs this process may use). With
    /// one, a single-threaded runtime: the cheapest per request, as wrk's `-t1`.
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Accepted for Locust runbooks; shipgate-load has no web UI and always runs headless.
    #[arg(long)]
    pub(crate) headless: bool,
    #[command(flatten)]
    pub(crate) log: LogArgs,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
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
pub(crate) struct Outputs {
    /// Write Locust-compatible CSVs: PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv.
    #[arg(long, value_name = "PREFIX")]
    pub(crate) csv: Option<PathBuf>,
    /// Write the self-contained HTML report (charts over time, thresholds, requests).
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
    /// Write the JSON summary (schema shipgate.load/v1, with the stats snapshot).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Write the thresholds as JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// Write the thresholds as Markdown (e.g. to $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    pub(crate) markdown: Option<PathBuf>,
}

impl Outputs {
    /// The report files asked for.
    pub(crate) fn files(&self) -> Files {
        Files {
            csv: self.csv.clone(),
            html: self.html.clone(),
            json: self.json.clone(),
            junit: self.junit.clone(),
            markdown: self.markdown.clone(),
        }
    }
}

impl Args {
    /// `--host`, `--threshold`, and `--users`/`--rate` with `--run-time`, as a change to
    /// `[load]`.
    pub(crate) fn overrides(&self) -> Overrides {
        let shape = match (self.users, self.rate, self.run_time) {
            (Some(users), _, Some(duration)) => Some(ShapeConfig::Constant {
                users,
                duration,
                spawn_rate: self.spawn_rate,
            }),
            (None, Some(rate), Some(duration)) => Some(ShapeConfig::Arrival {
                rate,
                duration: Some(duration),
                stages: Vec::new(),
                max_vus: self.max_vus.max(1),
            }),
            _ => None,
        };
        Overrides {
            host: self.host.clone(),
            shape,
            thresholds: self.thresholds.clone(),
        }
    }
}
