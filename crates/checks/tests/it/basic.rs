use shipgate_report::Outcome;
use shipgate_testkit::{Nginx, RefusingPort};

use crate::{by_name, context, run_checks, run_with};

const ENV: &str = r#"
[[checks.pre]]
name = "env"
[checks.pre.env]
required = ["DATABASE_URL", "REDIS_URL"]
forbidden = { DEBUG = ["true", "1", "yes"] }
secrets = ["SECRET_KEY"]
allowed_hosts = "ALLOWED_HOSTS"
"#;

const STRONG: &str = "p7#Vq2!mX9zR4@kL8wN1$tY6^hB3&cF5*jD0(sG+eU-aQ=iO_r";

#[tokio::test]
async fn env_passes_a_production_like_environment() {
    let ctx = context(&[
        ("DATABASE_URL", "postgres://app@db/app"),
        ("REDIS_URL", "redis://cache"),
        ("DEBUG", "False"),
        ("SECRET_KEY", STRONG),
        ("ALLOWED_HOSTS", "www.example.com,api.example.com"),
    ]);
    let f = &run_with(ENV, &ctx).await[0];
    assert_eq!(f.outcome, Outcome::Pass, "{f:?}");
}

#[tokio::test]
async fn env_reports_every_problem_and_never_prints_the_secret() {
    let weak = "django-insecure-abc123abc123abc123abc123abc123abc123abc123";
    let ctx = context(&[
        ("DATABASE_URL", ""),
        ("DEBUG", "True"),
        ("SECRET_KEY", weak),
        ("ALLOWED_HOSTS", "*"),
    ]);
    let f = &run_with(ENV, &ctx).await[0];
    assert_eq!(f.outcome, Outcome::Fail);
    for expected in [
        "missing or empty: DATABASE_URL, REDIS_URL",
        "DEBUG is \"True\"",
        "starts with `django-insecure-`",
        "ALLOWED_HOSTS allows any host",
    ] {
        assert!(
            f.message.contains(expected),
            "{expected:?} not in {}",
            f.message
        );
    }
    assert!(!f.message.contains(weak) && !format!("{:?}", f.details).contains(weak));
    let short = context(&[
        ("DATABASE_URL", "x"),
        ("REDIS_URL", "x"),
        ("SECRET_KEY", "aaaaaaaaaabbbbbbbbbb"),
        ("ALLOWED_HOSTS", "a"),
    ]);
    let f = &run_with(ENV, &short).await[0];
    assert!(
        f.message.contains("weak: 20 characters (2 distinct)"),
        "{}",
        f.message
    );
}

#[tokio::test]
async fn tcp_and_dns() {
    let nginx = Nginx::start().unwrap();
    let refused = RefusingPort::new().addr();
    let text = format!(
        r#"
[[checks.pre]]
name = "open"
tcp = {{ host = "127.0.0.1", port = {} }}
[[checks.pre]]
name = "closed"
tcp = {{ host = "127.0.0.1", port = {} }}
[[checks.pre]]
name = "localhost"
dns = {{ name = "localhost", expect = ["127.0.0.1"] }}
[[checks.pre]]
name = "nowhere"
dns = {{ name = "no-such-host.invalid" }}
"#,
        nginx.port(),
        refused.port()
    );
    let findings = run_checks(&text).await;
    assert_eq!(by_name(&findings, "open").outcome, Outcome::Pass);
    let closed = by_name(&findings, "closed");
    assert_eq!(closed.outcome, Outcome::Fail);
    assert!(closed.message.contains("refused"), "{}", closed.message);
    assert_eq!(by_name(&findings, "localhost").outcome, Outcome::Pass);
    assert_eq!(by_name(&findings, "nowhere").outcome, Outcome::Fail);
}

#[tokio::test]
async fn command_exit_codes_and_output() {
    let findings = run_checks(
        r#"
[[checks.pre]]
name = "ok"
command = { run = ["sh", "-c", "echo migrations: 0 pending"], stdout_matches = "0 pending" }
[[checks.pre]]
name = "exit 3 expected"
command = { run = ["sh", "-c", "exit 3"], exit_code = 3 }
[[checks.pre]]
name = "wrong output"
command = { run = ["echo", "hello"], stdout_contains = "goodbye" }
[[checks.pre]]
name = "failing"
command = { run = ["sh", "-c", "echo boom >&2; exit 1"] }
[[checks.pre]]
name = "missing program"
command = { run = ["shipgate-no-such-program"] }
[[checks.pre]]
name = "too slow"
timeout = "200ms"
command = { run = ["sleep", "10"] }
"#,
    )
    .await;
    assert_eq!(by_name(&findings, "ok").outcome, Outcome::Pass);
    assert_eq!(by_name(&findings, "exit 3 expected").outcome, Outcome::Pass);
    assert_eq!(by_name(&findings, "wrong output").outcome, Outcome::Fail);
    let failing = by_name(&findings, "failing");
    assert!(
        failing.message.contains("exited 1, expected 0: boom"),
        "{}",
        failing.message
    );
    assert_eq!(by_name(&findings, "missing program").outcome, Outcome::Fail);
    let slow = by_name(&findings, "too slow");
    assert_eq!(slow.outcome, Outcome::Fail);
    assert!(
        slow.duration < std::time::Duration::from_secs(2),
        "the process is killed at the timeout"
    );
}

#[tokio::test]
async fn files_and_a_static_manifest_sampled_over_http() {
    let nginx = Nginx::builder()
        .file("static/app.3f2a.css", "body{}")
        .file("static/app.9c1d.js", "x()")
        .start()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest =
        r#"{"paths": {"app.css": "app.3f2a.css", "app.js": "app.9c1d.js"}, "version": "1.1"}"#;
    std::fs::write(dir.path().join("staticfiles.json"), manifest).unwrap();
    let stale =
        r#"{"paths": {"app.css": "app.0000.css", "app.js": "app.9c1d.js"}, "version": "1.1"}"#;
    std::fs::write(dir.path().join("stale.json"), stale).unwrap();
    let mut ctx = context(&[]);
    ctx.base_dir = dir.path().to_owned();
    let text = format!(
        r#"
[[checks.pre]]
name = "manifest"
file = {{ path = "staticfiles.json", manifest = {{ base_url = "{url}/static", sample = 2 }} }}
[[checks.pre]]
name = "stale manifest"
file = {{ path = "stale.json", manifest = {{ base_url = "{url}/static", sample = 2 }} }}
[[checks.pre]]
name = "missing"
file = {{ path = "nope.txt" }}
[[checks.pre]]
name = "too small"
file = {{ path = "staticfiles.json", min_size = 100000 }}
"#,
        url = nginx.url()
    );
    let findings = run_with(&text, &ctx).await;
    assert_eq!(
        by_name(&findings, "manifest").outcome,
        Outcome::Pass,
        "{findings:#?}"
    );
    let stale = by_name(&findings, "stale manifest");
    assert_eq!(stale.outcome, Outcome::Fail);
    assert!(
        stale.message.contains("app.0000.css → 404"),
        "{}",
        stale.message
    );
    assert_eq!(by_name(&findings, "missing").outcome, Outcome::Fail);
    assert_eq!(by_name(&findings, "too small").outcome, Outcome::Fail);
}

#[tokio::test]
async fn system_thresholds() {
    let findings = run_checks(
        r#"
[[checks.pre]]
name = "roomy"
system = { disk_warn = 1.0, disk_fail = 1.0, memory_warn = 1.0, memory_fail = 1.0 }
[[checks.pre]]
name = "strict"
system = { disk_fail = 0.0, memory_fail = 0.0 }
"#,
    )
    .await;
    let roomy = by_name(&findings, "roomy");
    assert_eq!(roomy.outcome, Outcome::Pass, "{roomy:?}");
    assert!(roomy.details.contains_key("disk_used") && roomy.details.contains_key("memory_used"));
    let strict = by_name(&findings, "strict");
    assert_eq!(strict.outcome, Outcome::Fail);
    assert!(
        strict.message.contains("disk") && strict.message.contains("memory"),
        "{}",
        strict.message
    );
}
