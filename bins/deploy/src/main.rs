//! `shipgate-deploy`: deploy, resume, abort, roll back; status and history.
//!
//! Thin glue over `shipgate_deploy`: parse arguments, load `[deploy]`, confirm a
//! protected environment, run the operation, report, map to an exit code.

mod args;
mod exit;
mod promote;
mod show;

use std::process::ExitCode;

use shipgate_cli::Failure;
use shipgate_deploy::DeployConfig;
use shipgate_pipeline::{Target, layers};
use shipgate_report::{ExitCode as Code, Report};

use args::{Args, Command};
pub(crate) use exit::{failure, pipeline};

fn main() -> ExitCode {
    let args: Args = shipgate_cli::parse();
    shipgate_cli::exit("shipgate-deploy", run(&args))
}

fn run(args: &Args) -> Result<Code, Failure> {
    let logging = shipgate_cli::init_logging(&args.log);
    let config_args = args.target()?;
    let doc = config_args.load(&logging)?;
    let config: DeployConfig = shipgate_cli::required_section(&doc, "deploy")?;
    let base = args.config.base_dir();
    let Some(env) = config_args.env.clone() else {
        if let Command::History { json, .. } = &args.command {
            return show::history_all(&config.state_dir_for(&base, ""), *json);
        }
        return Err(Failure::usage_msg(
            "give the environment to deploy to with --env NAME",
        ));
    };
    let mut announcer = layers::Announcer::new(&doc, &base, &env).map_err(pipeline)?;
    // The values env checks treat as secrets join the config's own in the registry.
    let redactor = doc.redactor();
    let hooks = layers::checks(&doc, &base, &redactor).map_err(pipeline)?;
    let driver = shipgate_deploy::driver_for(&config, &base).map_err(failure)?;
    let driver = &*driver;
    if let Some(shown) =
        show::read_only(&args.command, &doc, &config, &base, &env, &redactor, driver)
    {
        return shown;
    }
    let (confirm, outputs) = args
        .command
        .flags()
        .expect("a command that changes something");
    let runtime = shipgate_cli::runtime(None)?;
    if matches!(
        &args.command,
        Command::Deploy { .. } | Command::Promote { .. }
    ) {
        promote::watch_ready(&doc, &base, &env, &runtime)?;
    }
    let promoted = match &args.command {
        Command::Promote { .. } => Some(promote::gates(args, &doc, &config, &runtime)?),
        _ => None,
    };
    if let Some(p) = &promoted
        && !p.gates.passed()
    {
        return promote::refused(p, &env, outputs, &redactor);
    }
    let deployment = promoted.as_ref().map(promote::Promoted::deployment);
    let intent = (args.command.intent(deployment))
        .map_err(failure)?
        .expect("an intent for every command with flags");
    let target = Target {
        config: &config,
        base: &base,
        environment: &env,
        driver,
    };
    let prepared = runtime
        .block_on(shipgate_pipeline::prepare(&target, &intent, hooks))
        .map_err(pipeline)?;
    if matches!(&args.command, Command::Deploy { dry_run: true, .. }) {
        for line in prepared.describe(driver) {
            println!("{}", redactor.redact(&line));
        }
        return Ok(Code::Success);
    }
    let (op, release) = (prepared.operation, prepared.release.as_str());
    if prepared.plan.protected {
        let phrase = format!("{} {env}", op.verb());
        shipgate_cli::confirm(&env, &phrase, confirm.confirm.as_deref())?;
    }
    let http = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig::default())
        .map_err(|e| Failure::usage("cannot build the HTTP client", e))?;
    let mut ctx = prepared.context(driver, http, true);
    ctx.redactor = redactor.clone();
    let mut report_lines = Vec::new();
    if let Some(p) = &promoted {
        report_lines.extend(p.gates.findings());
        report_lines.extend(runtime.block_on(promote::announce_emergency(
            p,
            &mut announcer,
            release,
            &env,
        )));
    }
    let (outcome, notified) = runtime
        .block_on(announcer.around(op, &ctx, release, &env))
        .map_err(failure)?;
    if let Some(p) = &promoted {
        promote::used(p, &config.state_dir_for(&base, &env), &env, &outcome.id)?;
    }
    let ending = outcome.ending.as_str();
    let mut passed = op.succeeded(outcome.ending);
    let mut title = format!("shipgate-deploy {} {release} to {env}: {ending}", op.verb());
    report_lines.extend(prepared.findings.iter().cloned());
    report_lines.extend(outcome.findings);
    report_lines.extend(notified);
    if passed
        && matches!(
            &args.command,
            Command::Deploy { .. } | Command::Promote { .. }
        )
    {
        // The deployment's last step: the watch window the pipeline asks for.
        if let Some((verdict, findings)) = promote::watch_after(&doc, &base, &env, &runtime)? {
            title = format!("{title}; watch {verdict}");
            passed = verdict == "passed";
            report_lines.extend(findings);
        }
    }
    let mut report = Report::new(title).with_redactor(redactor);
    report.extend(report_lines);
    outputs.emit(&report)?;
    eprintln!("journal: {}", outcome.journal.display());
    Ok(if passed { Code::Success } else { Code::Failure })
}
