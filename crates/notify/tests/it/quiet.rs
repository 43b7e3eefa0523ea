use std::time::{Duration, SystemTime};

use shipgate_notify::{Decision, Event, EventKind, Severity, Status};

use crate::{Sink, notifier};

fn cfg(sink: &Sink, state: &str) -> String {
    format!(
        "[notify]\nstate_file = \"{state}\"\ncooldown = \"30m\"\ngroup_wait = \"2s\"\n[notify.channels.hook]\ntype = \"webhook\"\nurl = \"{}\"\n",
        sink.url("/hook")
    )
}

fn alert(summary: &str) -> Event {
    let mut e = Event::new(EventKind::Alert, Severity::Critical, "production", summary);
    e.key = Some(format!("alert:{summary}"));
    e
}

#[tokio::test]
async fn the_same_alert_is_not_resent_within_its_cooldown_and_resolves_once() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut n = notifier(&cfg(&sink, "state.json"), dir.path());
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let at = |s: u64| t0 + Duration::from_secs(s);

    assert_eq!(n.submit(alert("p99 high"), at(0)), Decision::Queued);
    assert!(n.flush_due(at(1)).await.is_empty(), "group_wait is 2s");
    assert_eq!(n.flush_due(at(2)).await.len(), 1);
    match n.submit(alert("p99 high"), at(60)) {
        Decision::Suppressed(why) => assert!(why.contains("cooldown"), "{why}"),
        other => panic!("{other:?}"),
    }
    // The cooldown counts from when it was sent: the flush at 2s.
    assert!(matches!(
        n.submit(alert("p99 high"), at(1801)),
        Decision::Suppressed(_)
    ));
    assert_eq!(
        n.submit(alert("p99 high"), at(1802)),
        Decision::Queued,
        "the cooldown is over"
    );
    n.flush_all(at(1802)).await;

    let mut resolved = alert("p99 high");
    resolved.status = Status::Resolved;
    assert_eq!(n.submit(resolved.clone(), at(1900)), Decision::Queued);
    n.flush_all(at(1900)).await;
    assert!(
        matches!(n.submit(resolved, at(1950)), Decision::Suppressed(_)),
        "a resolution is sent once"
    );
    let mut never = alert("never fired");
    never.status = Status::Resolved;
    assert!(matches!(n.submit(never, at(2000)), Decision::Suppressed(_)));

    let statuses: Vec<String> = sink
        .received()
        .iter()
        .map(|r| r.json()["events"][0]["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["firing", "firing", "resolved"]);
}

#[tokio::test]
async fn events_arriving_together_are_grouped_into_one_message() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut n = notifier(&cfg(&sink, "state.json"), dir.path());
    let now = SystemTime::now();
    for s in ["db slow", "cache slow", "search slow", "db slow"] {
        n.submit(alert(s), now);
    }
    let d = n.flush_all(now).await;
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].events, 3,
        "three distinct alerts; the repeated one is dropped"
    );
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["events"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn dedup_state_survives_a_restart() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    {
        let mut first = notifier(&cfg(&sink, ".shipgate/notify.json"), dir.path());
        first.submit(alert("disk 96%"), now);
        first.flush_all(now).await;
    }
    assert!(dir.path().join(".shipgate/notify.json").exists());
    let mut restarted = notifier(&cfg(&sink, ".shipgate/notify.json"), dir.path());
    assert!(matches!(
        restarted.submit(alert("disk 96%"), now + Duration::from_secs(5)),
        Decision::Suppressed(_)
    ));
    assert_eq!(
        restarted.submit(alert("disk 97%"), now),
        Decision::Queued,
        "another alert still goes out"
    );

    // A corrupt state file is set aside, not fatal.
    std::fs::write(dir.path().join(".shipgate/notify.json"), "{ not json").unwrap();
    let mut fresh = notifier(&cfg(&sink, ".shipgate/notify.json"), dir.path());
    assert_eq!(fresh.submit(alert("disk 96%"), now), Decision::Queued);
    assert!(dir.path().join(".shipgate/notify.corrupt").exists());
}
