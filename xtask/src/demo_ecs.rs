//! `cargo xtask demo ecs`: the ECS runbooks' story against a local moto_server, in
//! under a minute once built. The secrets checked; a blue-green deployment through an
//! ALB printed as a dry run, then run (an RDS snapshot, a migration task, traffic
//! shifted in steps); the next one stopped by a CloudWatch alarm during its bake time
//! and shifted back in one change; a task definition rollback; an RDS restore. Each
//! step's outcome is read back from moto, and the demo fails if one is not what the
//! story says.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use shipgate_testkit::moto_shop;
use shipgate_testkit::{Moto, Nginx};

use crate::run::{Cmd, Failed, workspace_root};

const SECRET: &str = "demo-db-password-9f2e";

pub(crate) fn run() -> Result<(), Failed> {
    Cmd::cargo([
        "build",
        "--locked",
        "--package",
        "shipgate-deploy-cli",
        "--package",
        "shipgate-check",
        // The tests' features, so that CI builds these binaries once.
        "--features",
        crate::FEATURES,
    ])
    .run()?;
    let started = Instant::now();
    let root = workspace_root();
    let dir = root.join("target/shipgate-demo-ecs");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failed(format!("cannot create {}: {e}", dir.display())))?;
    let fail = |e: shipgate_testkit::Error| Failed(format!("demo ecs: {e}"));
    let moto = Moto::builder().ecs_running(2).start().map_err(fail)?;
    say(&format!(
        "moto_server on {} holds the shop: an ECS cluster, ECR images v1–v3, services shop-blue (v1) and shop-green (idle) behind an ALB, an alarm, an RDS instance, two secrets",
        moto.url()
    ));
    let (_, network) = moto_shop::shop(&moto, &["v1", "v2", "v3"]).map_err(fail)?;
    let alb = moto_shop::blue_green(&moto, &network).map_err(fail)?;
    moto_shop::alarm(&moto, "shop-5xx").map_err(fail)?;
    moto_shop::rds_instance(&moto, "shop-db", SECRET).map_err(fail)?;
    for name in ["prod/shop/db", "prod/shop/django"] {
        moto.call(
            "secretsmanager",
            "secretsmanager.CreateSecret",
            &json!({"Name": name, "SecretString": SECRET}),
        )
        .map_err(fail)?;
    }
    // The ALB's test port, as far as a demo goes: nginx answering /health.
    let test_port = Nginx::builder()
        .file("health", "ok\n")
        .start()
        .map_err(fail)?;
    let config = format!(
        r#"[environments.production]

[[checks.pre]]
name = "runbook secrets"
aws_secrets = {{ secrets = ["prod/shop/db", "prod/shop/django"], endpoint_url = "{url}" }}

[deploy]
state_dir = "state"
timeout = "60s"

[deploy.driver]
type = "ecs"
cluster = "shop"
container = "web"
endpoint_url = "{url}"
rollout = "counts"                  # moto does not model ECS deployments
poll = "200ms"
alarms = ["shop-5xx"]
environment = {{ APP_VERSION = "{{release}}" }}

[deploy.driver.blue_green]
listener = "{listener}"
test_listener = "{test_listener}"
test_url = "{test_url}/health"
blue = {{ service = "shop-blue", target_group = "{blue}" }}
green = {{ service = "shop-green", target_group = "{green}" }}
steps = [25, 50]
bake = "3s"

[deploy.migrate]
run = "python manage.py migrate --noinput"

[deploy.backup]
[[deploy.backup.items]]
name = "db"
type = "rds"
instance = "shop-db"
endpoint_url = "{url}"
"#,
        url = moto.url(),
        listener = alb.listener,
        test_listener = alb.test_listener,
        test_url = test_port.url(),
        blue = alb.blue,
        green = alb.green,
    );
    write(&dir.join("shipgate.toml"), &config)?;
    let bin = |name: &str| root.join("target/debug").join(name);
    let shipgate = |program: &str, args: &[&str]| -> std::process::Command {
        let mut cmd = Cmd::new(bin(program))
            .args(["--config", "shipgate.toml", "--env", "production"])
            .args(args)
            .into_command();
        cmd.current_dir(&dir).stdin(Stdio::null());
        for (k, v) in moto.env() {
            cmd.env(k, v);
        }
        cmd
    };
    let mut failed = Vec::new();
    let mut expect = |what: &str, ok: bool| {
        eprintln!(
            "-> {what}: {}",
            if ok {
                "as the story says"
            } else {
                "NOT as the story says"
            }
        );
        if !ok {
            failed.push(what.to_owned());
        }
    };
    let green = |listener: &str| moto_shop::green_share(&moto, listener).unwrap_or(999);

    say("the runbook's secrets: there, not being deleted, with a value (never read)");
    let mut check = Cmd::new(bin("shipgate-check"))
        .args(["pre", "--config", "shipgate.toml", "--env", "production"])
        .into_command();
    check.current_dir(&dir).stdin(Stdio::null());
    for (k, v) in moto.env() {
        check.env(k, v);
    }
    let (ok, text) = show(&mut check)?;
    expect("the secrets check passes", ok && !text.contains(SECRET));

    say("v2, as a dry run: every AWS call with its body; nothing changes");
    let (ok, _) = show(&mut shipgate(
        "shipgate-deploy",
        &["deploy", "--release", "v2", "--dry-run"],
    ))?;
    expect(
        "the dry run changed nothing",
        ok && green(&alb.listener) == 0,
    );

    say(
        "v2 for real: an RDS snapshot, the migration as a one-off task, green started and checked through the test listener, traffic shifted 25% → 50% → 100% with a bake time of 3 s each",
    );
    let (ok, _) = show(&mut shipgate(
        "shipgate-deploy",
        &["deploy", "--release", "v2"],
    ))?;
    expect(
        "all production traffic on green (v2)",
        ok && green(&alb.listener) == 100,
    );

    say(
        "v3: during its first bake, the 5xx alarm goes off; all traffic goes back to green (v2) in one listener change",
    );
    let mut child = shipgate("shipgate-deploy", &["deploy", "--release", "v3"])
        .spawn()
        .map_err(|e| Failed(format!("cannot run shipgate-deploy: {e}")))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while green(&alb.listener) == 100 && Instant::now() < deadline {
        // tidy: polling moto for the first traffic shift
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "-> the listener sends {}% to green: the alarm goes off now",
        green(&alb.listener)
    );
    moto_shop::set_alarm(&moto, "shop-5xx", "ALARM").map_err(fail)?;
    let status = child
        .wait()
        .map_err(|e| Failed(format!("shipgate-deploy: {e}")))?;
    expect(
        "v3 failed and was shifted back to green (v2)",
        status.code() == Some(1) && green(&alb.listener) == 100,
    );
    moto_shop::set_alarm(&moto, "shop-5xx", "OK").map_err(fail)?;

    say("the runbook's task definition rollback: back to v1, the revision that ran it");
    let (ok, _) = show(&mut shipgate(
        "shipgate-deploy",
        &["rollback", "--to", "v1"],
    ))?;
    let blue = service(&moto, "shop-blue");
    expect(
        "all traffic on blue, running shop:1 (v1)",
        ok && green(&alb.listener) == 0 && blue == "shop:1",
    );

    say(
        "the runbook's RDS snapshot restore: to a new instance, and how to point the service at it",
    );
    let (ok, text) = show(&mut shipgate("shipgate-deploy", &["rollback", "database"]))?;
    expect(
        "restored to a new instance, the report says what is left to do",
        ok && text.contains("the service still uses shop-db"),
    );

    let (_, _) = show(&mut shipgate("shipgate-deploy", &["history"]))?;
    eprintln!(
        "\nthe ECS story took {:.1} s (after the build); files in {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failed(format!("demo ecs: {}", failed.join("; "))))
    }
}

/// Runs `cmd`, printing its output; whether it exited 0, and the output.
fn show(cmd: &mut std::process::Command) -> Result<(bool, String), Failed> {
    let out = cmd
        .output()
        .map_err(|e| Failed(format!("cannot run {cmd:?}: {e}")))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprint!("{text}");
    Ok((out.status.success(), text))
}

fn service(moto: &Moto, name: &str) -> String {
    moto_shop::service(moto, name)
        .ok()
        .and_then(|s| {
            s["taskDefinition"]
                .as_str()
                .map(|a| moto_shop::revision(a).to_owned())
        })
        .unwrap_or_default()
}

fn say(line: &str) {
    eprintln!("\n== {line}");
}

fn write(path: &Path, text: &str) -> Result<(), Failed> {
    std::fs::write(path, text).map_err(|e| Failed(format!("cannot write {}: {e}", path.display())))
}
