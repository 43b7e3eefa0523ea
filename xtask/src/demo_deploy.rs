//! The deploy part of `cargo xtask demo`: the demo app deployed blue-green behind a real
//! nginx with `shipgate-deploy` (release `blue`, then `green`), then rolled back, each
//! switch proved by asking nginx which version answers; then a short `shipgate-watch`
//! window over the deployment, which must pass.

use std::path::Path;
use std::time::Duration;

use shipgate_testkit::Nginx;

use crate::run::{Cmd, Failed};

/// One environment: its own nginx and blue/green slots, its own shipgate file.
struct Env {
    name: &'static str,
    nginx: Nginx,
    file: String,
}

fn environment(name: &'static str, dir: &Path, root: &Path, shared: &str) -> Result<Env, Failed> {
    let (blue, green) = (free_port()?, free_port()?);
    let own = dir.join(name);
    std::fs::create_dir_all(&own)
        .map_err(|e| Failed(format!("cannot create {}: {e}", own.display())))?;
    let upstream = own.join("upstream.conf");
    write(
        &upstream,
        &format!("upstream app {{ server 127.0.0.1:{blue}; }}\n"),
    )?;
    let nginx = Nginx::builder()
        .master_process()
        .http_config(&format!("include {};", upstream.display()))
        .server_config("location / { proxy_pass http://app; }")
        .start()
        .map_err(|e| Failed(format!("cannot start nginx for {name}: {e}")))?;
    let config = format!(
        r#"[environments.staging]
URL = "{{staging}}"
[environments.production]
URL = "{{production}}"

[deploy]
state_dir = "state"
protected = ["production"]

[deploy.driver]
type = "nginx"
upstream = "{upstream}"
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

[watch.sources.site]
type = "http"
url = "{url}/health"
interval = "200ms"

[[watch.rules]]
name = "health"
source = "site"
when = "status != 200"
consecutive = 3
action = "rollback"
{shared}"#,
        upstream = upstream.display(),
        pid = nginx.pid(),
        pid_file = nginx.dir().join("nginx.pid").display(),
        app = root.join("target/debug/demo-app").display(),
        url = nginx.url(),
    );
    Ok(Env {
        name,
        nginx,
        file: config,
    })
}

/// Runs the pipeline demo in `out/pipeline`: v1 and v2 through staging, v2 promoted to
/// production through its gates (the promoted record, a load test on staging, an
/// approval by a second person), the error knob raised under the watch window, the
/// automatic rollback to v1, the notices at `hooks` (the demo app's receiver).
pub(crate) fn run(root: &Path, out: &Path, hooks: &str) -> Result<Vec<String>, Failed> {
    let dir = out.join("pipeline");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failed(format!("cannot create {}: {e}", dir.display())))?;
    let shared = format!(
        r#"
[load]
host = "${{URL}}"
thresholds = ["error_rate < 1%", "p95 < 500ms"]
shape = {{ type = "constant", users = 20, duration = "3s", spawn_rate = 20 }}
[[load.users]]
name = "browse"
[[load.users.tasks]]
request = {{ name = "GET /api/v1/courses", url = "{{{{host}}}}/api/v1/courses", assert = ["status == 200"] }}

[notify]
group_wait = "0s"
[notify.channels.demo]
type = "webhook"
url = "http://{hooks}/hooks/pipeline"

[pipeline.environments.staging]
watch = "2s"

[pipeline.environments.production]
from = "staging"
watch = "8s"
skippable = ["load"]
gates = [
  {{ type = "promoted" }},
  {{ type = "load" }},
  {{ type = "approval", four_eyes = true, wait = "1s", expires = "1h" }},
]
"#
    );
    let staging = environment("staging", &dir, root, &shared)?;
    let production = environment("production", &dir, root, &shared)?;
    for e in [&staging, &production] {
        let text = e
            .file
            .replace("{staging}", &staging.nginx.url())
            .replace("{production}", &production.nginx.url());
        write(&dir.join(format!("{}.toml", e.name)), &text)?;
    }
    let bin = root.join("target/debug/shipgate-deploy");
    let mut failed = Vec::new();
    let step =
        |who: &str, env: &Env, args: &[&str], report: &str| -> Result<(bool, String), Failed> {
            eprintln!(
                "\n== {report}\n$ SHIPGATE_USER={who} shipgate-deploy --config {}.toml {}",
                env.name,
                args.join(" ")
            );
            // Operations write their reports beside the others; approve and history
            // print theirs.
            let reports: Vec<String> = if args.iter().any(|a| matches!(*a, "approve" | "history")) {
                Vec::new()
            } else {
                vec![
                    "--markdown".into(),
                    out.join(format!("{report}.md")).display().to_string(),
                    "--json".into(),
                    out.join(format!("{report}.json")).display().to_string(),
                ]
            };
            let output = Cmd::new(&bin)
                .args(["--config", &format!("{}.toml", env.name)])
                .args(args)
                .args(&reports)
                .into_command()
                .current_dir(&dir)
                .env("SHIPGATE_USER", who)
                .env_remove("GITHUB_ACTIONS")
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|e| Failed(format!("cannot run shipgate-deploy: {e}")))?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            eprint!("{text}");
            Ok((output.status.success(), text))
        };
    let expect = |ok: bool, what: &str, serving: &str, env: &Env, failed: &mut Vec<String>| {
        let now = version(&env.nginx.url());
        eprintln!("-> {} answers with version {now}", env.name);
        if !ok || now != serving {
            failed.push(format!(
                "{what} (nginx of {} answers {now}, expected {serving})",
                env.name
            ));
        }
    };
    // The first production install, then v1 and v2 through staging, each watched.
    say("production's first release, v1, blue-green behind its nginx, then watched for 8 s");
    let (ok, _) = step(
        "ci",
        &production,
        &[
            "--env",
            "production",
            "deploy",
            "--release",
            "v1",
            "--confirm",
            "production",
        ],
        "production-v1",
    )?;
    expect(
        ok,
        "deploy v1 to production",
        "v1",
        &production,
        &mut failed,
    );
    say(
        "v1, then v2, deployed to staging; each deployment ends with a 2 s watch window whose verdict is recorded",
    );
    for v in ["v1", "v2"] {
        let (ok, _) = step(
            "ci",
            &staging,
            &["--env", "staging", "deploy", "--release", v],
            &format!("staging-{v}"),
        )?;
        expect(
            ok,
            &format!("deploy {v} to staging"),
            v,
            &staging,
            &mut failed,
        );
    }
    // Promote v2: the gates run, the approval is asked for, and granted by someone else.
    let promote = [
        "promote",
        "--from",
        "staging",
        "--to",
        "production",
        "v2",
        "--confirm",
        "production",
    ];
    say(
        "promote v2 to production: the promoted gate reads staging's record, the load gate runs 3 s against staging, the approval gate asks for a second person",
    );
    let (_, text) = step("ci", &production, &promote, "promote-request")?;
    let Some(id) = text
        .split("approval requested as ")
        .nth(1)
        .and_then(|t| t.split(':').next())
        .map(str::to_owned)
    else {
        failed.push("promote v2 did not ask for an approval".to_owned());
        return Ok(failed);
    };
    say(
        "someone other than the requester approves (four eyes); the wait timer is 1 s from the approval",
    );
    let (ok, _) = step(
        "release-manager",
        &production,
        &["--env", "production", "approve", &id],
        "approve",
    )?;
    if !ok {
        failed.push(format!("approve {id}"));
    }
    // The promotion deploys v2 and watches it; while it watches, the error knob of the
    // v2 slot goes to 100%: the health rule fires and rolls production back to v1.
    let url = production.nginx.url();
    let knob = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while version(&url) != "v2" && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_millis(1500));
        eprintln!("\n== the demo app's error knob on production's v2 slot: error_ratio = 1.0");
        put_faults(&url, r#"{"error_ratio":1.0}"#)
    });
    say(
        "promote again: every gate holds, v2 goes live blue-green, and the 8 s watch begins; the error knob will be raised under it",
    );
    let (ok, text) = step("ci", &production, &promote, "promote")?;
    let knob = knob.join().unwrap_or(false);
    if !knob {
        failed.push("could not raise the error knob".to_owned());
    }
    if ok || !text.contains("watch failed") {
        failed.push("the promotion of v2 should end with a failed watch".to_owned());
    }
    expect(
        true,
        "the automatic rollback",
        "v1",
        &production,
        &mut failed,
    );
    say("which version ran where and when, across environments");
    let _ = step(
        "ci",
        &production,
        &["--env", "production", "history", "--all"],
        "history",
    )?;
    let notices = get(&format!("http://{hooks}/hooks/pipeline"));
    let rolled_back = notices.matches("rolled_back").count();
    eprintln!("\n== notices received by the demo app: {rolled_back} rolled_back");
    if rolled_back == 0 {
        failed.push("no rolled_back notice reached the receiver".to_owned());
    }
    for env in [&staging, &production] {
        stop_slots(&dir.join(env.name).join("shipgate-slots.json"));
    }
    drop(staging);
    drop(production);
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

/// Says what the next stage does.
fn say(what: &str) {
    eprintln!("\n### {what}");
}

/// One plain HTTP/1.1 exchange with `base` (`http://host:port`); the response's text.
fn exchange(base: &str, request: &str) -> Option<String> {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let addr = addr.split('/').next().unwrap_or(addr);
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    stream
        .write_all(request.replace("{addr}", addr).as_bytes())
        .ok()?;
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    Some(text)
}

/// `PUT /admin/faults` with `body`; whether the app took it.
fn put_faults(base: &str, body: &str) -> bool {
    let request = format!(
        "PUT /admin/faults HTTP/1.1\r\nHost: {{addr}}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(base, &request).is_some_and(|t| t.starts_with("HTTP/1.1 2"))
}

/// The body of `GET url` (`http://host:port/path`), or nothing.
fn get(url: &str) -> String {
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest.split_once('/').unwrap_or((rest, ""));
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {{addr}}\r\nConnection: close\r\n\r\n");
    exchange(&format!("http://{addr}"), &request).unwrap_or_default()
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
