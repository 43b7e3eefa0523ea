use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::process::{ServerProcess, server_dir, with_free_port};
use crate::{Error, ErrorKind};

/// moto_server: AWS's APIs (ECS, ECR, ELBv2, RDS, CloudWatch, Secrets Manager and
/// more) in memory, on a free port, answering any region and the credentials
/// [`Moto::env`] gives.
///
/// What moto does not model (a rolling update's deployments, the circuit breaker, a
/// task's exit code) is listed in docs/runbook.md; tests drive those through seams.
#[derive(Debug)]
pub struct Moto {
    process: ServerProcess,
    port: u16,
    _dir: tempfile::TempDir,
}

/// How to start a [`Moto`].
#[derive(Debug, Clone, Default)]
pub struct MotoBuilder {
    ecs_running: Option<u32>,
}

impl MotoBuilder {
    /// `MOTO_ECS_SERVICE_RUNNING`: the running count an ECS service is created with
    /// (moto's default is 0). A service created with more desired tasks than this
    /// never has them all running until `UpdateService` sets its desired count.
    pub fn ecs_running(mut self, count: u32) -> Self {
        self.ecs_running = Some(count);
        self
    }

    /// Starts it and waits until it answers.
    pub fn start(self) -> Result<Moto, Error> {
        let available = Command::new("python3")
            .args(["-c", "import moto.server, flask"])
            .output()
            .is_ok_and(|o| o.status.success());
        let bin = crate::needs::locate("moto_server");
        let Some(bin) = bin.filter(|_| available) else {
            return Err(Error::new(
                ErrorKind::MissingBinary,
                crate::needs::missing_message("moto[server]"),
            ));
        };
        with_free_port(|port| {
            let dir = server_dir("shipgate-moto-")?;
            let mut cmd = Command::new(&bin);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            if let Some(n) = self.ecs_running {
                cmd.env("MOTO_ECS_SERVICE_RUNNING", n.to_string());
            }
            let mut process = ServerProcess::spawn(
                "moto_server",
                cmd,
                &dir.path().join("moto.log"),
                Signal::SIGTERM,
            )?;
            process.wait_ready(|_| request(port, "GET", "/moto-api/", "").is_ok())?;
            Ok(Moto {
                process,
                port,
                _dir: dir,
            })
        })
    }
}

impl Moto {
    /// Starts one with moto's defaults.
    pub fn start() -> Result<Self, Error> {
        MotoBuilder::default().start()
    }

    /// A builder, for moto's settings.
    pub fn builder() -> MotoBuilder {
        MotoBuilder::default()
    }

    /// `http://127.0.0.1:<port>`, the `endpoint_url` for every service.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a client of this server needs: fake credentials and a region,
    /// so that nothing reads the machine's own.
    pub fn env(&self) -> [(&'static str, String); 5] {
        [
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ]
    }

    /// Calls a JSON-protocol AWS API as the SDK would (`service` as the credential
    /// scope names it, `ecs`; `target` the `X-Amz-Target`,
    /// `AmazonEC2ContainerServiceV20141113.CreateCluster`), so that a test sets up and
    /// checks what moto holds without the code under test. Fails on a non-2xx answer.
    pub fn call(
        &self,
        service: &str,
        target: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        let body = body.to_string();
        let headers = format!(
            "X-Amz-Target: {target}\r\nContent-Type: application/x-amz-json-1.1\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=0\r\n"
        );
        let answer = exchange(self.port, "POST", "/", &headers, &body)?;
        serde_json::from_str(if answer.is_empty() { "{}" } else { &answer }).map_err(|e| {
            Error::new(
                ErrorKind::Start,
                format!("moto_server answered {target} with no JSON ({e}): {answer}"),
            )
        })
    }

    /// Calls a query-protocol AWS API (EC2, ELBv2, RDS, CloudWatch): `params` are the
    /// form's fields besides `Action` and `Version`; the answer is moto's XML.
    pub fn query(
        &self,
        service: &str,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<String, Error> {
        let mut body = format!("Action={action}&Version={version}");
        for (k, v) in params {
            body.push('&');
            body.push_str(&form_encode(k));
            body.push('=');
            body.push_str(&form_encode(v));
        }
        let headers = format!(
            "Content-Type: application/x-www-form-urlencoded\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host, Signature=0\r\n"
        );
        exchange(self.port, "POST", "/", &headers, &body)
    }

    /// Forgets everything (`POST /moto-api/reset`).
    pub fn reset(&self) -> Result<(), Error> {
        request(self.port, "POST", "/moto-api/reset", "").map(drop)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of every `<tag>…</tag>` in `xml`, in order (enough to read moto's
/// answers in a test).
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(after[..end].to_owned());
        rest = &after[end + close.len()..];
    }
    out
}

/// One HTTP/1.1 request on a fresh connection; the body of a 2xx answer.
fn request(port: u16, method: &str, path: &str, body: &str) -> Result<String, Error> {
    exchange(port, method, path, "", body)
}

/// [`request`] with more headers (each ending in CRLF).
fn exchange(
    port: u16,
    method: &str,
    path: &str,
    headers: &str,
    body: &str,
) -> Result<String, Error> {
    let fail = |e: std::io::Error| Error::io("moto_server did not answer", e);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(fail)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(fail)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(fail)?;
    let status = answer.split(' ').nth(1).unwrap_or("");
    let payload = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    if !status.starts_with('2') {
        return Err(Error::new(
            ErrorKind::Start,
            format!(
                "moto_server answered {method} {path} with {}: {payload}",
                answer.lines().next().unwrap_or("nothing")
            ),
        ));
    }
    Ok(payload)
}
