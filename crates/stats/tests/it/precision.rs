use std::time::Duration;

use proptest::prelude::*;
use shipgate_stats::{LatencyHistogram, PERCENTILES, Recorder, Sample};

/// Nearest-rank percentile of sorted values.
fn reference(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Every percentile is at least the true one and at most 0.1% (one bucket) above
    /// it, never above the exact max; min and max are exact.
    #[test]
    fn percentiles_agree_with_a_sorted_reference(values in proptest::collection::vec(1u64..3_600_000_000, 1..2000)) {
        let mut h = LatencyHistogram::new();
        for &v in &values {
            h.record_us(v);
        }
        let mut sorted = values.clone();
        sorted.sort_unstable();
        prop_assert_eq!(h.min(), Some(Duration::from_micros(sorted[0])));
        prop_assert_eq!(h.max(), Some(Duration::from_micros(*sorted.last().unwrap())));
        for p in PERCENTILES.iter().copied().chain([0.1, 12.5, 33.3, 99.999]) {
            let want = reference(&sorted, p);
            let got = h.percentile(p).unwrap().as_micros() as u64;
            prop_assert!(got >= want && got <= want + want / 1000 + 1, "p{}: got {} want {}", p, got, want);
        }
    }

    /// Per-second percentiles are within 1% of the true ones (the series' precision),
    /// and the compact form gives exactly what its full histogram gives.
    #[test]
    fn per_second_percentiles_are_within_one_percent(values in proptest::collection::vec(1u64..10_000_000, 1..1500)) {
        let mut r = Recorder::new();
        let id = r.endpoint("x");
        for &v in &values {
            r.record(id, &Sample::ok(Duration::from_millis(500), Duration::from_micros(v), 200));
        }
        let snapshot = r.snapshot();
        let second = &snapshot.series().intervals()[0];
        let full = second.latency.to_histogram();
        let mut sorted = values.clone();
        sorted.sort_unstable();
        for p in PERCENTILES {
            prop_assert_eq!(second.percentile(p), full.percentile(p), "p{}", p);
            let want = reference(&sorted, p);
            let got = second.percentile(p).unwrap().as_micros() as u64;
            prop_assert!(got >= want && got <= want + want / 100 + 1, "p{}: got {} want {}", p, got, want);
        }
    }
}

#[test]
fn memory_grows_with_seconds_not_requests() {
    // The same 20 s with 4x the requests, spread over 1-400 ms: the series' size is
    // bounded by the number of distinct 1% buckets, not by the requests.
    let buckets = |requests: u64| {
        let mut r = Recorder::new();
        let id = r.endpoint("GET /");
        let step = 20_000_000 / requests;
        for i in 0..requests {
            let at = Duration::from_micros(i * step);
            r.record(
                id,
                &Sample::ok(at, Duration::from_micros(1_000 + (i * 7919) % 400_000), 200),
            );
        }
        let s = r.snapshot();
        let intervals = s.series().intervals();
        assert_eq!(intervals.len(), 20);
        assert_eq!(intervals.iter().map(|i| i.requests).sum::<u64>(), requests);
        intervals
            .iter()
            .map(|i| i.latency.iter().count())
            .sum::<usize>()
    };
    let (small, large) = (buckets(100_000), buckets(400_000));
    assert!(large <= 20 * 3_000, "{large} buckets for 20 seconds");
    assert!(
        (large as f64) < small as f64 * 1.5,
        "{small} -> {large}: grew with the request count"
    );
}
