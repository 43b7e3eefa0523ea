use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::Error;
use crate::process::{ServerProcess, find_binary, server_dir, with_free_port};

/// A Redis server with no persistence, on a free port.
#[derive(Debug)]
pub struct Redis {
    process: ServerProcess,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    /// Starts `redis-server` and waits until it answers `PING`.
    pub fn start() -> Result<Self, Error> {
        let bin = find_binary("redis-server", "redis-server")?;
        with_free_port(|port| {
            let dir = server_dir("shipgate-redis-")?;
            let mut cmd = Command::new(&bin);
            cmd.args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--daemonize", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(dir.path());
            let mut process = ServerProcess::spawn(
                "redis-server",
                cmd,
                &dir.path().join("redis.log"),
                Signal::SIGTERM,
            )?;
            process.wait_ready(|_| ping(port))?;
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

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's process id (to kill it in a fault test).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut buf).is_ok()
        && &buf == b"+PONG\r\n"
}
