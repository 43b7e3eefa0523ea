use std::time::Duration;

use shipgate_demo_app::Options;
use shipgate_report::Outcome;
use shipgate_testkit::Nginx;

use crate::{by_name, demo, run_checks};

#[tokio::test]
async fn http_checks_status_latency_headers_and_body() {
    let addr = demo(Options::default()).await;
    let text = format!(
        r#"
[[checks.pre]]
name = "health"
[checks.pre.http]
url = "http://{addr}/health"
max_latency = "2s"
security_headers = true
expect_headers = {{ x-app-version = "v1", content-type = "json" }}
assert = ["json $.status == \"ok\""]

[[checks.pre]]
name = "404 is JSON"
http = {{ url = "http://{addr}/missing", status = 404, assert = ["json $.error == \"not found\""] }}

[[checks.pre]]
name = "wrong status"
http = {{ url = "http://{addr}/missing", status = [200, 204] }}

[[checks.pre]]
name = "login sets secure cookies"
[checks.pre.http]
url = "http://{addr}/api/v1/auth/login"
method = "POST"
headers = {{ content-type = "application/json" }}
body = '{{"username": "demo", "password": "demo-password"}}'
secure_cookies = true
"#
    );
    let findings = run_checks(&text).await;
    for name in ["health", "404 is JSON", "login sets secure cookies"] {
        assert_eq!(
            by_name(&findings, name).outcome,
            Outcome::Pass,
            "{:#?}",
            by_name(&findings, name)
        );
    }
    let wrong = by_name(&findings, "wrong status");
    assert_eq!(wrong.outcome, Outcome::Fail);
    assert!(wrong.message.contains("status 404"), "{}", wrong.message);
}

#[tokio::test]
async fn a_missing_hsts_header_fails_with_the_django_setting_to_fix() {
    let addr = demo(Options {
        security_headers: false,
        ..Options::default()
    })
    .await;
    let text = format!(
        "[[checks.pre]]\nname = \"headers\"\nhttp = {{ url = \"http://{addr}/health\", security_headers = true }}\n"
    );
    let f = &run_checks(&text).await[0];
    assert_eq!(f.outcome, Outcome::Fail);
    assert!(
        f.message
            .contains("security header strict-transport-security is missing"),
        "{}",
        f.message
    );
    assert!(
        f.recommendation
            .as_deref()
            .unwrap()
            .contains("SECURE_HSTS_SECONDS")
    );
}

#[tokio::test]
async fn latency_limits_and_https_redirects() {
    let slow = demo(Options {
        latency: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let redirect = Nginx::builder()
        .server_config("location / { return 301 https://$host$request_uri; }")
        .start()
        .unwrap();
    let plain = Nginx::start().unwrap();
    let text = format!(
        r#"
[[checks.pre]]
name = "slow"
http = {{ url = "http://{slow}/health", max_latency = "100ms" }}
[[checks.pre]]
name = "redirects"
http = {{ url = "http://localhost:{}/login", https_redirect = true }}
[[checks.pre]]
name = "no redirect"
http = {{ url = "{}/", https_redirect = true }}
"#,
        redirect.port(),
        plain.url()
    );
    let findings = run_checks(&text).await;
    let slow = by_name(&findings, "slow");
    assert_eq!(slow.outcome, Outcome::Fail);
    assert!(
        slow.message.contains("over the 100ms limit"),
        "{}",
        slow.message
    );
    assert_eq!(
        by_name(&findings, "redirects").outcome,
        Outcome::Pass,
        "{:?}",
        by_name(&findings, "redirects")
    );
    let no = by_name(&findings, "no redirect");
    assert_eq!(no.outcome, Outcome::Fail);
    assert!(
        no.recommendation
            .as_deref()
            .unwrap()
            .contains("SECURE_SSL_REDIRECT")
    );
}

const FLOW: &str = r#"
[[checks.pre]]
name = "login flow"
[checks.pre.smoke]
vars = { base = "BASE", password = "demo-password" }
RETRY
[[checks.pre.smoke.steps]]
name = "login"
method = "POST"
url = "{{base}}/api/v1/auth/login"
json = { username = "demo", password = "{{password}}" }
capture = { token = "json $.token" }
assert = ["status == 200"]
[[checks.pre.smoke.steps]]
name = "dashboard"
url = "{{base}}/dashboard"
headers = { Authorization = "Bearer {{token}}" }
assert = ["status == 200", "json $.user == \"demo\""]
[[checks.pre.smoke.steps]]
name = "logout"
method = "POST"
url = "{{base}}/api/v1/auth/logout"
headers = { Authorization = "Bearer {{token}}" }
"#;

#[tokio::test]
async fn a_smoke_scenario_reports_one_finding_per_step() {
    let addr = demo(Options::default()).await;
    let findings = run_checks(
        &FLOW
            .replace("BASE", &format!("http://{addr}"))
            .replace("RETRY", ""),
    )
    .await;
    let names: Vec<&str> = findings.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "login flow",
            "login flow / login",
            "login flow / dashboard",
            "login flow / logout"
        ]
    );
    assert!(
        findings.iter().all(|f| f.outcome == Outcome::Pass),
        "{findings:#?}"
    );

    let broken = demo(Options {
        password: "changed".into(),
        ..Options::default()
    })
    .await;
    let findings = run_checks(
        &FLOW
            .replace("BASE", &format!("http://{broken}"))
            .replace("RETRY", ""),
    )
    .await;
    assert_eq!(by_name(&findings, "login flow").outcome, Outcome::Fail);
    assert_eq!(
        by_name(&findings, "login flow / login").outcome,
        Outcome::Fail
    );
    assert_eq!(
        by_name(&findings, "login flow / dashboard").outcome,
        Outcome::Skip
    );
}

#[tokio::test]
async fn a_smoke_scenario_retries_until_the_service_is_healthy() {
    // The service comes up 600 ms after the check starts.
    let port = shipgate_testkit::free_port();
    tokio::spawn(async move {
        // tidy: pacing, not synchronisation (the service starts late on purpose).
        tokio::time::sleep(Duration::from_millis(600)).await;
        let app = shipgate_demo_app::App::build(Options::default())
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        axum::serve(listener, app.router()).await.unwrap();
    });
    let text = FLOW
        .replace("BASE", &format!("http://127.0.0.1:{port}"))
        .replace(
            "RETRY",
            "retry_until_healthy = \"10s\"\nretry_interval = \"100ms\"",
        );
    let findings = run_checks(&text).await;
    let f = by_name(&findings, "login flow");
    assert_eq!(f.outcome, Outcome::Pass, "{findings:#?}");
    assert!(f.message.contains("(attempt"), "{}", f.message);
    assert!(f.duration >= Duration::from_millis(500), "{:?}", f.duration);
}
