//! `shipgate-watch`: watch a deployment or an environment; status; test alerts.
//!
//! Thin glue over `shipgate_watch`: parse arguments, load `[watch]` (and `[notify]`,
//! `[deploy]` when present), build the hooks, run the window, report, map to an exit
//! code.

mod args;
mod deploy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use shipgate_cli::Failure;
use shipgate_notify::{Notifier, NotifyConfig};
use shipgate_report::{ExitCode as Code, Redactor};
use shipgate_watch::{History, Status, SystemClock, Verdict, Watch, WatchConfig};
use tokio_util::sync::CancellationToken;

use args::{Args, Command};

fn main() -> ExitCode {
    let args: Args = shipgate_cli::parse();
    shipgate_cli::exit("shipgate-watch", run(&args))
}

fn run(args: &Args) -> Result<Code, Failure> {
    let logging = shipgate_cli::init_logging(&args.log);
    let doc = args.config.load()?;
    let config: WatchConfig = shipgate_cli::required_section(&doc, "watch")?;
    let config_error = |e| Failure::usage(format!("{}: [watch]", doc.path().display()), e);
    config.validate().map_err(config_error)?;
    let redactor = Redactor::new(doc.secrets());
    logging.mask(redactor.clone());
    let base = args.config.base_dir();
    let env = args
        .config
        .env
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let state_file = resolve(&base, config.state_file.as_deref())
        .unwrap_or_else(|| base.join(format!(".shipgate/watch-{env}.json")));
    if let Command::Status { json } = &args.command {
        return status(&state_file, *json);
    }
    let http = shipgate_http::HttpClient::new(&Default::default())
        .map_err(|e| Failure::usage("cannot build the HTTP client", e))?;
    let notify: Option<NotifyConfig> = doc
        .section("notify")
        .map_err(|e| Failure::usage("[notify]", e))?;
    let notifier = notify
        .map(|n| Notifier::new(n, http.clone(), base.clone()))
        .transpose()
        .map_err(|e| Failure::usage("[notify]", e))?;
    let runtime = shipgate_cli::runtime(None)?;
    if let Command::TestAlerts = &args.command {
        let Some(notifier) = notifier else {
            return Err(Failure::usage_msg(
                "test-alerts needs a [notify] section with channels",
            ));
        };
        let deliveries = runtime.block_on(notifier.test(&env));
        print!("{}", shipgate_notify::deliveries_table(&deliveries));
        let ok = deliveries.iter().all(|d| d.result.is_ok());
        return Ok(if ok { Code::Success } else { Code::Failure });
    }
    let deploy: Option<shipgate_deploy::DeployConfig> = doc
        .section("deploy")
        .map_err(|e| Failure::usage("[deploy]", e))?;
    let (length, rollback_wanted, outputs, html) = match &args.command {
        Command::Deployment {
            length,
            no_rollback,
            html,
            outputs,
        } => (
            Some(length.unwrap_or(config.window)),
            !no_rollback,
            Some(outputs),
            html.as_deref(),
        ),
        _ => (None, false, None, None),
    };
    let rollback = deploy
        .clone()
        .filter(|_| rollback_wanted)
        .map(|d| deploy::DeployRollback {
            config: d,
            base: base.clone(),
            environment: env.clone(),
        });
    let mute = deploy.as_ref().map(|d| deploy::DeployMute {
        state_dir: d.state_dir_for(&base, &env),
    });
    let history = resolve(&base, config.history.as_deref())
        .map(|p| History::open(&p, config.history_max_bytes))
        .transpose()
        .map_err(|e| Failure::usage("[watch] history", e))?;
    let metrics = config
        .metrics
        .as_deref()
        .map(|addr| {
            let l = std::net::TcpListener::bind(addr).map_err(|e| {
                Failure::usage(format!("[watch] metrics: cannot listen on {addr}"), e)
            })?;
            l.set_nonblocking(true)
                .map_err(|e| Failure::usage("[watch] metrics", e))?;
            Ok::<_, Failure>(l)
        })
        .transpose()?;
    let cancel = CancellationToken::new();
    let version = deploy
        .as_ref()
        .and_then(|d| shipgate_deploy::driver_for(d, &base).ok())
        .and_then(|driver| driver.current().ok().flatten());
    let watch = Watch {
        config: &config,
        environment: env.clone(),
        version: version.clone(),
        http,
        clock: &SystemClock,
        notifier,
        rollback: rollback
            .as_ref()
            .map(|r| r as &dyn shipgate_watch::Rollback),
        mute: mute.as_ref().map(|m| m as &dyn shipgate_watch::Mute),
        history,
        state_file: Some(state_file),
        cancel: cancel.clone(),
        metrics: None,
    };
    let window = runtime
        .block_on(async {
            stop_on_signals(cancel);
            let metrics = metrics
                .map(tokio::net::TcpListener::from_std)
                .transpose()
                .map_err(|e| {
                    shipgate_watch::Error::with_source(
                        shipgate_watch::ErrorKind::Io,
                        "[watch] metrics",
                        e,
                    )
                })?;
            Watch { metrics, ..watch }.run(length).await
        })
        .map_err(|e| Failure::aborted("the watch stopped", e))?;
    let what = version.map_or_else(|| env.clone(), |v| format!("{v} in {env}"));
    let title = format!("shipgate-watch {what}: {}", window.verdict().as_str());
    if let Some(path) = html {
        let page = redactor.redact(&window.html(&title));
        shipgate_cli::write_report(path, &page)?;
    }
    let report = window.report(title).with_redactor(redactor);
    match outputs {
        Some(outputs) => {
            outputs.emit(&report)?;
            Ok(if window.verdict() == Verdict::Passed {
                Code::Success
            } else {
                Code::Failure
            })
        }
        None => {
            eprintln!("{}", report.title());
            Ok(Code::Success)
        }
    }
}

fn resolve(base: &Path, path: Option<&str>) -> Option<PathBuf> {
    path.map(|p| base.join(p))
}

/// SIGTERM or Ctrl-C ends the watch cleanly: the window is reported, notices flushed.
fn stop_on_signals(cancel: CancellationToken) {
    shipgate_cli::cancel_on_ctrl_c(cancel.clone(), "shipgate-watch: stopping");
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            term.recv().await;
            cancel.cancel();
        }
    });
}

fn status(path: &Path, json: bool) -> Result<Code, Failure> {
    let Some(status) =
        Status::read(path).map_err(|e| Failure::usage("cannot read the status", e))?
    else {
        return Err(Failure::usage_msg(format!(
            "{} does not exist: no watcher has run for this environment",
            path.display()
        )));
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&status).expect("status serializes")
        );
        return Ok(Code::Success);
    }
    let updated = humantime::format_rfc3339_seconds(status.updated_at);
    println!("{}: updated {updated}", status.environment);
    if let Some(why) = &status.muted {
        println!("alerts held: {why}");
    }
    for rule in &status.rules {
        let states: Vec<String> = rule
            .alerts
            .iter()
            .map(|a| format!("{} {}", a.severity.as_str(), a.alert.state.as_str()))
            .collect();
        let last = match &rule.stats.last {
            Some(shipgate_watch::Reading::Value(v)) => format!("{v}"),
            Some(shipgate_watch::Reading::NoData { missing, .. }) => {
                format!("no data ({})", missing.as_str())
            }
            None => "never sampled".to_owned(),
        };
        println!(
            "  {:<24} {:<28} last {last}; {} sample(s), {} without data",
            rule.name,
            states.join(", "),
            rule.stats.samples,
            rule.stats.no_data
        );
    }
    println!(
        "firing: {}",
        if status.firing.is_empty() {
            "none".to_owned()
        } else {
            status.firing.join(", ")
        }
    );
    Ok(Code::Success)
}
