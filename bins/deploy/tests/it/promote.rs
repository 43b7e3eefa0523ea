//! Promotion through `[pipeline]`, as a process: staging and production each with
//! their own host-driver root, a real health endpoint and a probe the watch samples,
//! a webhook receiving the announcements, approvals decided by two users.

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use crate::{BIN, text};

/// Two environments of one project; `gates` is production's gate list.
struct Pipeline {
    dir: tempfile::TempDir,
    port: u16,
    hooked: Arc<Mutex<Vec<String>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Pipeline {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let hooked: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = hooked.clone();
        // The probe the watch samples fails while `probe-down` exists.
        let down = dir.path().join("probe-down");
        let app = axum::Router::new()
            .route(
                "/hook",
                axum::routing::post(move |body: String| {
                    sink.lock().unwrap().push(body);
                    async { "ok" }
                }),
            )
            .route("/health", axum::routing::get(|| async { "ok" }))
            .route(
                "/probe",
                axum::routing::get(move || {
                    let ok = !down.exists();
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
        std::fs::write(dir.path().join("data.txt"), "orders").unwrap();
        let p = Self {
            dir,
            port,
            hooked,
            _server: server,
        };
        p.configure("gates = []", "");
        p
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes shipgate.toml with production's `stage` lines (gates, skippable) and
    /// `extra` sections.
    fn configure(&self, stage: &str, extra: &str) {
        let port = self.port;
        let config = format!(
            r#"
[environments.staging]
ROOT = "app-staging"
[environments.production]
ROOT = "app-production"

[deploy]
state_dir = "state"
timeout = "20s"
protected = ["production"]
[deploy.driver]
type = "host"
root = "${{ROOT}}"
source = "build"
[deploy.backup]
dir = "backups"
items = [{{ name = "data", type = "files", path = "data.txt" }}]
[deploy.health]
url = "http://127.0.0.1:{port}/health"
timeout = "2s"
interval = "50ms"

[watch]
interval = "50ms"
timeout = "1s"
[watch.sources.probe]
type = "http"
url = "http://127.0.0.1:{port}/probe"
[[watch.rules]]
name = "probe"
source = "probe"
when = "status != 200"
consecutive = 2
action = "rollback"

[notify]
group_wait = "0s"
[notify.channels.hook]
type = "webhook"
url = "http://127.0.0.1:{port}/hook"

[pipeline.environments.staging]
watch = "400ms"
[pipeline.environments.production]
from = "staging"
{stage}

{extra}
"#
        );
        std::fs::write(self.path().join("shipgate.toml"), config).unwrap();
    }

    async fn run(&self, args: &[&str], user: &str) -> Output {
        self.run_in(args, user, false).await
    }

    /// As `run`, inside a GitHub Actions job or not.
    async fn run_in(&self, args: &[&str], user: &str, github_actions: bool) -> Output {
        let mut cmd = tokio::process::Command::new(BIN);
        if github_actions {
            cmd.env("GITHUB_ACTIONS", "true");
        } else {
            cmd.env_remove("GITHUB_ACTIONS");
        }
        cmd.current_dir(self.path())
            .args(["--config", "shipgate.toml"])
            .args(args)
            .env("SHIPGATE_USER", user)
            .env_remove("SHIPGATE_ENV")
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .unwrap()
    }

    async fn promote(&self, version: &str, more: &[&str], user: &str) -> Output {
        let mut args = vec![
            "promote",
            "--from",
            "staging",
            "--to",
            "production",
            version,
            "--confirm",
            "production",
        ];
        args.extend_from_slice(more);
        self.run(&args, user).await
    }

    async fn to_staging(&self, release: &str, version: &str) -> Output {
        self.run(
            &[
                "--env",
                "staging",
                "deploy",
                "--release",
                release,
                "--version",
                version,
            ],
            "ci",
        )
        .await
    }

    fn current(&self, env: &str) -> Option<String> {
        std::fs::read_link(self.path().join(format!("app-{env}/current")))
            .ok()
            .map(|t| t.file_name().unwrap().to_string_lossy().into_owned())
    }

    /// The latest journal of `env`, as JSON records.
    fn journal(&self, env: &str) -> Vec<serde_json::Value> {
        let dir = self.path().join("state").join(env).join("deployments");
        let mut all: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        all.sort();
        std::fs::read_to_string(all.pop().unwrap())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Every notification event received: (kind, severity, summary).
    fn events(&self) -> Vec<(String, String, String)> {
        self.hooked
            .lock()
            .unwrap()
            .iter()
            .flat_map(|body| {
                let v: serde_json::Value = serde_json::from_str(body).unwrap();
                let events = v["events"]
                    .as_array()
                    .cloned()
                    .unwrap_or_else(|| vec![v.clone()]);
                events.into_iter().map(|e| {
                    (
                        e["kind"].as_str().unwrap_or("?").to_owned(),
                        e["severity"].as_str().unwrap_or("?").to_owned(),
                        e["summary"].as_str().unwrap_or("?").to_owned(),
                    )
                })
            })
            .collect()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The id in "approval requested as ID:".
fn requested_id(out: &Output) -> String {
    let all = format!("{}{}", stdout(out), String::from_utf8_lossy(&out.stderr));
    let marker = "approval requested as ";
    let at = all.find(marker).expect("a request") + marker.len();
    all[at..].split(':').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_gate_kind_blocks_a_promotion_and_says_why() {
    let p = Pipeline::new().await;
    p.configure(r#"gates = [{ type = "promoted" }]"#, "");

    // promoted: staging never ran v2.
    let out = p.promote("v2", &[], "alice").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stdout(&out).contains("staging has never deployed v2"),
        "{}",
        text(&out)
    );
    assert_eq!(p.current("production"), None, "nothing deployed");

    // promoted: staging deployed v2, but its watch window saw the probe fail and
    // rolled staging back; the verdict is read from the record, not from a flag.
    assert_eq!(p.to_staging("build-1", "v1").await.status.code(), Some(0));
    std::fs::write(p.path().join("probe-down"), "").unwrap();
    let out = p.to_staging("build-2", "v2").await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "the watch failed: {}",
        text(&out)
    );
    std::fs::remove_file(p.path().join("probe-down")).unwrap();
    assert_eq!(
        p.current("staging").as_deref(),
        Some("build-1"),
        "rolled back"
    );
    let out = p.promote("v2", &[], "alice").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stdout(&out).contains("staging serves v1 now"),
        "{}",
        text(&out)
    );

    // With v2 healthy in staging, its window passes and the gate holds.
    let out = p.to_staging("build-3", "v2").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("watch verdict on deployment"));

    // soak: not long enough yet.
    p.configure(
        r#"gates = [{ type = "promoted" }, { type = "soak", min = "1h" }]"#,
        "",
    );
    let out = p.promote("v2", &[], "alice").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stdout(&out).contains("gate promoted"), "{}", text(&out));
    assert!(stdout(&out).contains("less than 1h"), "{}", text(&out));

    // checks: [checks.pre] fails.
    p.configure(
        r#"gates = [{ type = "promoted" }, { type = "checks" }]"#,
        "[checks]\n[[checks.pre]]\nname = \"release notes\"\nfile = { path = \"build/NOTES\" }\n",
    );
    let out = p.promote("v2", &[], "alice").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stdout(&out).contains("[checks.pre] failed: release notes"),
        "{}",
        text(&out)
    );

    // load: a threshold that cannot hold; the report is kept with the promotion.
    let load = format!(
        r#"[load]
host = "http://127.0.0.1:{}"
thresholds = ["p50 < 0.001ms"]
shape = {{ type = "constant", users = 2, duration = "300ms" }}
[[load.users]]
name = "browse"
[[load.users.tasks]]
request = {{ name = "health", url = "{{{{host}}}}/health" }}
"#,
        p.port
    );
    p.configure(
        r#"gates = [{ type = "promoted" }, { type = "load" }]"#,
        &load,
    );
    let out = p.promote("v2", &[], "alice").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let s = stdout(&out);
    assert!(
        s.contains("thresholds do not hold: p50 < 0.001ms"),
        "{}",
        text(&out)
    );
    let kept = s
        .split("report ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("the report's path");
    let html = std::fs::read_to_string(p.path().join(kept.trim_end_matches(['.', ')', ','])))
        .unwrap_or_else(|e| panic!("{kept}: {e}\n{}", text(&out)));
    assert!(html.contains("p50 &lt; 0.001ms") || html.contains("p50 < 0.001ms"));

    // approval: the first promotion asks, the requester cannot approve under four
    // eyes, someone else can, and the promotion then goes ahead (once).
    p.configure(
        r#"gates = [{ type = "promoted" }, { type = "approval", four_eyes = true, wait = "1s", expires = "1h" }]"#,
        "",
    );
    let out = p.promote("v2", &[], "alice").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let id = requested_id(&out);
    let out = p.promote("v2", &[], "alice").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stdout(&out).contains(&format!("waiting for approval of {id}")),
        "{id:?} {}",
        text(&out)
    );
    let status = p
        .run(&["--env", "production", "status", "--json"], "alice")
        .await;
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["pending_approvals"][0]["id"], id.as_str());
    assert_eq!(status["pending_approvals"][0]["requested_by"], "alice");

    let out = p
        .run(&["--env", "production", "approve", &id], "alice")
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("under four eyes someone else must approve it"),
        "{}",
        text(&out)
    );
    let out = p.run(&["--env", "production", "approve", &id], "bob").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = p.promote("v2", &[], "alice").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(p.current("production").as_deref(), Some("build-3"));
    // The wait timer was not silent: it said how long was left.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("approval {id} by bob: wait timer,"))
            && stderr.contains("left (until"),
        "{stderr}"
    );
    let promoted = p
        .journal("production")
        .into_iter()
        .find(|r| r["event"] == "promoted")
        .expect("the gates are journaled");
    assert_eq!(promoted["from"], "staging");
    assert_eq!(promoted["approved_by"], "bob");
    assert_eq!(promoted["requested_by"], "alice");
    assert_eq!(promoted["gates"][1]["gate"], "approval");
    let started = &p.journal("production")[0];
    assert_eq!(started["artifact"]["version"], "v2");
    // The wait timer counts from the approval: the deployment began a second after it.
    let approval = std::fs::read_to_string(
        p.path()
            .join("state/production/approvals")
            .join(format!("{id}.jsonl")),
    )
    .unwrap();
    let approved_at = approval
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["event"] == "approved")
        .map(|l| humantime::parse_rfc3339(l["at"].as_str().unwrap()).unwrap())
        .unwrap();
    let began = humantime::parse_rfc3339(started["at"].as_str().unwrap()).unwrap();
    assert!(
        began.duration_since(approved_at).unwrap() >= std::time::Duration::from_secs(1),
        "began {began:?}, approved {approved_at:?}"
    );

    // The approval was used: promoting again asks anew.
    let out = p.promote("v2", &[], "alice").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_ne!(requested_id(&out), id);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emergency_skips_only_the_skippable_gates_keeps_the_backup_and_pages_critically() {
    let p = Pipeline::new().await;
    assert_eq!(p.to_staging("build-1", "v1").await.status.code(), Some(0));
    p.configure(
        r#"skippable = ["soak", "approval"]
gates = [{ type = "promoted" }, { type = "soak", min = "1h" }, { type = "approval" }]"#,
        "",
    );
    // Without a reason it is a usage error, and nothing runs.
    let out = p.promote("v1", &["--emergency"], "alice").await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // A gate that is not skippable still holds: v9 never ran in staging.
    let out = p
        .promote("v9", &["--emergency", "--reason", "INC-42"], "alice")
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stdout(&out).contains("staging has never deployed v9"),
        "{}",
        text(&out)
    );

    let out = p
        .promote(
            "v1",
            &["--emergency", "--reason", "INC-42 checkout down"],
            "alice",
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(p.current("production").as_deref(), Some("build-1"));
    let journal = p.journal("production");
    let promoted = journal.iter().find(|r| r["event"] == "promoted").unwrap();
    assert_eq!(promoted["emergency"], "INC-42 checkout down");
    let results: Vec<(&str, &str)> = promoted["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["gate"].as_str().unwrap(), g["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            ("promoted", "passed"),
            ("soak", "skipped"),
            ("approval", "skipped")
        ]
    );
    assert!(
        journal
            .iter()
            .any(|r| r["event"] == "step_done" && r["step"] == "backup"),
        "the backup is never skipped"
    );
    let critical: Vec<_> = p
        .events()
        .into_iter()
        .filter(|(_, sev, summary)| sev == "critical" && summary.contains("EMERGENCY"))
        .collect();
    assert_eq!(critical.len(), 1, "{:?}", p.events());
    assert!(
        critical[0].2.contains("INC-42 checkout down"),
        "{critical:?}"
    );
    assert!(critical[0].2.contains("soak, approval"), "{critical:?}");
    // One start is announced (the emergency's), not a second, plain one; the report's
    // bottom line is the deployment's, the skipped gates warnings in it.
    let started = p
        .events()
        .into_iter()
        .filter(|(kind, _, summary)| {
            kind == "deployment_started" && summary.contains("to production")
        })
        .count();
    assert_eq!(started, 1, "{:?}", p.events());
    assert!(stdout(&out).contains("=> WARN"), "{}", text(&out));
    assert!(!stdout(&out).contains("=> SKIP"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_names_a_version_and_history_says_which_ran_where() {
    let p = Pipeline::new().await;
    for (release, version) in [("build-7", "v1.75.0"), ("build-8", "v1.76.0")] {
        let out = p
            .run(
                &[
                    "--env",
                    "staging",
                    "deploy",
                    "--release",
                    release,
                    "--version",
                    version,
                    "--commit",
                    "0123456789abcdef",
                ],
                "ci",
            )
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let out = p
        .run(&["--env", "staging", "rollback", "--to", "v1.75.0"], "ci")
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(p.current("staging").as_deref(), Some("build-7"));
    let started = &p.journal("staging")[0];
    assert_eq!(
        started["artifact"]["version"], "v1.75.0",
        "the rollback says what it returned to"
    );

    // A version nobody deployed is refused, naming what there is.
    let out = p
        .run(&["--env", "staging", "rollback", "--to", "v0.1.0"], "ci")
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("v1.75.0, v1.76.0"),
        "{}",
        text(&out)
    );

    let out = p
        .run(&["--env", "production", "history", "--all", "--json"], "ci")
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let seen: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|d| {
            (
                d["environment"].as_str().unwrap(),
                d["version"].as_str().unwrap(),
                d["release"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("staging", "v1.75.0", "build-7"),
            ("staging", "v1.76.0", "build-8"),
            ("staging", "v1.75.0", "build-7"),
        ]
    );
    assert_eq!(all[0]["commit"], "0123456789abcdef");
    // The rollback is a rollback, and each was run by the user, not the lock's text.
    let what: Vec<&str> = all
        .iter()
        .map(|d| d["operation"].as_str().unwrap())
        .collect();
    assert_eq!(what, ["deploy", "deploy", "rollback"]);
    assert!(all.iter().all(|d| d["by"] == "ci"), "{all:?}");
    let out = p.run(&["--env", "staging", "history"], "ops-alice").await;
    let lines = stdout(&out);
    let last = lines.lines().last().unwrap();
    assert!(
        last.contains("rollback deployed") && last.ends_with("by ci"),
        "{lines}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_github_environments_reviewers_approve_only_inside_github_actions() {
    let p = Pipeline::new().await;
    assert_eq!(p.to_staging("build-1", "v1").await.status.code(), Some(0));
    p.configure(
        r#"gates = [{ type = "promoted" }, { type = "approval", by = "github" }]"#,
        "",
    );
    let args = [
        "promote",
        "--from",
        "staging",
        "--to",
        "production",
        "v1",
        "--confirm",
        "production",
    ];
    let out = p.run_in(&args, "octocat", false).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stdout(&out).contains("not a GitHub Actions job"),
        "{}",
        text(&out)
    );
    assert!(
        !p.path().join("state/production/approvals").exists(),
        "shipgate asks nobody: the environment's reviewers do"
    );

    // In the job the reviewers approved, shipgate does not ask again, and records it.
    let out = p.run_in(&args, "octocat", true).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let promoted = p
        .journal("production")
        .into_iter()
        .find(|r| r["event"] == "promoted")
        .unwrap();
    let detail = promoted["gates"][1]["detail"].as_str().unwrap();
    assert!(detail.contains("GitHub environment production"), "{detail}");
    assert!(detail.contains("octocat"), "{detail}");
    assert!(!p.path().join("state/production/approvals").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_approval_request_is_said_when_a_new_one_is_filed() {
    let p = Pipeline::new().await;
    assert_eq!(p.to_staging("build-1", "v1").await.status.code(), Some(0));
    // A request that expires at once: nothing waits for the expiry.
    p.configure(r#"gates = [{ type = "approval", expires = "0s" }]"#, "");
    let out = p.promote("v1", &[], "alice").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let first = requested_id(&out);
    let out = p.promote("v1", &[], "alice").await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let second = requested_id(&out);
    assert_ne!(first, second);
    assert!(
        stdout(&out).contains(&format!("request {first} expired at")),
        "{}",
        text(&out)
    );
}
