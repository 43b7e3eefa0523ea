//! The `shipgate-notify` binary end to end against a recording receiver.

use std::process::Output;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};

const BIN: &str = env!("CARGO_BIN_EXE_shipgate-notify");

type Log = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// Records JSON bodies by path; `/reject/...` answers 400.
async fn receiver() -> (String, Log) {
    let log: Log = Arc::default();
    let app = axum::Router::new()
        .fallback(
            |State(log): State<Log>, uri: Uri, body: String| async move {
                log.lock().unwrap().push((
                    uri.path().to_owned(),
                    serde_json::from_str(&body).unwrap_or_default(),
                ));
                if uri.path().starts_with("/reject") {
                    (StatusCode::BAD_REQUEST, "no")
                } else {
                    (StatusCode::OK, "ok")
                }
            },
        )
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), log)
}

fn config(dir: &tempfile::TempDir, base: &str, extra: &str) -> std::path::PathBuf {
    let path = dir.path().join("shipgate.toml");
    let text = format!(
        r#"
[notify]
state_file = "state.json"
group_wait = "0s"
retry_delay = "10ms"
[notify.channels.chat]
type = "slack"
webhook_url = "{base}/chat"
[notify.channels.hook]
type = "webhook"
url = "{base}/hook"
{extra}
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

async fn notify(args: &[&str], stdin: Option<&str>) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        // The binary may exit (a usage error) before reading its input.
        let _ = input.write_all(text.as_bytes()).await;
    }
    drop(input);
    child.wait_with_output().await.unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn test_reports_every_channel_and_fails_if_one_does() {
    let (base, log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let ok = config(&dir, &base, "");
    let out = notify(&["test", "--config", ok.to_str().unwrap()], None).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("ok    chat  1 event(s), 1 attempt"),
        "{}",
        stdout(&out)
    );
    assert_eq!(log.lock().unwrap().len(), 2);

    let broken = config(
        &dir,
        &base,
        &format!(
            "[notify.channels.broken]\ntype = \"teams\"\nwebhook_url = \"{base}/reject/teams\"\n"
        ),
    );
    let out = notify(&["test", "--config", broken.to_str().unwrap()], None).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("FAIL  broken  channel broken: rejected with 400"),
        "{text}"
    );
    assert!(
        text.contains("ok    chat"),
        "the others still went out: {text}"
    );

    let out = notify(
        &[
            "test",
            "--config",
            ok.to_str().unwrap(),
            "--channel",
            "hook",
        ],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout(&out).contains("chat"));
}

#[tokio::test(flavor = "multi_thread")]
async fn send_from_flags_then_deduplicates_across_runs() {
    let (base, log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, &base, "");
    let args = [
        "send",
        "--config",
        cfg.to_str().unwrap(),
        "--kind",
        "deployment_failed",
        "--severity",
        "critical",
        "--environment",
        "production",
        "--summary",
        "v42 failed",
        "--version",
        "v42",
        "--detail",
        "check=auth flow",
        "--link",
        "runbook=https://example.com/rb",
    ];
    let out = notify(&args, None).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hook = log
        .lock()
        .unwrap()
        .iter()
        .find(|(p, _)| p == "/hook")
        .unwrap()
        .1
        .clone();
    let event = &hook["events"][0];
    assert_eq!(event["kind"], "deployment_failed");
    assert_eq!(event["version"], "v42");
    assert_eq!(event["details"]["check"], "auth flow");
    assert_eq!(event["links"][0]["url"], "https://example.com/rb");

    let again = notify(&args, None).await;
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).contains("suppressed  v42 failed: sent"),
        "{}",
        stdout(&again)
    );
    assert_eq!(log.lock().unwrap().len(), 2, "nothing new was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn send_reads_json_events_from_stdin() {
    let (base, log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, &base, "");
    let events = r#"[{"kind": "alert", "severity": "warning", "environment": "staging", "summary": "p95 high"},
                     {"kind": "alert", "severity": "warning", "environment": "staging", "summary": "errors up"}]"#;
    let out = notify(
        &["send", "--config", cfg.to_str().unwrap(), "--json", "-"],
        Some(events),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = log.lock().unwrap();
    let hook = &log.iter().find(|(p, _)| p == "/hook").unwrap().1;
    assert_eq!(
        hook["events"].as_array().unwrap().len(),
        2,
        "grouped into one message"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_and_configuration_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, "http://127.0.0.1:9", "");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[notify]\n[notify.channels.x]\ntype = \"slak\"\nwebhook_url = \"u\"\n",
    )
    .unwrap();
    for (args, needle) in [
        (
            vec!["test", "--config", bad.to_str().unwrap()],
            "bad.toml:3:8: unknown variant `slak`",
        ),
        (
            vec![
                "test",
                "--config",
                cfg.to_str().unwrap(),
                "--env",
                "production",
            ],
            "no environment `production`",
        ),
        (
            vec![
                "test",
                "--config",
                cfg.to_str().unwrap(),
                "--channel",
                "nope",
            ],
            "not configured",
        ),
        (
            vec![
                "send",
                "--config",
                cfg.to_str().unwrap(),
                "--kind",
                "exploded",
                "--summary",
                "x",
            ],
            "--kind \"exploded\"",
        ),
        (
            vec!["send", "--config", cfg.to_str().unwrap(), "--json", "-"],
            "not valid",
        ),
    ] {
        let out = notify(&args, Some("{")).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn planted_secrets_are_in_no_output_state_file_or_trace_log() {
    let (base, _log) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let addr = base.trim_start_matches("http://");
    // Secrets in a webhook URL's userinfo, in a Slack URL's path and in an HMAC key;
    // every channel is rejected, so every failure quotes what it was sent to.
    let path = dir.path().join("shipgate.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[notify]
state_file = "state.json"
group_wait = "0s"
retry_delay = "10ms"
[notify.channels.chat]
type = "slack"
webhook_url = "{base}/reject/services/T0/B0/Sl4ckT0kenPlanted"
[notify.channels.hook]
type = "webhook"
url = "http://ops:Pl%40nted-pw@{addr}/reject/hook?token=Qu3ryT0kenPlanted"
secret = "hm4c-key-planted"
"#
        ),
    )
    .unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(["test", "--config", path.to_str().unwrap()])
        .env("RUST_LOG", "trace");
    let out = cmd.output().await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let mut all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    if let Ok(state) = std::fs::read_to_string(dir.path().join("state.json")) {
        all.push_str(&state);
    }
    assert!(all.contains("rejected with 400"), "{all}");
    for leak in [
        "Sl4ckT0kenPlanted",
        "Qu3ryT0kenPlanted",
        "Pl%40nted",
        "Pl@nted",
        "hm4c-key-planted",
        // ops:Pl@nted-pw in base64, as a Basic header would carry it.
        "b3BzOlBsQG50ZWQtcHc",
    ] {
        assert!(!all.contains(leak), "{leak} leaked: {all}");
    }
}
