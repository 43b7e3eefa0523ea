//! The deploy part of `cargo xtask demo`: the demo app deployed blue-green behind a real
//! nginx with `shipgate-deploy` (release `blue`, then `green`), then rolled back, each
//! switch proved by asking nginx which version answers; then a short `shipgate-watch`
//! window over the deployment, which must pass.

use std::path::Path;
use std::time::Duration;

use shipgate_testkit::Nginx;

use crate::run::{Cmd, Failed};

/// Runs the deployment demo in `out/deploy`; returns what failed.
pub(crate) fn run(root: &Path, out: &Path) -> Result<Vec<String>, Failed> {
    let dir = out.join("deploy");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failed(format!("cannot create {}: {e}", dir.display())))?;
    let (blue, green) = (free_port()?, free_port()?);
    let upstream = dir.join("upstream.conf");
    write(
        &upstream,
        &format!("upstream app {{ server 127.0.0.1:{blue}; }}\n"),
    )?;
    let nginx = Nginx::builder()
        .master_process()
        .http_config(&format!("include {};", upstream.display()))
        .server_config("location / { proxy_pass http://app; }")
        .start()
        .map_err(|e| Failed(format!("cannot start nginx for the deploy demo: {e}")))?;
    let config = format!(
        r#"[environments.demo]

[deploy]
state_dir = "state"

[deploy.driver]
type = "nginx"
upstream = "upstream.conf"
reload = "kill -HUP {pid}"
pid_file = "{pid_file}"
start = "exec {app} --listen 127.0.0.1:$SHIPGATE_PORT --app-version $SHIPGATE_RELEASE"
blue = {blue}
green = {green}

[deploy.health]
url = "{url}/health"
assert = ['header x-app-version == "{{{{release}}}}"']
timeout = "10s"
interval = "50ms"

[watch]
history = "watch.jsonl"

[watch.sources.site]
type = "http"
url = "{url}/health"
interval = "250ms"

[[watch.rules]]
name = "health"
source = "site"
when = "status != 200"
consecutive = 3
action = "rollback"

[[watch.rules]]
name = "latency"
source = "site"
warning = "latency > 200ms"
critical = "latency > 1s"
consecutive = 2
"#,
        pid = nginx.pid(),
        pid_file = nginx.dir().join("nginx.pid").display(),
        app = root.join("target/debug/demo-app").display(),
        url = nginx.url(),
    );
    write(&dir.join("shipgate.toml"), &config)?;
    let deploy = root.join("target/debug/shipgate-deploy");
    let mut failed = Vec::new();
    for (args, expect) in [
        (vec!["deploy", "--release", "blue"], "blue"),
        (vec!["deploy", "--release", "green"], "green"),
        (vec!["rollback", "--to", "previous"], "blue"),
    ] {
        eprintln!("$ shipgate-deploy --env demo {}", args.join(" "));
        let status = Cmd::new(&deploy)
            .args(["--env", "demo"])
            .args(&args)
            .into_command()
            .current_dir(&dir)
            .status()
            .map_err(|e| Failed(format!("cannot run shipgate-deploy: {e}")))?;
        let serving = version(&nginx.url());
        eprintln!("nginx now answers with version {serving}");
        if !status.success() || serving != expect {
            failed.push(format!(
                "shipgate-deploy {} ({status}; nginx answers {serving}, expected {expect})",
                args.join(" ")
            ));
        }
    }
    let watch = root.join("target/debug/shipgate-watch");
    eprintln!("$ shipgate-watch --env demo deployment --for 3s");
    let status = Cmd::new(&watch)
        .args(["--env", "demo", "deployment", "--for", "3s", "--markdown"])
        .args([out.join("watch.md")])
        .into_command()
        .current_dir(&dir)
        .status()
        .map_err(|e| Failed(format!("cannot run shipgate-watch: {e}")))?;
    if !status.success() {
        failed.push(format!(
            "shipgate-watch deployment ({status}): see {}",
            out.join("watch.md").display()
        ));
    }
    stop_slots(&dir.join("shipgate-slots.json"));
    drop(nginx);
    Ok(failed)
}

fn write(path: &Path, text: &str) -> Result<(), Failed> {
    std::fs::write(path, text).map_err(|e| Failed(format!("cannot write {}: {e}", path.display())))
}

fn free_port() -> Result<u16, Failed> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Failed(format!("no free port: {e}")))
}

/// The `X-App-Version` nginx answers `/health` with.
fn version(base: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return "nothing (connection refused)".to_owned();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("x-app-version")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| "none".to_owned())
}

/// Stops the slots' process groups (the demo leaves nothing running).
fn stop_slots(record: &Path) {
    let Ok(text) = std::fs::read_to_string(record) else {
        return;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    for slot in ["blue", "green"] {
        if let Some(pid) = value[slot]["pid"].as_i64().filter(|p| *p > 1) {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", "--", &format!("-{pid}")])
                .status();
        }
    }
}
