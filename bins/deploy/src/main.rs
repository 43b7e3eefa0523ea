//! `shipgate-deploy`: deploy, resume, abort, roll back; status and history.
//!
//! Thin glue over `shipgate_deploy`: parse arguments, load `[deploy]`, confirm a
//! protected environment, run the operation, report, map to an exit code.

mod args;
mod guard;
mod hooks;
mod show;

use std::process::ExitCode;

use shipgate_cli::Failure;
use shipgate_deploy::{Context, DeployConfig, Operation, Plan};
use shipgate_report::{ExitCode as Code, Redactor, Report};

use args::{Args, Command, What};

fn main() -> ExitCode {
    let args: Args = shipgate_cli::parse();
    shipgate_cli::exit("shipgate-deploy", run(&args))
}

fn run(args: &Args) -> Result<Code, Failure> {
    let logging = shipgate_cli::init_logging(&args.log);
    let doc = args.config.load()?;
    let config: DeployConfig = shipgate_cli::required_section(&doc, "deploy")?;
    let Some(env) = args.config.env.clone() else {
        return Err(Failure::usage_msg(
            "give the environment to deploy to with --env NAME",
        ));
    };
    let base = args.config.base_dir();
    // Config secrets, and the values env checks treat as secrets, are masked everywhere.
    let mut secrets = doc.secrets();
    let hooks = hooks::checks(&doc, &base, &mut secrets)?;
    let redactor = Redactor::new(secrets);
    logging.mask(redactor.clone());
    let state_dir = config.state_dir_for(&base, &env);
    let driver = shipgate_deploy::driver_for(&config, &base).map_err(failure)?;
    let driver = &*driver;
    let (skip, force, dry_run) = match &args.command {
        Command::Status { json } => return show::status(&state_dir, *json),
        Command::History { json } => return show::history(&state_dir, *json),
        Command::Unlock { yes } => return show::unlock(&state_dir, *yes),
        Command::Deploy {
            skip,
            force,
            dry_run,
            ..
        } => (skip.clone(), *force, *dry_run),
        _ => (Vec::new(), false, false),
    };
    let (op, named, confirm, outputs) = args.command.operation().expect("an operation");
    let rollback = match &args.command {
        Command::Rollback { what, backup, .. } => Some((*what, backup.as_deref())),
        _ => None,
    };
    let force_rollback = matches!(&args.command, Command::Rollback { force: true, .. });
    let release = match (op, named, rollback) {
        (_, _, Some((What::Database, _))) => driver.current().map(|c| c.unwrap_or_default()),
        (Operation::Rollback, Some(to), _) => shipgate_deploy::rollback_target(driver, to),
        (_, Some(release), _) => Ok(release.to_owned()),
        (_, None, _) => shipgate_deploy::latest_release(&state_dir),
    }
    .map_err(failure)?;
    let configured = if release.is_empty() {
        "none"
    } else {
        release.as_str()
    };
    let plan = Plan::from_config(&config, &env, configured, &base, hooks)
        .map_err(|e| Failure::usage(format!("{}: [deploy]", doc.path().display()), e))?;
    let plan = match rollback {
        None => plan,
        Some((What::Application, _)) => plan.rollback_to(&release),
        Some((What::Database, id)) => plan.restore(None, id).map_err(failure)?,
        Some((What::Full, id)) => plan.restore(Some(&release), id).map_err(failure)?,
    };
    plan.check_skips(&skip, force).map_err(failure)?;
    let guarded = match rollback {
        Some((What::Application, _)) => {
            guard::rollback_guard(&config, &base, &env, driver, &release, force_rollback)?
        }
        None if op == Operation::Deploy && plan.protected => {
            let backed_up = config.backup.is_some() && !skip.iter().any(|s| s == "backup");
            guard::release_guard(&config, driver, &release, backed_up, force)?
        }
        _ => None,
    };
    if dry_run {
        println!(
            "would deploy {release} to {env} (driver {}):",
            driver.name()
        );
        for line in plan.describe(driver.name(), &skip) {
            println!("{}", redactor.redact(&line));
        }
        return Ok(Code::Success);
    }
    if plan.protected {
        let phrase = format!("{} {env}", op.verb());
        shipgate_cli::confirm(&env, &phrase, confirm.confirm.as_deref())?;
    }
    let http = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig::default())
        .map_err(|e| Failure::usage("cannot build the HTTP client", e))?;
    let ctx = Context {
        plan: &plan,
        driver,
        http,
        skip,
        force,
        confirmed: true,
    };
    let mut announcer = hooks::Announcer::new(&doc, &base, &env)?;
    let (outcome, notified) = shipgate_cli::runtime(None)?
        .block_on(announcer.around(op, &ctx, &release, &env))
        .map_err(failure)?;
    let ending = outcome.ending.as_str();
    let title = format!("shipgate-deploy {} {release} to {env}: {ending}", op.verb());
    let mut report = Report::new(title).with_redactor(redactor);
    report.extend(guarded);
    report.extend(outcome.findings);
    report.extend(notified);
    outputs.emit(&report)?;
    eprintln!("journal: {}", outcome.journal.display());
    Ok(if op.succeeded(outcome.ending) {
        Code::Success
    } else {
        Code::Failure
    })
}

/// A library error as the documented exit code: nothing changed (2) when the
/// operation was refused before it began, else a failure (1).
pub(crate) fn failure(e: shipgate_deploy::Error) -> Failure {
    if e.changed_nothing() {
        Failure::usage("nothing was changed", e)
    } else {
        Failure::aborted("the deployment stopped", e)
    }
}
