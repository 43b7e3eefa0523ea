//! Finding server binaries, free ports, and supervising a server process.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{Error, ErrorKind};

/// How long a server may take to become ready. Generous: CI machines are shared.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How often readiness is polled while a server starts.
const POLL: Duration = Duration::from_millis(20);

/// A port on 127.0.0.1 that was free a moment ago.
///
/// Another process may take it before the caller binds it; the servers here retry
/// with a new port when that happens.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0 must work on any machine with a loopback interface")
}

/// Finds `name` as [`needs::locate`](crate::needs::locate) does; when it is missing the
/// error says how to install `package`, which must be in [`NEEDS`](crate::NEEDS).
pub(crate) fn find_binary(name: &str, package: &str) -> Result<PathBuf, Error> {
    crate::needs::locate(name).ok_or_else(|| {
        Error::new(
            ErrorKind::MissingBinary,
            format!(
                "`{name}` not found: {}",
                crate::needs::missing_message(package)
            ),
        )
    })
}

/// Runs a set-up command to completion; its output goes into the error when it fails.
pub(crate) fn run(what: &str, cmd: &mut Command) -> Result<(), Error> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("cannot run {what}"), e))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Start,
        format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// A running server; stopped with `stop_signal` (then SIGKILL) when dropped.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    name: &'static str,
    child: Child,
    log: PathBuf,
    stop_signal: Signal,
}

impl ServerProcess {
    /// Starts `cmd` with its output appended to `log`.
    pub(crate) fn spawn(
        name: &'static str,
        mut cmd: Command,
        log: &Path,
        stop_signal: Signal,
    ) -> Result<Self, Error> {
        let file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| Error::io(format!("cannot open {}", log.display()), e))?;
        let err = file
            .try_clone()
            .map_err(|e| Error::io("cannot duplicate a log handle", e))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::io(format!("cannot start {name}"), e))?;
        Ok(Self {
            name,
            child,
            log: log.to_owned(),
            stop_signal,
        })
    }

    /// Polls `ready` until it holds, the process exits, or the time is up.
    pub(crate) fn wait_ready(&mut self, mut ready: impl FnMut(&str) -> bool) -> Result<(), Error> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if ready(&log) {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::new(
                    ErrorKind::Start,
                    format!(
                        "{} exited while starting ({status}); its log:\n{}",
                        self.name,
                        tail(&log)
                    ),
                ));
            }
            if Instant::now() > deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "{} was not ready after {READY_TIMEOUT:?}; its log:\n{}",
                        self.name,
                        tail(&log)
                    ),
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        if kill(pid, self.stop_signal).is_ok() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(POLL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a start failed because another process took the port first.
pub(crate) fn port_taken(err: &Error) -> bool {
    let text = err.to_string();
    err.kind() == ErrorKind::Start
        && (text.contains("already in use") || text.contains("Address in use"))
}

/// Calls `start` with fresh ports until it does not fail for a taken port (3 tries).
pub(crate) fn with_free_port<T>(
    mut start: impl FnMut(u16) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut tries = 0;
    loop {
        tries += 1;
        match start(free_port()) {
            Err(e) if tries < 3 && port_taken(&e) => continue,
            other => return other,
        }
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A temporary directory for one server.
pub(crate) fn server_dir(prefix: &str) -> Result<tempfile::TempDir, Error> {
    // /tmp rather than $TMPDIR: when running as root, servers that drop privileges
    // must be able to reach it.
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/tmp")
        .map_err(|e| Error::io("cannot create a temporary directory in /tmp", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_names_the_package_to_install() {
        let err = find_binary("shipgate-no-such-server", "nginx").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingBinary);
        assert!(
            err.to_string().contains("apt-get install -y nginx"),
            "{err}"
        );
    }

    #[test]
    fn free_ports_are_bindable() {
        let port = free_port();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
