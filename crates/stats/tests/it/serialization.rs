use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use shipgate_stats::{
    ErrorKind, LatencyHistogram, Recorder, Sample, Snapshot, read_interval_log, write_interval_log,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn snapshot_json_round_trips(samples in proptest::collection::vec((0usize..3, crate::sample()), 0..400)) {
        let mut r = Recorder::new();
        for (name, s) in &samples {
            let id = r.endpoint(["a", "b", "c"][*name]);
            r.record(id, s);
        }
        let snapshot = r.snapshot();
        let json = snapshot.to_json().unwrap();
        prop_assert_eq!(Snapshot::from_json(&json).unwrap(), snapshot);
    }

    #[test]
    fn v2_compressed_encoding_round_trips(values in proptest::collection::vec(0u64..4_000_000_000, 0..1000)) {
        let mut h = LatencyHistogram::new();
        values.iter().for_each(|&v| h.record_us(v));
        let min = h.min().map_or(0, |d| d.as_micros() as u64);
        let max = h.max().map_or(0, |d| d.as_micros() as u64);
        let back = LatencyHistogram::from_base64(&h.to_base64().unwrap(), min, max).unwrap();
        prop_assert_eq!(back, h);
    }
}

/// The encoding is HdrHistogram's cross-language "V2 compressed" format, which the
/// Java, Go, C and Python implementations read: the cookie is the V2 compressed base
/// 0x1c849304 with the word-size bits 0x10, then a deflated V2 payload.
#[test]
fn encodes_the_standard_v2_compressed_format() {
    let mut h = LatencyHistogram::new();
    [1, 2, 3, 1000].into_iter().for_each(|v| h.record_us(v));
    let encoded = h.to_base64().unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&encoded)
        .unwrap();
    assert_eq!(
        &bytes[..4],
        &[0x1c, 0x84, 0x93, 0x14],
        "V2 compressed cookie"
    );
    let back = LatencyHistogram::from_base64(&encoded, 1, 1000).unwrap();
    assert_eq!(back.count(), 4);
    assert_eq!(back.percentile(50.0), Some(Duration::from_micros(2)));
}

#[test]
fn a_snapshot_of_another_schema_is_refused() {
    let json = Recorder::new()
        .snapshot()
        .to_json()
        .unwrap()
        .replace("shipgate.stats/v1", "shipgate.stats/v9");
    assert_eq!(
        Snapshot::from_json(&json).unwrap_err().kind(),
        ErrorKind::Schema
    );
    assert_eq!(
        Snapshot::from_json("{").unwrap_err().kind(),
        ErrorKind::Decode
    );
}

#[test]
fn interval_log_round_trips_per_second_histograms() {
    let mut r = Recorder::new();
    let id = r.endpoint("GET /");
    for i in 0..3000u64 {
        r.record(
            id,
            &Sample::ok(
                Duration::from_millis(i),
                Duration::from_micros(500 + i * 10),
                200,
            ),
        );
    }
    let snapshot = r.snapshot();
    let mut log = Vec::new();
    write_interval_log(
        snapshot.series(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        &mut log,
    )
    .unwrap();
    let text = String::from_utf8(log.clone()).unwrap();
    assert!(text.contains("#[StartTime: 1700000000"), "{text}");
    let intervals = read_interval_log(&log).unwrap();
    assert_eq!(intervals.len(), 3);
    for (i, (start, h)) in intervals.iter().enumerate() {
        assert_eq!(*start, Duration::from_secs(i as u64));
        let second = &snapshot.series().intervals()[i];
        assert_eq!(h.count(), second.requests);
        assert_eq!(h.percentile(99.0), second.percentile(99.0));
    }
}
