//! `shipgate-watch`: watch a deployment or an environment; status; test alerts.
//!
//! Thin glue over `shipgate_watch`: parse arguments, load `[watch]` (and `[notify]`,
//! `[deploy]` when present), build the hooks, run the window, report, map to an exit
//! code.

mod args;

use std::path::Path;
use std::process::ExitCode;

use shipgate_cli::Failure;
use shipgate_pipeline::WatchSetup;
use shipgate_report::ExitCode as Code;
use shipgate_watch::{Status, Verdict};
use tokio_util::sync::CancellationToken;

use args::{Args, Command};

fn main() -> ExitCode {
    let args: Args = shipgate_cli::parse();
    shipgate_cli::exit("shipgate-watch", run(&args))
}

fn run(args: &Args) -> Result<Code, Failure> {
    let logging = shipgate_cli::init_logging(&args.log);
    let doc = args.config.load(&logging)?;
    let base = args.config.base_dir();
    let env = args
        .config
        .env
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let setup = WatchSetup::from_document(&doc, &base, &env).map_err(config)?;
    let redactor = doc.redactor();
    if let Command::Status { json } = &args.command {
        return status(&setup.state_file(), *json);
    }
    let runtime = shipgate_cli::runtime(None)?;
    if let Command::TestAlerts = &args.command {
        let deliveries = runtime.block_on(setup.test_alerts()).map_err(config)?;
        print!("{}", shipgate_notify::deliveries_table(&deliveries));
        let ok = deliveries.iter().all(|d| d.result.is_ok());
        return Ok(if ok { Code::Success } else { Code::Failure });
    }
    let (length, rollback, outputs, html) = match &args.command {
        Command::Deployment {
            length,
            no_rollback,
            html,
            outputs,
        } => (
            Some(length.unwrap_or(setup.config.window)),
            !no_rollback,
            Some(outputs),
            html.as_deref(),
        ),
        _ => (None, false, None, None),
    };
    // A query Prometheus rejects, or credentials it refuses, end here: exit 2.
    for unchecked in runtime.block_on(setup.check_queries()).map_err(config)? {
        eprintln!("shipgate-watch: {unchecked}");
    }
    let metrics = setup.bind_metrics().map_err(config)?;
    let cancel = CancellationToken::new();
    let version = runtime.block_on(setup.serving());
    let window = runtime
        .block_on(async {
            stop_on_signals(cancel.clone());
            setup.run(length, rollback, cancel, metrics).await
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
            // A window over a deployment is its verdict, kept for the next
            // environment's `promoted` gate.
            if let Some((record, path)) = setup
                .record(&window)
                .map_err(|e| Failure::aborted("the window's verdict was not recorded", e))?
            {
                eprintln!(
                    "verdict on deployment {}: {} ({})",
                    record.deployment,
                    record.verdict,
                    path.display()
                );
            }
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

fn config(e: shipgate_pipeline::Error) -> Failure {
    Failure::usage("the configuration", e)
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
    print!("{status}");
    Ok(Code::Success)
}
