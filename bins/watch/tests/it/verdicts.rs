//! A window's verdict never says "passed" without the evidence, against a real
//! Prometheus scraping the demo app: a firing alert is not carried into the next
//! window, a window stopped before its length is interrupted, a window mostly without
//! data is inconclusive.

use std::time::Duration;

use shipgate_demo_app::{App, Options};
use shipgate_testkit::Prometheus;

use crate::{BIN, text};

const ERROR_RATE: &str = r#"(sum(rate(http_requests_total{status=~"5.."}[2s])) or vector(0)) / sum(rate(http_requests_total[2s]))"#;

/// The demo app with traffic, a Prometheus scraping it, and a project whose `[deploy]`
/// (host driver) and `[watch]` (one rule on the error ratio) point at them.
struct Scene {
    dir: tempfile::TempDir,
    app: String,
    prom: Prometheus,
}

/// A password Prometheus's `--web.config.file` asks for (bcrypt, cost 4), and its hash.
const PROM_PASSWORD: &str = "Pr0m-planted-pw-4e7c19";
const PROM_HASH: &str = "$2b$04$C3gWeVki0nGcx0FcSJOt1.8XTiyJJ5LfHkyHg4QZN7yBXUpNFWqty";

impl Scene {
    async fn start(rule: &str) -> Self {
        Self::start_with(rule, None).await
    }

    /// With `password`, Prometheus asks for Basic auth (user `prom`), and the
    /// configuration's URL carries `prom:PASSWORD@`.
    async fn start_with(rule: &str, password: Option<&str>) -> Self {
        let app = App::build(Options::default()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app.router()).await });
        let app = format!("http://{addr}");
        let traffic = format!("{app}/api/v1/courses");
        tokio::spawn(async move {
            let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();
            let mut tick = tokio::time::interval(Duration::from_millis(25));
            loop {
                tick.tick().await;
                let request = http::Request::get(&traffic)
                    .body(bytes::Bytes::new())
                    .unwrap();
                let _ = client.send(request).await;
            }
        });
        let mut builder = Prometheus::builder()
            .scrape(addr.to_string())
            .interval(Duration::from_millis(250));
        if password.is_some() {
            builder = builder.web_config(&format!("basic_auth_users:\n  prom: '{PROM_HASH}'\n"));
        }
        let prom = builder
            .start()
            .expect("start prometheus (apt-get install prometheus)");
        let url = match password {
            Some(p) => prom.url().replace("http://", &format!("http://prom:{p}@")),
            None => prom.url(),
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("build")).unwrap();
        std::fs::write(
            dir.path().join("shipgate.toml"),
            format!(
                r#"[environments.staging]
[deploy]
state_dir = "state"
[deploy.driver]
type = "host"
root = "app"
source = "build"
[watch]
interval = "250ms"
timeout = "2s"
[watch.sources.prom]
type = "prometheus"
url = "{url}"
queries = {{ error_rate = '{ERROR_RATE}' }}
[[watch.rules]]
name = "errors"
source = "prom"
{rule}
"#
            ),
        )
        .unwrap();
        let scene = Self { dir, app, prom };
        scene.until_prometheus_has_data(password).await;
        scene
    }

    async fn errors(&self, ratio: f64) {
        let request = http::Request::put(format!("{}/admin/faults", self.app))
            .header("content-type", "application/json")
            .body(bytes::Bytes::from(format!("{{\"error_ratio\": {ratio}}}")))
            .unwrap();
        let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();
        assert_eq!(client.send(request).await.unwrap().status.as_u16(), 200);
    }

    /// Deploys `release` with shipgate-deploy's library (the host driver).
    async fn deploy(&self, release: &str) {
        crate::deployed(self.dir.path(), release).await;
    }

    fn watch(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.current_dir(self.dir.path())
            .args(["--env", "staging"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }

    async fn run(&self, args: &[&str]) -> std::process::Output {
        self.watch(args).output().await.unwrap()
    }

    /// The rule's samples with data so far, as the status file says.
    fn with_data(&self) -> u64 {
        std::fs::read(self.dir.path().join(".shipgate/watch-staging.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["rules"][0]["with_data"].as_u64())
            .unwrap_or(0)
    }

    async fn until_with_data(&self, n: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.with_data() < n {
            assert!(tokio::time::Instant::now() < deadline, "no data in 30 s");
            // tidy: polling another process's status file
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until Prometheus answers the rule's query with a value (it needs two
    /// scrapes for a rate), so that a window starts with data.
    async fn until_prometheus_has_data(&self, password: Option<&str>) {
        let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();
        let url = shipgate_watch::source::query_url(&self.prom.url(), ERROR_RATE);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let mut request = http::Request::get(&url);
            if let Some(p) = password {
                use base64::Engine as _;
                let pair = base64::engine::general_purpose::STANDARD.encode(format!("prom:{p}"));
                request = request.header("authorization", format!("Basic {pair}"));
            }
            let request = request.body(bytes::Bytes::new()).unwrap();
            if let Ok(r) = client.send(request).await
                && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&r.body)
                && v["data"]["result"][0]["value"][1].is_string()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Prometheus has no data in 30 s"
            );
            // tidy: polling a real Prometheus, which scrapes on its own clock
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// When the watcher that wrote the status file started.
    fn started(&self) -> f64 {
        std::fs::read(self.dir.path().join(".shipgate/watch-staging.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["started_at"].as_f64())
            .unwrap_or(0.0)
    }

    /// Waits until a watcher started after `before` has written its status (it reads
    /// the old one first).
    async fn until_started_after(&self, before: f64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.started() <= before {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no new status in 30 s"
            );
            // tidy: polling another process's status file
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts a continuous `run`, SIGTERMs it once it has written its first status,
    /// and returns what it said.
    async fn run_until_started(&self) -> std::process::Output {
        let before = self.started();
        let run = self.watch(&["run"]).spawn().unwrap();
        self.until_started_after(before).await;
        nix_term(&run);
        run.wait_with_output().await.unwrap()
    }

    /// The verdict recorded for the latest deployment's window.
    fn recorded(&self) -> String {
        let dir = self.dir.path().join("state/staging/watches");
        let mut all: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        all.sort();
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(all.last().unwrap()).unwrap()).unwrap();
        record["verdict"].as_str().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_firing_alert_is_not_carried_into_the_next_window_or_across_a_deployment() {
    let scene =
        Scene::start("when = \"error_rate > 5%\"\nfor = \"1s\"\naction = \"rollback\"").await;
    scene.deploy("v1").await;
    scene.errors(0.1).await;
    // Window 1 ends with the rule firing.
    let out = scene
        .run(&["deployment", "--for", "6s", "--no-rollback"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(
        &std::fs::read(scene.dir.path().join(".shipgate/watch-staging.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(status["firing"].as_array().unwrap().len(), 1, "{status}");

    // v2 is deployed with the same 10% errors: its window must fire on its own.
    scene.deploy("v2").await;
    let out = scene
        .run(&["deployment", "--for", "6s", "--no-rollback"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("fired 1 time(s)"), "{stdout}");
    assert_eq!(scene.recorded(), "failed");

    // A continuous watch restores states written after the last deployment, and says
    // so; not those written before it.
    let out = scene.run_until_started().await;
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("alert states restored from"),
        "{}",
        text(&out)
    );
    scene.deploy("v3").await;
    let out = scene.run_until_started().await;
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("alert states not restored"), "{}", text(&out));
}

/// SIGTERM to a child.
fn nix_term(child: &tokio::process::Child) {
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_stopped_before_its_length_is_interrupted_and_not_passed() {
    let scene = Scene::start("when = \"error_rate > 5%\"\nfor = \"1s\"").await;
    scene.deploy("v1").await;
    let child = scene
        .watch(&["deployment", "--for", "60s"])
        .spawn()
        .unwrap();
    scene.until_with_data(4).await;
    nix_term(&child);
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("interrupted after"), "{stdout}");
    assert!(!stdout.contains("passed:"), "{stdout}");
    // The record the next environment's promoted gate reads says so.
    assert_eq!(scene.recorded(), "interrupted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_mostly_without_data_is_inconclusive() {
    let scene = Scene::start("when = \"error_rate > 5%\"").await;
    scene.deploy("v1").await;
    let child = scene.watch(&["deployment", "--for", "6s"]).spawn().unwrap();
    scene.until_with_data(3).await;
    // Prometheus stops: the rest of the window has no data.
    let pid = scene.prom.pid();
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("inconclusive"), "{stdout}");
    assert!(stdout.contains("more than the 5% allowed"), "{stdout}");
    assert!(!stdout.contains("every rule had data"), "{stdout}");
    assert_eq!(scene.recorded(), "inconclusive");
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_the_prometheus_url_are_sent_as_basic_auth_and_a_refusal_is_a_broken_source()
{
    let scene = Scene::start_with(
        "when = \"error_rate > 5%\"\nfor = \"1s\"\naction = \"rollback\"",
        Some(PROM_PASSWORD),
    )
    .await;
    scene.deploy("v1").await;
    scene.deploy("v2").await;
    let out = scene.run(&["deployment", "--for", "3s"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains(": passed"), "{all}");
    assert!(
        !all.contains("rolled back"),
        "a healthy release stays: {all}"
    );
    assert!(!all.contains(PROM_PASSWORD), "{all}");

    // A wrong password: refused when the configuration loads, said as what it is.
    let config = scene.dir.path().join("shipgate.toml");
    let text_now = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_now.replace(PROM_PASSWORD, "wrong-password-0000"),
    )
    .unwrap();
    let out = scene.run(&["deployment", "--for", "3s"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused our credentials (401)"), "{stderr}");
    assert!(!stderr.contains("wrong-password-0000"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_typo_is_refused_when_the_configuration_loads() {
    let scene = Scene::start("when = \"error_rate > 5%\"\naction = \"rollback\"").await;
    scene.deploy("v1").await;
    let config = scene.dir.path().join("shipgate.toml");
    let text_now = std::fs::read_to_string(&config).unwrap();
    // One closing parenthesis short.
    std::fs::write(&config, text_now.replace("[2s]))'", "[2s])'")).unwrap();
    let started = std::time::Instant::now();
    let out = scene.run(&["deployment", "--for", "5s"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "queries.error_rate",
        "Prometheus rejects the query",
        "parse error",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "no window ran");
    assert!(!scene.dir.path().join("state/staging/watches").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_that_ends_while_a_rule_fires_leaves_no_alert_paging_in_alertmanager() {
    let am = shipgate_testkit::Alertmanager::start()
        .expect("start alertmanager (apt-get install prometheus-alertmanager)");
    let scene = Scene::start("when = \"error_rate > 5%\"\nfor = \"1s\"").await;
    let config = scene.dir.path().join("shipgate.toml");
    let text_now = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!(
            "{text_now}\n[notify]\ngroup_wait = \"0s\"\n[notify.channels.am]\ntype = \"alertmanager\"\nurl = \"{}\"\n",
            am.url()
        ),
    )
    .unwrap();
    scene.deploy("v1").await;
    scene.errors(0.1).await;
    // A notify rule: its firing warns, it does not fail the window.
    let out = scene.run(&["deployment", "--for", "5s"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("fired 1 time(s)"), "{stdout}");
    // It fired (and reached Alertmanager); when the window ended it was resolved.
    let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();
    let request = http::Request::get(format!("{}/api/v2/alerts", am.url()))
        .body(bytes::Bytes::new())
        .unwrap();
    let r = client.send(request).await.unwrap();
    let alerts: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
    let active: Vec<&serde_json::Value> = alerts
        .iter()
        .filter(|a| a["status"]["state"] == "active")
        .collect();
    assert!(active.is_empty(), "{active:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_that_is_not_a_prometheus_is_refused_as_such_when_the_configuration_loads() {
    let scene = Scene::start("when = \"error_rate > 5%\"").await;
    let config = scene.dir.path().join("shipgate.toml");
    let text_now = std::fs::read_to_string(&config).unwrap();
    // The demo app answers 404 to /api/v1/query.
    std::fs::write(&config, text_now.replace(&scene.prom.url(), &scene.app)).unwrap();
    let out = scene.run(&["deployment", "--for", "3s"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("has no Prometheus API (404"), "{stderr}");
    assert!(stderr.contains("the server's base"), "{stderr}");
}
