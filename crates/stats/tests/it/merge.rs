use proptest::prelude::*;
use shipgate_stats::{Recorder, Sample, Snapshot};

const NAMES: [&str; 3] = ["GET /", "GET /search", "POST /login"];

fn record_all(samples: &[(usize, Sample)]) -> Snapshot {
    let mut r = Recorder::new();
    for (name, s) in samples {
        let id = r.endpoint(NAMES[*name]);
        r.record(id, s);
    }
    r.snapshot()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any split of the samples over any number of recorders, merged in any order,
    /// gives exactly the snapshot of one recorder that saw them all.
    #[test]
    fn merging_any_split_equals_one_recorder(
        samples in proptest::collection::vec((0usize..3, crate::sample()), 0..600),
        parts in 1usize..7,
        assignment in proptest::collection::vec(0usize..7, 600),
        order_seed in any::<u64>(),
    ) {
        let whole = record_all(&samples);
        let mut split: Vec<Vec<(usize, Sample)>> = vec![Vec::new(); parts];
        for (i, s) in samples.iter().enumerate() {
            split[assignment[i] % parts].push(*s);
        }
        let mut snapshots: Vec<Snapshot> = split.iter().map(|p| record_all(p)).collect();
        // A deterministic shuffle of the merge order.
        let n = snapshots.len();
        for i in (1..n).rev() {
            snapshots.swap(i, (order_seed as usize).wrapping_mul(31).wrapping_add(i) % (i + 1));
        }
        let mut merged = Snapshot::empty();
        for s in &snapshots {
            merged.merge(s);
        }
        prop_assert_eq!(&merged.aggregate(), &whole.aggregate());
        prop_assert_eq!(merged, whole);
    }

    #[test]
    fn merge_is_associative_and_commutative(
        a in proptest::collection::vec((0usize..3, crate::sample()), 0..200),
        b in proptest::collection::vec((0usize..3, crate::sample()), 0..200),
        c in proptest::collection::vec((0usize..3, crate::sample()), 0..200),
    ) {
        let (a, b, c) = (record_all(&a), record_all(&b), record_all(&c));
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        prop_assert_eq!(&ab, &ba);

        let mut ab_c = ab.clone();
        ab_c.merge(&c);
        let mut bc = b.clone();
        bc.merge(&c);
        let mut a_bc = a.clone();
        a_bc.merge(&bc);
        prop_assert_eq!(ab_c, a_bc);
    }
}

#[test]
fn counts_by_status_class_and_failure_kind_add_up() {
    use shipgate_stats::FailureKind;
    use std::time::Duration;
    let ms = Duration::from_millis;
    let mut r = Recorder::new();
    let id = r.endpoint("GET /");
    r.record(id, &Sample::ok(ms(1), ms(5), 200));
    r.record(id, &Sample::ok(ms(2), ms(5), 204));
    r.record(
        id,
        &Sample {
            status: Some(503),
            failure: Some(FailureKind::HttpStatus),
            ..Sample::ok(ms(3), ms(9), 503)
        },
    );
    r.record(id, &Sample::failed(ms(4), ms(1000), FailureKind::Timeout));
    r.record(id, &Sample::failed(ms(1500), ms(1), FailureKind::Connect));
    r.set_users(ms(10), 50);
    let s = r.snapshot();
    let e = &s.endpoints()["GET /"];
    assert_eq!(e.status_classes, [2, 0, 2, 0, 0, 1]);
    assert_eq!(e.failed(), 3);
    assert_eq!(e.failures_of(FailureKind::Timeout), 1);
    assert_eq!(e.failures_of(FailureKind::Connect), 1);
    let series = s.series().intervals();
    assert_eq!(series.len(), 2);
    assert_eq!(
        (series[0].requests, series[0].failures, series[0].users),
        (4, 2, 50)
    );
    assert_eq!((series[1].requests, series[1].failures), (1, 1));
    assert_eq!(s.elapsed(), ms(1500));
}

#[test]
fn open_model_samples_keep_both_latencies() {
    use std::time::Duration;
    let ms = Duration::from_millis;
    let mut r = Recorder::new();
    let id = r.endpoint("GET /");
    // Sent 400 ms late because the target stalled: served in 10 ms, but 410 ms after it was due.
    r.record(
        id,
        &Sample {
            from_intended: Some(ms(410)),
            ..Sample::ok(ms(500), ms(10), 200)
        },
    );
    r.record(id, &Sample::ok(ms(600), ms(12), 200));
    let e = r.snapshot().endpoints()["GET /"].clone();
    assert_eq!(e.latency.max(), Some(ms(12)));
    assert_eq!(e.corrected.max(), Some(ms(410)));
    assert_eq!(
        e.corrected.min(),
        Some(ms(12)),
        "closed-model samples count the same in both"
    );
}

#[test]
fn recent_reads_totals_and_only_the_last_seconds() {
    use shipgate_stats::{FailureKind, Recent};
    use std::time::Duration;
    let ms = Duration::from_millis;
    // Second s has latencies of (s + 1) × 10 ms; the last second is still recording.
    let mut a = Recorder::new();
    let id = a.endpoint("GET /");
    for second in 0..10u64 {
        for i in 0..10 {
            let at = ms(second * 1000 + i * 50);
            a.record(id, &Sample::ok(at, ms((second + 1) * 10), 200));
        }
    }
    a.record(id, &Sample::failed(ms(9_900), ms(1), FailureKind::Reset));
    let recent = a.recent(2);
    assert_eq!((recent.requests, recent.failures), (101, 1));
    // Seconds 8 and 9 only: 90 ms and 100 ms, and the 1 ms failure.
    assert_eq!(recent.latency.count(), 21);
    let p = |q: f64| recent.latency.percentile(q).unwrap();
    assert!(p(10.0) >= ms(89) && p(10.0) <= ms(91), "{:?}", p(10.0));
    assert!(p(95.0) >= ms(99) && p(95.0) <= ms(101), "{:?}", p(95.0));
    // The same as the whole snapshot's last two seconds, and two workers add up.
    let tail = a.snapshot().series().intervals()[8..]
        .iter()
        .map(|i| i.requests)
        .sum::<u64>();
    assert_eq!(tail, 21);
    let mut both = Recent::default();
    both.merge(&recent);
    both.merge(&a.recent(2));
    assert_eq!((both.requests, both.failures), (202, 2));
}
