//! What an interrupted deployment's step may have left running: the processes that
//! carry its tag (`SHIPGATE_DEPLOYMENT`, `SHIPGATE_STEP`) for the step it was in, in one of the
//! sessions its deployers ran in. `resume`, `abort` and `unlock` stop them (and wait
//! until they are gone) before they act, so that a step never runs twice at once.

use std::time::Duration;

use crate::{Error, ErrorKind};

/// A process found running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leftover {
    pub(crate) pid: i32,
    /// Its command line, for the report.
    pub(crate) command: String,
}

/// The processes (not zombies) tagged as `deployment`'s `step` whose session is one
/// of `sessions` (any session when none was recorded). A process that detached into
/// a session of its own (a server a restart started with `setsid`) is not one.
pub(crate) fn find(deployment: &str, step: &str, sessions: &[i32]) -> Vec<Leftover> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    let want_deployment = format!("SHIPGATE_DEPLOYMENT={deployment}");
    let want_step = format!("SHIPGATE_STEP={step}");
    let mut out = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let mut vars = environ.split(|b| *b == 0);
        let (mut has_deployment, mut has_step) = (false, false);
        for v in vars.by_ref() {
            has_deployment |= v == want_deployment.as_bytes();
            has_step |= v == want_step.as_bytes();
        }
        if !(has_deployment && has_step) {
            continue;
        }
        let Some((state, session)) = stat(pid) else {
            continue;
        };
        if matches!(state, 'Z' | 'X') || !(sessions.is_empty() || sessions.contains(&session)) {
            continue;
        }
        let command = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                String::from_utf8_lossy(&c)
                    .split('\0')
                    .filter(|a| !a.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        out.push(Leftover { pid, command });
    }
    out.sort_by_key(|l| l.pid);
    out
}

/// A process's state letter and session id, from `/proc/PID/stat`.
fn stat(pid: i32) -> Option<(char, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid pgrp session ...: comm may hold spaces and parentheses.
    let (_, rest) = text.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let session = fields.get(3)?.parse().ok()?;
    Some((state, session))
}

/// Stops what `deployment`'s `step` left running: SIGKILL to each (a step that was
/// cut short is not asked to finish), then waits up to 10 s for them to be gone.
/// Returns what was stopped; an error if some still run, and then nothing may act.
/// Blocks while it waits (it runs before an operation acts, never during one).
pub(crate) fn stop(deployment: &str, step: &str, sessions: &[i32]) -> Result<Vec<Leftover>, Error> {
    let found = find(deployment, step, sessions);
    if found.is_empty() {
        return Ok(found);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut wait = Duration::from_millis(5);
    loop {
        let still = find(deployment, step, sessions);
        if still.is_empty() {
            return Ok(found);
        }
        for l in &still {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(l.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        if std::time::Instant::now() >= deadline {
            let list: Vec<String> = still
                .iter()
                .map(|l| format!("{} ({})", l.pid, l.command))
                .collect();
            return Err(Error::new(
                ErrorKind::Interrupted,
                format!(
                    "the interrupted step {step:?} still has processes running after SIGKILL: {}; nothing was changed",
                    list.join(", ")
                ),
            ));
        }
        // tidy: polling processes that are not our children, at a growing interval
        std::thread::sleep(wait);
        wait = (wait * 2).min(Duration::from_millis(100));
    }
}
