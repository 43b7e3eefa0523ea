//! `via = "cli"`: the framework's own read-only command, run where the release's
//! environment is, parsed, and compared with what the file reader found. A reader
//! bug then cannot pass in silence: a disagreement fails, naming both answers.
//! Django for now (`manage.py showmigrations --plan`); the other frameworks refuse
//! `via = "cli"` when the configuration is read.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use super::{Framework, Status};
use crate::kinds::database::MigrationsSpec;
use crate::observation::Observation;

const BACKSTOP: Duration = Duration::from_secs(600);

/// The command each framework is asked with, unless `command` says otherwise.
pub(crate) fn default_command(framework: Framework) -> Option<&'static str> {
    match framework {
        Framework::Django => Some("python3 manage.py showmigrations --plan"),
        _ => None,
    }
}

/// What the tool says is unapplied: `app.name` for Django.
async fn unapplied(spec: &MigrationsSpec, dir: &Path) -> Result<BTreeSet<String>, String> {
    // The plan's format is Django's; the other frameworks' commands come later.
    let default = default_command(spec.framework)
        .ok_or_else(|| format!("via = \"cli\" is not available for {} yet", spec.framework))?;
    let command = spec.command.as_deref().unwrap_or(default);
    let run = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    // The check's own timeout bounds this (the process dies with it); this is the
    // backstop for a check configured without one.
    let out = tokio::time::timeout(BACKSTOP, run)
        .await
        .map_err(|_| {
            format!(
                "`{command}` did not end within {}",
                humantime::format_duration(BACKSTOP)
            )
        })?
        .map_err(|e| format!("cannot run `{command}`: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("`{command}` failed ({}): {last}", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut pending = BTreeSet::new();
    let mut lines = 0;
    for line in text.lines() {
        let line = line.trim();
        let (mark, rest) = match line.get(..3) {
            Some(m @ ("[X]" | "[ ]" | "[-]")) => (m, line[3..].trim()),
            _ => continue,
        };
        lines += 1;
        let id = rest.split_whitespace().next().unwrap_or_default();
        if mark == "[ ]" {
            pending.insert(id.to_owned());
        }
    }
    if lines == 0 && !text.trim().is_empty() {
        return Err(format!(
            "`{command}` printed nothing this check can read as a plan"
        ));
    }
    Ok(pending)
}

/// The reader's `status` against the tool's answer: none when they agree.
pub(crate) async fn compare(
    spec: &MigrationsSpec,
    dir: &Path,
    status: &Status,
) -> Option<Observation> {
    let tool = match unapplied(spec, dir).await {
        Ok(t) => t,
        Err(why) => {
            return Some(
                Observation::fail(format!("via = \"cli\": {why}")).recommend(
                    "run the check where the release's environment is, or set `command`",
                ),
            );
        }
    };
    let tool: BTreeSet<String> = tool
        .into_iter()
        .filter(|id| {
            spec.apps.is_empty()
                || spec
                    .apps
                    .iter()
                    .any(|a| id.split('.').next() == Some(a.as_str()))
        })
        .collect();
    let files: BTreeSet<String> = status.pending.iter().cloned().collect();
    if tool == files {
        return None;
    }
    let show = |s: &BTreeSet<String>| {
        if s.is_empty() {
            "nothing".to_owned()
        } else {
            s.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    Some(
        Observation::fail(format!(
            "the files say {} pending; {} says {}",
            show(&files),
            spec.framework,
            show(&tool)
        ))
        .recommend(
            "trust the tool: run its migrate; and report the layout the file reader misread",
        ),
    )
}
