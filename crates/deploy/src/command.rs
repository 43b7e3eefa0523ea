//! A step's command: `sh -c`, its own process group (so a timeout kills everything it
//! started, not only the shell), output kept for the report.
//!
//! A step's processes die with their deployer: the shell that runs a step's command
//! is started under a small wrapper that gets SIGTERM when the deployer dies
//! (`PR_SET_PDEATHSIG`) and then kills the step's whole process group; a program run
//! directly (`pg_dump`) gets SIGKILL. Each carries `SHIPGATE_DEPLOYMENT` and
//! `SHIPGATE_STEP` in its environment (set by [`tagged`]), so that `resume`, `abort`
//! and `unlock` find and stop whatever of an interrupted step is still running before
//! they act ([`crate::leftovers`]). A process a step means to leave running (a server a
//! restart starts) must detach into a session of its own (`setsid`, a service
//! manager); one left in the step's process group dies with it.

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

tokio::task_local! {
    /// The deployment and step the processes spawned in this task belong to.
    static STEP: Tag;
}

/// Which deployment's which step a process belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub(crate) deployment: String,
    pub(crate) step: String,
}

/// Runs `work` with every process it spawns tagged as `deployment`'s `step`.
pub(crate) async fn tagged<F: std::future::Future>(
    deployment: &str,
    step: &str,
    work: F,
) -> F::Output {
    let tag = Tag {
        deployment: deployment.to_owned(),
        step: step.to_owned(),
    };
    STEP.scope(tag, work).await
}

/// The shell a step's command runs under: when the deployer dies it gets SIGTERM
/// (`PR_SET_PDEATHSIG`) and kills the step's whole process group (its own); otherwise
/// it ends as the command ended (a command killed by a signal, by the same signal).
const WRAPPER: &str = r#"trap 'kill -KILL 0' TERM
sh -c "$1" &
wait $!
s=$?
if [ "$s" -gt 128 ] && [ "$s" -lt 160 ]; then trap - TERM; kill -"$((s - 128))" $$; fi
exit "$s""#;

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
        .arg(WRAPPER)
        .arg("sh")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let what = format!("`{command}`");
    let spawned = |e| Error::with_source(ErrorKind::Driver, format!("cannot start {what}"), e);
    let (status, out, err) = collect(
        cmd,
        &what,
        ErrorKind::Driver,
        timeout,
        nix::sys::signal::Signal::SIGTERM,
        spawned,
    )
    .await?;
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

/// Spawns `cmd` in a process group of its own, reads its stdout (when piped) and
/// stderr to the end and waits for it, for at most `timeout`: past it the whole group
/// is killed and the error says so; so it is when the wait is dropped (the step's own
/// time limit, Ctrl-C). `on_death` is what the process gets when the deployer dies. The
/// one place a step's process is run.
async fn collect(
    mut cmd: tokio::process::Command,
    what: &str,
    kind: ErrorKind,
    timeout: Duration,
    on_death: nix::sys::signal::Signal,
    spawned: impl FnOnce(std::io::Error) -> Error,
) -> Result<(std::process::ExitStatus, Vec<u8>, Vec<u8>), Error> {
    cmd.stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Ok(tag) = STEP.try_with(Tag::clone) {
        cmd.env("SHIPGATE_DEPLOYMENT", tag.deployment)
            .env("SHIPGATE_STEP", tag.step);
    }
    let deployer = nix::unistd::getpid();
    // SAFETY: the closure runs in the child between fork and exec; it only makes two
    // system calls (prctl, getppid), which are async-signal-safe, and allocates
    // nothing (the error is a raw errno). The workspace's one `unsafe`.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(on_death).map_err(std::io::Error::from)?;
            // The deployer may have died before the line above: then nobody is left to
            // signal this process, so it does not start at all.
            if nix::unistd::getppid() != deployer {
                return Err(std::io::Error::from_raw_os_error(nix::libc::ESRCH));
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(spawned)?;
    let pid = child.id();
    let group = GroupGuard(pid);
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take().expect("piped");
    let work = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let read_out = async {
            if let Some(s) = stdout.as_mut() {
                let _ = s.read_to_end(&mut out).await;
            }
        };
        let (_, _, status) = tokio::join!(read_out, stderr.read_to_end(&mut err), child.wait());
        (out, err, status)
    };
    match tokio::time::timeout(timeout, work).await {
        Ok((out, err, status)) => {
            group.disarm();
            let status = status
                .map_err(|e| Error::with_source(kind, format!("cannot wait for {what}"), e))?;
            Ok((status, out, err))
        }
        Err(_) => {
            drop(group);
            Err(Error::new(
                kind,
                format!("{what} did not finish within {timeout:?} and was killed"),
            ))
        }
    }
}

/// Kills a step's process group when dropped before [`GroupGuard::disarm`]: a step
/// cut short (its time limit, a cancelled wait) leaves nothing running.
struct GroupGuard(Option<u32>);

impl GroupGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            kill_group(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// Signals the process group a child of ours leads (it was spawned with
/// `process_group(0)`, so its pid is its group's id). Refuses 0 and 1: `killpg(0)`
/// is our own group, and `killpg(1)` is `kill(-1)`, every process we may signal.
pub(crate) fn kill_group(pid: u32, signal: nix::sys::signal::Signal) {
    if let Ok(pid) = i32::try_from(pid)
        && pid > 1
    {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), signal);
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

/// A program run directly (no shell: URLs and passwords are never re-parsed), with
/// secrets in its environment rather than its arguments (which `ps` shows), standard
/// input and output optionally from and to files.
#[derive(Debug, Default)]
pub(crate) struct Exec {
    pub(crate) program: String,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) stdin: Option<std::path::PathBuf>,
    pub(crate) stdout: Option<std::path::PathBuf>,
    pub(crate) timeout: Duration,
    /// The Debian package that has the program, for the error when it is missing.
    pub(crate) package: &'static str,
}

impl Exec {
    pub(crate) fn new(program: &str, package: &'static str, timeout: Duration) -> Self {
        Self {
            program: program.to_owned(),
            package,
            timeout,
            ..Self::default()
        }
    }

    pub(crate) fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub(crate) fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// Runs it; an exit status other than 0 is an error quoting its stderr's end.
    pub(crate) async fn run(self) -> Result<String, Error> {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let open = |path: &Path, write: bool| {
            let file = if write {
                std::fs::File::create(path)
            } else {
                std::fs::File::open(path)
            };
            file.map_err(|e| {
                Error::with_source(
                    ErrorKind::Backup,
                    format!("cannot open {}", path.display()),
                    e,
                )
            })
        };
        cmd.stdin(match &self.stdin {
            Some(p) => Stdio::from(open(p, false)?),
            None => Stdio::null(),
        });
        cmd.stdout(match &self.stdout {
            Some(p) => Stdio::from(open(p, true)?),
            None => Stdio::piped(),
        });
        let (program, package) = (self.program.as_str(), self.package);
        let spawned = |e: std::io::Error| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                format!("`{program}` is not installed: apt-get install -y {package}")
            } else {
                format!("cannot start `{program}`")
            };
            Error::with_source(ErrorKind::Backup, hint, e)
        };
        let what = format!("`{program}`");
        let (status, out, err) = collect(
            cmd,
            &what,
            ErrorKind::Backup,
            self.timeout,
            nix::sys::signal::Signal::SIGKILL,
            spawned,
        )
        .await?;
        if status.success() {
            Ok(String::from_utf8_lossy(&out).into_owned())
        } else {
            Err(Error::new(
                ErrorKind::Backup,
                format!(
                    "`{program}` failed ({}): {}",
                    describe(status),
                    tail_lines(&err, 5)
                ),
            ))
        }
    }
}
