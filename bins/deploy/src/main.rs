//! `shipgate-deploy`: deploy, resume, abort, roll back; status and history.
//!
//! Thin glue over `shipgate_deploy`: parse arguments, load `[deploy]`, confirm a
//! protected environment, run the operation, report, map to an exit code.

mod args;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use shipgate_cli::Failure;
use shipgate_deploy::{Context, DeployConfig, DriverConfig, Ending, ErrorKind, Hooks, Host, Plan};
use shipgate_report::{ExitCode as Code, Redactor, Report};

use args::{Args, Command, Confirm};

fn main() -> ExitCode {
    let args: Args = shipgate_cli::parse();
    shipgate_cli::exit("shipgate-deploy", run(&args))
}

fn run(args: &Args) -> Result<Code, Failure> {
    let logging = shipgate_cli::init_logging(&args.log);
    let doc = args.config.load()?;
    let redactor = Redactor::new(doc.secrets());
    logging.mask(redactor.clone());
    let config: DeployConfig = shipgate_cli::required_section(&doc, "deploy")?;
    let Some(env) = args.config.env.clone() else {
        return Err(Failure::usage_msg(
            "give the environment to deploy to with --env NAME",
        ));
    };
    let base = args.config.base_dir();
    let state_dir = config.state_dir_for(&base, &env);
    let DriverConfig::Host(host) = &config.driver;
    let driver = Host::new(host, &base, config.timeout);
    let plan_for = |release: &str| {
        Plan::from_config(&config, &env, release, &base, Hooks::default())
            .map_err(|e| Failure::usage(format!("{}: [deploy]", doc.path().display()), e))
    };
    let latest_release = || -> Result<String, Failure> {
        let latest = shipgate_deploy::latest(&state_dir).map_err(failure)?;
        Ok(latest.map_or_else(|| "none".to_owned(), |(_, s)| s.release))
    };
    let (verb, plan, confirm, outputs, op) = match &args.command {
        Command::Status { json } => return status(&state_dir, *json),
        Command::History { json } => return history(&state_dir, *json),
        Command::Unlock { yes } => return unlock(&state_dir, *yes),
        Command::Deploy {
            release,
            dry_run,
            skip,
            force,
            confirm,
            report,
        } => {
            let plan = plan_for(release)?;
            plan.check_skips(skip, *force).map_err(failure)?;
            if *dry_run {
                println!(
                    "would deploy {release} to {env} (driver {}):",
                    driver_name(&driver)
                );
                for line in plan.describe(driver_name(&driver), skip) {
                    println!("{}", redactor.redact(&line));
                }
                return Ok(Code::Success);
            }
            (
                "deploy",
                plan,
                confirm,
                report,
                Op::Deploy(skip.clone(), *force),
            )
        }
        Command::Resume { confirm, report } => (
            "resume",
            plan_for(&latest_release()?)?,
            confirm,
            report,
            Op::Resume,
        ),
        Command::Abort { confirm, report } => (
            "abort",
            plan_for(&latest_release()?)?,
            confirm,
            report,
            Op::Abort,
        ),
        Command::Rollback {
            to,
            confirm,
            report,
        } => {
            let target = match to.as_str() {
                "previous" => shipgate_deploy::previous_release(&driver)
                    .map_err(failure)?
                    .ok_or_else(|| {
                        Failure::usage_msg("there is no previous release to roll back to")
                    })?,
                id => id.to_owned(),
            };
            let plan = plan_for(&target)?.rollback_to(&target);
            (
                "rollback",
                plan,
                confirm,
                report,
                Op::Deploy(Vec::new(), false),
            )
        }
    };
    let confirmed = confirm_protected(&plan, verb, confirm)?;
    let http = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig::default())
        .map_err(|e| Failure::usage("cannot build the HTTP client", e))?;
    let (skip, force) = match &op {
        Op::Deploy(skip, force) => (skip.clone(), *force),
        _ => (Vec::new(), false),
    };
    let ctx = Context {
        plan: &plan,
        driver: &driver,
        http,
        skip,
        force,
        confirmed,
    };
    let outcome = shipgate_cli::runtime(None)?
        .block_on(async {
            match op {
                Op::Deploy(..) => shipgate_deploy::deploy(&ctx).await,
                Op::Resume => shipgate_deploy::resume(&ctx).await,
                Op::Abort => shipgate_deploy::abort(&ctx).await,
            }
        })
        .map_err(failure)?;
    let title = format!(
        "shipgate-deploy {verb} {} to {env}: {}",
        plan.release,
        outcome.ending.as_str()
    );
    let mut report = Report::new(title).with_redactor(redactor);
    report.extend(outcome.findings);
    outputs.emit(&report)?;
    eprintln!("journal: {}", outcome.journal.display());
    // 0 when the operation asked for happened: deployed (or rolled back to the target
    // and healthy), or, for abort, everything undone.
    Ok(match (verb, outcome.ending) {
        (_, Ending::Deployed) | ("abort", Ending::Aborted) => Code::Success,
        _ => Code::Failure,
    })
}

/// A library error as the documented exit code: nothing changed (2) when the
/// deployment was refused before it began, else a failure (1).
fn failure(e: shipgate_deploy::Error) -> Failure {
    match e.kind() {
        ErrorKind::Config
        | ErrorKind::Locked
        | ErrorKind::Interrupted
        | ErrorKind::NothingToDo
        | ErrorKind::Unconfirmed => Failure::usage("nothing was changed", e),
        _ => Failure::aborted("the deployment stopped", e),
    }
}

fn driver_name(driver: &Host) -> &'static str {
    shipgate_deploy::Driver::name(driver)
}

/// A protected environment's confirmation, asked before anything changes: the phrase
/// `VERB ENV` typed on a terminal, or `--confirm ENV` without one.
fn confirm_protected(plan: &Plan, verb: &str, confirm: &Confirm) -> Result<bool, Failure> {
    if !plan.protected {
        return Ok(true);
    }
    let env = &plan.environment;
    if let Some(given) = &confirm.confirm {
        if given == env {
            return Ok(true);
        }
        return Err(Failure::usage_msg(format!(
            "--confirm {given:?} does not name the environment ({env}); nothing was changed"
        )));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage_msg(format!(
            "{env} is protected: pass --confirm {env} (no terminal to ask on); nothing was changed"
        )));
    }
    let phrase = format!("{verb} {env}");
    eprint!("{env} is protected. Type \"{phrase}\" to go on: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::usage("cannot read the confirmation", e))?;
    if line.trim() == phrase {
        Ok(true)
    } else {
        Err(Failure::usage_msg(format!(
            "the phrase was not \"{phrase}\"; nothing was changed"
        )))
    }
}

fn status(state_dir: &std::path::Path, json: bool) -> Result<Code, Failure> {
    let latest = shipgate_deploy::latest(state_dir).map_err(failure)?;
    let lock = shipgate_deploy::Lock::inspect(state_dir).map_err(failure)?;
    let lock_line = match &lock {
        shipgate_deploy::LockState::Free => "free".to_owned(),
        shipgate_deploy::LockState::Held(h) => format!("held by {h}"),
        shipgate_deploy::LockState::Stale(h) => format!("stale: {h}, which is gone"),
    };
    if json {
        let value = serde_json::json!({
            "lock": lock_line,
            "deployment": latest.as_ref().map(|(_, s)| state_json(s)),
        });
        println!("{value:#}");
        return Ok(Code::Success);
    }
    println!("lock: {lock_line}");
    match latest {
        None => println!("no deployment yet"),
        Some((path, s)) => {
            let at = match s.ending {
                Some(e) => format!("ended {}", e.as_str()),
                None => format!("interrupted at step {}", s.current_step().unwrap_or("-")),
            };
            println!("deployment {} of {}: {at}", s.id, s.release);
            for (step, state) in &s.steps {
                println!("  {step:<12} {}", step_word(state));
            }
            println!("journal: {}", path.display());
        }
    }
    Ok(Code::Success)
}

fn history(state_dir: &std::path::Path, json: bool) -> Result<Code, Failure> {
    let all = shipgate_deploy::history(state_dir).map_err(failure)?;
    if json {
        let list: Vec<_> = all.iter().map(state_json).collect();
        println!("{:#}", serde_json::Value::Array(list));
        return Ok(Code::Success);
    }
    for s in &all {
        let ending = s.ending.map_or("interrupted", Ending::as_str);
        println!("{}  {:<24} {:<12} {}", s.started_at, s.id, ending, s.by);
    }
    Ok(Code::Success)
}

fn unlock(state_dir: &std::path::Path, yes: bool) -> Result<Code, Failure> {
    if !yes {
        let lock = shipgate_deploy::Lock::inspect(state_dir).map_err(failure)?;
        println!("lock: {lock:?}");
        println!(
            "run again with --yes to release it (the interrupted deployment ends \"abandoned\")"
        );
        return Ok(Code::Success);
    }
    match shipgate_deploy::unlock(state_dir).map_err(failure)? {
        Some(s) => println!(
            "released: deployment {} of {} ends abandoned",
            s.id, s.release
        ),
        None => println!("nothing was locked"),
    }
    Ok(Code::Success)
}

fn step_word(state: &shipgate_deploy::StepState) -> String {
    use shipgate_deploy::StepState as S;
    match state {
        S::Pending => "pending".into(),
        S::InDoubt => "in progress (interrupted)".into(),
        S::Done(_) => "done".into(),
        S::Failed(e) => format!("failed: {e}"),
        S::Skipped => "skipped".into(),
        S::Undone => "undone".into(),
    }
}

fn state_json(s: &shipgate_deploy::State) -> serde_json::Value {
    serde_json::json!({
        "id": s.id,
        "environment": s.environment,
        "release": s.release,
        "previous": s.previous,
        "started_at": s.started_at,
        "by": s.by,
        "ending": s.ending.map(Ending::as_str),
        "steps": s.steps.iter().map(|(n, st)| serde_json::json!({"step": n, "state": step_word(st)})).collect::<Vec<_>>(),
    })
}

enum Op {
    Deploy(Vec<String>, bool),
    Resume,
    Abort,
}
