//! Blue-green behind a real nginx (master and worker, reloaded with SIGHUP), the demo
//! app as a real process in each slot, and an open-model load through nginx during
//! the switch and the rollback: no request fails, and every request sent after the
//! deployer returned is answered by the release it deployed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shipgate_load::{Action, Class, Engine, Plan, Shape};
use shipgate_testkit::{Nginx, SlotProcesses};
use tokio_util::sync::CancellationToken;

use crate::{BIN, text};

fn demo_app() -> PathBuf {
    let path = std::path::Path::new(BIN).with_file_name("demo-app");
    assert!(
        path.exists(),
        "{} is not built: `cargo build -p shipgate-demo-app` (cargo xtask test builds it)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// When a request was sent (since the start), and the version that answered it.
type Answer = (Duration, Result<String, String>);

/// Each request: when it was sent (since the start), and the version that answered
/// (or why it failed); `answered` counts them, so the test can wait for a number of
/// answers rather than for a time.
#[derive(Clone)]
struct Seen {
    all: Arc<Mutex<Vec<Answer>>>,
    answered: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Seen {
    fn new() -> Self {
        Self {
            all: Arc::default(),
            answered: Arc::new(tokio::sync::watch::channel(0).0),
        }
    }

    fn push(&self, entry: Answer) {
        let mut all = self.all.lock().unwrap();
        all.push(entry);
        self.answered.send_replace(all.len());
    }

    /// Waits until `more` requests beyond those answered now have been answered.
    async fn more(&self, more: usize) {
        let target = *self.answered.borrow() + more;
        let mut rx = self.answered.subscribe();
        rx.wait_for(|n| *n >= target).await.unwrap();
    }
}

/// 200 GETs a second through nginx for `run`, each recording what answered. Each
/// iteration borrows a keep-alive session from a pool, as shipgate-load's own users
/// do (a GET on a connection the server closed as it went out is sent once more).
fn load(url: String, run: Duration, seen: Seen, start: Instant) -> Plan {
    let client = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
        request_timeout: Duration::from_secs(5),
        ..Default::default()
    })
    .unwrap();
    let pool: Arc<Mutex<Vec<shipgate_http::Session>>> = Arc::default();
    let task = Action::custom("GET /health via nginx", move || {
        let (client, url, seen, pool) = (client.clone(), url.clone(), seen.clone(), pool.clone());
        async move {
            let sent = start.elapsed();
            let request = http::Request::get(&url).body(bytes::Bytes::new()).unwrap();
            let taken = pool.lock().unwrap().pop();
            let mut session = taken.unwrap_or_else(|| shipgate_http::Session::new(&client));
            let response = session.send(&request).await;
            pool.lock().unwrap().push(session);
            let answer = match response {
                Ok(r) if r.status.is_success() => {
                    Ok(r.header("x-app-version").unwrap_or("?").to_owned())
                }
                Ok(r) => Err(format!("status {}", r.status)),
                Err(e) => Err(e.to_string()),
            };
            let failed = answer.clone().err();
            seen.push((sent, answer));
            match failed {
                None => Ok(()),
                Some(why) => Err(why.into()),
            }
        }
    });
    Plan::new(
        vec![Class::new("through nginx").task(1, task)],
        Shape::Open {
            points: vec![(Duration::ZERO, 200.0), (run, 200.0)],
            max_vus: 50,
        },
    )
    .unwrap()
    .with_graceful_stop(Duration::from_secs(5))
}

/// A project deployed blue-green behind a real nginx: slots of the demo app on two
/// ports, the health step asserting the release that answers through nginx.
pub(crate) struct BlueGreen {
    pub(crate) site: tempfile::TempDir,
    pub(crate) nginx: Nginx,
    pub(crate) slots: SlotProcesses,
}

impl BlueGreen {
    /// `extra` is appended to `[deploy]`; `driver_extra` to `[deploy.driver]`.
    pub(crate) fn start(extra: &str, driver_extra: &str) -> Self {
        let app = demo_app();
        let site = tempfile::tempdir().unwrap();
        let (blue, green) = (free_port(), free_port());
        let upstream = site.path().join("upstream.conf");
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
        let slots = SlotProcesses::new(site.path().join("shipgate-slots.json"));
        let config = format!(
            r#"
[environments.staging]
[deploy]
state_dir = "state"
{extra}
[deploy.driver]
type = "nginx"
upstream = "upstream.conf"
reload = "kill -HUP {pid}"
pid_file = "{pid_file}"
start = "exec {app} --listen 127.0.0.1:$SHIPGATE_PORT --app-version $SHIPGATE_RELEASE"
blue = {blue}
green = {green}
{driver_extra}
[deploy.health]
url = "{url}/health"
assert = ['header x-app-version == "{{{{release}}}}"']
timeout = "10s"
interval = "20ms"
"#,
            pid = nginx.pid(),
            pid_file = nginx.dir().join("nginx.pid").display(),
            app = app.display(),
            url = nginx.url(),
        );
        std::fs::write(site.path().join("shipgate.toml"), config).unwrap();
        Self { site, nginx, slots }
    }

    /// `shipgate-deploy --env staging ARGS`, and how long it took.
    pub(crate) async fn run(&self, args: &[&str]) -> (std::process::Output, Duration) {
        let started = Instant::now();
        let out = tokio::process::Command::new(BIN)
            .current_dir(self.site.path())
            .args(["--env", "staging"])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap();
        (out, started.elapsed())
    }

    /// The version nginx answers with now.
    pub(crate) async fn serving(&self) -> String {
        let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();
        let request = http::Request::get(format!("{}/health", self.nginx.url()))
            .body(bytes::Bytes::new())
            .unwrap();
        let mut session = shipgate_http::Session::new(&client);
        let r = session.send(&request).await.unwrap();
        r.header("x-app-version").unwrap_or("?").to_owned()
    }

    /// Asserts no slot process outlives the test.
    pub(crate) fn stop(self) {
        let pids = self.slots.pids();
        assert!(!pids.is_empty(), "the deployments started slot processes");
        drop(self.slots);
        let left = shipgate_testkit::running_after_wait(&pids);
        assert!(left.is_empty(), "slot processes {left:?} outlived the test");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn blue_green_switch_and_rollback_under_load_fail_no_request() {
    let bg = BlueGreen::start("", "");
    let deploy = |args: Vec<&'static str>| {
        let bg = &bg;
        async move { bg.run(&args).await }
    };
    let (out, _) = deploy(vec!["deploy", "--release", "v1", "--version", "1.0.0"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Under load: deploy v2, then roll back to v1.
    let seen = Seen::new();
    let start = Instant::now();
    let plan = load(
        format!("{}/health", bg.nginx.url()),
        Duration::from_secs(6),
        seen.clone(),
        start,
    );
    let engine = tokio::spawn(
        Engine::new(
            plan,
            shipgate_http::HttpClient::new(&Default::default()).unwrap(),
        )
        .run(CancellationToken::new()),
    );
    seen.more(100).await; // load before the switch
    let (out, _) = deploy(vec!["deploy", "--release", "v2", "--version", "2.0.0"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let switched = start.elapsed();
    seen.more(300).await; // load on v2
    // By version: the journals say 1.0.0 is release v1.
    let (out, took) = deploy(vec!["rollback", "--to", "1.0.0"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rolled_back = start.elapsed();
    assert!(took < Duration::from_secs(2), "the rollback took {took:?}");
    let result = engine.await.unwrap();

    let seen = seen.all.lock().unwrap().clone();
    let failed: Vec<_> = seen.iter().filter(|(_, r)| r.is_err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {:?}",
        failed.len(),
        seen.len(),
        &failed[..failed.len().min(5)]
    );
    assert_eq!(result.snapshot.aggregate().failures.iter().sum::<u64>(), 0);
    assert!(seen.len() > 1000, "{} requests", seen.len());
    let version_at = |from: Duration, to: Duration| -> Vec<&str> {
        let mut v: Vec<&str> = seen
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, r)| r.as_deref().unwrap())
            .collect();
        v.dedup();
        v
    };
    assert_eq!(
        version_at(Duration::ZERO, Duration::from_millis(400)),
        ["v1"]
    );
    assert_eq!(
        version_at(switched, rolled_back.saturating_sub(took)),
        ["v2"]
    );
    assert_eq!(version_at(rolled_back, Duration::MAX), ["v1"]);
    // The slots stop with the test: nothing it started outlives it.
    bg.stop();
}
