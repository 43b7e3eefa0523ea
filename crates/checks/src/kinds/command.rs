//! A command's exit code and output.

use std::collections::BTreeMap;
use std::process::Stdio;

use serde::Deserialize;

use crate::Context;
use crate::observation::Observation;

/// `[checks.pre.command]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandCheck {
    /// Program and arguments, e.g. `["python", "manage.py", "check", "--deploy"]`. No shell.
    pub run: Vec<String>,
    /// Expected exit code.
    #[serde(default)]
    pub exit_code: i32,
    /// Text standard output must contain.
    #[serde(default)]
    pub stdout_contains: Option<String>,
    /// A regex standard output must match.
    #[serde(default)]
    pub stdout_matches: Option<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Working directory, relative to the configuration file.
    #[serde(default)]
    pub cwd: Option<String>,
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

pub(crate) async fn observe(check: &CommandCheck, ctx: &Context) -> Observation {
    let Some((program, args)) = check.run.split_first() else {
        return Observation::fail("`run` is empty")
            .recommend("give the program and its arguments, e.g. run = [\"true\"]");
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(&check.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.current_dir(
        check
            .cwd
            .as_ref()
            .map_or_else(|| ctx.base_dir.clone(), |d| ctx.base_dir.join(d)),
    );
    let out = match cmd.output().await {
        Ok(out) => out,
        Err(e) => {
            return Observation::unreachable(format!("cannot run `{program}`: {e}"))
                .recommend("is it installed and on PATH?");
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or(-1);
    let shown = check.run.join(" ");
    if code != check.exit_code {
        return Observation::fail(format!(
            "`{shown}` exited {code}, expected {}: {}",
            check.exit_code,
            tail(if stderr.trim().is_empty() {
                &stdout
            } else {
                &stderr
            })
        ))
        .detail("exit_code", code)
        .recommend("run the command by hand to see the whole output");
    }
    if let Some(needle) = &check.stdout_contains
        && !stdout.contains(needle.as_str())
    {
        return Observation::fail(format!(
            "`{shown}` output does not contain {needle:?}: {}",
            tail(&stdout)
        ));
    }
    if let Some(pattern) = &check.stdout_matches {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(&stdout) => {
                return Observation::fail(format!(
                    "`{shown}` output does not match /{pattern}/: {}",
                    tail(&stdout)
                ));
            }
            Err(e) => return Observation::fail(format!("stdout_matches is not a regex: {e}")),
            _ => {}
        }
    }
    Observation::pass(format!("`{shown}` exited {code}")).detail("exit_code", code)
}
