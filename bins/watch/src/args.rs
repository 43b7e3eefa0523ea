// The doc comments are clap's --help text: their [brackets] are TOML, not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links)]

//! The command line: every subcommand and flag, with the help text that teaches them.

use std::time::Duration;

use clap::{Parser, Subcommand};
use shipgate_cli::{ConfigArgs, LogArgs, ReportArgs};

/// Watch an environment with the rules of [watch] in shipgate.toml: sample each
/// source on its own interval, move each rule's alert inactive → pending → firing →
/// resolved (with `for`, `consecutive` and `keep_firing_for` as Prometheus has them),
/// send firing and resolved alerts through [notify], and roll the deployment back
/// (once) when a rule with action = "rollback" fires.
///
/// Missing data is never a pass: a rule's no_data policy says what an empty result,
/// a query error or a timeout means, and a window in which a rule never had data ends
/// inconclusive.
///
/// Exit codes (deployment): 0 passed, 1 failed (a rollback rule fired; the report
/// says whether the rollback worked) or inconclusive (a rule never had data), 2 a
/// usage or configuration error: nothing was watched.
///
/// Examples:
///   shipgate-watch --env production deployment --for 10m --junit watch.xml --html watch.html
///   shipgate-watch --env production run
///   shipgate-watch --env production status --json
///   shipgate-watch --env staging test-alerts
#[derive(Debug, Parser)]
#[command(name = "shipgate-watch", version, verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    #[command(flatten)]
    pub(crate) log: LogArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Watch the deployment just made for a window, then report its verdict.
    ///
    /// While a deployment of the environment is under way (its journal has no ending
    /// and its lock is held), alerts are held: no page for the restart we caused.
    /// A firing rollback rule switches back to the previous release through [deploy]
    /// (as `shipgate-deploy rollback application` does), once.
    Deployment {
        /// How long to watch (default: [watch] window).
        #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
        length: Option<Duration>,
        /// Notify only: never roll back, whatever the rules say.
        #[arg(long)]
        no_rollback: bool,
        /// Write a self-contained HTML page of the window: each rule's values against
        /// its limits, when it went pending, fired and resolved, the rollback.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
        #[command(flatten)]
        outputs: ReportArgs,
    },
    /// Watch until stopped (SIGTERM or Ctrl-C end it cleanly): alerts only, no rollback.
    Run,
    /// Print what the running (or last) watcher wrote: rules, states, last values.
    Status {
        /// The status file as it is (schema shipgate.watch-status/v1).
        #[arg(long)]
        json: bool,
    },
    /// Send a test notice to every [notify] channel, to prove the wiring.
    TestAlerts,
}
