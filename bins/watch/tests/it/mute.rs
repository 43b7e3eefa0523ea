//! A continuous watcher beside a deployment that breaks health during its own
//! restart: the alerts are held while the deployment runs (no page for the restart we
//! caused), and a failure after its journal's last entry still fires.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::BIN;

#[tokio::test(flavor = "multi_thread")]
async fn alerts_are_held_during_the_deployments_restart_and_fire_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let down = dir.path().join("probe-down");
    let hooked: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = hooked.clone();
    // Counts deliveries, so the test waits on the delivery itself, not on a poll.
    let (delivered_tx, mut delivered) = tokio::sync::watch::channel(0usize);
    let probe_down = down.clone();
    let app = axum::Router::new()
        .route(
            "/probe",
            axum::routing::get(move || {
                let ok = !probe_down.exists();
                async move {
                    if ok {
                        (http::StatusCode::OK, "ok")
                    } else {
                        (http::StatusCode::SERVICE_UNAVAILABLE, "restarting")
                    }
                }
            }),
        )
        .route(
            "/hook",
            axum::routing::post(move |body: String| {
                let mut all = sink.lock().unwrap();
                all.push(serde_json::from_str(&body).unwrap());
                delivered_tx.send_replace(all.len());
                async { "ok" }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    std::fs::create_dir(dir.path().join("build")).unwrap();
    // The deployment's restart takes the probe down for 1.5 s while it holds the lock.
    let deploy = r#"[deploy]
state_dir = "state"
timeout = "20s"
[deploy.driver]
type = "host"
root = "app"
source = "build"
restart = "touch probe-down && sleep 1.5 && rm probe-down"
"#;
    std::fs::write(
        dir.path().join("shipgate.toml"),
        format!(
            r#"[environments.staging]
{deploy}
[watch]
interval = "100ms"
history = "watch.jsonl"
[watch.sources.probe]
type = "http"
url = "{url}/probe"
[[watch.rules]]
name = "probe"
source = "probe"
when = "status != 200"
consecutive = 2
[notify]
group_wait = "0s"
[notify.channels.hook]
type = "webhook"
url = "{url}/hook"
"#
        ),
    )
    .unwrap();
    let mut watcher = tokio::process::Command::new(BIN)
        .current_dir(dir.path())
        .args(["--env", "staging", "run"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(dir.path(), |h| {
        h.iter().filter(|l| l["type"] == "sample").count() >= 3
    })
    .await;

    crate::deployed(dir.path(), "v1").await;
    let history = read_history(dir.path());
    let held = history
        .iter()
        .filter(|l| l["type"] == "sample" && l["muted"] == true && l["readings"]["status"] == 503.0)
        .count();
    assert!(
        held >= 5,
        "the restart's failed probes were sampled while muted: {held}"
    );
    assert!(
        hooked.lock().unwrap().is_empty(),
        "no page for the restart we caused: {:?}",
        hooked.lock().unwrap()
    );

    // After the deployment's last journal entry, a failure is a failure.
    std::fs::write(&down, "").unwrap();
    wait_for(dir.path(), |h| {
        h.iter()
            .any(|l| l["type"] == "transition" && l["transition"] == "fired")
    })
    .await;
    tokio::time::timeout(Duration::from_secs(10), delivered.wait_for(|n| *n > 0))
        .await
        .expect("the firing alert was delivered within 10 s")
        .unwrap();
    let history = read_history(dir.path());
    let mutes: Vec<bool> = history
        .iter()
        .filter(|l| l["type"] == "mute")
        .map(|l| l["muted"].as_bool().unwrap())
        .collect();
    assert_eq!(mutes, [true, false], "held once, for the deployment");
    let fired: Vec<_> = history
        .iter()
        .filter(|l| l["type"] == "transition" && l["transition"] == "fired")
        .collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
    let body = hooked.lock().unwrap()[0].to_string();
    assert!(body.contains("probe"), "{body}");

    let pid = watcher.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), watcher.wait())
        .await
        .expect("stops on SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

fn read_history(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("watch.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

async fn wait_for(dir: &Path, done: impl Fn(&[serde_json::Value]) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done(&read_history(dir)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out; history: {:?}",
            read_history(dir)
        );
        // tidy: polling a separate process's history file
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
