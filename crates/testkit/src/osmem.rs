use std::path::PathBuf;
use std::process::Command;

use nix::sys::signal::Signal;

use crate::process::{ServerProcess, server_dir};
use crate::{Error, ErrorKind};

/// osmem-server: an in-memory server speaking the Elasticsearch/OpenSearch REST API
/// (`/`, `/_cluster/health`, indices, `_bulk`, `_search`), on a free port.
#[derive(Debug)]
pub struct Osmem {
    process: ServerProcess,
    url: String,
    _dir: tempfile::TempDir,
}

impl Osmem {
    /// Starts it and waits until it prints its address.
    pub fn start() -> Result<Self, Error> {
        let bin = binary()?;
        let dir = server_dir("shipgate-osmem-")?;
        let mut cmd = Command::new(&bin);
        cmd.args([
            "-addr",
            "127.0.0.1:0",
            "-no-stdin-watch",
            "-no-ja",
            "-parent-pid",
            &std::process::id().to_string(),
        ]);
        let log = dir.path().join("osmem.log");
        let mut process = ServerProcess::spawn("osmem-server", cmd, &log, Signal::SIGTERM)?;
        let mut url = String::new();
        process.wait_ready(|text| {
            // The first line is JSON: {"url":"http://127.0.0.1:PORT",...}
            if let Some(start) = text.find("\"url\":\"") {
                let rest = &text[start + 7..];
                if let Some(end) = rest.find('"') {
                    url = rest[..end].to_owned();
                    return true;
                }
            }
            false
        })?;
        Ok(Self {
            process,
            url,
            _dir: dir,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// `OSMEM_SERVER_BIN`, else the binary inside the installed Python package.
fn binary() -> Result<PathBuf, Error> {
    if let Some(bin) = std::env::var_os("OSMEM_SERVER_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import osmem_server; print(osmem_server.resolve_binary())",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let path = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
            if path.is_file() {
                return Ok(path);
            }
        }
        _ => {}
    }
    Err(Error::new(
        ErrorKind::MissingBinary,
        format!(
            "{} (or set OSMEM_SERVER_BIN)",
            crate::needs::missing_message("osmem-server")
        ),
    ))
}
