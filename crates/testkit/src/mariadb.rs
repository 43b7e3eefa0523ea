use std::process::Command;

use nix::sys::signal::Signal;
use nix::unistd::{User, geteuid};

use crate::Error;
use crate::process::{ServerProcess, find_binary, run, server_dir, with_free_port};

/// A throw-away MariaDB server (mariadb-install-db + mariadbd) on a free port, with
/// user `root` (no password) reachable over TCP and an empty database `test`.
#[derive(Debug)]
pub struct MariaDb {
    process: ServerProcess,
    port: u16,
    _dir: tempfile::TempDir,
}

impl MariaDb {
    /// Creates the data directory and waits until the server is ready for connections.
    pub fn start() -> Result<Self, Error> {
        let install = find_binary("mariadb-install-db", "mariadb-server")?;
        let server = find_binary("mariadbd", "mariadb-server")?;
        // mariadbd runs as root only when told to explicitly.
        let user = if geteuid().is_root() {
            "root".to_owned()
        } else {
            User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map_or_else(|| "mysql".to_owned(), |u| u.name)
        };
        with_free_port(|port| {
            let dir = server_dir("shipgate-mariadb-")?;
            let data = dir.path().join("data");
            run(
                "mariadb-install-db",
                Command::new(&install)
                    .arg("--no-defaults")
                    .arg(format!("--datadir={}", data.display()))
                    .arg(format!("--user={user}"))
                    .args([
                        "--auth-root-authentication-method=normal",
                        "--skip-test-db",
                        "--skip-name-resolve",
                    ]),
            )?;
            // Runs at every start: root over TCP from 127.0.0.1, and a database to use.
            let init = dir.path().join("init.sql");
            std::fs::write(
                &init,
                "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';\n\
                 GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;\n\
                 CREATE DATABASE IF NOT EXISTS test;\n",
            )
            .map_err(|e| Error::io("cannot write init.sql", e))?;
            let mut cmd = Command::new(&server);
            cmd.arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .arg(format!("--user={user}"))
                .arg(format!("--port={port}"))
                .arg("--bind-address=127.0.0.1")
                .arg(format!(
                    "--socket={}",
                    dir.path().join("mysqld.sock").display()
                ))
                .arg(format!(
                    "--pid-file={}",
                    dir.path().join("mysqld.pid").display()
                ))
                .arg(format!("--init-file={}", init.display()))
                .args([
                    "--skip-name-resolve",
                    "--skip-log-bin",
                    "--innodb-buffer-pool-size=16M",
                ])
                .args([
                    "--innodb-log-file-size=8M",
                    "--performance-schema=OFF",
                    "--max-connections=60",
                ]);
            let mut process = ServerProcess::spawn(
                "mariadbd",
                cmd,
                &dir.path().join("mariadb.log"),
                Signal::SIGTERM,
            )?;
            process.wait_ready(|log| log.contains("ready for connections"))?;
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

    /// `mysql://root@127.0.0.1:<port>/test`.
    pub fn url(&self) -> String {
        self.url_for("test")
    }

    /// The URL of another database on this server (create it first).
    pub fn url_for(&self, database: &str) -> String {
        format!("mysql://root@127.0.0.1:{}/{database}", self.port)
    }

    /// The server's process id (to kill it in a fault test).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}
