//! A step's command: `sh -c`, its own process group (so a timeout kills everything it
//! started, not only the shell), output kept for the report.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::{Error, ErrorKind};

/// How a command ended, when it ran to the end.
#[derive(Debug)]
pub(crate) struct Finished {
    /// Whether it exited 0.
    pub(crate) success: bool,
    /// `exit status 3`, `killed by SIGTERM`.
    pub(crate) status: String,
    /// The last lines of its stdout and stderr, interleaved by stream.
    pub(crate) tail: String,
}

/// Runs `command` in `dir` with `env` added, for at most `timeout`; past it the whole
/// process group is killed and the error says so.
pub(crate) async fn run(
    command: &str,
    dir: &Path,
    env: &[(&str, &str)],
    timeout: Duration,
) -> Result<Finished, Error> {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::with_source(ErrorKind::Driver, format!("cannot start `{command}`"), e)
    })?;
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let work = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (_, _, status) = tokio::join!(
            stdout.read_to_end(&mut out),
            stderr.read_to_end(&mut err),
            child.wait()
        );
        (out, err, status)
    };
    match tokio::time::timeout(timeout, work).await {
        Ok((out, err, status)) => {
            let status = status.map_err(|e| {
                Error::with_source(ErrorKind::Driver, format!("cannot wait for `{command}`"), e)
            })?;
            let mut tail = tail_lines(&out, 10);
            let err_tail = tail_lines(&err, 10);
            if !err_tail.is_empty() {
                if !tail.is_empty() {
                    tail.push('\n');
                }
                tail.push_str(&err_tail);
            }
            Ok(Finished {
                success: status.success(),
                status: describe(status),
                tail,
            })
        }
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            Err(Error::new(
                ErrorKind::Driver,
                format!("`{command}` did not finish within {timeout:?} and was killed"),
            ))
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "ended".to_owned(),
    }
}

fn tail_lines(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
