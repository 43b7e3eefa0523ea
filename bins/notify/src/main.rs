//! `shipgate-notify`: prove the notification wiring, or send an event.
//!
//! Thin glue over `shipgate_notify`: parse arguments, load `[notify]`, send, print one
//! line per channel, map to an exit code.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use shipgate_cli::{ConfigArgs, Failure, LogArgs};
use shipgate_notify::{
    Decision, Delivery, Event, EventKind, Link, Notifier, NotifyConfig, Severity, Status,
};
use shipgate_report::{ExitCode as Code, Redactor, error_line};

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
struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
struct SendArgs {
    /// An event object or an array of them, as documented in docs/notification-schema.md.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["kind", "summary"])]
    json: Option<PathBuf>,
    /// deployment_started, deployment_succeeded, deployment_failed, rolled_back,
    /// check_failed, threshold_breached, alert, test.
    #[arg(long, required_unless_present = "json")]
    kind: Option<String>,
    /// info, warning or critical.
    #[arg(long, default_value = "info")]
    severity: String,
    /// Where it happened (defaults to --env).
    #[arg(long)]
    environment: Option<String>,
    /// One line saying what happened.
    #[arg(long, required_unless_present = "json")]
    summary: Option<String>,
    /// The version deployed or affected.
    #[arg(long)]
    version: Option<String>,
    /// A fact, as NAME=VALUE (repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    detail: Vec<String>,
    /// A link, as TITLE=URL (repeatable).
    #[arg(long, value_name = "TITLE=URL")]
    link: Vec<String>,
    /// Identity for dedup and resolution.
    #[arg(long)]
    key: Option<String>,
    /// The alert is over (sent once, after a firing notice).
    #[arg(long)]
    resolved: bool,
}

fn main() -> ExitCode {
    let args: Args = shipgate_cli::parse();
    shipgate_cli::exit("shipgate-notify", run(&args))
}

/// Success when every channel accepted, failure when one did not.
fn run(args: &Args) -> Result<Code, Failure> {
    let logging = shipgate_cli::init_logging(&args.log);
    let doc = args.config.load()?;
    logging.mask(Redactor::new(doc.secrets()));
    let mut config: NotifyConfig = shipgate_cli::required_section(&doc, "notify")?;
    if config.channels.is_empty() {
        return Err(Failure::usage_msg(format!(
            "{} configures no [notify.channels]",
            doc.path().display()
        )));
    }
    let environment = args
        .config
        .env
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    if let Command::Test { channels } = &args.command
        && !channels.is_empty()
    {
        if let Some(c) = channels.iter().find(|c| !config.channels.contains_key(*c)) {
            let known: Vec<&str> = config.channels.keys().map(String::as_str).collect();
            return Err(Failure::usage_msg(format!(
                "--channel {c:?}: not configured (channels: {})",
                known.join(", ")
            )));
        }
        config.channels.retain(|name, _| channels.contains(name));
    }
    let events = match &args.command {
        Command::Test { .. } => Vec::new(),
        Command::Send(send) => events(send, &environment)?,
    };
    let client = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig::default())
        .map_err(|e| Failure::usage("cannot build the HTTP client", e))?;
    let mut notifier = Notifier::new(config, client, args.config.base_dir())
        .map_err(|e| Failure::usage("[notify]", e))?;
    let deliveries = shipgate_cli::runtime(None)?.block_on(async {
        match &args.command {
            Command::Test { .. } => notifier.test(&environment).await,
            Command::Send(_) => {
                let now = SystemTime::now();
                for event in events {
                    let summary = event.summary.clone();
                    if let Decision::Suppressed(why) = notifier.submit(event, now) {
                        println!("suppressed  {summary}: {why}");
                    }
                }
                notifier.flush_all(now).await
            }
        }
    });
    Ok(if print(&deliveries) {
        Code::Success
    } else {
        Code::Failure
    })
}

fn print(deliveries: &[Delivery]) -> bool {
    let width = deliveries
        .iter()
        .map(|d| d.channel.len())
        .max()
        .unwrap_or(0);
    for d in deliveries {
        match &d.result {
            Ok(attempts) => {
                let tries = if *attempts == 1 {
                    "1 attempt".to_owned()
                } else {
                    format!("{attempts} attempts")
                };
                println!(
                    "ok    {:<width$}  {} event(s), {tries}",
                    d.channel, d.events
                );
            }
            Err(e) => println!("FAIL  {:<width$}  {}", d.channel, error_line(e)),
        }
    }
    deliveries.iter().all(|d| d.result.is_ok())
}

fn events(send: &SendArgs, default_env: &str) -> Result<Vec<Event>, Failure> {
    if let Some(path) = &send.json {
        let mut text = String::new();
        if path == Path::new("-") {
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Failure::usage("cannot read standard input", e))?;
        } else {
            text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("cannot read {}", path.display()), e))?;
        }
        return Event::parse_json(&text).map_err(|e| Failure::usage("--json", e));
    }
    let kind: EventKind = parse_enum(send.kind.as_deref().unwrap_or_default(), "--kind")?;
    let severity: Severity = parse_enum(&send.severity, "--severity")?;
    let mut event = Event::new(
        kind,
        severity,
        send.environment
            .clone()
            .unwrap_or_else(|| default_env.to_owned()),
        send.summary.clone().unwrap_or_default(),
    );
    event.version = send.version.clone();
    event.key = send.key.clone();
    if send.resolved {
        event.status = Status::Resolved;
    }
    event.details = pairs(&send.detail, "--detail", "NAME=VALUE")?;
    event.links = pairs(&send.link, "--link", "TITLE=URL")?
        .into_iter()
        .map(|(title, url)| Link { title, url })
        .collect();
    Ok(vec![event])
}

fn parse_enum<T: serde::de::DeserializeOwned>(text: &str, flag: &str) -> Result<T, Failure> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| Failure::usage(format!("{flag} {text:?}"), e))
}

fn pairs(items: &[String], flag: &str, form: &str) -> Result<BTreeMap<String, String>, Failure> {
    items
        .iter()
        .map(|i| {
            i.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| Failure::usage_msg(format!("{flag} {i:?}: expected {form}")))
        })
        .collect()
}
