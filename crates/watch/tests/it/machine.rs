//! The state machine, fed samples at chosen times: no clock, no sleeps.

use std::time::{Duration, SystemTime};

use shipgate_notify::Severity;
use shipgate_watch::{
    AlertState, Evaluator, Missing, Reading, Sample, Status, Transition, WatchConfig,
};

fn config(rule: &str) -> WatchConfig {
    let text = format!(
        "sources.prom = {{ type = \"prometheus\", url = \"http://127.0.0.1:1\", queries = {{ error_rate = \"x\", p95 = \"y\" }} }}\n[[rules]]\n{rule}"
    );
    let c: WatchConfig = toml::from_str(&text).unwrap();
    c.validate().unwrap();
    c
}

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn sample(at: u64, field: &str, reading: Reading) -> Sample {
    Sample {
        source: "prom".into(),
        at: t(at),
        took: Duration::from_millis(5),
        readings: [(field.to_owned(), reading)].into(),
    }
}

/// Feeds `values` at `every` seconds from 0; returns `(at, transition)` pairs.
fn run(
    eval: &mut Evaluator,
    field: &str,
    every: u64,
    values: &[Option<f64>],
) -> Vec<(u64, Transition)> {
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let at = i as u64 * every;
        let reading = v.map_or_else(
            || Reading::none(Missing::Empty, "no series"),
            Reading::Value,
        );
        for c in eval.observe(&sample(at, field, reading), false) {
            out.push((at, c.transition));
        }
    }
    out
}

#[test]
fn pending_then_firing_after_exactly_for_then_resolved() {
    let mut eval = Evaluator::new(&config(
        "name = \"errors\"\nsource = \"prom\"\nwhen = \"error_rate > 5%\"\nfor = \"2m\"",
    ));
    let v = |x: f64| Some(x);
    let seen = run(
        &mut eval,
        "error_rate",
        30,
        &[
            v(0.01),
            v(0.1),
            v(0.1),
            v(0.1),
            v(0.1),
            v(0.1),
            v(0.02),
            v(0.02),
        ],
    );
    // true from t=30; fires at t=150 (30 + 120), resolves on the first clear sample.
    assert_eq!(
        seen,
        vec![
            (30, Transition::Pending),
            (150, Transition::Fired),
            (180, Transition::Resolved)
        ]
    );
    assert_eq!(eval.stats("errors").unwrap().fired, 1);
    assert_eq!(eval.stats("errors").unwrap().worst, Some(0.1));
}

#[test]
fn flapping_never_fires_because_each_clear_sample_restarts_for() {
    let mut eval = Evaluator::new(&config(
        "name = \"errors\"\nsource = \"prom\"\nwhen = \"error_rate > 5%\"\nfor = \"1m\"",
    ));
    let values: Vec<Option<f64>> = (0..20)
        .map(|i| Some(if i % 2 == 0 { 0.2 } else { 0.0 }))
        .collect();
    let seen = run(&mut eval, "error_rate", 20, &values);
    assert!(
        seen.iter()
            .all(|(_, t)| matches!(t, Transition::Pending | Transition::Cleared)),
        "{seen:?}"
    );
    assert_eq!(seen.len(), 20, "pending and cleared each time: {seen:?}");
    assert_eq!(eval.stats("errors").unwrap().fired, 0);
}

#[test]
fn keep_firing_for_holds_a_firing_alert_through_short_gaps() {
    let mut eval = Evaluator::new(&config(
        "name = \"errors\"\nsource = \"prom\"\nwhen = \"error_rate > 5%\"\nkeep_firing_for = \"1m\"",
    ));
    let v = |x: f64| Some(x);
    // fires at once (no `for`), stays through 40 s of clear samples, resolves after 60 s.
    let seen = run(
        &mut eval,
        "error_rate",
        20,
        &[
            v(0.2),
            v(0.0),
            v(0.0),
            v(0.3),
            v(0.0),
            v(0.0),
            v(0.0),
            v(0.0),
        ],
    );
    assert_eq!(
        seen,
        vec![(0, Transition::Fired), (120, Transition::Resolved)]
    );
}

#[test]
fn consecutive_counts_samples_in_a_row() {
    let mut eval = Evaluator::new(&config(
        "name = \"slow\"\nsource = \"prom\"\nwhen = \"p95 > 500ms\"\nconsecutive = 3",
    ));
    let v = |x: f64| Some(x);
    let seen = run(
        &mut eval,
        "p95",
        5,
        &[v(0.9), v(0.9), v(0.1), v(0.9), v(0.9), v(0.9)],
    );
    assert_eq!(
        seen,
        vec![
            (0, Transition::Pending),
            (10, Transition::Cleared),
            (15, Transition::Pending),
            (25, Transition::Fired)
        ]
    );
}

#[test]
fn severities_are_separate_alerts_and_only_the_top_one_rolls_back() {
    let mut eval = Evaluator::new(&config(
        "name = \"latency\"\nsource = \"prom\"\nwarning = \"p95 > 500ms\"\ncritical = \"p95 > 1s\"\naction = \"rollback\"",
    ));
    let warn = eval.observe(&sample(0, "p95", Reading::Value(0.7)), false);
    assert_eq!(warn.len(), 1);
    assert_eq!(
        (warn[0].severity, warn[0].transition, warn[0].rollback),
        (Severity::Warning, Transition::Fired, false)
    );
    let crit = eval.observe(&sample(10, "p95", Reading::Value(1.5)), false);
    assert_eq!(crit.len(), 1);
    assert_eq!(
        (crit[0].severity, crit[0].rollback),
        (Severity::Critical, true)
    );
    assert_eq!(eval.firing().len(), 2);
}

#[test]
fn no_data_is_never_a_pass_unless_the_rule_says_so() {
    let none = || Reading::none(Missing::Error, "Prometheus: bad_data");
    // rollback rules: missing data counts as the condition holding.
    let mut eval = Evaluator::new(&config(
        "name = \"errors\"\nsource = \"prom\"\nwhen = \"error_rate > 5%\"\nconsecutive = 2\naction = \"rollback\"",
    ));
    eval.observe(&sample(0, "error_rate", none()), false);
    let fired = eval.observe(&sample(10, "error_rate", none()), false);
    assert!(fired[0].rollback && fired[0].value.is_none(), "{fired:?}");
    // keep: nothing moves, but the samples count as without data.
    let mut eval = Evaluator::new(&config(
        "name = \"errors\"\nsource = \"prom\"\nwhen = \"error_rate > 5%\"\nno_data = \"keep\"",
    ));
    eval.observe(&sample(0, "error_rate", Reading::Value(0.2)), false);
    assert!(
        eval.observe(&sample(10, "error_rate", none()), false)
            .is_empty()
    );
    assert_eq!(
        eval.alert("errors", Severity::Warning).unwrap().state,
        AlertState::Firing
    );
    let stats = eval.stats("errors").unwrap();
    assert_eq!((stats.samples, stats.with_data, stats.no_data), (2, 1, 1));
    // ok: as Prometheus does, an absence clears.
    let mut eval = Evaluator::new(&config(
        "name = \"errors\"\nsource = \"prom\"\nwhen = \"error_rate > 5%\"\nno_data = \"ok\"",
    ));
    eval.observe(&sample(0, "error_rate", Reading::Value(0.2)), false);
    let resolved = eval.observe(&sample(10, "error_rate", none()), false);
    assert_eq!(resolved[0].transition, Transition::Resolved);
}

#[test]
fn a_restarted_watcher_takes_its_alerts_from_the_status_file() {
    let cfg =
        config("name = \"errors\"\nsource = \"prom\"\nwhen = \"error_rate > 5%\"\nfor = \"2m\"");
    let mut first = Evaluator::new(&cfg);
    run(
        &mut first,
        "error_rate",
        30,
        &[Some(0.2), Some(0.2), Some(0.2)],
    );
    assert_eq!(
        first.alert("errors", Severity::Warning).unwrap().state,
        AlertState::Pending
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    Status::of(&first, "production", t(0), t(60), None)
        .write(&path)
        .unwrap();

    let mut second = Evaluator::new(&cfg);
    second.restore(Status::read(&path).unwrap().unwrap().alerts());
    // The `for` counts from t=0, before the restart: firing at t=120, not t=240.
    let fired = second.observe(&sample(120, "error_rate", Reading::Value(0.2)), false);
    assert_eq!(fired[0].transition, Transition::Fired);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(json["schema"], "shipgate.watch-status/v1");
    assert_eq!(json["rules"][0]["alerts"][0]["state"], "pending");
    assert_eq!(json["rules"][0]["samples"], 3);
}

#[test]
fn a_muted_sample_moves_nothing_and_a_mute_restarts_pending_alerts() {
    let mut eval = Evaluator::new(&config(
        "name = \"errors\"\nsource = \"prom\"\nwhen = \"error_rate > 5%\"\nfor = \"1m\"",
    ));
    eval.observe(&sample(0, "error_rate", Reading::Value(0.5)), false);
    let cleared = eval.mute_began(t(10));
    assert_eq!(cleared[0].transition, Transition::Cleared);
    for at in [20, 40, 80, 100] {
        assert!(
            eval.observe(&sample(at, "error_rate", Reading::Value(0.5)), true)
                .is_empty()
        );
    }
    // After the mute, the `for` starts from the first sample evaluated.
    let seen: Vec<Transition> = [110, 150, 170]
        .iter()
        .flat_map(|at| eval.observe(&sample(*at, "error_rate", Reading::Value(0.5)), false))
        .map(|c| c.transition)
        .collect();
    assert_eq!(seen, vec![Transition::Pending, Transition::Fired]);
}

#[test]
fn bad_rules_are_refused_with_what_is_wrong() {
    let text = "sources.api = { type = \"http\", url = \"http://x\" }\n[[rules]]\nname = \"r\"\nsource = \"api\"\nwhen = \"error_rate > 5%\"";
    let c: WatchConfig = toml::from_str(text).unwrap();
    let e = c.validate().unwrap_err().to_string();
    assert!(
        e.contains("`error_rate` , which") || e.contains("reads `error_rate`"),
        "{e}"
    );
    assert!(e.contains("it gives: status, latency, up"), "{e}");
    let e = toml::from_str::<WatchConfig>(
        "sources.api = { type = \"http\", url = \"http://x\" }\n[[rules]]\nname = \"r\"\nsource = \"api\"\nwhen = \"status ~ 200\"",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 5") || e.contains("5 |"), "{e}");
    assert!(e.contains("expected one of >"), "{e}");
}
