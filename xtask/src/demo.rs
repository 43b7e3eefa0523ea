//! `cargo xtask demo`: start the demo app on loopback and run shipgate against it.
//!
//! Today that is a post-deployment smoke pass (health, API, auth flow, static files,
//! 404 handling, security headers, latency) recorded as shipgate-report findings and
//! rendered by every renderer. Each later layer joins here as it lands.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use shipgate_report::{
    Console, ExitCode, Finding, Json, Junit, Markdown, Outcome, Phase, Redactor, Render, Report,
};

use crate::run::{Cmd, Failed, workspace_root};

const PASSWORD: &str = "demo-password-7c1f";
const SLOW: Duration = Duration::from_millis(500);
const TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn run() -> Result<(), Failed> {
    Cmd::cargo([
        "build",
        "--locked",
        "--package",
        "shipgate-demo-app",
        "--bin",
        "demo-app",
    ])
    .run()?;
    let root = workspace_root();
    let app = DemoApp::start(&root.join("target/debug/demo-app"))?;
    eprintln!("demo app listening on http://{}", app.addr);

    let (findings, token) = smoke(&app.addr);
    let mut report = Report::new(format!(
        "shipgate demo: post-deployment smoke against http://{}",
        app.addr
    ));
    report.extend(findings);
    let report = report.with_redactor(Redactor::new([PASSWORD, token.as_str()]));
    drop(app);

    let out_dir = root.join("target/shipgate-demo");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| Failed(format!("cannot create {}: {e}", out_dir.display())))?;
    let outputs: [(&str, &dyn Render); 4] = [
        ("report.txt", &Console::plain()),
        ("report.json", &Json),
        ("junit.xml", &Junit),
        ("report.md", &Markdown),
    ];
    for (file, renderer) in outputs {
        write_report(&out_dir.join(file), renderer, &report)?;
    }
    let mut stdout = std::io::stdout();
    Console::for_stdout()
        .render(&report, &mut stdout)
        .map_err(|e| Failed(format!("cannot print the report: {e}")))?;
    println!("reports written to {}", out_dir.display());
    match report.exit_code() {
        ExitCode::Success => Ok(()),
        _ => Err(Failed(
            "the demo found failures (see the report above)".to_owned(),
        )),
    }
}

fn write_report(path: &Path, renderer: &dyn Render, report: &Report) -> Result<(), Failed> {
    // Written next to the target and renamed, so a reader never sees half a report.
    let tmp = path.with_extension("partial");
    let text = renderer
        .render_to_string(report)
        .map_err(|e| Failed(format!("cannot render {}: {e}", path.display())))?;
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Failed(format!("cannot write {}: {e}", path.display())))
}

/// The demo app as a child process, killed on drop.
struct DemoApp {
    child: Child,
    addr: String,
}

impl DemoApp {
    fn start(bin: &Path) -> Result<Self, Failed> {
        let mut command = Cmd::new(bin)
            .args(["--listen", "127.0.0.1:0", "--app-version", "demo"])
            .into_command();
        let mut child = command
            .env("DEMO_PASSWORD", PASSWORD)
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Failed(format!("cannot start {}: {e}", bin.display())))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let mut app = Self {
            child,
            addr: String::new(),
        };
        match line.trim().strip_prefix("listening on http://") {
            Some(addr) => {
                app.addr = addr.to_owned();
                Ok(app)
            }
            None => Err(Failed(format!(
                "the demo app did not start (first line: {line:?})"
            ))),
        }
    }
}

impl Drop for DemoApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    elapsed: Duration,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection, read to the end.
fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Response, String> {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream
        .write_all(req.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("receive: {e}"))?;
    let elapsed = start.elapsed();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("no end of headers in the response")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_owned(),
        elapsed,
    })
}

/// A smoke step: what to send and what must hold of the answer.
struct Step<'a> {
    name: &'a str,
    method: &'a str,
    path: &'a str,
    headers: Vec<(&'a str, String)>,
    body: &'a str,
    status: u16,
    contains: &'a str,
}

fn check(addr: &str, step: &Step<'_>) -> (Finding, Option<Response>) {
    let headers: Vec<(&str, &str)> = step.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let finding = Finding::new(step.name, Phase::Post, Outcome::Pass);
    match request(addr, step.method, step.path, &headers, step.body) {
        Err(e) => (
            finding
                .with_message(format!("{} {}: {e}", step.method, step.path))
                .with_outcome(Outcome::Fail)
                .with_recommendation("is the app running and listening on the address it printed?"),
            None,
        ),
        Ok(r) => {
            let mut f = finding
                .with_duration(r.elapsed)
                .with_detail("status", r.status.to_string());
            if r.status != step.status {
                f = f
                    .with_outcome(Outcome::Fail)
                    .with_message(format!(
                        "expected status {}, got {}: {}",
                        step.status,
                        r.status,
                        r.body.trim()
                    ))
                    .with_recommendation("look at the app's log for this route");
            } else if !r.body.contains(step.contains) {
                f = f
                    .with_outcome(Outcome::Fail)
                    .with_message(format!("body does not contain {:?}", step.contains))
                    .with_recommendation("the route answers but not with what clients expect");
            } else if r.elapsed > SLOW {
                f = f
                    .with_outcome(Outcome::Warn)
                    .with_message(format!(
                        "{} in {:?}, over the {SLOW:?} target",
                        r.status, r.elapsed
                    ))
                    .with_recommendation("profile the route; the latency target is 500ms");
            } else {
                f = f.with_message(format!("{} {} → {}", step.method, step.path, r.status));
            }
            (f, Some(r))
        }
    }
}

fn get<'a>(name: &'a str, path: &'a str, status: u16, contains: &'a str) -> Step<'a> {
    Step {
        name,
        method: "GET",
        path,
        headers: Vec::new(),
        body: "",
        status,
        contains,
    }
}

/// Runs the smoke pass; returns the findings and the session token (a secret to mask).
fn smoke(addr: &str) -> (Vec<Finding>, String) {
    let mut findings = Vec::new();
    let plain = [
        get("health", "/health", 200, "\"status\":\"ok\""),
        get("health: database", "/health/database", 200, "\"courses\":6"),
        get("health: cache", "/health/cache", 200, "\"status\":\"ok\""),
        get("api: course list", "/api/v1/courses", 200, "rust-basics"),
        get(
            "api: course detail",
            "/api/v1/courses/1",
            200,
            "Rust Basics",
        ),
        get("api: search", "/api/v1/search?q=rust", 200, "\"count\":2"),
        get("static: app.css", "/static/app.css", 200, "font-family"),
        get(
            "404 is JSON",
            "/no/such/page",
            404,
            "\"error\":\"not found\"",
        ),
    ];
    for step in &plain {
        findings.push(check(addr, step).0);
    }
    findings.push(security_headers(addr));

    let login_body = format!(r#"{{"username":"demo","password":"{PASSWORD}"}}"#);
    let login = Step {
        name: "auth: login",
        method: "POST",
        path: "/api/v1/auth/login",
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: &login_body,
        status: 200,
        contains: "\"token\"",
    };
    let (finding, response) = check(addr, &login);
    findings.push(finding);
    let token = response
        .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
        .and_then(|v| v["token"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let bearer = vec![("Authorization", format!("Bearer {token}"))];
    let steps = [
        Step {
            headers: bearer.clone(),
            ..get(
                "auth: dashboard with token",
                "/dashboard",
                200,
                "\"user\":\"demo\"",
            )
        },
        Step {
            method: "POST",
            headers: bearer.clone(),
            ..get("auth: logout", "/api/v1/auth/logout", 200, "logged out")
        },
        Step {
            headers: bearer,
            ..get(
                "auth: token revoked after logout",
                "/dashboard",
                401,
                "authentication required",
            )
        },
    ];
    for step in &steps {
        findings.push(check(addr, step).0);
    }
    (findings, token)
}

fn security_headers(addr: &str) -> Finding {
    let finding = Finding::new("security headers", Phase::Post, Outcome::Pass);
    let response = match request(addr, "GET", "/health", &[], "") {
        Ok(r) => r,
        Err(e) => return finding.with_outcome(Outcome::Fail).with_message(e),
    };
    let wanted = [
        "Strict-Transport-Security",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|h| response.header(h).is_none())
        .collect();
    let finding = finding.with_duration(response.elapsed);
    if missing.is_empty() {
        finding.with_message("HSTS, nosniff, frame options and referrer policy are set")
    } else {
        finding
            .with_outcome(Outcome::Fail)
            .with_message(format!("missing: {}", missing.join(", ")))
            .with_recommendation("set them in the app or the proxy in front of it")
    }
}
