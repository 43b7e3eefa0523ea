//! `cargo xtask bench stats`: the cost of one record call on the hot path, against
//! bare HdrHistogram recording the same values in the same run, and of merging 64
//! recorders' snapshots.

use std::hint::black_box;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use shipgate_stats::{Recorder, Sample, Snapshot};

const SAMPLES: usize = 20_000_000;
const ROUNDS: usize = 5;

/// Latencies like a real run's: mostly 1–50 ms, a tail to 2 s; deterministic.
fn latencies(n: usize) -> Vec<u64> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(100) {
                50_000 + x % 1_950_000
            } else {
                1_000 + x % 49_000
            }
        })
        .collect()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let values = latencies(SAMPLES);
    let mut peer = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..ROUNDS {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        let start = Instant::now();
        for &v in &values {
            h.saturating_record(black_box(v));
        }
        peer.push(start.elapsed().as_nanos() as f64 / SAMPLES as f64);
        black_box(&h);

        let mut recorder = Recorder::new();
        let id = recorder.endpoint("GET /api/v1/search");
        let run = Duration::from_secs(600);
        let step = run.as_nanos() as u64 / SAMPLES as u64;
        let start = Instant::now();
        for (i, &v) in values.iter().enumerate() {
            let sample = Sample::ok(
                Duration::from_nanos(i as u64 * step),
                Duration::from_micros(v),
                200,
            );
            recorder.record(id, black_box(&sample));
        }
        ours.push(start.elapsed().as_nanos() as f64 / SAMPLES as f64);
        black_box(recorder.snapshot());
    }
    let (peer, ours) = (median(peer), median(ours));
    println!(
        "record: shipgate Recorder::record {ours:.1} ns/sample (endpoint histogram, corrected histogram, per-second series, counters)"
    );
    println!(
        "record: bare hdrhistogram::Histogram::saturating_record {peer:.1} ns/value (one histogram)"
    );
    println!(
        "record: ratio shipgate / bare hdrhistogram = {:.2}",
        ours / peer
    );

    // 64 workers, 4 endpoints each, 60 s of samples.
    let snapshots: Vec<Snapshot> = (0..64)
        .map(|w| {
            let mut r = Recorder::new();
            let ids: Vec<_> = ["GET /", "GET /search", "POST /login", "GET /dashboard"]
                .iter()
                .map(|n| r.endpoint(n))
                .collect();
            for (i, &v) in values.iter().skip(w * 10_000).take(100_000).enumerate() {
                let at = Duration::from_micros(i as u64 * 600);
                r.record(ids[i % 4], &Sample::ok(at, Duration::from_micros(v), 200));
            }
            r.snapshot()
        })
        .collect();
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let mut all = Snapshot::empty();
        for s in &snapshots {
            all.merge(s);
        }
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(all.aggregate().requests(), 64 * 100_000);
    }
    println!(
        "merge: 64 recorders x 4 endpoints x 60 s series: {:.1} ms",
        median(times)
    );
}
