//! `run` until SIGTERM, with `status` reading what it writes, and `test-alerts`.

use std::time::Duration;

use crate::{BIN, text};

async fn target() -> String {
    let app = shipgate_demo_app::App::build(Default::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app.router()).await });
    url
}

fn site(url: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shipgate.toml"),
        format!(
            r#"[environments.staging]
[watch]
interval = "100ms"
[watch.sources.api]
type = "http"
url = "{url}/health"
assert = ['json $.status == "ok"']
[[watch.rules]]
name = "health"
source = "api"
when = "up < 1"
consecutive = 2
[notify.channels.hook]
type = "webhook"
url = "{url}/hooks/test"
"#
        ),
    )
    .unwrap();
    dir
}

async fn shipgate_watch(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(BIN)
        .current_dir(dir)
        .args(["--env", "staging"])
        .args(args)
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn run_writes_its_status_and_stops_cleanly_on_sigterm() {
    let url = target().await;
    let dir = site(&url);
    let mut child = tokio::process::Command::new(BIN)
        .current_dir(dir.path())
        .args(["--env", "staging", "run"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let state = dir.path().join(".shipgate/watch-staging.json");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let samples = std::fs::read(&state)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["rules"][0]["samples"].as_u64())
            .unwrap_or(0);
        if samples >= 3 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no status written");
        // tidy: polling a separate process's status file
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let json = shipgate_watch(dir.path(), &["status", "--json"]).await;
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["schema"], "shipgate.watch-status/v1");
    assert_eq!(v["rules"][0]["alerts"][0]["state"], "inactive");
    assert_eq!(v["rules"][0]["last"], 1.0);
    let human = shipgate_watch(dir.path(), &["status"]).await;
    let out = String::from_utf8_lossy(&human.stdout);
    assert!(
        out.contains("health") && out.contains("warning inactive") && out.contains("firing: none"),
        "{out}"
    );

    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("stops within 10 s of SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_without_a_watcher_and_bad_rules_are_usage_errors() {
    let url = target().await;
    let dir = site(&url);
    let none = shipgate_watch(dir.path(), &["status"]).await;
    assert_eq!(none.status.code(), Some(2), "{}", text(&none));
    assert!(
        text(&none).contains("no watcher has run"),
        "{}",
        text(&none)
    );
    let toml = dir.path().join("shipgate.toml");
    let broken = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("up < 1", "up ~ 1");
    std::fs::write(&toml, broken).unwrap();
    let bad = shipgate_watch(dir.path(), &["deployment", "--for", "1s"]).await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("shipgate.toml:11:8"), "{err}");
    assert!(err.contains("expected one of >"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn test_alerts_reaches_every_channel() {
    let url = target().await;
    let dir = site(&url);
    let out = shipgate_watch(dir.path(), &["test-alerts"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ok    hook"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn planted_secrets_are_in_no_output_or_trace_log() {
    let url = target().await;
    let addr = url.trim_start_matches("http://");
    let dir = tempfile::tempdir().unwrap();
    // A probe and an alert channel whose URLs carry a password; the channel is
    // rejected (404), and the HTTP clients log their connections at trace.
    std::fs::write(
        dir.path().join("shipgate.toml"),
        format!(
            r#"[environments.staging]
[watch]
interval = "100ms"
[watch.sources.api]
type = "prometheus"
url = "http://ops:Pl%40nted-pw@{addr}"
queries = {{ up = "up" }}
[[watch.rules]]
name = "up"
source = "api"
when = "up < 1"
[notify.channels.hook]
type = "webhook"
url = "http://ops:Pl%40nted-pw@{addr}/nowhere"
"#
        ),
    )
    .unwrap();
    let mut all = String::new();
    for args in [
        &["test-alerts"][..],
        &["deployment", "--for", "300ms", "--json", "-"],
    ] {
        let out = tokio::process::Command::new(BIN)
            .current_dir(dir.path())
            .args(["--env", "staging"])
            .args(args)
            .env("RUST_LOG", "trace")
            .output()
            .await
            .unwrap();
        all.push_str(&text(&out));
    }
    assert!(all.contains("hook"), "{all:.2000}");
    for leak in ["Pl%40nted", "Pl@nted", "b3BzOlBsQG50ZWQtcHc"] {
        assert!(!all.contains(leak), "{leak} leaked");
    }
}
