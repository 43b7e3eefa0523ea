//! The `alertmanager` channel against a real Alertmanager (Debian's package): the
//! alert read back from its API with its labels and annotations, then resolved.

use std::time::{Duration, SystemTime};

use shipgate_notify::{Event, EventKind, Notifier, NotifyConfig, Severity, Status};
use shipgate_testkit::Alertmanager;

async fn alerts(base: &str) -> Vec<serde_json::Value> {
    let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();
    let request = http::Request::get(format!("{base}/api/v2/alerts"))
        .body(bytes::Bytes::new())
        .unwrap();
    let r = client.send(request).await.unwrap();
    assert_eq!(r.status.as_u16(), 200);
    serde_json::from_slice::<Vec<serde_json::Value>>(&r.body).unwrap()
}

fn event(status: Status) -> Event {
    let mut e = Event::new(
        EventKind::Alert,
        Severity::Critical,
        "production",
        "error rate: error_rate > 5% (value 0.1)",
    );
    e.status = status;
    e.version = Some("v42".into());
    e.key = Some("watch/production/error rate/critical".into());
    e.details.insert("rule".into(), "error rate".into());
    e.details
        .insert("condition".into(), "error_rate > 5%".into());
    e.details.insert("label.team".into(), "shop".into());
    e
}

#[tokio::test(flavor = "multi_thread")]
async fn firing_then_resolved_alerts_land_in_a_real_alertmanager() {
    let am = Alertmanager::start()
        .expect("start alertmanager (apt-get install prometheus-alertmanager)");
    let cfg: NotifyConfig = crate::config(&format!(
        "[notify]\ngroup_wait = \"0s\"\n[notify.channels.am]\ntype = \"alertmanager\"\nurl = \"{}\"",
        am.url()
    ));
    let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();
    let mut notifier = Notifier::new(cfg, client, ".".into()).unwrap();
    notifier.submit(event(Status::Firing), SystemTime::now());
    let sent = notifier.flush_all(SystemTime::now()).await;
    assert!(sent[0].result.is_ok(), "{:?}", sent[0].result);

    let active = alerts(&am.url()).await;
    assert_eq!(active.len(), 1, "{active:?}");
    let a = &active[0];
    assert_eq!(a["labels"]["alertname"], "error rate");
    assert_eq!(a["labels"]["severity"], "critical");
    assert_eq!(a["labels"]["environment"], "production");
    assert_eq!(a["labels"]["version"], "v42");
    assert_eq!(a["labels"]["team"], "shop");
    assert_eq!(a["annotations"]["condition"], "error_rate > 5%");
    assert_eq!(
        a["annotations"]["summary"],
        "error rate: error_rate > 5% (value 0.1)"
    );
    assert_eq!(a["status"]["state"], "active");
    let ends = humantime::parse_rfc3339(a["endsAt"].as_str().unwrap()).unwrap();
    assert!(
        ends > SystemTime::now() + Duration::from_secs(3000),
        "ends an hour on: {a}"
    );

    notifier.submit(event(Status::Resolved), SystemTime::now());
    let sent = notifier.flush_all(SystemTime::now()).await;
    assert!(sent[0].result.is_ok(), "{:?}", sent[0].result);
    assert!(
        alerts(&am.url()).await.is_empty(),
        "resolved alerts are no longer listed"
    );
}
