//! Three failed health probes in a row roll a blue-green deployment back, once, with
//! notices; two in a row (over and over) do not.

use std::path::{Path, PathBuf};

use shipgate_deploy::{DeployConfig, Driver};
use shipgate_testkit::{Nginx, SlotProcesses};

use crate::{BIN, text};

fn demo_app() -> PathBuf {
    let path = Path::new(BIN).with_file_name("demo-app");
    assert!(
        path.exists(),
        "{} is not built: `cargo build -p shipgate-demo-app` (cargo xtask test builds it)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    shipgate_testkit::free_port()
}

struct Receiver {
    url: String,
}

impl Receiver {
    async fn start() -> Self {
        let app = shipgate_demo_app::App::build(Default::default())
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app.router()).await });
        Self { url }
    }

    /// `(kind, status)` of every event received.
    async fn events(&self) -> Vec<(String, String)> {
        let (_, v) = send("GET", &format!("{}/hooks/watch", self.url), "").await;
        v["received"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|b| b["events"].as_array().unwrap().clone())
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().to_owned(),
                    e["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

async fn send(method: &str, url: &str, body: &str) -> (u16, serde_json::Value) {
    let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(bytes::Bytes::from(body.to_owned()))
        .unwrap();
    let r = client.send(request).await.unwrap();
    let version = r.header("x-app-version").unwrap_or("").to_owned();
    let mut json: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    if json.is_object() {
        json["x-app-version"] = version.into();
    }
    (r.status.as_u16(), json)
}

/// A site deployed twice (v1, then v2 serving), with `[watch]` probing it through nginx.
struct Site {
    // First: fields drop in order, and the slot record is in `dir`.
    slots: SlotProcesses,
    dir: tempfile::TempDir,
    nginx: Nginx,
    receiver: Receiver,
}

impl Site {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (blue, green) = (free_port(), free_port());
        let upstream = dir.path().join("upstream.conf");
        std::fs::write(
            &upstream,
            format!("upstream app {{ server 127.0.0.1:{blue}; }}\n"),
        )
        .unwrap();
        let nginx = Nginx::builder()
            .master_process()
            .http_config(&format!("include {};", upstream.display()))
            .server_config("location / { proxy_pass http://app; }")
            .start()
            .unwrap();
        let receiver = Receiver::start().await;
        let config = format!(
            r#"
[environments.staging]
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
interval = "20ms"

[watch]
interval = "200ms"
timeout = "2s"
history = "watch.jsonl"
[watch.sources.site]
type = "http"
url = "{url}/health"
[[watch.rules]]
name = "health"
source = "site"
when = "status != 200"
consecutive = 3
action = "rollback"

[notify]
group_wait = "0s"
retry_delay = "50ms"
[notify.channels.hook]
type = "webhook"
url = "{receiver}/hooks/watch"
"#,
            pid = nginx.pid(),
            pid_file = nginx.dir().join("nginx.pid").display(),
            app = demo_app().display(),
            url = nginx.url(),
            receiver = receiver.url,
        );
        std::fs::write(dir.path().join("shipgate.toml"), &config).unwrap();
        let slots = SlotProcesses::new(dir.path().join("shipgate-slots.json"));
        let site = Self {
            slots,
            dir,
            nginx,
            receiver,
        };
        for release in ["v1", "v2"] {
            site.deploy(release).await;
        }
        site
    }

    /// Ends the site and proves that no slot process outlives it.
    fn close(self) {
        let pids = self.slots.pids();
        assert!(!pids.is_empty(), "the deployments started slot processes");
        drop(self);
        let left = shipgate_testkit::running_after_wait(&pids);
        assert!(left.is_empty(), "slot processes {left:?} outlived the test");
    }

    fn config(&self) -> DeployConfig {
        let text = std::fs::read_to_string(self.dir.path().join("shipgate.toml")).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        doc["deploy"].clone().try_into().unwrap()
    }

    fn driver(&self) -> Box<dyn Driver> {
        shipgate_deploy::driver_for(&self.config(), self.dir.path()).unwrap()
    }

    async fn deploy(&self, release: &str) {
        crate::deployed(self.dir.path(), release).await;
    }

    /// Makes the serving release fail this fraction of its responses, from now.
    async fn fail(&self, ratio: f64) {
        let (code, v) = send(
            "PUT",
            &format!("{}/admin/faults", self.nginx.url()),
            &format!("{{\"error_ratio\": {ratio}}}"),
        )
        .await;
        assert_eq!((code, v["x-app-version"].as_str()), (200, Some("v2")));
    }

    async fn watch(&self, length: &str) -> std::process::Output {
        tokio::process::Command::new(BIN)
            .current_dir(self.dir.path())
            .args([
                "--env",
                "staging",
                "deployment",
                "--for",
                length,
                "--json",
                "-",
                "--html",
                "watch.html",
                "--junit",
                "watch.xml",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap()
    }

    fn history(&self, kind: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("watch.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["type"] == kind)
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn three_failed_health_probes_in_a_row_roll_back_once_and_notify() {
    let site = Site::new().await;
    assert_eq!(
        site.driver().current().await.unwrap().as_deref(),
        Some("v2")
    );
    site.fail(1.0).await;
    let out = site.watch("4s").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    shipgate_testkit::junit::validate(&site.dir.path().join("watch.xml")).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = |name: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {report}"))
    };
    assert_eq!(finding("rollback")["outcome"], "fail");
    assert!(
        finding("rollback")["message"]
            .as_str()
            .unwrap()
            .contains("switched back to v1"),
        "{report}"
    );
    assert_eq!(finding("verdict")["outcome"], "fail");
    // Rolled back once: v1 serves, one rollback in the history, and the failures before
    // it were exactly three probes.
    assert_eq!(
        site.driver().current().await.unwrap().as_deref(),
        Some("v1")
    );
    let (_, health) = send("GET", &format!("{}/health", site.nginx.url()), "").await;
    assert_eq!(health["x-app-version"], "v1");
    assert_eq!(site.history("rollback").len(), 1);
    let page = std::fs::read_to_string(site.dir.path().join("watch.html")).unwrap();
    assert!(
        page.contains("FAILED") && page.contains("<h2>Rollback</h2>"),
        "{page}"
    );
    let failing_before: usize = site
        .history("sample")
        .iter()
        .take_while(|s| s["readings"]["status"].as_f64() != Some(200.0))
        .count();
    assert_eq!(failing_before, 3, "three failed probes, then the rollback");
    let transitions: Vec<String> = site
        .history("transition")
        .iter()
        .map(|t| t["transition"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(transitions[..2], ["pending", "fired"], "{transitions:?}");
    assert!(
        transitions.contains(&"resolved".to_owned()),
        "v1 is healthy: {transitions:?}"
    );
    let events = site.receiver.events().await;
    let count = |kind: &str, status: &str| {
        events
            .iter()
            .filter(|(k, s)| k == kind && s == status)
            .count()
    };
    assert_eq!(count("alert", "firing"), 1, "{events:?}");
    assert_eq!(count("rolled_back", "firing"), 1, "{events:?}");
    assert_eq!(count("alert", "resolved"), 1, "{events:?}");
    site.close();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_failed_probes_in_a_row_over_and_over_do_not_roll_back() {
    let site = Site::new().await;
    // Of every three responses, the second and third fail: pairs, never three in a row.
    site.fail(2.0 / 3.0).await;
    let out = site.watch("3s").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        site.driver().current().await.unwrap().as_deref(),
        Some("v2")
    );
    assert!(site.history("rollback").is_empty());
    let failed = site
        .history("sample")
        .iter()
        .filter(|s| s["readings"]["status"].as_f64() == Some(500.0))
        .count();
    assert!(failed >= 6, "{failed} failed probes, in pairs");
    let transitions: Vec<String> = site
        .history("transition")
        .iter()
        .map(|t| t["transition"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !transitions.contains(&"fired".to_owned()),
        "{transitions:?}"
    );
    assert!(site.receiver.events().await.is_empty());
    site.close();
}
