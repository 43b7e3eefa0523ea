use std::time::Duration;

use shipgate_stats::{
    BaselineVerdict, CompareConfig, LatencyHistogram, Recorder, Sample, compare, compare_snapshots,
};

/// Deterministic log-normal-ish latencies around `median_us`.
fn latencies(n: usize, median_us: f64, seed: u64) -> LatencyHistogram {
    let mut x = seed | 1;
    let mut h = LatencyHistogram::new();
    for _ in 0..n {
        let mut u = 0.0;
        for _ in 0..6 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            u += (x % 1_000_000) as f64 / 1_000_000.0;
        }
        // Sum of 6 uniforms: roughly normal, mean 3, sd ~0.7.
        h.record_us((median_us * ((u - 3.0) * 0.3).exp()) as u64);
    }
    h
}

#[test]
fn the_same_distribution_is_judged_the_same() {
    let c = compare(
        &latencies(2000, 50_000.0, 1),
        &latencies(2000, 50_000.0, 2),
        &CompareConfig::default(),
    );
    assert_eq!(c.verdict, BaselineVerdict::Same, "{c:?}");
    assert!(c.p_value > 0.05, "{c:?}");
}

#[test]
fn a_slower_candidate_is_higher_and_a_faster_one_lower() {
    let base = latencies(2000, 50_000.0, 1);
    let slow = compare(
        &base,
        &latencies(2000, 65_000.0, 2),
        &CompareConfig::default(),
    );
    assert_eq!(slow.verdict, BaselineVerdict::Higher, "{slow:?}");
    assert!(slow.confidence > 0.999, "{slow:?}");
    assert!((slow.relative_change - 0.30).abs() < 0.05, "{slow:?}");
    let fast = compare(
        &base,
        &latencies(2000, 35_000.0, 3),
        &CompareConfig::default(),
    );
    assert_eq!(fast.verdict, BaselineVerdict::Lower, "{fast:?}");
}

#[test]
fn a_significant_shift_within_tolerance_is_the_same() {
    // 4% slower with 50,000 samples a side: statistically certain, but inside ±10%.
    let c = compare(
        &latencies(50_000, 50_000.0, 1),
        &latencies(50_000, 52_000.0, 2),
        &CompareConfig::default(),
    );
    assert!(c.p_value < 0.001, "{c:?}");
    assert_eq!(c.verdict, BaselineVerdict::Same, "{c:?}");
    let strict = CompareConfig {
        tolerance: 0.01,
        ..CompareConfig::default()
    };
    assert_eq!(
        compare(
            &latencies(50_000, 50_000.0, 1),
            &latencies(50_000, 52_000.0, 2),
            &strict
        )
        .verdict,
        BaselineVerdict::Higher
    );
}

#[test]
fn too_few_samples_is_insufficient_data_never_a_pass() {
    let c = compare(
        &latencies(20, 50_000.0, 1),
        &latencies(5000, 500_000.0, 2),
        &CompareConfig::default(),
    );
    assert_eq!(c.verdict, BaselineVerdict::InsufficientData);
    assert_eq!(c.samples, (20, 5000));
    let empty = compare(
        &LatencyHistogram::new(),
        &LatencyHistogram::new(),
        &CompareConfig::default(),
    );
    assert_eq!(empty.verdict, BaselineVerdict::InsufficientData);
}

#[test]
fn snapshots_compare_per_request_name() {
    let record = |scale: u64| {
        let mut r = Recorder::new();
        let a = r.endpoint("GET /");
        let b = r.endpoint("GET /search");
        for i in 0..500u64 {
            let at = Duration::from_millis(i);
            r.record(
                a,
                &Sample::ok(at, Duration::from_micros(10_000 + (i * 37) % 2_000), 200),
            );
            r.record(
                b,
                &Sample::ok(
                    at,
                    Duration::from_micros(scale * (20_000 + (i * 53) % 4_000)),
                    200,
                ),
            );
        }
        r.snapshot()
    };
    let results = compare_snapshots(&record(1), &record(2), &CompareConfig::default());
    let verdict = |name: &str| results.iter().find(|(n, _)| n == name).unwrap().1.verdict;
    assert_eq!(verdict("GET /"), BaselineVerdict::Same);
    assert_eq!(verdict("GET /search"), BaselineVerdict::Higher);
}
