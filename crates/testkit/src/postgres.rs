use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::Signal;
use nix::unistd::{Uid, User, geteuid};

use crate::process::{ServerProcess, find_binary, run, server_dir, with_free_port};
use crate::{Error, ErrorKind};

/// A throw-away PostgreSQL cluster (initdb + postgres), trust authentication, user
/// `postgres`, on a free port.
///
/// As root, it runs as the `postgres` system user, since PostgreSQL refuses to run as root.
#[derive(Debug)]
pub struct Postgres {
    process: ServerProcess,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// Creates a cluster and waits until it accepts connections.
    pub fn start() -> Result<Self, Error> {
        let initdb = find_binary("initdb", "postgresql")?;
        let postgres = find_binary("postgres", "postgresql")?;
        let run_as = run_as()?;
        with_free_port(|port| {
            let dir = server_dir("shipgate-pg-")?;
            if let Some(user) = &run_as {
                std::os::unix::fs::chown(
                    dir.path(),
                    Some(user.uid.as_raw()),
                    Some(user.gid.as_raw()),
                )
                .map_err(|e| {
                    Error::io("cannot hand the cluster directory to the postgres user", e)
                })?;
            }
            let data = dir.path().join("data");
            let mut init = Command::new(&initdb);
            init.arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]);
            drop_privileges(&mut init, run_as.as_ref());
            run("initdb", &mut init)?;

            let mut cmd = Command::new(&postgres);
            cmd.arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-h", "127.0.0.1", "-k"])
                .arg(dir.path())
                .args([
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ])
                .args([
                    "-c",
                    "shared_buffers=16MB",
                    "-c",
                    "max_connections=60",
                    "-c",
                    "logging_collector=off",
                ]);
            drop_privileges(&mut cmd, run_as.as_ref());
            // SIGINT is PostgreSQL's "fast" shutdown: no waiting for clients.
            let mut process = ServerProcess::spawn(
                "postgres",
                cmd,
                &dir.path().join("postgres.log"),
                Signal::SIGINT,
            )?;
            process
                .wait_ready(|log| log.contains("database system is ready to accept connections"))?;
            Ok(Self {
                process,
                port,
                _dir: dir,
            })
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The URL of another database on this server (create it first).
    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The server's process id (to kill it in a fault test).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

struct RunAs {
    uid: Uid,
    gid: nix::unistd::Gid,
}

fn run_as() -> Result<Option<RunAs>, Error> {
    if !geteuid().is_root() {
        return Ok(None);
    }
    match User::from_name("postgres") {
        Ok(Some(user)) => Ok(Some(RunAs {
            uid: user.uid,
            gid: user.gid,
        })),
        _ => Err(Error::new(
            ErrorKind::MissingBinary,
            "PostgreSQL refuses to run as root and there is no `postgres` user to run it as: \
             install the Debian package `postgresql`, which creates it",
        )),
    }
}

fn drop_privileges(cmd: &mut Command, run_as: Option<&RunAs>) {
    if let Some(user) = run_as {
        cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
}
