use std::fmt::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::signal::Signal;

use crate::Error;
use crate::process::{ServerProcess, find_binary, server_dir, with_free_port};

/// An nginx serving a temporary document root on a free port, in one process.
///
/// The root holds `index.html` unless the builder replaces it; files may be added to
/// [`Nginx::root`] at any time, and [`NginxBuilder::server_config`] adds directives to
/// the `server` block (headers, `proxy_pass`, `return`, ...).
#[derive(Debug)]
pub struct Nginx {
    process: ServerProcess,
    port: u16,
    dir: tempfile::TempDir,
}

/// Configures an [`Nginx`] before it starts.
#[derive(Debug, Default)]
pub struct NginxBuilder {
    files: Vec<(PathBuf, Vec<u8>)>,
    server_config: String,
    http_config: String,
    http2: bool,
    master: bool,
}

/// What `GET /` serves unless the builder replaces `index.html`.
pub const DEFAULT_INDEX: &str =
    "<!doctype html><title>shipgate testkit</title><p>shipgate testkit nginx</p>\n";

impl NginxBuilder {
    /// Adds a file under the document root (`path` relative, e.g. `static/app.css`).
    pub fn file(mut self, path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push((path.into(), contents.into()));
        self
    }

    /// Adds nginx directives to the `server` block, e.g. `add_header X-Frame-Options DENY;`.
    pub fn server_config(mut self, directives: &str) -> Self {
        self.server_config.push_str(directives);
        self.server_config.push('\n');
        self
    }

    /// Adds nginx directives to the `http` block, e.g. `include upstream.conf;` (a path
    /// relative to the server's directory, [`Nginx::dir`]).
    pub fn http_config(mut self, directives: &str) -> Self {
        self.http_config.push_str(directives);
        self.http_config.push('\n');
        self
    }

    /// Runs a master process and a worker, as production does, so that
    /// SIGHUP to [`Nginx::pid`] is a graceful reload: new workers take new
    /// connections, old ones finish what they serve.
    pub fn master_process(mut self) -> Self {
        self.master = true;
        self
    }

    /// Speaks HTTP/2 without TLS (h2c, prior knowledge) instead of HTTP/1.1.
    pub fn http2(mut self) -> Self {
        self.http2 = true;
        self
    }

    /// Writes the configuration and files, starts nginx and waits until it accepts connections.
    pub fn start(self) -> Result<Nginx, Error> {
        let bin = find_binary("nginx", "nginx")?;
        with_free_port(|port| {
            let dir = server_dir("shipgate-nginx-")?;
            let root = dir.path().join("www");
            write(&root.join("index.html"), DEFAULT_INDEX.as_bytes())?;
            for (path, contents) in &self.files {
                write(&root.join(path), contents)?;
            }
            let conf = dir.path().join("nginx.conf");
            write(
                &conf,
                config(dir.path(), port, &self, self.http2).as_bytes(),
            )?;
            let mut cmd = Command::new(&bin);
            cmd.arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf)
                .arg("-e")
                .arg(dir.path().join("error.log"));
            let mut process = ServerProcess::spawn(
                "nginx",
                cmd,
                &dir.path().join("nginx.stderr"),
                Signal::SIGQUIT,
            )?;
            process.wait_ready(|_| TcpStream::connect(("127.0.0.1", port)).is_ok())?;
            Ok(Nginx { process, port, dir })
        })
    }
}

impl Nginx {
    /// A builder, to add files and directives.
    pub fn builder() -> NginxBuilder {
        NginxBuilder::default()
    }

    /// Starts nginx serving only the default `index.html`.
    pub fn start() -> Result<Self, Error> {
        Self::builder().start()
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The document root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    /// The server's process id (to kill it in a fault test).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The server's directory (its configuration, logs, and files it includes).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

fn write(path: &Path, contents: &[u8]) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
    }
    std::fs::write(path, contents)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

fn config(dir: &Path, port: u16, builder: &NginxBuilder, http2: bool) -> String {
    let d = dir.display();
    let server_config = &builder.server_config;
    let master = if builder.master { "on" } else { "off" };
    let mut c = String::new();
    let _ = writeln!(
        c,
        "daemon off;\nmaster_process {master};\nworker_processes 1;\npid {d}/nginx.pid;"
    );
    let _ = writeln!(
        c,
        "error_log {d}/error.log warn;\nevents {{ worker_connections 1024; }}"
    );
    let _ = writeln!(
        c,
        "http {{\n  access_log off;\n  keepalive_requests 100000;"
    );
    for kind in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        let _ = writeln!(c, "  {kind}_temp_path {d}/tmp_{kind};");
    }
    let _ = writeln!(
        c,
        "  types {{ text/html html; text/css css; application/json json; text/plain txt; application/javascript js; }}"
    );
    let _ = writeln!(c, "  default_type application/octet-stream;");
    let _ = writeln!(c, "{}", builder.http_config);
    let listen = if http2 {
        format!("127.0.0.1:{port} http2")
    } else {
        format!("127.0.0.1:{port}")
    };
    let _ = writeln!(
        c,
        "  server {{\n    listen {listen};\n    root {d}/www;\n{server_config}  }}\n}}"
    );
    c
}
