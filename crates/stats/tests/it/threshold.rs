use std::time::Duration;

use proptest::prelude::*;
use shipgate_stats::{
    FailureKind, LatencyStat, Metric, Op, Recorder, Sample, Snapshot, Threshold, Value,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn valid_expressions_parse_into_typed_thresholds() {
    let lat = |stat, corrected| Metric::Latency { stat, corrected };
    let table: Vec<(&str, Option<&str>, Metric, Op, Value)> = vec![
        (
            "p95 < 500ms",
            None,
            lat(LatencyStat::Percentile(95.0), false),
            Op::Lt,
            Value::Duration(ms(500)),
        ),
        (
            "p(99.9) <= 1s",
            None,
            lat(LatencyStat::Percentile(99.9), false),
            Op::Le,
            Value::Duration(ms(1000)),
        ),
        (
            "p99.99<2s",
            None,
            lat(LatencyStat::Percentile(99.99), false),
            Op::Lt,
            Value::Duration(ms(2000)),
        ),
        (
            "avg <= 2s",
            None,
            lat(LatencyStat::Mean, false),
            Op::Le,
            Value::Duration(ms(2000)),
        ),
        (
            "med < 200ms",
            None,
            lat(LatencyStat::Percentile(50.0), false),
            Op::Lt,
            Value::Duration(ms(200)),
        ),
        (
            "max < 5s",
            None,
            lat(LatencyStat::Max, false),
            Op::Lt,
            Value::Duration(ms(5000)),
        ),
        (
            "min >= 250us",
            None,
            lat(LatencyStat::Min, false),
            Op::Ge,
            Value::Duration(Duration::from_micros(250)),
        ),
        (
            "corrected.p99 < 1.5s",
            None,
            lat(LatencyStat::Percentile(99.0), true),
            Op::Lt,
            Value::Duration(ms(1500)),
        ),
        (
            "error_rate < 1%",
            None,
            Metric::ErrorRate,
            Op::Lt,
            Value::Ratio(0.01),
        ),
        (
            "failure_rate <= 0.05",
            None,
            Metric::ErrorRate,
            Op::Le,
            Value::Ratio(0.05),
        ),
        (
            "success_rate >= 99%",
            None,
            Metric::SuccessRate,
            Op::Ge,
            Value::Ratio(0.99),
        ),
        ("rps > 100", None, Metric::Rps, Op::Gt, Value::Number(100.0)),
        (
            "failures == 0",
            None,
            Metric::Failures,
            Op::Eq,
            Value::Number(0.0),
        ),
        (
            "requests != 0",
            None,
            Metric::Requests,
            Op::Ne,
            Value::Number(0.0),
        ),
        (
            r#""GET /api/v1/search": p95 < 300ms"#,
            Some("GET /api/v1/search"),
            lat(LatencyStat::Percentile(95.0), false),
            Op::Lt,
            Value::Duration(ms(300)),
        ),
        (
            r#"  "say \"hi\"" :rps>1  "#,
            Some("say \"hi\""),
            Metric::Rps,
            Op::Gt,
            Value::Number(1.0),
        ),
    ];
    for (text, scope, metric, op, limit) in table {
        let t: Threshold = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(t.scope.as_deref(), scope, "{text}");
        assert_eq!(t.metric, metric, "{text}");
        assert_eq!(t.op, op, "{text}");
        assert_eq!(t.limit, limit, "{text}");
        assert_eq!(t.to_string(), text.trim());
    }
}

#[test]
fn invalid_expressions_point_at_the_offending_position() {
    // (expression, 1-based column of the error, a word of what was expected)
    let table = [
        ("", 1, "metric"),
        ("p95", 4, "comparison"),
        ("p95 <", 6, "number"),
        ("p95 < 500", 10, "time unit"),
        ("p95 < 500kg", 10, "time unit"),
        ("p95 < 500ms extra", 13, "end of the expression"),
        ("q95 < 1s", 1, "metric"),
        ("p0 < 1s", 2, "percentile"),
        ("p101 < 1s", 2, "percentile"),
        ("p(99.9 < 1s", 7, "`)`"),
        ("p() < 1s", 3, "percentile"),
        ("error_rate < 150%", 14, "percentage"),
        ("error_rate < 5", 14, "percentage"),
        ("error_rate < 5ms", 15, "`%`"),
        ("rps > 100/s", 10, "end of the expression"),
        ("rps > 100rps", 10, "plain number"),
        ("corrected.rps > 1", 1, "latency metric"),
        ("p95 =< 1s", 5, "comparison"),
        (r#""GET /x p95 < 1s"#, 1, "closing"),
        (r#""" : p95 < 1s"#, 1, "request name"),
        (r#""GET /x" p95 < 1s"#, 10, "`:`"),
        ("p95 ≤ 1s", 5, "comparison"),
    ];
    for (text, column, expected) in table {
        let err = text.parse::<Threshold>().expect_err(text);
        assert_eq!(err.column, column, "{text:?}: {err}");
        assert!(
            err.expected.contains(expected),
            "{text:?}: expected {:?}, wanted {expected:?}",
            err.expected
        );
        // The rendered error shows the caret under the column.
        let caret_line = err.to_string().lines().last().unwrap().to_owned();
        assert_eq!(caret_line.chars().count(), column + 2, "{text:?}: {err}");
    }
}

fn run() -> Snapshot {
    // 100 requests of 1..=100 ms over 10 s; 3 failed; a slow search endpoint.
    let mut r = Recorder::new();
    let home = r.endpoint("GET /");
    let search = r.endpoint("GET /search");
    for i in 1..=100u64 {
        let s = if i % 34 == 0 {
            Sample::failed(ms(i * 100), ms(i), FailureKind::HttpStatus)
        } else {
            Sample::ok(ms(i * 100), ms(i), 200)
        };
        r.record(home, &s);
    }
    r.record(search, &Sample::ok(ms(500), ms(900), 200));
    r.snapshot()
}

#[test]
fn evaluation_reports_actual_values_and_verdicts() {
    let run = run();
    let check = |text: &str| text.parse::<Threshold>().unwrap().evaluate(&run);

    let p95 = check(r#""GET /": p95 < 96ms"#);
    assert!(p95.passed, "{p95:?}");
    let actual = match p95.actual {
        Some(Value::Duration(d)) => d,
        other => panic!("{other:?}"),
    };
    assert!(
        actual >= ms(95) && actual <= ms(95) + Duration::from_micros(95),
        "{actual:?}"
    );
    assert!(!check(r#""GET /": p95 < 95ms"#).passed);

    assert!(check(r#""GET /": max == 100ms"#).passed, "max is exact");
    assert!(check(r#""GET /": min == 1ms"#).passed, "min is exact");
    assert!(check("max < 1s").passed);
    assert!(
        !check("max < 900ms").passed,
        "the aggregate includes the slow search"
    );

    let rate = check(r#""GET /": error_rate < 5%"#);
    assert_eq!(rate.actual, Some(Value::Ratio(0.02)));
    assert!(rate.passed);
    assert!(!check(r#""GET /": error_rate < 2%"#).passed);
    assert!(check(r#""GET /": success_rate >= 98%"#).passed);
    assert!(check("failures == 2").passed);
    assert!(check("requests == 101").passed);
    assert!(check("rps > 10").passed, "101 requests in 10 s");
    assert!(!check("rps > 10.2").passed);
}

#[test]
fn missing_data_never_passes() {
    let run = run();
    let e = r#""GET /nope": p95 < 1h"#.parse::<Threshold>().unwrap().evaluate(&run);
    assert!(!e.passed);
    assert_eq!(e.actual, None);
    assert!(e.note.unwrap().contains("GET /nope"));
    let empty = Recorder::new().snapshot();
    for text in ["error_rate < 100%", "p50 < 1h", "rps >= 0"] {
        let e = text.parse::<Threshold>().unwrap().evaluate(&empty);
        assert!(!e.passed, "{text} on an empty run");
    }
}

#[test]
fn values_display_in_their_units() {
    assert_eq!(Value::Duration(ms(1500)).to_string(), "1.5s");
    assert_eq!(Value::Duration(ms(95)).to_string(), "95ms");
    assert_eq!(
        Value::Duration(Duration::from_micros(250)).to_string(),
        "250µs"
    );
    assert_eq!(Value::Ratio(0.0125).to_string(), "1.25%");
    assert_eq!(Value::Number(100.0).to_string(), "100");
}

proptest! {
    // CI-length fuzzing: random strings, and valid expressions with random edits.
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn parsing_never_panics_on_arbitrary_text(text in "[ -~µ≤\"\\\\]{0,40}") {
        if let Err(e) = text.parse::<Threshold>() {
            prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1);
        }
    }

    #[test]
    fn parsing_never_panics_on_edited_valid_expressions(
        base in prop_oneof![
            Just(r#""GET /api": p(99.9) <= 1.5s"#), Just("error_rate < 1%"), Just("corrected.p99 < 2s"), Just("rps > 100")
        ],
        at in 0usize..30,
        insert in "[ -~µ]{0,3}",
        delete in 0usize..4,
    ) {
        let chars: Vec<char> = base.chars().collect();
        let at = at.min(chars.len());
        let end = (at + delete).min(chars.len());
        let text: String = chars[..at].iter().chain(insert.chars().collect::<Vec<_>>().iter()).chain(chars[end..].iter()).collect();
        if let Err(e) = text.parse::<Threshold>() {
            prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1);
        }
    }
}

#[test]
fn a_duration_too_long_for_any_clock_is_a_parse_error_not_a_panic() {
    // Found by `cargo xtask fuzz threshold` (fixtures/fuzz/threshold/regression-duration-overflow).
    let text = format!("p9>1{}m", "0".repeat(68));
    let e = text.parse::<Threshold>().unwrap_err();
    assert!(e.to_string().contains("a duration that fits"), "{e}");
    assert!("p95 < 500ms".parse::<Threshold>().is_ok());
}
