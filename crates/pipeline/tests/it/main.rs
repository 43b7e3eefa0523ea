//! Approvals against their files: four eyes, the wait timer counted from the approval,
//! expiry of a request and of an unused approval, one use each. Time is passed in.

use std::time::{Duration, SystemTime};

mod rollback;

use shipgate_pipeline::{ApprovalConfig, Approvals, Approver, ErrorKind, Standing};

fn config(four_eyes: bool, wait: u64, expires: u64) -> ApprovalConfig {
    ApprovalConfig {
        four_eyes,
        wait: Duration::from_secs(wait),
        expires: Duration::from_secs(expires),
        by: Approver::Shipgate,
    }
}

fn at(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
}

#[test]
fn four_eyes_refuses_the_requester_and_the_wait_counts_from_the_approval() {
    let dir = tempfile::tempdir().unwrap();
    let approvals = Approvals::new(dir.path(), "production");
    let c = config(true, 300, 3600);
    let r = approvals.request("staging", "v2", "alice", at(0)).unwrap();
    assert!(matches!(r.standing(&c, at(10)), Standing::Pending { .. }));

    let e = approvals.approve(&r.id, "alice", &c, at(100)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Approval);
    assert!(e.to_string().contains("someone else must approve"), "{e}");

    let r = approvals.approve(&r.id, "bob", &c, at(1000)).unwrap();
    // Five minutes from the approval, not from the request.
    assert_eq!(
        r.standing(&c, at(1299)),
        Standing::Waiting {
            by: "bob".into(),
            until: at(1300)
        }
    );
    assert_eq!(
        r.standing(&c, at(1300)),
        Standing::Ready { by: "bob".into() }
    );
    let again = approvals.approve(&r.id, "carol", &c, at(1400)).unwrap_err();
    assert!(
        again.to_string().contains("already approved by bob"),
        "{again}"
    );

    approvals.mark_used(&r.id, "d1", at(1500)).unwrap();
    let r = approvals.get(&r.id).unwrap();
    assert_eq!(
        r.standing(&c, at(1600)),
        Standing::Used {
            deployment: "d1".into()
        }
    );
    assert!(
        approvals
            .open_for("staging", "v2", &c, at(1600))
            .unwrap()
            .is_none()
    );
}

#[test]
fn an_expired_request_cannot_be_approved_and_an_unused_approval_expires() {
    let dir = tempfile::tempdir().unwrap();
    let approvals = Approvals::new(dir.path(), "production");
    let c = config(false, 0, 3600);
    let r = approvals.request("staging", "v2", "alice", at(0)).unwrap();
    let e = approvals.approve(&r.id, "bob", &c, at(3600)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Approval);
    assert!(e.to_string().contains("expired"), "{e}");
    assert!(
        approvals
            .open_for("staging", "v2", &c, at(3600))
            .unwrap()
            .is_none()
    );

    let r = approvals
        .request("staging", "v2", "alice", at(4000))
        .unwrap();
    let r = approvals.approve(&r.id, "alice", &c, at(4100)).unwrap();
    assert_eq!(
        r.standing(&c, at(4100 + 3599)),
        Standing::Ready { by: "alice".into() }
    );
    assert_eq!(
        r.standing(&c, at(4100 + 3600)),
        Standing::Expired {
            at: at(4100 + 3600)
        }
    );
    // Every decision is on record, one JSON line each.
    let file = dir.path().join("approvals").join(format!("{}.jsonl", r.id));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["requested", "approved"]);
    assert_eq!(lines[1]["by"], "alice");
}

#[test]
fn an_unknown_or_malformed_id_is_refused_without_touching_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let approvals = Approvals::new(dir.path(), "production");
    let c = config(false, 0, 60);
    for id in ["nope", "../../etc/passwd"] {
        let e = approvals.approve(id, "bob", &c, at(0)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Approval, "{id}: {e}");
    }
    assert!(!dir.path().join("approvals").exists());
}

#[test]
fn the_documented_pipeline_section_parses_and_validates() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/configuration.md"
    ))
    .unwrap();
    let block = doc
        .split_once("## `[pipeline]`")
        .and_then(|(_, rest)| rest.split_once("```toml\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(toml, _)| toml)
        .expect("a toml block under [pipeline]");
    let value: toml::Value = toml::from_str(block).unwrap();
    let config: shipgate_pipeline::PipelineConfig = value["pipeline"].clone().try_into().unwrap();
    let stage = config.stage("staging", "production").unwrap();
    assert_eq!(stage.gates.len(), 5);
    assert_eq!(config.watch_for("staging"), Some(Duration::from_secs(300)));
    assert!(config.approval("production").unwrap().four_eyes);
    // Promoting from anywhere else is refused, naming the source.
    let e = config.stage("dev", "production").unwrap_err();
    assert!(e.to_string().contains("from staging, not dev"), "{e}");
}
