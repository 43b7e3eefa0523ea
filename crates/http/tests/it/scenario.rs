use std::time::Duration;

use shipgate_demo_app::Options;
use shipgate_http::{
    ClientConfig, CookieJar, HttpClient, Step, StepResult, TemplateVars, run_steps,
};

fn steps(text: &str) -> Vec<Step> {
    #[derive(serde::Deserialize)]
    struct Doc {
        steps: Vec<Step>,
    }
    toml::from_str::<Doc>(text).unwrap().steps
}

const LOGIN_FLOW: &str = r#"
[[steps]]
name = "login"
method = "POST"
url = "{{base}}/api/v1/auth/login"
json = { username = "demo", password = "{{password}}" }
capture = { token = "json $.token", session = "cookie session" }
assert = ["status == 200", "json $.token_type == \"Bearer\""]

[[steps]]
name = "dashboard"
url = "{{base}}/dashboard"
headers = { Authorization = "Bearer {{token}}" }
assert = ["status == 200", "json $.user == \"demo\"", "latency < 2s"]

[[steps]]
name = "logout"
method = "POST"
url = "{{base}}/api/v1/auth/logout"
headers = { Authorization = "Bearer {{token}}" }

[[steps]]
name = "token revoked"
url = "{{base}}/dashboard"
headers = { Authorization = "Bearer {{token}}" }
assert = ["status == 401"]
"#;

fn client() -> HttpClient {
    HttpClient::new(&ClientConfig {
        request_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn login_authorised_request_logout() {
    let addr = crate::demo(Options::default()).await;
    let mut vars = TemplateVars::from([
        ("base".into(), format!("http://{addr}")),
        ("password".into(), "demo-password".into()),
    ]);
    let outcomes = run_steps(
        &client(),
        &steps(LOGIN_FLOW),
        &mut vars,
        &mut CookieJar::new(),
    )
    .await;
    for o in &outcomes {
        assert!(o.passed(), "{}: {:?}", o.name, o.result);
    }
    assert_eq!(vars["token"].len(), 32);
    assert_eq!(vars["session"], vars["token"]);
}

#[tokio::test]
async fn a_failing_step_skips_the_rest_and_says_why() {
    let addr = crate::demo(Options::default()).await;
    let mut vars = TemplateVars::from([
        ("base".into(), format!("http://{addr}")),
        ("password".into(), "wrong".into()),
    ]);
    let outcomes = run_steps(
        &client(),
        &steps(LOGIN_FLOW),
        &mut vars,
        &mut CookieJar::new(),
    )
    .await;
    match &outcomes[0].result {
        StepResult::AssertionsFailed(why) => {
            assert!(why[0].contains("status == 200: found 401"), "{why:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        outcomes[1..]
            .iter()
            .all(|o| matches!(o.result, StepResult::Skipped))
    );
}

#[tokio::test]
async fn retries_until_the_step_passes() {
    // With an exact ratio of 0.5 the demo app fails requests 1, 3, 5, ... (counting
    // from 0): after one warm-up request, the retried step's first attempt fails.
    let addr = crate::demo(Options {
        error_ratio: 0.5,
        ..Options::default()
    })
    .await;
    let text = r#"
[[steps]]
url = "{{base}}/health"

[[steps]]
url = "{{base}}/health"
retries = 3
retry_delay = "10ms"
assert = ["status == 200"]
"#;
    let mut vars = TemplateVars::from([("base".into(), format!("http://{addr}"))]);
    let outcomes = run_steps(&client(), &steps(text), &mut vars, &mut CookieJar::new()).await;
    assert!(outcomes[1].passed(), "{:?}", outcomes[1].result);
    assert_eq!(
        outcomes[1].attempts, 2,
        "the first attempt is the injected failure"
    );
}

#[tokio::test]
async fn a_missing_variable_fails_without_sending() {
    let text = "[[steps]]\nurl = \"{{base}}/health\"\nretries = 5\n";
    let outcomes = run_steps(
        &client(),
        &steps(text),
        &mut TemplateVars::new(),
        &mut CookieJar::new(),
    )
    .await;
    match &outcomes[0].result {
        StepResult::RequestFailed(e) => assert!(e.to_string().contains("`base`")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        outcomes[0].attempts, 1,
        "a request that cannot be built is not retried"
    );
}
