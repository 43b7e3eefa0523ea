//! `shipgate-deploy`: deploy, resume, abort, roll back; status and history.
//!
//! Thin glue over `shipgate_deploy`: parse arguments, load `[deploy]`, confirm a
//! protected environment, run the operation, report, map to an exit code.

mod approve;
mod args;
mod exit;
mod show;

use std::process::ExitCode;

use shipgate_cli::Failure;
use shipgate_deploy::DeployConfig;
use shipgate_pipeline::{Operator, Planned, layers};
use shipgate_report::{ExitCode as Code, Report};
use tokio_util::sync::CancellationToken;

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
    let ask = (args.command.ask())
        .map_err(failure)?
        .expect("an ask for every command with flags");
    let runtime = shipgate_cli::runtime(None)?;
    let op = Operator {
        doc: &doc,
        base: &base,
        environment: &env,
        config: &config,
        driver,
        by: shipgate_deploy::actor(),
        github_actions: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
        cancel: CancellationToken::new(),
        progress: &|line: &str| eprintln!("{line}"),
        interruptible: &|cancel, what| shipgate_cli::cancel_on_ctrl_c(cancel.clone(), what),
        redactor: redactor.clone(),
    };
    let ready = match runtime
        .block_on(shipgate_pipeline::plan(&op, ask, hooks))
        .map_err(pipeline)?
    {
        Planned::Stopped { title, findings } => {
            let mut report = Report::new(title).with_redactor(redactor);
            report.extend(findings);
            outputs.emit(&report)?;
            return Ok(Code::Failure);
        }
        Planned::Ready(ready) => ready,
    };
    if matches!(&args.command, Command::Deploy { dry_run: true, .. }) {
        let lines = runtime.block_on(ready.describe(driver)).map_err(pipeline)?;
        for line in lines {
            println!("{}", redactor.redact(&line));
        }
        return Ok(Code::Success);
    }
    if let Some(phrase) = ready.phrase(&env) {
        shipgate_cli::confirm(&env, &phrase, confirm.confirm.as_deref())?;
    }
    let done = runtime
        .block_on(ready.run(&op, &mut announcer))
        .map_err(pipeline)?;
    let mut report = Report::new(done.title).with_redactor(redactor);
    report.extend(done.findings);
    outputs.emit(&report)?;
    eprintln!("journal: {}", done.journal.display());
    Ok(if done.passed {
        Code::Success
    } else {
        Code::Failure
    })
}
