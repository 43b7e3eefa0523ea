//! The command line: every flag's help text, parsed into typed values.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use shipgate_cli::{ConfigArgs, LogArgs};

/// Send shipgate notifications: Slack, webhooks, PagerDuty, Teams, email.
///
/// Reads the [notify] section of shipgate.toml (channels, routes, cooldown, grouping).
///
/// Exit codes: 0 every channel accepted (or the event was deduplicated), 1 a channel
/// failed, 2 a configuration or usage error.
///
/// Examples:
///   shipgate-notify test --env production
///   shipgate-notify send --kind deployment_failed --severity critical --environment production \
///       --summary "v42 failed its smoke tests" --detail version=v42 --link runbook=https://…
///   echo '{"kind":"alert","severity":"warning","environment":"staging","summary":"p95 high"}' \
///       | shipgate-notify send --json -
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Parser)]
#[command(name = "shipgate-notify", version, verbatim_doc_comment)]
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
    /// Send a test notification to every configured channel (or those named) and report each.
    Test {
        /// Only these channels.
        #[arg(long = "channel", value_name = "NAME")]
        channels: Vec<String>,
    },
    /// Send one event (from flags), or events from JSON (`--json FILE` or `-` for stdin).
    Send(SendArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct SendArgs {
    /// An event object or an array of them, as documented in docs/notification-schema.md.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["kind", "summary"])]
    pub(crate) json: Option<PathBuf>,
    /// deployment_started, deployment_succeeded, deployment_failed, rolled_back,
    /// check_failed, threshold_breached, alert, test.
    #[arg(long, required_unless_present = "json")]
    pub(crate) kind: Option<String>,
    /// info, warning or critical.
    #[arg(long, default_value = "info")]
    pub(crate) severity: String,
    /// Where it happened (defaults to --env).
    #[arg(long)]
    pub(crate) environment: Option<String>,
    /// One line saying what happened.
    #[arg(long, required_unless_present = "json")]
    pub(crate) summary: Option<String>,
    /// The version deployed or affected.
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// A fact, as NAME=VALUE (repeatable).
    #[arg(long, value_name = "NAME=VALUE", value_parser = pair)]
    pub(crate) detail: Vec<(String, String)>,
    /// A link, as TITLE=URL (repeatable).
    #[arg(long, value_name = "TITLE=URL", value_parser = pair)]
    pub(crate) link: Vec<(String, String)>,
    /// Identity for dedup and resolution.
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// The alert is over (sent once, after a firing notice).
    #[arg(long)]
    pub(crate) resolved: bool,
}

fn pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{text:?}: expected NAME=VALUE"))
}
