//! shipgate-deploy as a process: real releases on disk, a real health endpoint, real
//! SIGKILLs (the binary kills itself after its Nth journal record, or a step's command
//! kills it mid-step), two deployers racing for one lock, a protected environment
//! with and without a terminal.

mod bluegreen;
mod chaos;
mod crash;
mod database;
mod hooks;
mod lock;
mod migrations;
mod nginx;
mod promote;
mod protected;
mod undo;
mod workflow;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_shipgate-deploy");

/// A project to deploy: a configuration, a build directory, an app root, and a health
/// endpoint the test can turn unhealthy.
pub(crate) struct Site {
    pub(crate) dir: tempfile::TempDir,
    /// The test server's `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// Bodies POSTed to `/hook` (notifications).
    pub(crate) hooked: Arc<Mutex<Vec<String>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Site {
    /// `extra` is appended to `[deploy]` (after its keys, before its tables).
    pub(crate) async fn new(extra: &str) -> Self {
        Self::with(extra, "").await
    }

    /// `migrate` replaces the default migrate command.
    pub(crate) async fn with(extra: &str, migrate: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Unhealthy while the current release carries a BROKEN file (its build had one).
        let broken = dir.path().join("app/current/BROKEN");
        let version = dir.path().join("app/current/VERSION");
        let broken_too = broken.clone();
        let hooked: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = hooked.clone();
        let app = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(move |body: String| {
                    sink.lock().unwrap().push(body);
                    async { "ok" }
                }),
            )
            // The release serving, as an application says it: its VERSION in a
            // header; 503 while it is broken.
            .route(
                "/version",
                axum::routing::get(move || {
                    let served = std::fs::read_to_string(&version).unwrap_or_default();
                    let ok = !broken_too.exists();
                    async move {
                        let status = if ok {
                            axum::http::StatusCode::OK
                        } else {
                            axum::http::StatusCode::SERVICE_UNAVAILABLE
                        };
                        (
                            status,
                            [("x-app-version", served.trim().to_owned())],
                            served,
                        )
                    }
                }),
            )
            .route(
                "/health",
                axum::routing::get(move || {
                    let ok = !broken.exists();
                    async move {
                        if ok {
                            (axum::http::StatusCode::OK, "ok")
                        } else {
                            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "down")
                        }
                    }
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        std::fs::create_dir(dir.path().join("build")).unwrap();
        let migrate = if migrate.is_empty() {
            "echo migrate $SHIPGATE_RELEASE >> migrations.log"
        } else {
            migrate
        };
        let config = format!(
            r#"
[environments.staging]
[environments.production]

[deploy]
state_dir = "state"
timeout = "20s"
{extra}

[deploy.driver]
type = "host"
root = "app"
source = "build"
restart = "echo restart $SHIPGATE_RELEASE >> restarts.log"

[[deploy.commands]]
name = "build"
run = "echo $SHIPGATE_RELEASE > build/VERSION"

[deploy.migrate]
run = "{migrate}"
undo = "echo unmigrate $SHIPGATE_RELEASE >> migrations.log"

[deploy.health]
url = "http://127.0.0.1:{port}/health"
timeout = "2s"
interval = "50ms"
"#
        );
        std::fs::write(dir.path().join("shipgate.toml"), config).unwrap();
        Self {
            dir,
            base: format!("http://127.0.0.1:{port}"),
            hooked,
            _server: server,
        }
    }

    /// Rewrites the configuration: `from` (which must be in it) becomes `to`.
    pub(crate) fn edit(&self, from: &str, to: &str) {
        let path = self.path().join("shipgate.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        assert!(config.contains(from), "{from} is not in {config}");
        std::fs::write(path, config.replace(from, to)).unwrap();
    }

    /// The health step asks `/version` and asserts it is `{{release}}`.
    pub(crate) fn health_asserts_the_release(&self) {
        let port = self.base.rsplit(':').next().unwrap();
        self.edit(
            &format!("url = \"http://127.0.0.1:{port}/health\""),
            &format!(
                "url = \"http://127.0.0.1:{port}/version\"\nassert = ['header x-app-version == \"{{{{release}}}}\"']"
            ),
        );
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The next build is broken (its release fails health) or not.
    pub(crate) fn break_build(&self, broken: bool) {
        let marker = self.path().join("build/BROKEN");
        if broken {
            std::fs::write(marker, "").unwrap();
        } else {
            let _ = std::fs::remove_file(marker);
        }
    }

    /// Runs `shipgate-deploy --env ENV ARGS…` with `env` added.
    pub(crate) async fn run(
        &self,
        environment: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Output {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.current_dir(self.path())
            .args(["--config", "shipgate.toml", "--env", environment])
            .args(args)
            .env_remove("SHIPGATE_DEPLOY_CRASH_AFTER")
            .stdin(std::process::Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().await.unwrap()
    }

    /// `deploy --release R` to staging; panics unless it exits 0.
    pub(crate) async fn deployed(&self, release: &str) {
        let out = self
            .run("staging", &["deploy", "--release", release], &[])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }

    /// The release `app/current` points at.
    pub(crate) fn current(&self) -> Option<String> {
        std::fs::read_link(self.path().join("app/current"))
            .ok()
            .map(|t| t.file_name().unwrap().to_string_lossy().into_owned())
    }

    /// Lines of a log the commands append to, or none.
    pub(crate) fn log(&self, name: &str) -> Vec<String> {
        std::fs::read_to_string(self.path().join(name))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// How many lines of `log` are exactly `line`.
    pub(crate) fn count(&self, log: &str, line: &str) -> usize {
        self.log(log).iter().filter(|l| *l == line).count()
    }

    /// The journals of `environment`, oldest first.
    pub(crate) fn journals(&self, environment: &str) -> Vec<PathBuf> {
        let dir = self
            .path()
            .join("state")
            .join(environment)
            .join("deployments");
        let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        all.sort();
        all
    }

    /// The events of the latest journal of `environment`, as their names
    /// (`step_done:release`, `finished:deployed`).
    pub(crate) fn story(&self, environment: &str) -> Vec<String> {
        let last = self.journals(environment).pop().expect("a journal");
        std::fs::read_to_string(last)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let event = v["event"].as_str().unwrap().to_owned();
                match (v["step"].as_str(), v["ending"].as_str()) {
                    (Some(step), _) => format!("{event}:{step}"),
                    (_, Some(ending)) => format!("{event}:{ending}"),
                    _ => event,
                }
            })
            .collect()
    }
}

pub(crate) fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn deploys_releases_side_by_side_and_rolls_back_when_health_fails() {
    let site = Site::new("").await;
    site.deployed("v1").await;
    site.deployed("v2").await;
    assert_eq!(site.current().as_deref(), Some("v2"));
    assert_eq!(
        std::fs::read_to_string(site.path().join("app/current/VERSION")).unwrap(),
        "v2\n"
    );
    assert_eq!(site.log("restarts.log"), ["restart v1", "restart v2"]);

    site.break_build(true);
    let out = site
        .run("staging", &["deploy", "--release", "v3"], &[])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("rolled_back"), "{stdout}");
    assert!(stdout.contains("not healthy"), "{stdout}");
    assert!(stdout.contains("health after undo"), "{stdout}");
    assert_eq!(site.current().as_deref(), Some("v2"));
    // Undone newest first: the switch, then the migration.
    assert_eq!(
        site.log("migrations.log"),
        ["migrate v1", "migrate v2", "migrate v3", "unmigrate v3"]
    );
    assert_eq!(
        site.story("staging"),
        [
            "started",
            "step_starting:build",
            "step_done:build",
            "step_starting:migrate",
            "step_done:migrate",
            "step_starting:release",
            "step_done:release",
            "step_starting:health",
            "step_failed:health",
            "undo_starting:release",
            "undo_done:release",
            "undo_starting:migrate",
            "undo_done:migrate",
            "finished:rolled_back",
        ]
    );

    // On demand: back to v1, health checked against it.
    site.break_build(false);
    let out = site
        .run("staging", &["rollback", "--to", "previous"], &[])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.current().as_deref(), Some("v1"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("healthy"));

    let out = site.run("staging", &["history", "--json"], &[]).await;
    let history: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let endings: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["ending"].as_str().unwrap())
        .collect();
    assert_eq!(endings, ["deployed", "deployed", "rolled_back", "deployed"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let site = Site::new("").await;
    let out = site
        .run(
            "staging",
            &["deploy", "--release", "v1", "--dry-run", "--skip", "build"],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "build",
        "(skipped)",
        "migrate",
        "undo:",
        "host: prepare v1",
        "GET http://127.0.0.1:",
    ] {
        assert!(stdout.contains(needle), "{needle}: {stdout}");
    }
    assert!(!site.path().join("state").exists());
    assert!(!site.path().join("app").exists());
    assert!(site.log("migrations.log").is_empty());

    let out = site
        .run(
            "staging",
            &["deploy", "--release", "v1", "--skip", "nope"],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such step"));
    let out = site
        .run("staging", &["deploy", "--release", "../x"], &[])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_log_info_shows_each_step_starting_and_done_in_its_span() {
    let site = Site::new("").await;
    let out = site
        .run(
            "staging",
            &["deploy", "--release", "v1"],
            &[("RUST_LOG", "shipgate_deploy=info")],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for step in ["build", "migrate", "release", "health"] {
        assert!(
            stderr.contains(&format!("step{{step={step} deployment=")),
            "{step}: {stderr}"
        );
    }
    assert!(stderr.contains("starting release=v1"), "{stderr}");
    assert!(stderr.contains(": done:"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn planted_secrets_are_in_no_output_journal_or_trace_log() {
    let site = Site::new("").await;
    let addr = site.base.trim_start_matches("http://").to_owned();
    let config = std::fs::read_to_string(site.path().join("shipgate.toml")).unwrap();
    // A notify channel whose URL carries a password: it is rejected (404), so the
    // failure is reported, and the HTTP client logs its connection pool at trace.
    std::fs::write(
        site.path().join("shipgate.toml"),
        format!(
            "{config}\n[notify]\ngroup_wait = \"0s\"\n[notify.channels.hook]\ntype = \"webhook\"\nurl = \"http://ops:Pl%40nted-pw@{addr}/nowhere\"\n"
        ),
    )
    .unwrap();
    let json = site.path().join("deploy.json");
    let out = site
        .run(
            "staging",
            &[
                "deploy",
                "--release",
                "v1",
                "--json",
                json.to_str().unwrap(),
            ],
            &[("RUST_LOG", "trace")],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut all = text(&out);
    all.push_str(&std::fs::read_to_string(&json).unwrap());
    for journal in site.journals("staging") {
        all.push_str(&std::fs::read_to_string(journal).unwrap());
    }
    assert!(
        all.contains("notify hook"),
        "the failed delivery is reported: {all:.3000}"
    );
    for leak in ["Pl%40nted", "Pl@nted", "b3BzOlBsQG50ZWQtcHc"] {
        assert!(!all.contains(leak), "{leak} leaked");
    }
}
