//! The numbers a person reads: counts, rates, and the percentiles Locust users know.

use std::time::Duration;

use crate::endpoint::EndpointStats;

/// The percentiles every summary reports: Locust's set.
pub const PERCENTILES: [f64; 11] = [
    50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0, 99.9, 99.99, 100.0,
];

/// The name of the row that merges every request name.
pub const AGGREGATED: &str = "Aggregated";

/// Latency statistics of one kind (from the actual send, or from the intended send).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencySummary {
    /// Exact smallest value.
    pub min: Duration,
    /// Exact largest value.
    pub max: Duration,
    /// Mean.
    pub mean: Duration,
    /// Standard deviation.
    pub stdev: Duration,
    /// `(percentile, value)` for each of [`PERCENTILES`].
    pub percentiles: Vec<(f64, Duration)>,
}

impl LatencySummary {
    fn of(h: &crate::LatencyHistogram) -> Option<Self> {
        Some(Self {
            min: h.min()?,
            max: h.max()?,
            mean: h.mean()?,
            stdev: h.stdev()?,
            percentiles: PERCENTILES
                .iter()
                .map(|&p| (p, h.percentile(p).unwrap_or_default()))
                .collect(),
        })
    }

    /// The value at one of [`PERCENTILES`], or any other (computed from the percentile list
    /// only for listed ones; use the histogram for others).
    pub fn at(&self, percentile: f64) -> Option<Duration> {
        self.percentiles
            .iter()
            .find(|(p, _)| (*p - percentile).abs() < 1e-9)
            .map(|(_, v)| *v)
    }
}

/// One request name's (or the aggregate's) summary over a run.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSummary {
    /// The request name, or [`AGGREGATED`].
    pub name: String,
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub failures: u64,
    /// `failures / requests` (0 with no requests).
    pub failure_ratio: f64,
    /// Requests per second over the run.
    pub rps: f64,
    /// Latency from the actual send; `None` with no requests.
    pub latency: Option<LatencySummary>,
    /// Latency from the intended send (coordinated-omission corrected).
    pub corrected: Option<LatencySummary>,
    /// Bytes written.
    pub bytes_sent: u64,
    /// Bytes read.
    pub bytes_received: u64,
    /// The statistics it was computed from (for percentiles not in [`PERCENTILES`]).
    pub stats: EndpointStats,
}

impl EndpointSummary {
    /// Summarizes `stats` over a run of `elapsed`.
    pub fn new(name: &str, stats: &EndpointStats, elapsed: Duration) -> Self {
        let requests = stats.requests();
        let failures = stats.failed();
        let secs = elapsed.as_secs_f64();
        Self {
            name: name.to_owned(),
            requests,
            failures,
            failure_ratio: if requests == 0 {
                0.0
            } else {
                failures as f64 / requests as f64
            },
            rps: if secs > 0.0 {
                requests as f64 / secs
            } else {
                0.0
            },
            latency: LatencySummary::of(&stats.latency),
            corrected: LatencySummary::of(&stats.corrected),
            bytes_sent: stats.bytes_sent,
            bytes_received: stats.bytes_received,
            stats: stats.clone(),
        }
    }
}
