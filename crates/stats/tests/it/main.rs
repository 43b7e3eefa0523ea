//! Integration tests for shipgate-stats: exact merge, serialization, percentile
//! precision, thresholds, baseline comparison.

mod baseline;
mod merge;
mod precision;
mod serialization;
mod threshold;

use std::time::Duration;

use proptest::prelude::*;
use shipgate_stats::{FailureKind, Sample};

/// A random sample: completes within 20 s, latency 0–5 s (a few past the hour range),
/// sometimes corrected, sometimes failed.
pub(crate) fn sample() -> impl Strategy<Value = Sample> {
    (
        0u64..20_000_000,
        prop_oneof![9 => 0u64..5_000_000, 1 => 3_500_000_000u64..4_000_000_000],
        proptest::option::of(0u64..2_000_000),
        prop_oneof![
            Just(Some(200u16)),
            Just(Some(302)),
            Just(Some(404)),
            Just(Some(503)),
            Just(None)
        ],
        proptest::option::of(0usize..7),
        0u64..10_000,
    )
        .prop_map(|(at, lat, extra, status, failure, bytes)| Sample {
            at: Duration::from_micros(at),
            latency: Duration::from_micros(lat),
            from_intended: extra.map(|e| Duration::from_micros(lat + e)),
            status,
            failure: failure.map(|i| FailureKind::ALL[i]),
            bytes_sent: bytes / 3,
            bytes_received: bytes,
        })
}
