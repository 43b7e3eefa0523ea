//! The read-only subcommands (status, history) and unlock.

use std::path::Path;

use shipgate_cli::Failure;
use shipgate_deploy::Ending;
use shipgate_report::ExitCode as Code;

use crate::failure;

pub(crate) fn status(state_dir: &Path, json: bool) -> Result<Code, Failure> {
    let latest = shipgate_deploy::latest(state_dir).map_err(failure)?;
    let lock = shipgate_deploy::Lock::inspect(state_dir).map_err(failure)?;
    if json {
        let deployment = latest.as_ref().map(|(_, s)| s.to_json());
        let value = serde_json::json!({ "lock": lock.to_string(), "deployment": deployment });
        println!("{value:#}");
        return Ok(Code::Success);
    }
    println!("lock: {lock}");
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
        println!("  {step:<12} {state}");
    }
    println!("journal: {}", path.display());
    Ok(Code::Success)
}

pub(crate) fn history(state_dir: &Path, json: bool) -> Result<Code, Failure> {
    let all = shipgate_deploy::history(state_dir).map_err(failure)?;
    if json {
        let list: Vec<_> = all.iter().map(shipgate_deploy::State::to_json).collect();
        println!("{:#}", serde_json::Value::Array(list));
        return Ok(Code::Success);
    }
    for s in &all {
        let ending = s.ending.map_or("interrupted", Ending::as_str);
        println!("{}  {:<24} {:<12} {}", s.started_at, s.id, ending, s.by);
    }
    Ok(Code::Success)
}

pub(crate) fn unlock(state_dir: &Path, yes: bool) -> Result<Code, Failure> {
    if !yes {
        let lock = shipgate_deploy::Lock::inspect(state_dir).map_err(failure)?;
        println!("lock: {lock}");
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
