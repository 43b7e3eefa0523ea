use std::time::SystemTime;

use serde_json::json;
use shipgate_notify::render::webhook_signature;
use shipgate_notify::{Event, EventKind, Link, Severity, Status};

use crate::{Sink, notifier};

fn failed_deploy() -> Event {
    let mut e = Event::new(
        EventKind::DeploymentFailed,
        Severity::Critical,
        "production",
        "v42 failed its smoke tests",
    );
    e.version = Some("v42".into());
    e.details
        .insert("failed_check".into(), "auth flow / login".into());
    e.links.push(Link {
        title: "runbook".into(),
        url: "https://runbooks.example.com/deploy".into(),
    });
    e.at = 1_790_000_000;
    e
}

#[tokio::test]
async fn every_channel_receives_its_own_exact_shape() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"
[notify]
group_wait = "0s"
[notify.channels.slack]
type = "slack"
webhook_url = "{slack}"
[notify.channels.teams]
type = "teams"
webhook_url = "{teams}"
[notify.channels.hook]
type = "webhook"
url = "{hook}"
secret = "hmac-secret-for-tests"
[notify.channels.pd]
type = "pagerduty"
routing_key = "R0UT1NGKEY"
url = "{pd}"
"#,
        slack = sink.url("/slack"),
        teams = sink.url("/teams"),
        hook = sink.url("/hook"),
        pd = sink.url("/pd")
    );
    let mut n = notifier(&text, dir.path());
    n.submit(failed_deploy(), SystemTime::now());
    let deliveries = n.flush_all(SystemTime::now()).await;
    assert_eq!(deliveries.len(), 4);
    assert!(
        deliveries.iter().all(|d| d.result.is_ok()),
        "{deliveries:#?}"
    );
    let got = sink.received();
    let at = |p: &str| {
        got.iter()
            .find(|r| r.path.starts_with(p))
            .unwrap_or_else(|| panic!("nothing at {p}"))
    };

    let slack = at("/slack").json();
    assert_eq!(
        slack["text"],
        "[CRITICAL] production: v42 failed its smoke tests"
    );
    assert_eq!(
        slack["blocks"][0],
        json!({"type": "section", "text": {"type": "mrkdwn", "text": ":red_circle: *[CRITICAL] production: v42 failed its smoke tests*"}})
    );
    assert_eq!(
        slack["blocks"][1]["fields"][0],
        json!({"type": "mrkdwn", "text": "*kind*\ndeployment_failed"})
    );
    assert_eq!(
        slack["blocks"][2]["elements"][0]["text"],
        "<https://runbooks.example.com/deploy|runbook>"
    );

    let teams = at("/teams").json();
    assert_eq!(teams["type"], "message");
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["body"][0]["color"], "Attention");
    assert_eq!(
        card["content"]["body"][1]["facts"][2],
        json!({"title": "version", "value": "v42"})
    );
    assert_eq!(
        card["content"]["actions"][0]["url"],
        "https://runbooks.example.com/deploy"
    );

    let hook = at("/hook");
    let body = hook.json();
    assert_eq!(body["schema"], "shipgate.notification/v1");
    assert_eq!(body["events"][0]["kind"], "deployment_failed");
    assert_eq!(
        body["events"][0]["details"]["failed_check"],
        "auth flow / login"
    );
    let ts: u64 = hook.headers["x-shipgate-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let expected = webhook_signature("hmac-secret-for-tests", ts, &hook.body);
    assert_eq!(
        hook.headers["x-shipgate-signature"].to_str().unwrap(),
        expected,
        "a receiver can verify the HMAC"
    );
    assert!(expected.starts_with("sha256=") && expected.len() == 7 + 64);
    assert_ne!(webhook_signature("other", ts, &hook.body), expected);

    let pd = at("/pd");
    assert_eq!(pd.path, "/pd/v2/enqueue");
    let pd = pd.json();
    assert_eq!(pd["routing_key"], "R0UT1NGKEY");
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(
        pd["dedup_key"],
        "deployment_failed/production/v42 failed its smoke tests"
    );
    assert_eq!(pd["payload"]["severity"], "critical");
    assert_eq!(pd["payload"]["source"], "shipgate");
    assert_eq!(
        pd["links"][0]["href"],
        "https://runbooks.example.com/deploy"
    );
}

#[tokio::test]
async fn pagerduty_resolves_by_dedup_key_and_sends_deployments_as_change_events() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[notify]\ngroup_wait = \"0s\"\n[notify.channels.pd]\ntype = \"pagerduty\"\nrouting_key = \"K\"\nurl = \"{}\"\n",
        sink.url("")
    );
    let mut n = notifier(&text, dir.path());
    let mut alert = Event::new(
        EventKind::Alert,
        Severity::Warning,
        "production",
        "p95 over 500ms",
    );
    alert.key = Some("latency-p95".into());
    n.submit(alert.clone(), SystemTime::now());
    n.flush_all(SystemTime::now()).await;
    alert.status = Status::Resolved;
    n.submit(alert, SystemTime::now());
    let mut deploy = Event::new(
        EventKind::DeploymentSucceeded,
        Severity::Info,
        "production",
        "v43 is live",
    );
    deploy.at = 1_790_000_000;
    n.submit(deploy, SystemTime::now());
    n.flush_all(SystemTime::now()).await;
    let got = sink.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].json()["event_action"], "trigger");
    let resolve = got
        .iter()
        .find(|r| r.json()["event_action"] == "resolve")
        .unwrap()
        .json();
    assert_eq!(
        resolve,
        json!({"routing_key": "K", "event_action": "resolve", "dedup_key": "latency-p95"})
    );
    let change = got
        .iter()
        .find(|r| r.path == "/v2/change/enqueue")
        .unwrap()
        .json();
    assert_eq!(
        change["payload"]["summary"],
        "[INFO] production: v43 is live"
    );
    assert_eq!(change["payload"]["timestamp"], "2026-09-21T14:13:20Z");
}
