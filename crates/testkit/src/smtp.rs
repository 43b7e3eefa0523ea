use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::process::{ServerProcess, server_dir, with_free_port};
use crate::{Error, ErrorKind};

/// A real SMTP server (aiosmtpd) that stores every message it accepts in a maildir,
/// optionally requiring STARTTLS with the given certificate and key.
#[derive(Debug)]
pub struct Smtp {
    process: ServerProcess,
    port: u16,
    dir: tempfile::TempDir,
}

impl Smtp {
    /// Starts it; with `starttls = Some((cert.pem, key.pem))` clients must upgrade first.
    pub fn start(starttls: Option<(&Path, &Path)>) -> Result<Self, Error> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            return Err(Error::new(
                ErrorKind::MissingBinary,
                crate::needs::missing_message("aiosmtpd"),
            ));
        }
        with_free_port(|port| {
            let dir = server_dir("shipgate-smtp-")?;
            let maildir = dir.path().join("maildir");
            let mut cmd = Command::new("python3");
            cmd.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")]);
            if let Some((cert, key)) = starttls {
                cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
            }
            cmd.args(["-c", "aiosmtpd.handlers.Mailbox"]).arg(&maildir);
            let mut process = ServerProcess::spawn(
                "aiosmtpd",
                cmd,
                &dir.path().join("smtp.log"),
                Signal::SIGTERM,
            )?;
            process.wait_ready(|_| banner(port))?;
            Ok(Self { process, port, dir })
        })
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message received so far, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let dir: PathBuf = self.dir.path().join("maildir").join(sub);
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    if let Ok(text) = std::fs::read_to_string(entry.path()) {
                        out.push(text);
                    }
                }
            }
        }
        out
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

fn banner(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 3];
    stream.read_exact(&mut buf).is_ok() && &buf == b"220"
}
