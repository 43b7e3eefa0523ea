//! `cargo xtask demo`: start the demo app on loopback and run every shipgate layer that
//! exists against it, the way a deployment pipeline would.
//!
//! Today: `shipgate-check pre` (environment, port, database and sqlx migrations, Django
//! settings, files, host resources) and `shipgate-check post` (health, API, security
//! headers, 404s, the login → dashboard → logout flow), from `fixtures/shipgate.toml`,
//! with console, JSON, JUnit and Markdown reports in `target/shipgate-demo/`; a 5-second
//! `shipgate-load` run of the five-class configuration (CSV, JSON, JUnit, Markdown);
//! then `shipgate-notify test`, delivering to the demo app's own `/hooks/{channel}`;
//! the README's first configuration; and `shipgate-deploy` deploying the demo app
//! blue-green behind a real nginx and rolling it back, then watching it with
//! `shipgate-watch` for a short window (`demo_deploy.rs`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::run::{Cmd, Failed, workspace_root};

/// Throw-away credentials for the demo only.
const PASSWORD: &str = "demo-password-7c1f";
const SECRET_KEY: &str = "demo-only-Kx9#pQ2!vR7@wM4$zT8^nB1&cY6*hF3(jL5)sD0+eG-uA=";

pub(crate) fn run() -> Result<(), Failed> {
    Cmd::cargo([
        "build",
        "--locked",
        "--package",
        "shipgate-demo-app",
        "--package",
        "shipgate-check",
        "--package",
        "shipgate-notify-cli",
        "--package",
        "shipgate-load-cli",
        "--package",
        "shipgate-deploy-cli",
        "--package",
        "shipgate-watch-cli",
    ])
    .run()?;
    let root = workspace_root();
    let out = root.join("target/shipgate-demo");
    std::fs::create_dir_all(&out)
        .map_err(|e| Failed(format!("cannot create {}: {e}", out.display())))?;
    let db = out.join("demo.db");
    let _ = std::fs::remove_file(&db);
    let database_url = format!("sqlite://{}?mode=rwc", db.display());

    let app = DemoApp::start(&root.join("target/debug/demo-app"), &database_url)?;
    eprintln!("demo app listening on http://{}", app.addr);
    let port = app.addr.rsplit(':').next().unwrap_or_default().to_owned();
    let config = root.join("fixtures/shipgate.toml");
    let check = root.join("target/debug/shipgate-check");

    let mut failed = Vec::new();
    for phase in ["pre", "post"] {
        let mut cmd = Cmd::new(&check)
            .args([phase, "--env", "demo", "--config"])
            .args([&config])
            .args([
                "--json".as_ref(),
                out.join(format!("{phase}.json")).as_os_str(),
            ])
            .args([
                "--junit".as_ref(),
                out.join(format!("{phase}.xml")).as_os_str(),
            ])
            .args([
                "--markdown".as_ref(),
                out.join(format!("{phase}.md")).as_os_str(),
            ])
            .into_command();
        cmd.env("DEMO_PORT", &port)
            .env("DATABASE_URL", &database_url)
            .env("SECRET_KEY", SECRET_KEY)
            .env("DEMO_PASSWORD", PASSWORD);
        eprintln!("$ shipgate-check {phase} --env demo --config fixtures/shipgate.toml …");
        let status = cmd
            .status()
            .map_err(|e| Failed(format!("cannot run shipgate-check: {e}")))?;
        if !status.success() {
            failed.push(format!("shipgate-check {phase} ({status})"));
        }
    }
    // A short version of the step-shape load test: 60 users for 5 s.
    let mut load = Cmd::new(root.join("target/debug/shipgate-load"))
        .args([
            "--env",
            "demo",
            "--users",
            "60",
            "--spawn-rate",
            "60",
            "--run-time",
            "5s",
            "--progress",
            "1s",
            "--config",
        ])
        .args([&config])
        .args(["--csv".as_ref(), out.join("load").as_os_str()])
        .args(["--json".as_ref(), out.join("load.json").as_os_str()])
        .args(["--html".as_ref(), out.join("load.html").as_os_str()])
        .args(["--junit".as_ref(), out.join("load.xml").as_os_str()])
        .args(["--markdown".as_ref(), out.join("load.md").as_os_str()])
        .into_command();
    load.env("DEMO_PORT", &port).env("DEMO_PASSWORD", PASSWORD);
    eprintln!(
        "$ shipgate-load --env demo --users 60 --run-time 5s --config fixtures/shipgate.toml …"
    );
    let status = load
        .status()
        .map_err(|e| Failed(format!("cannot run shipgate-load: {e}")))?;
    if !status.success() {
        failed.push(format!("shipgate-load ({status})"));
    }

    let mut notify = Cmd::new(root.join("target/debug/shipgate-notify"))
        .args(["test", "--env", "demo", "--config"])
        .args([&config])
        .into_command();
    notify.env("DEMO_PORT", &port);
    eprintln!("$ shipgate-notify test --env demo --config fixtures/shipgate.toml");
    let status = notify
        .status()
        .map_err(|e| Failed(format!("cannot run shipgate-notify: {e}")))?;
    if !status.success() {
        failed.push(format!("shipgate-notify test ({status})"));
    }
    failed.extend(readme(&root, &out, &app.addr)?);
    failed.extend(crate::demo_deploy::run(&root, &out, &app.addr)?);
    drop(app);
    index(&out)?;
    println!(
        "reports written to {}; open {}",
        out.display(),
        out.join("index.html").display()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failed(format!(
            "the demo found failures: {}",
            failed.join(", ")
        )))
    }
}

/// `index.html`: a link to every report the demo wrote, the promotion's load reports
/// and the watch verdicts included.
fn index(out: &Path) -> Result<(), Failed> {
    fn walk(dir: &Path, out: &Path, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            if path.is_dir() {
                // Journals, approvals and the slots' own files are state, not reports.
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let slots = path.parent().is_some_and(|p| p.ends_with("pipeline"))
                    && matches!(name, "staging" | "production");
                if !slots && !matches!(name, "deployments" | "approvals") {
                    walk(&path, out, found);
                }
            } else if path
                .extension()
                .is_some_and(|x| ["md", "json", "html", "xml", "csv"].iter().any(|k| x == *k))
                && !path.ends_with("index.html")
                && let Ok(rel) = path.strip_prefix(out)
            {
                found.push(rel.display().to_string());
            }
        }
    }
    let mut found = Vec::new();
    walk(out, out, &mut found);
    found.sort();
    let items: String = found
        .iter()
        .map(|f| format!("<li><a href=\"{f}\">{f}</a></li>\n"))
        .collect();
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>shipgate demo</title></head>\n\
         <body><h1>shipgate demo: every report</h1>\n<p>pre and post checks, the load test, \
         the deployments to staging and production, the promotion's gates and load report, \
         the watch verdicts, the rollback.</p>\n<ul>\n{items}</ul></body></html>\n"
    );
    let path = out.join("index.html");
    std::fs::write(&path, page).map_err(|e| Failed(format!("cannot write {}: {e}", path.display())))
}

/// Runs the README's first shipgate.toml (the TOML block after `<!-- readme-config -->`)
/// against the demo app with the README's three CI commands (the load test shortened);
/// returns what failed.
fn readme(root: &Path, out: &Path, addr: &str) -> Result<Vec<String>, Failed> {
    let text = std::fs::read_to_string(root.join("README.md"))
        .map_err(|e| Failed(format!("cannot read README.md: {e}")))?;
    let block = text
        .split_once("<!-- readme-config -->")
        .and_then(|(_, rest)| rest.split_once("```toml\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(toml, _)| toml)
        .ok_or_else(|| {
            Failed("README.md has no ```toml block after <!-- readme-config -->".into())
        })?;
    let config = out.join("readme.toml");
    std::fs::write(&config, block)
        .map_err(|e| Failed(format!("cannot write {}: {e}", config.display())))?;
    let commands: [(&str, &[&str]); 3] = [
        ("shipgate-check", &["pre"]),
        ("shipgate-check", &["post"]),
        (
            "shipgate-load",
            &["--users", "5", "--run-time", "2s", "--progress", "1s"],
        ),
    ];
    let mut failed = Vec::new();
    for (bin, args) in commands {
        let mut cmd = Cmd::new(root.join("target/debug").join(bin))
            .args(args)
            .args(["--env", "production", "--config"])
            .args([&config])
            .into_command();
        cmd.env("BASE_URL", format!("http://{addr}"))
            .env("SECRET_KEY", SECRET_KEY);
        eprintln!(
            "$ {bin} {} --env production --config README.md's shipgate.toml",
            args.join(" ")
        );
        let status = cmd
            .status()
            .map_err(|e| Failed(format!("cannot run {bin}: {e}")))?;
        if !status.success() {
            failed.push(format!("README: {bin} {} ({status})", args.join(" ")));
        }
    }
    Ok(failed)
}

/// The demo app as a child process, killed on drop.
struct DemoApp {
    child: Child,
    addr: String,
}

impl DemoApp {
    fn start(bin: &Path, database_url: &str) -> Result<Self, Failed> {
        let mut command = Cmd::new(bin)
            .args(["--listen", "127.0.0.1:0", "--app-version", "demo"])
            .into_command();
        let mut child = command
            .env("DEMO_PASSWORD", PASSWORD)
            .env("DATABASE_URL", database_url)
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
