//! The journal read back after a crash: a torn last line is dropped (and cut away
//! before the next append), never misread; the replayed state says where it stopped.

use std::io::Write;

use shipgate_deploy::{Effect, Ending, Event, Journal, State, StepState};

fn started() -> Event {
    Event::Started {
        id: "d1".into(),
        environment: "staging".into(),
        release: "v2".into(),
        steps: vec!["migrate".into(), "release".into(), "health".into()],
        by: "ops@host (pid 1)".into(),
        artifact: None,
        session: None,
        user: None,
        operation: None,
    }
}

#[test]
fn a_torn_last_line_is_dropped_and_the_state_says_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deployments/d1.jsonl");
    let mut journal = Journal::create(&path, started()).unwrap();
    journal
        .append(Event::StepStarting {
            step: "migrate".into(),
            previous: None,
        })
        .unwrap();
    journal
        .append(Event::StepDone {
            step: "migrate".into(),
            effect: Effect::Ran { undo: None },
        })
        .unwrap();
    journal
        .append(Event::StepStarting {
            step: "release".into(),
            previous: Some("v1".into()),
        })
        .unwrap();
    drop(journal);
    // The crash: half a record, no newline.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(br#"{"at":"2026-12-02T10:00:00Z","event":"step_do"#)
        .unwrap();
    drop(file);

    let records = shipgate_deploy::read_journal(&path).unwrap();
    assert_eq!(records.len(), 4);
    let state = State::of(&records);
    assert!(state.interrupted());
    assert_eq!(state.current_step(), Some("release"));
    assert_eq!(state.previous.as_deref(), Some("v1"));
    assert_eq!(
        state.steps[0].1,
        StepState::Done(Effect::Ran { undo: None })
    );
    assert_eq!(state.steps[1].1, StepState::InDoubt);
    assert_eq!(state.steps[2].1, StepState::Pending);

    // Reopened, the torn bytes go before anything is appended after them.
    let mut journal = Journal::open(&path).unwrap();
    journal
        .append(Event::Finished {
            ending: Ending::Aborted,
        })
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("step_do\""), "{text}");
    assert!(text.ends_with("\n"));
    let state = State::of(&shipgate_deploy::read_journal(&path).unwrap());
    assert_eq!(state.ending, Some(Ending::Aborted));

    // A journal is never created twice.
    assert!(Journal::create(&path, started()).is_err());
}

#[test]
fn a_line_in_the_middle_that_is_not_a_record_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d1.jsonl");
    drop(Journal::create(&path, started()).unwrap());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.write_all(b"not json\n{\"at\":\"x\",\"event\":\"resumed\",\"by\":\"me\"}\n")
        .unwrap();
    let e = shipgate_deploy::read_journal(&path).unwrap_err();
    assert!(
        e.to_string().ends_with("d1.jsonl:2: not a journal record"),
        "{e}"
    );
}
