//! `shipgate-deploy`: deploy, resume, abort, roll back; status and history.
//!
//! Thin glue over `shipgate_deploy`: parse arguments, load `[deploy]`, confirm a
//! protected environment, run the operation, report, map to an exit code.

mod args;
mod guard;
mod promote;
mod show;

use std::process::ExitCode;

use shipgate_cli::Failure;
use shipgate_deploy::{Artifact, Context, DeployConfig, Operation, Plan};
use shipgate_pipeline::layers;
use shipgate_report::{ExitCode as Code, Redactor, Report};

use args::{Args, Command, What};

fn main() -> ExitCode {
    let args: Args = shipgate_cli::parse();
    shipgate_cli::exit("shipgate-deploy", run(&args))
}

fn run(args: &Args) -> Result<Code, Failure> {
    let logging = shipgate_cli::init_logging(&args.log);
    let config_args = args.target()?;
    let doc = config_args.load()?;
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
    // Every section this run may read is read before the mask is set, so that their
    // secrets (a notify webhook, a Prometheus URL) are known from the first log line.
    let mut announcer = layers::Announcer::new(&doc, &base, &env).map_err(pipeline)?;
    let _ = shipgate_pipeline::WatchSetup::from_document(&doc, &base, &env);
    // Config secrets, and the values env checks treat as secrets, are masked everywhere.
    let mut secrets = doc.secrets();
    let hooks = layers::checks(&doc, &base, &mut secrets).map_err(pipeline)?;
    let redactor = Redactor::new(secrets);
    logging.mask(redactor.clone());
    let state_dir = config.state_dir_for(&base, &env);
    let driver = shipgate_deploy::driver_for(&config, &base).map_err(failure)?;
    let driver = &*driver;
    let (skip, force, dry_run) = match &args.command {
        Command::Status { json } => return show::status(&doc, &state_dir, &env, *json),
        Command::History { json, all: false } => return show::history(&state_dir, *json),
        Command::History { json, all: true } => {
            return show::history_all(&config.state_dir_for(&base, ""), *json);
        }
        Command::Unlock { yes } => return show::unlock(&state_dir, *yes),
        Command::Approve { id } => return promote::approve(&doc, &state_dir, &env, id),
        Command::Deploy {
            skip,
            force,
            dry_run,
            ..
        } => (skip.clone(), *force, *dry_run),
        _ => (Vec::new(), false, false),
    };
    let runtime = shipgate_cli::runtime(None)?;
    let (op, named, confirm, outputs) = args.command.operation().expect("an operation");
    let rollback = match &args.command {
        Command::Rollback { what, backup, .. } => Some((*what, backup.as_deref())),
        _ => None,
    };
    let force_rollback = matches!(&args.command, Command::Rollback { force: true, .. });
    let promoted = match &args.command {
        Command::Promote { .. } => Some(promote::gates(args, &doc, &config, &runtime)?),
        _ => None,
    };
    if let Some(p) = &promoted
        && !p.gates.passed()
    {
        return promote::refused(p, &env, outputs, &redactor);
    }
    let release = match (op, named, rollback, &promoted) {
        (_, _, _, Some(p)) => Ok(p.gates.release.clone()),
        (_, _, Some((What::Database, _)), _) => driver.current().map(|c| c.unwrap_or_default()),
        (Operation::Rollback, Some(to), _, _) => {
            shipgate_deploy::rollback_target(driver, &state_dir, to)
        }
        (_, Some(release), _, _) => Ok(release.to_owned()),
        (_, None, _, _) => shipgate_deploy::latest_release(&state_dir),
    }
    .map_err(failure)?;
    let configured = if release.is_empty() {
        "none"
    } else {
        release.as_str()
    };
    let plan = Plan::from_config(&config, &env, configured, &base, hooks)
        .map_err(|e| Failure::usage(format!("{}: [deploy]", doc.path().display()), e))?;
    let plan = match (rollback, &promoted) {
        (_, Some(p)) => plan
            .with_artifact(p.gates.artifact.clone())
            .with_promotion(p.gates.promotion(&p.from, &p.by, p.emergency.as_deref())),
        (None, None) => plan.with_artifact(artifact(&args.command, &release)?),
        (Some((What::Application, _)), _) => plan
            .rollback_to(&release)
            .with_artifact(shipgate_deploy::artifact_of(&state_dir, &release).map_err(failure)?),
        (Some((What::Database, id)), _) => plan.restore(None, id).map_err(failure)?,
        (Some((What::Full, id)), _) => plan.restore(Some(&release), id).map_err(failure)?,
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
    let mut report_lines = Vec::new();
    if let Some(p) = &promoted {
        report_lines.extend(p.gates.findings());
        report_lines.extend(runtime.block_on(promote::announce_emergency(
            p,
            &mut announcer,
            &release,
            &env,
        )));
    }
    let (outcome, notified) = runtime
        .block_on(announcer.around(op, &ctx, &release, &env))
        .map_err(failure)?;
    if let Some(p) = &promoted {
        promote::used(p, &state_dir, &env, &outcome.id)?;
    }
    let ending = outcome.ending.as_str();
    let mut passed = op.succeeded(outcome.ending);
    let mut title = format!("shipgate-deploy {} {release} to {env}: {ending}", op.verb());
    report_lines.extend(guarded);
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

/// What `deploy --version --commit --digest` says the release is.
fn artifact(command: &Command, release: &str) -> Result<Artifact, Failure> {
    let Command::Deploy { artifact: a, .. } = command else {
        return Ok(Artifact::version(release));
    };
    let version = a.version.clone().unwrap_or_else(|| release.to_owned());
    if !shipgate_deploy::valid_release_id(&version) {
        return Err(Failure::usage_msg(format!(
            "--version {version:?}: use letters, digits, `.`, `_`, `-` (at most 100)"
        )));
    }
    Ok(Artifact {
        version,
        commit: a.commit.clone(),
        digest: a.digest.clone(),
    })
}

/// A pipeline-layer error as the documented exit code.
pub(crate) fn pipeline(e: shipgate_pipeline::Error) -> Failure {
    if e.changed_nothing() {
        Failure::usage("nothing was changed", e)
    } else {
        Failure::aborted("the promotion stopped", e)
    }
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
