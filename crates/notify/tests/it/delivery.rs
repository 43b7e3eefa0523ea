use std::time::SystemTime;

use shipgate_notify::{ErrorKind, Event, EventKind, Severity};
use shipgate_testkit::RefusingPort;

use crate::{Sink, notifier};

fn cfg(channels: &str) -> String {
    format!("[notify]\ngroup_wait = \"0s\"\nattempts = 3\nretry_delay = \"10ms\"\n{channels}")
}

fn event() -> Event {
    Event::new(
        EventKind::CheckFailed,
        Severity::Warning,
        "staging",
        "redis memory at 81%",
    )
}

#[tokio::test]
async fn retries_429_and_500_then_succeeds_on_the_third_try() {
    let sink = Sink::start(&[(429, "slow down"), (500, "oops")]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut n = notifier(
        &cfg(&format!(
            "[notify.channels.slack]\ntype = \"slack\"\nwebhook_url = \"{}\"\n",
            sink.url("/s")
        )),
        dir.path(),
    );
    n.submit(event(), SystemTime::now());
    let d = n.flush_all(SystemTime::now()).await;
    assert_eq!(d[0].result.as_ref().unwrap(), &3);
    assert_eq!(sink.received().len(), 3);
}

#[tokio::test]
async fn never_retries_a_400() {
    let sink = Sink::start(&[(400, "invalid_payload")]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut n = notifier(
        &cfg(&format!(
            "[notify.channels.slack]\ntype = \"slack\"\nwebhook_url = \"{}\"\n",
            sink.url("/s")
        )),
        dir.path(),
    );
    n.submit(event(), SystemTime::now());
    let d = n.flush_all(SystemTime::now()).await;
    let err = d[0].result.as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert!(err.to_string().contains("400: invalid_payload"), "{err}");
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn teams_throttling_hidden_in_a_200_is_retried() {
    let sink = Sink::start(&[(200, "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429")]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut n = notifier(
        &cfg(&format!(
            "[notify.channels.teams]\ntype = \"teams\"\nwebhook_url = \"{}\"\n",
            sink.url("/t")
        )),
        dir.path(),
    );
    n.submit(event(), SystemTime::now());
    let d = n.flush_all(SystemTime::now()).await;
    assert_eq!(d[0].result.as_ref().unwrap(), &2);
}

#[tokio::test]
async fn a_dead_channel_does_not_block_the_others_or_leak_its_url() {
    let sink = Sink::start(&[]).await;
    let dead = RefusingPort::new().addr();
    let dir = tempfile::tempdir().unwrap();
    let channels = format!(
        "[notify.channels.dead]\ntype = \"slack\"\nwebhook_url = \"http://{dead}/services/T0/B0/s3cr3t-token\"\n\
         [notify.channels.ok]\ntype = \"slack\"\nwebhook_url = \"{}\"\n",
        sink.url("/ok")
    );
    let mut n = notifier(&cfg(&channels), dir.path());
    n.submit(event(), SystemTime::now());
    let d = n.flush_all(SystemTime::now()).await;
    let dead = d.iter().find(|d| d.channel == "dead").unwrap();
    let err = dead.result.as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Exhausted);
    assert!(!err.to_string().contains("s3cr3t-token"), "{err}");
    assert!(d.iter().find(|d| d.channel == "ok").unwrap().result.is_ok());
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn routes_by_severity_environment_and_kind() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let channels = format!(
        r#"
[notify.channels.pager]
type = "webhook"
url = "{p}"
[notify.channels.chat]
type = "slack"
webhook_url = "{c}"
[[notify.routes]]
severity = ["critical"]
environment = ["production"]
channels = ["pager"]
continue = true
[[notify.routes]]
kinds = ["deployment_failed", "rolled_back", "check_failed"]
channels = ["chat"]
"#,
        p = sink.url("/pager"),
        c = sink.url("/chat")
    );
    let mut n = notifier(&cfg(&channels), dir.path());
    let config = crate::config(&cfg(&channels));
    let critical = Event::new(
        EventKind::DeploymentFailed,
        Severity::Critical,
        "production",
        "down",
    );
    assert_eq!(config.route(&critical), ["pager", "chat"]);
    let staging = Event::new(
        EventKind::CheckFailed,
        Severity::Critical,
        "staging",
        "slow",
    );
    assert_eq!(config.route(&staging), ["chat"]);
    let info = Event::new(
        EventKind::DeploymentStarted,
        Severity::Info,
        "staging",
        "v9",
    );
    assert!(config.route(&info).is_empty());
    assert!(matches!(
        n.submit(info, SystemTime::now()),
        shipgate_notify::Decision::Suppressed(_)
    ));
    let bad = crate::config(
        "[notify]\n[notify.channels.a]\ntype = \"slack\"\nwebhook_url = \"x\"\n[[notify.routes]]\nchannels = [\"b\"]\n",
    );
    assert_eq!(bad.validate().unwrap_err().kind(), ErrorKind::Config);
}
