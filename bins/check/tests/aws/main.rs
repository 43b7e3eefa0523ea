//! The `aws_secrets` check kind through `shipgate-check`, against a real moto_server
//! holding the secrets (set up through moto's own API): ready, missing, scheduled for
//! deletion, without a current value; and a value that never reaches any output.

use std::process::Output;

use serde_json::json;
use shipgate_testkit::Moto;

const BIN: &str = env!("CARGO_BIN_EXE_shipgate-check");
const SM: &str = "secretsmanager.";
const VALUE: &str = "db-password-Zq81!never-printed";

fn secrets(moto: &Moto, action: &str, body: &serde_json::Value) -> serde_json::Value {
    moto.call("secretsmanager", &format!("{SM}{action}"), body)
        .unwrap()
}

fn check(moto: &Moto, names: &[&str]) -> (Output, serde_json::Value) {
    check_at(moto, &moto.url(), names)
}

/// `shipgate-check pre` with one `aws_secrets` check of `names` at `endpoint`, with
/// moto's fake credentials; its output and JSON report.
fn check_at(moto: &Moto, endpoint: &str, names: &[&str]) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let config = format!(
        r#"
[environments.production]

[[checks.pre]]
name = "runbook secrets"
aws_secrets = {{ secrets = [{}], endpoint_url = "{}", region = "us-east-1" }}
"#,
        names.join(", "),
        endpoint
    );
    std::fs::write(dir.path().join("shipgate.toml"), config).unwrap();
    let json = dir.path().join("report.json");
    let mut cmd = std::process::Command::new(BIN);
    cmd.args([
        "pre",
        "--config",
        "shipgate.toml",
        "--env",
        "production",
        "--json",
    ])
    .arg(&json)
    .current_dir(dir.path())
    .env_clear()
    .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let report = std::fs::read_to_string(&json)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (out, report)
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn secrets_that_are_ready_pass_and_each_other_standing_fails_by_name() {
    let moto = Moto::start().expect("moto_server (cargo xtask setup installs it)");
    secrets(
        &moto,
        "CreateSecret",
        &json!({"Name": "prod/shop/db", "SecretString": VALUE}),
    );
    secrets(
        &moto,
        "CreateSecret",
        &json!({"Name": "prod/shop/django", "SecretString": VALUE}),
    );
    secrets(
        &moto,
        "CreateSecret",
        &json!({"Name": "prod/shop/old", "SecretString": VALUE}),
    );
    secrets(
        &moto,
        "DeleteSecret",
        &json!({"SecretId": "prod/shop/old", "RecoveryWindowInDays": 7}),
    );
    secrets(&moto, "CreateSecret", &json!({"Name": "prod/shop/empty"}));

    let (out, report) = check(&moto, &["prod/shop/db", "prod/shop/django"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report["summary"]["passed"], 1, "{report:#}");

    let (out, report) = check(
        &moto,
        &[
            "prod/shop/db",
            "prod/shop/missing",
            "prod/shop/old",
            "prod/shop/empty",
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    for expected in [
        "prod/shop/missing does not exist",
        "prod/shop/old scheduled for deletion",
        "prod/shop/empty has no current version",
    ] {
        assert!(all.contains(expected), "{expected}: {all}");
    }
    assert!(!all.contains("prod/shop/db does not"), "{all}");
    for output in [all, report.to_string()] {
        assert!(
            !output.contains(VALUE),
            "a secret's value was printed: {output}"
        );
    }
}

#[test]
fn an_endpoint_that_refuses_fails_as_unreachable_not_as_missing() {
    let moto = Moto::start().expect("moto_server (cargo xtask setup installs it)");
    let refusing = shipgate_testkit::RefusingPort::new();
    let (out, report) = check_at(
        &moto,
        &format!("http://{}", refusing.addr()),
        &["prod/shop/db"],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("did not reach AWS"), "{all}");
    assert!(!all.contains("does not exist"), "{all}");
    assert_eq!(report["findings"][0]["outcome"], "fail", "{report:#}");
    assert!(
        report["findings"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot read the secrets"),
        "{report:#}"
    );
}
