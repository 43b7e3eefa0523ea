//! The read-only subcommands (status, history), unlock, and their dispatch with approve.

use std::path::Path;

use shipgate_cli::Failure;
use shipgate_deploy::{DeployConfig, Ending};
use shipgate_report::ExitCode as Code;

use crate::args::Command;
use crate::failure;

/// The environment's lock, open approvals and latest deployment; every secret the
/// configuration knows masked (journals written before they were masked included).
pub(crate) fn status(
    doc: &shipgate_config::Document,
    state_dir: &Path,
    env: &str,
    json: bool,
    redactor: &shipgate_report::Redactor,
    driver: &dyn shipgate_deploy::Driver,
) -> Result<Code, Failure> {
    let latest = shipgate_deploy::latest(state_dir).map_err(failure)?;
    // What serves now, as the driver tells (a blue-green shift: both sides).
    let serving = shipgate_cli::runtime(None)?
        .block_on(driver.current())
        .map_or_else(
            |e| format!("unknown ({})", shipgate_report::error_line(&e)),
            |r| r.unwrap_or_else(|| "nothing yet".to_owned()),
        );
    let lock = shipgate_deploy::Lock::inspect(state_dir).map_err(failure)?;
    let pending = pending_approvals(doc, state_dir, env)?;
    if json {
        let deployment = latest.as_ref().map(|(_, s)| s.to_json());
        let approvals: Vec<_> = pending
            .iter()
            .map(|(r, standing)| {
                serde_json::json!({
                    "id": r.id, "version": r.version, "from": r.from,
                    "requested_by": r.requested_by,
                    "requested_at": humantime::format_rfc3339_seconds(r.requested_at).to_string(),
                    "standing": standing,
                })
            })
            .collect();
        let value = serde_json::json!({
            "lock": lock.to_string(),
            "serving": serving,
            "deployment": deployment,
            "pending_approvals": approvals,
        });
        println!("{}", redactor.redact(&format!("{value:#}")));
        return Ok(Code::Success);
    }
    println!("lock: {lock}");
    println!("serving: {}", redactor.redact(&serving));
    for (r, standing) in &pending {
        println!(
            "approval {}: {} from {}, asked by {} at {}: {standing}",
            r.id,
            r.version,
            r.from,
            r.requested_by,
            humantime::format_rfc3339_seconds(r.requested_at)
        );
    }
    let Some((path, s)) = latest else {
        println!("no deployment yet");
        return Ok(Code::Success);
    };
    println!(
        "deployment {} of {}: {}",
        s.id,
        s.release,
        s.where_it_stands()
    );
    for (step, state) in &s.steps {
        let state = match state {
            // Its deployment ended since: the step did not go on.
            shipgate_deploy::StepState::InDoubt if s.ending.is_some() => {
                "cut short by an interruption".to_owned()
            }
            other => redactor.redact(&other.to_string()),
        };
        println!("  {step:<12} {state}");
    }
    println!("journal: {}", path.display());
    Ok(Code::Success)
}

pub(crate) fn history(state_dir: &Path, json: bool) -> Result<Code, Failure> {
    let all = shipgate_deploy::history(state_dir).map_err(failure)?;
    print_history(&all, json);
    Ok(Code::Success)
}

/// The commands that read (status, history) or decide (approve, unlock) rather than
/// deploy: their result; none for the others.
pub(crate) fn read_only(
    command: &Command,
    doc: &shipgate_config::Document,
    config: &DeployConfig,
    base: &Path,
    env: &str,
    redactor: &shipgate_report::Redactor,
    driver: &dyn shipgate_deploy::Driver,
) -> Option<Result<Code, Failure>> {
    let state_dir = config.state_dir_for(base, env);
    Some(match command {
        Command::Status { json } => status(doc, &state_dir, env, *json, redactor, driver),
        Command::History { json, all: false } => history(&state_dir, *json),
        Command::History { json, all: true } => history_all(&config.state_dir_for(base, ""), *json),
        Command::Unlock { yes } => unlock(&state_dir, *yes),
        Command::Gc => gc(driver, &state_dir),
        Command::Approve { id } => crate::approve::approve(doc, &state_dir, env, id),
        _ => return None,
    })
}

/// Every environment's deployments under the state directory's root, by time.
pub(crate) fn history_all(root: &Path, json: bool) -> Result<Code, Failure> {
    let mut all = Vec::new();
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            print_history(&all, json);
            return Ok(Code::Success);
        }
        Err(e) => return Err(Failure::usage(format!("cannot list {}", root.display()), e)),
    };
    for entry in entries.filter_map(Result::ok) {
        if entry.path().join("deployments").is_dir() {
            all.extend(shipgate_deploy::history(&entry.path()).map_err(failure)?);
        }
    }
    all.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    print_history(&all, json);
    Ok(Code::Success)
}

fn print_history(all: &[shipgate_deploy::State], json: bool) {
    if json {
        let list: Vec<_> = all.iter().map(shipgate_deploy::State::to_json).collect();
        println!("{:#}", serde_json::Value::Array(list));
        return;
    }
    if all.is_empty() {
        println!("no deployment yet");
    }
    for s in all {
        let ending = s.ending.map_or("interrupted", Ending::as_str);
        let commit = s
            .artifact
            .commit
            .as_deref()
            .map(|c| format!(" {}", &c[..c.len().min(12)]))
            .unwrap_or_default();
        // A rollback says so: `rollback deployed` is the switch back that worked.
        let what = format!("{} {ending}", s.operation);
        println!(
            "{}  {:<12} {:<14} {:<20}{commit}  {}  by {}",
            s.started_at, s.environment, s.artifact.version, what, s.id, s.user
        );
    }
}

/// The approval requests of `env` that can still lead to a deployment.
fn pending_approvals(
    doc: &shipgate_config::Document,
    state_dir: &Path,
    env: &str,
) -> Result<Vec<(shipgate_pipeline::Request, String)>, Failure> {
    let pipeline: Option<shipgate_pipeline::PipelineConfig> = doc
        .section("pipeline")
        .map_err(|e| Failure::usage("[pipeline]", e))?;
    let Some(config) = pipeline.as_ref().and_then(|p| p.approval(env)).cloned() else {
        return Ok(Vec::new());
    };
    let now = std::time::SystemTime::now();
    let all = shipgate_pipeline::Approvals::new(state_dir, env)
        .list()
        .map_err(crate::pipeline)?;
    Ok(all
        .into_iter()
        .filter(|r| r.open(&config, now))
        .map(|r| {
            let standing = match r.standing(&config, now) {
                shipgate_pipeline::Standing::Pending { expires } => format!(
                    "pending (expires {})",
                    humantime::format_rfc3339_seconds(expires)
                ),
                shipgate_pipeline::Standing::Waiting { by, until } => format!(
                    "approved by {by}, wait timer until {}",
                    humantime::format_rfc3339_seconds(until)
                ),
                shipgate_pipeline::Standing::Ready { by } => format!("approved by {by}, ready"),
                other => format!("{other:?}"),
            };
            (r, standing)
        })
        .collect())
}

pub(crate) fn unlock(state_dir: &Path, yes: bool) -> Result<Code, Failure> {
    if !yes {
        let lock = shipgate_deploy::Lock::inspect(state_dir).map_err(failure)?;
        println!("lock: {lock}");
        if matches!(lock, shipgate_deploy::LockState::Free) {
            println!("nothing to release");
            return Ok(Code::Success);
        }
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

fn gc(driver: &dyn shipgate_deploy::Driver, state_dir: &Path) -> Result<Code, Failure> {
    let runtime = shipgate_cli::runtime(None)?;
    let stopped = runtime
        .block_on(shipgate_deploy::gc(driver, state_dir))
        .map_err(failure)?;
    if stopped.is_empty() {
        println!("nothing to stop");
    }
    for s in stopped {
        println!("stopped {s}");
    }
    Ok(Code::Success)
}
