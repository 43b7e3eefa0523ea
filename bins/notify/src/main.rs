//! `shipgate-notify`: prove the notification wiring, or send an event.
//!
//! Thin glue over `shipgate_notify`: parse arguments, load `[notify]`, send, print one
//! line per channel, map to an exit code.

mod args;

use std::process::ExitCode;
use std::time::SystemTime;

use shipgate_cli::Failure;
use shipgate_notify::{Decision, Event, EventKind, Link, Notifier, NotifyConfig, Severity, Status};
use shipgate_report::ExitCode as Code;

use args::{Args, Command, SendArgs};

fn main() -> ExitCode {
    let args: Args = shipgate_cli::parse();
    shipgate_cli::exit("shipgate-notify", run(&args))
}

/// Success when every channel accepted, failure when one did not.
fn run(args: &Args) -> Result<Code, Failure> {
    let logging = shipgate_cli::init_logging(&args.log);
    let doc = args.config.load(&logging)?;
    let mut config: NotifyConfig = shipgate_cli::required_section(&doc, "notify")?;
    if config.channels.is_empty() {
        return Err(Failure::usage_msg(format!(
            "{} configures no [notify.channels]",
            doc.path().display()
        )));
    }
    let environment = args.config.env.as_deref().unwrap_or("default");
    let events = match &args.command {
        Command::Test { channels } => {
            config
                .keep_channels(channels)
                .map_err(|e| Failure::usage("--channel", e))?;
            Vec::new()
        }
        Command::Send(send) => events(send, environment)?,
    };
    let client = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig::default())
        .map_err(|e| Failure::usage("cannot build the HTTP client", e))?;
    let mut notifier = Notifier::new(config, client, args.config.base_dir())
        .map_err(|e| Failure::usage("[notify]", e))?;
    let deliveries = shipgate_cli::runtime(None)?.block_on(async {
        if let Command::Test { .. } = &args.command {
            return notifier.test(environment).await;
        }
        let now = SystemTime::now();
        for event in events {
            let summary = event.summary.clone();
            if let Decision::Suppressed(why) = notifier.submit(event, now) {
                println!("suppressed  {summary}: {why}");
            }
        }
        notifier.flush_all(now).await
    });
    print!("{}", shipgate_notify::deliveries_table(&deliveries));
    let ok = deliveries.iter().all(|d| d.result.is_ok());
    Ok(if ok { Code::Success } else { Code::Failure })
}

/// The events `send` gives: read from `--json`, or built from the flags.
fn events(send: &SendArgs, default_env: &str) -> Result<Vec<Event>, Failure> {
    if let Some(path) = &send.json {
        let text = shipgate_cli::read_input(path)?;
        return Event::parse_json(&text).map_err(|e| Failure::usage("--json", e));
    }
    let (Some(kind), Some(summary)) = (&send.kind, &send.summary) else {
        return Err(Failure::usage_msg("give --kind and --summary, or --json"));
    };
    let kind: EventKind = kind
        .parse()
        .map_err(|e| Failure::usage(format!("--kind {kind:?}"), e))?;
    let severity: Severity = (send.severity.parse())
        .map_err(|e| Failure::usage(format!("--severity {:?}", send.severity), e))?;
    let environment = send.environment.as_deref().unwrap_or(default_env);
    let mut event = Event::new(kind, severity, environment.to_owned(), summary.clone());
    event.version = send.version.clone();
    event.key = send.key.clone();
    if send.resolved {
        event.status = Status::Resolved;
    }
    event.details = send.detail.iter().cloned().collect();
    event.links = send
        .link
        .iter()
        .map(|(title, url)| Link {
            title: title.clone(),
            url: url.clone(),
        })
        .collect();
    Ok(vec![event])
}
