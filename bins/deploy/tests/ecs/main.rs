//! shipgate-deploy's `ecs` driver as a process, against a real moto_server: moto's
//! own API (not the code under test) sets up the cluster, the ECR images, the task
//! definition and the service, and says afterwards what the service runs.
//!
//! moto does not model a rolling update's deployments, so these tests read stability
//! with `rollout = "counts"` (the service's running and desired counts, which moto
//! does keep); a rollout that never completes is played by moto's running count held
//! below desired (`MOTO_ECS_SERVICE_RUNNING`).

mod blue_green;
mod rds;
mod watch;

use std::process::Output;

use serde_json::{Value, json};
use shipgate_testkit::Moto;
use shipgate_testkit::moto_shop::{self, ECS, Network};

const BIN: &str = env!("CARGO_BIN_EXE_shipgate-deploy");

/// A moto_server with the testkit's shop ([`moto_shop::shop`]); services start with
/// `running` tasks running. Returns it, the repository's URI and the network.
fn world(running: u32, tags: &[&str]) -> (Moto, String, Network) {
    let moto = Moto::builder()
        .ecs_running(running)
        .start()
        .expect("moto_server (cargo xtask setup installs it)");
    let (repository, network) = moto_shop::shop(&moto, tags).unwrap();
    (moto, repository, network)
}

/// [`world`] with a service `shop-web` of `desired` tasks; and a project directory
/// whose shipgate.toml deploys it.
struct Site {
    moto: Moto,
    dir: tempfile::TempDir,
    repository: String,
}

impl Site {
    /// moto starts services with `running` of their tasks running.
    fn new(running: u32, desired: u32, tags: &[&str], extra: &str) -> Self {
        let (moto, repository, network) = world(running, tags);
        moto.call(
            "ecs",
            &format!("{ECS}.CreateService"),
            &json!({"cluster": "shop", "serviceName": "shop-web", "taskDefinition": "shop:1",
                   "desiredCount": desired, "launchType": "FARGATE",
                   "networkConfiguration": network.configuration()}),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"
[environments.staging]
[environments.production]

[deploy]
state_dir = "state"
timeout = "20s"
{extra}

[deploy.driver]
type = "ecs"
cluster = "shop"
service = "shop-web"
container = "web"
endpoint_url = "{url}"
region = "us-east-1"
rollout = "counts"
poll = "100ms"
wait = "2s"
environment = {{ APP_VERSION = "{{release}}" }}

[deploy.migrate]
run = "python manage.py migrate --noinput"
"#,
            url = moto.url()
        );
        // `extra` may point at moto too.
        let config = config.replace("MOTO_URL", &moto.url());
        std::fs::write(dir.path().join("shipgate.toml"), config).unwrap();
        Self {
            moto,
            dir,
            repository,
        }
    }

    fn ecs(&self, action: &str, body: &Value) -> Value {
        self.moto
            .call("ecs", &format!("{ECS}.{action}"), body)
            .unwrap()
    }

    /// shipgate-deploy with `args` for staging.
    fn command(&self, args: &[&str]) -> std::process::Command {
        command_in(&self.moto, self.dir.path(), args)
    }

    /// `deploy --release RELEASE` started, its output to `output()`.
    fn deploying(&self, release: &str, output: fn() -> std::process::Stdio) -> std::process::Child {
        self.command(&["deploy", "--release", release])
            .stdout(output())
            .stderr(output())
            .spawn()
            .unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The service's task definition, as moto says.
    fn serving(&self) -> String {
        let out = self.ecs(
            "DescribeServices",
            &json!({"cluster": "shop", "services": ["shop-web"]}),
        );
        let arn = out["services"][0]["taskDefinition"].as_str().unwrap();
        arn.rsplit('/').next().unwrap().to_owned()
    }

    /// Every revision of the family, oldest first.
    fn revisions(&self) -> Vec<String> {
        let out = self.ecs(
            "ListTaskDefinitions",
            &json!({"familyPrefix": "shop", "sort": "ASC"}),
        );
        out["taskDefinitionArns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().rsplit('/').next().unwrap().to_owned())
            .collect()
    }

    fn definition(&self, revision: &str) -> Value {
        self.ecs(
            "DescribeTaskDefinition",
            &json!({"taskDefinition": revision}),
        )["taskDefinition"]
            .clone()
    }

    /// The tasks shipgate-deploy ran, with their overrides.
    fn tasks(&self) -> Vec<Value> {
        let listed = self.ecs(
            "ListTasks",
            &json!({"cluster": "shop", "startedBy": "shipgate-deploy"}),
        );
        let arns = listed["taskArns"].as_array().unwrap().clone();
        if arns.is_empty() {
            return Vec::new();
        }
        self.ecs("DescribeTasks", &json!({"cluster": "shop", "tasks": arns}))["tasks"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// shipgate-deploy with `args` for staging, in `dir`, calling `moto`.
fn command_in(moto: &Moto, dir: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["--config", "shipgate.toml", "--env", "staging"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .current_dir(dir)
        .env_remove("RUST_LOG");
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_deployment_registers_one_revision_that_changes_only_the_image_and_updates_the_service() {
    let site = Site::new(2, 2, &["v1", "v2"], "");
    let out = site.run(&["deploy", "--release", "v2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.revisions(), ["shop:1", "shop:2"]);
    assert_eq!(site.serving(), "shop:2");
    let before = site.definition("shop:1");
    let after = site.definition("shop:2");
    let web = &after["containerDefinitions"][0];
    assert_eq!(web["image"], format!("{}:v2", site.repository));
    let env: Vec<(String, String)> = web["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            (
                kv["name"].as_str().unwrap().into(),
                kv["value"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        env.contains(&("APP_VERSION".into(), "v2".into())),
        "{env:?}"
    );
    assert!(
        env.contains(&("DJANGO_SETTINGS_MODULE".into(), "shop.settings".into())),
        "{env:?}"
    );
    // Everything else is copied: the other container untouched, the task's settings.
    assert_eq!(
        after["containerDefinitions"][1],
        before["containerDefinitions"][1]
    );
    for field in [
        "networkMode",
        "requiresCompatibilities",
        "cpu",
        "memory",
        "executionRoleArn",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    assert_eq!(
        web["portMappings"],
        before["containerDefinitions"][0]["portMappings"]
    );
    // The migration ran as a one-off task of the new revision, in the web container.
    let tasks = site.tasks();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert!(
        tasks[0]["taskDefinitionArn"]
            .as_str()
            .unwrap()
            .ends_with("shop:2")
    );
    assert_eq!(
        tasks[0]["overrides"]["containerOverrides"][0],
        json!({"name": "web", "command": ["python", "manage.py", "migrate", "--noinput"]})
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("registered") && stderr.contains("2 of 2 running"),
        "progress lines: {stderr}"
    );
    // The same release again changes nothing and registers nothing.
    let again = site.run(&["deploy", "--release", "v2"]);
    assert_eq!(site.revisions(), ["shop:1", "shop:2"], "{}", text(&again));
}

#[test]
fn an_image_that_is_not_in_ecr_is_refused_before_anything_changes() {
    let site = Site::new(2, 2, &["v1"], "");
    let out = site.run(&["deploy", "--release", "v9"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("not in ECR repository shop"),
        "{}",
        text(&out)
    );
    assert_eq!(site.revisions(), ["shop:1"]);
    assert_eq!(site.serving(), "shop:1");
}

#[test]
fn rollback_to_a_version_reuses_the_revision_that_ran_it() {
    let site = Site::new(2, 2, &["v1", "v2", "v3"], "");
    for v in ["v2", "v3"] {
        let out = site.run(&["deploy", "--release", v]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    assert_eq!(site.serving(), "shop:3");
    let out = site.run(&["rollback", "--to", "v1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.serving(), "shop:1", "{}", text(&out));
    let out = site.run(&["rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        site.serving(),
        "shop:3",
        "back to the release v1 replaced: {}",
        text(&out)
    );
    assert_eq!(
        site.revisions(),
        ["shop:1", "shop:2", "shop:3"],
        "nothing registered twice"
    );
}

/// Polls moto until `done` says yes (every 20 ms, for at most 10 s).
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "never saw {what}");
        // tidy: polling moto from outside the process under test
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_service_that_never_stabilises_is_rolled_back_and_the_deployment_fails() {
    // Two of three tasks run: the new revision never has them all.
    let site = Site::new(2, 3, &["v1", "v2"], "");
    let child = site.deploying("v2", std::process::Stdio::piped);
    until("the update to shop:2", || site.serving() == "shop:2");
    until("the switch back to shop:1", || site.serving() == "shop:1");
    // What moto cannot model: the old revision's tasks never stopped in a rolling
    // update that did not complete, so once the service is back on it, all run.
    site.ecs(
        "UpdateService",
        &json!({"cluster": "shop", "service": "shop-web", "desiredCount": 3}),
    );
    let out = child.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("was not stable on shop:2 within 2s: 2 of 3 running"),
        "{all}"
    );
    assert!(all.contains("PASS  undo release"), "{all}");
    assert_eq!(site.serving(), "shop:1", "{all}");
    assert_eq!(site.revisions(), ["shop:1", "shop:2"]);
    let history = site.run(&["history"]);
    assert!(text(&history).contains("rolled_back"), "{}", text(&history));
}

#[test]
fn killed_while_waiting_for_stability_then_resumed_registers_nothing_twice() {
    let site = Site::new(2, 3, &["v1", "v2"], "");
    let mut child = site.deploying("v2", std::process::Stdio::null);
    until("the update to shop:2", || site.serving() == "shop:2");
    child.kill().unwrap();
    child.wait().unwrap();
    let status = site.run(&["status"]);
    assert!(text(&status).contains("interrupted"), "{}", text(&status));
    // The rollout completes while nobody watches.
    site.ecs(
        "UpdateService",
        &json!({"cluster": "shop", "service": "shop-web", "desiredCount": 3}),
    );
    let out = site.run(&["resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(site.serving(), "shop:2");
    assert_eq!(site.revisions(), ["shop:1", "shop:2"], "{}", text(&out));
    assert_eq!(site.tasks().len(), 1, "the migration ran once");
}

#[test]
fn abort_after_a_kill_puts_the_previous_revision_back() {
    // A rollout that stalls: two of three tasks run.
    let site = Site::new(2, 3, &["v1", "v2"], "");
    let mut child = site.deploying("v2", std::process::Stdio::null);
    until("the update to shop:2", || site.serving() == "shop:2");
    child.kill().unwrap();
    child.wait().unwrap();
    // The old revision's tasks are all there to go back to (moto: counts of 3 of 3).
    site.ecs(
        "UpdateService",
        &json!({"cluster": "shop", "service": "shop-web", "desiredCount": 3}),
    );
    let out = site.run(&["abort"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("switched back to v1"), "{}", text(&out));
    assert_eq!(site.serving(), "shop:1", "{}", text(&out));
    assert_eq!(site.revisions(), ["shop:1", "shop:2"]);
}

#[test]
fn an_endpoint_that_refuses_is_named_and_nothing_is_changed() {
    let site = Site::new(2, 2, &["v1", "v2"], "");
    let refusing = shipgate_testkit::RefusingPort::new();
    let config = site.dir.path().join("shipgate.toml");
    let text_before = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_before.replace(&site.moto.url(), &format!("http://{}", refusing.addr())),
    )
    .unwrap();
    let out = site.run(&["deploy", "--release", "v2"]);
    let all = text(&out);
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("did not reach AWS"), "{all}");
    assert!(
        !all.contains("testing"),
        "no credential in the output: {all}"
    );
    assert_eq!(site.revisions(), ["shop:1"]);
    assert_eq!(site.serving(), "shop:1");
}

#[test]
fn dry_run_prints_the_calls_with_their_bodies_and_changes_nothing() {
    let site = Site::new(2, 2, &["v1", "v2"], "");
    let out = site.run(&["deploy", "--release", "v2", "--dry-run"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    for expected in [
        "ecr:DescribeImages {",
        "\"imageTag\":\"v2\"",
        "ecs:RegisterTaskDefinition {",
        "\"APP_VERSION\":\"v2\"",
        "\"DJANGO_SETTINGS_MODULE\":\"***\"",
        "ecs:RunTask {",
        "\"command\":[\"python\",\"manage.py\",\"migrate\",\"--noinput\"]",
        "ecs:UpdateService {\"cluster\":\"shop\",\"service\":\"shop-web\",\"taskDefinition\":\"shop:<the new revision>\"}",
        "ecs:DescribeServices shop-web every 100ms until stable",
    ] {
        assert!(all.contains(expected), "{expected}: {all}");
    }
    assert!(
        !all.contains("shop.settings"),
        "environment values are masked: {all}"
    );
    assert_eq!(site.revisions(), ["shop:1"], "nothing registered");
    assert_eq!(site.serving(), "shop:1");
    assert!(site.tasks().is_empty(), "no task ran");
}

#[test]
fn aws_gone_during_the_wait_is_never_reported_as_rolled_back() {
    // A rollout that stalls (two of three tasks), then AWS stops answering: the
    // deployment fails, and its undo cannot tell what serves, so it cannot end: it
    // stays open for `abort` once AWS answers, and nothing says it was rolled back.
    let site = Site::new(2, 3, &["v1", "v2"], "");
    let child = site.deploying("v2", std::process::Stdio::piped);
    until("the update to shop:2", || site.serving() == "shop:2");
    let killed = std::process::Command::new("kill")
        .args(["-9", &site.moto.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("did not reach AWS"), "{all}");
    assert!(all.contains("stays open"), "{all}");
    assert!(!all.contains("rolled_back"), "{all}");
    let status = site.run(&["status"]);
    let status = text(&status);
    assert!(status.contains("interrupted"), "{status}");
    assert!(
        status.contains("serving: unknown (") && status.contains("did not reach AWS"),
        "{status}"
    );
}
