//! Prometheus and Alertmanager from Debian's packages, each on a free port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::Error;
use crate::process::{ServerProcess, find_binary, server_dir, with_free_port};

/// A Prometheus scraping the targets it was given, every `scrape_interval`.
#[derive(Debug)]
pub struct Prometheus {
    process: ServerProcess,
    port: u16,
    _dir: tempfile::TempDir,
}

/// Configures a [`Prometheus`] before it starts.
#[derive(Debug)]
pub struct PrometheusBuilder {
    interval: Duration,
    targets: Vec<String>,
    rule_files: Vec<(String, String)>,
    web_config: Option<String>,
}

impl PrometheusBuilder {
    /// Scrapes `host:port` (job `app`, path `/metrics`).
    pub fn scrape(mut self, target: impl Into<String>) -> Self {
        self.targets.push(target.into());
        self
    }

    /// How often targets are scraped and rules evaluated (default 1 s).
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = every;
        self
    }

    /// Adds a rule file (YAML text), loaded at start.
    pub fn rule_file(mut self, name: &str, yaml: &str) -> Self {
        self.rule_files.push((name.to_owned(), yaml.to_owned()));
        self
    }

    /// Serves its API under this `--web.config.file` (YAML text: `basic_auth_users`
    /// with bcrypt hashes, TLS): then it is ready when `/-/ready` answers 200 or 401.
    pub fn web_config(mut self, yaml: &str) -> Self {
        self.web_config = Some(yaml.to_owned());
        self
    }

    /// Writes `prometheus.yml`, starts `prometheus` and waits until `/-/ready` answers 200.
    pub fn start(self) -> Result<Prometheus, Error> {
        let bin = find_binary("prometheus", "prometheus")?;
        with_free_port(|port| {
            let dir = server_dir("shipgate-prometheus-")?;
            let every = format!("{}ms", self.interval.as_millis().max(1));
            let targets: Vec<String> = self.targets.iter().map(|t| format!("'{t}'")).collect();
            let mut yaml = format!(
                "global:\n  scrape_interval: {every}\n  evaluation_interval: {every}\n\
                 scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
            );
            if !self.rule_files.is_empty() {
                yaml.push_str("rule_files:\n");
                for (name, text) in &self.rule_files {
                    write(&dir.path().join(name), text)?;
                    yaml.push_str(&format!("  - '{}'\n", dir.path().join(name).display()));
                }
            }
            let conf = dir.path().join("prometheus.yml");
            write(&conf, &yaml)?;
            let mut cmd = Command::new(&bin);
            cmd.arg(format!("--config.file={}", conf.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn");
            if let Some(web) = &self.web_config {
                let path = dir.path().join("web.yml");
                write(&path, web)?;
                cmd.arg(format!("--web.config.file={}", path.display()));
            }
            let guarded = self.web_config.is_some();
            let mut process = ServerProcess::spawn(
                "prometheus",
                cmd,
                &dir.path().join("prometheus.log"),
                Signal::SIGTERM,
            )?;
            process.wait_ready(|_| match get_status(port, "/-/ready") {
                Some(200) => true,
                Some(401) => guarded,
                _ => false,
            })?;
            Ok(Prometheus {
                process,
                port,
                _dir: dir,
            })
        })
    }
}

impl Prometheus {
    /// A builder: targets, interval, rule files.
    pub fn builder() -> PrometheusBuilder {
        PrometheusBuilder {
            interval: Duration::from_secs(1),
            targets: Vec::new(),
            rule_files: Vec::new(),
            web_config: None,
        }
    }

    /// `http://127.0.0.1:<port>`, the base of its HTTP API.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// An Alertmanager with one receiver that drops everything (tests read alerts back
/// from its API), clustering off.
#[derive(Debug)]
pub struct Alertmanager {
    process: ServerProcess,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts `prometheus-alertmanager` and waits until `/-/ready` answers 200.
    pub fn start() -> Result<Self, Error> {
        let bin = find_binary("prometheus-alertmanager", "prometheus-alertmanager")?;
        with_free_port(|port| {
            let dir = server_dir("shipgate-alertmanager-")?;
            let conf = dir.path().join("alertmanager.yml");
            write(
                &conf,
                "route:\n  receiver: devnull\n  group_wait: 0s\nreceivers:\n  - name: devnull\n",
            )?;
            let mut cmd = Command::new(&bin);
            cmd.arg(format!("--config.file={}", conf.display()))
                .arg(format!(
                    "--storage.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--cluster.listen-address=")
                .arg("--log.level=warn");
            let mut process = ServerProcess::spawn(
                "prometheus-alertmanager",
                cmd,
                &dir.path().join("alertmanager.log"),
                Signal::SIGTERM,
            )?;
            process.wait_ready(|_| get_status(port, "/-/ready") == Some(200))?;
            Ok(Self {
                process,
                port,
                _dir: dir,
            })
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// The status code of `GET path`, or `None` when nothing answers.
fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
