//! `shipgate-load`: run `[load]` from shipgate.toml and judge it by its thresholds.
//!
//! Thin glue over `shipgate_load`: parse arguments, apply overrides, run with a
//! progress line, write reports, map the thresholds to an exit code.

mod args;

use std::process::ExitCode;

use shipgate_cli::{Failure, Meter};
use shipgate_load::{Engine, LoadConfig, LoadReport, Plan, Tick};
use shipgate_report::{ExitCode as Code, Redactor};
use tokio_util::sync::CancellationToken;

use args::{Args, Command, Outputs};

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
            let doc = args.config.load(&logging)?;
            let config: LoadConfig = shipgate_cli::required_section(&doc, "load")?;
            let source = format!("{}: [load]", doc.path().display());
            (config, source, doc.redactor())
        }
    };
    logging.mask(redactor.clone());
    let timeout = config.timeout;
    let plan =
        Plan::from_config(&config.with(args.overrides())).map_err(|e| Failure::usage(source, e))?;
    let client = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        request_timeout: timeout,
        ..Default::default()
    })
    .map_err(|e| Failure::usage("cannot build the HTTP client", e))?;
    let runtime = shipgate_cli::runtime(args.threads)?;
    if args.smoke_only {
        let results = runtime.block_on(shipgate_load::smoke(&plan, client));
        for r in &results {
            println!("{}", redactor.redact(&r.to_string()));
        }
        let ok = results.iter().all(|r| r.result.is_ok());
        return Ok(if ok { Code::Success } else { Code::Failure });
    }
    let _entered = runtime.enter();
    let engine = Engine::new(plan.clone(), client);
    let cancel = CancellationToken::new();
    let result = runtime.block_on(async {
        shipgate_cli::cancel_on_ctrl_c(cancel.clone(), "stopping: letting users finish their task");
        let meter = Meter::new(plan.shape().duration(), args.progress);
        let show = |tick: &Tick| meter.show(tick.elapsed, &tick.summary(), tick);
        let result = shipgate_load::run_with_progress(engine, cancel, meter.every(), show).await;
        meter.finish();
        result
    });
    let report = LoadReport::new(&plan, &result);
    let configuration = args.url.as_ref().map_or_else(
        || args.config.config.display().to_string(),
        |url| format!("GET {url} (no file)"),
    );
    let environment = args.config.env.clone().unwrap_or_else(|| "-".to_owned());
    let mut lines = vec![
        ("configuration".to_owned(), configuration),
        ("environment".to_owned(), environment),
    ];
    lines.extend(plan.describe());
    emit(&report, &args.outputs, &lines, &redactor)
}

/// The `[load]` of `shipgate-load URL …`: one GET in the shape the flags give. The URL's
/// password, if it has one, is masked like a configuration secret.
fn quick(url: &str, args: &Args) -> Result<(LoadConfig, String, Redactor), Failure> {
    let Some(shape) = args.overrides().shape else {
        return Err(Failure::usage_msg(format!(
            "shipgate-load {url}: give --users N or --rate R, and --run-time D"
        )));
    };
    let config = LoadConfig::single_get(url, shape)
        .map_err(|e| Failure::usage(format!("URL {url:?}"), e))?;
    Ok((config, url.to_owned(), Redactor::for_url(url)))
}

/// `shipgate-load merge`: read the summaries, merge them, judge and report.
fn merge(
    paths: &[std::path::PathBuf],
    thresholds: &[String],
    outputs: &Outputs,
) -> Result<Code, Failure> {
    let (merged, thresholds) = shipgate_load::merge_files(paths, thresholds)
        .map_err(|e| Failure::usage("cannot merge", e))?;
    let report = LoadReport::judged(&thresholds, &merged);
    let sources: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let lines = [("merged from".to_owned(), sources.join(", "))];
    emit(&report, outputs, &lines, &Redactor::default())
}

/// Prints the table and writes the requested reports; the thresholds' exit code.
fn emit(
    report: &LoadReport,
    outputs: &Outputs,
    context: &[(String, String)],
    redactor: &Redactor,
) -> Result<Code, Failure> {
    print!("{}", redactor.redact(&report.table()));
    report
        .write_files(&outputs.files(), context, redactor)
        .map_err(|e| Failure::aborted("the run finished, but not every report was written", e))?;
    Ok(report.exit_code())
}
