//! Statistics of one request name.

use serde::{Deserialize, Serialize};

use crate::histogram::LatencyHistogram;
use crate::sample::{FailureKind, Sample};

/// Counts of responses by status class: `[none, 1xx, 2xx, 3xx, 4xx, 5xx]`
/// (`none`: no response, or a status outside 100–599).
pub type StatusClasses = [u64; 6];

/// Everything recorded for one request name. Merging two is exact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointStats {
    /// Latency from the actual send.
    pub latency: LatencyHistogram,
    /// Latency from the intended send (coordinated-omission corrected); equal to
    /// `latency` for closed-model samples.
    pub corrected: LatencyHistogram,
    /// Responses by status class.
    pub status_classes: StatusClasses,
    /// Failures by kind, indexed like [`FailureKind::ALL`].
    pub failures: [u64; 7],
    /// Bytes written.
    pub bytes_sent: u64,
    /// Bytes read.
    pub bytes_received: u64,
}

impl EndpointStats {
    /// Records one sample.
    #[inline]
    pub fn record(&mut self, sample: &Sample) {
        self.latency.record(sample.latency);
        self.corrected.record(sample.corrected());
        let class = match sample.status {
            Some(s @ 100..=599) => (s / 100) as usize,
            _ => 0,
        };
        self.status_classes[class] += 1;
        if let Some(kind) = sample.failure {
            self.failures[kind.index()] += 1;
        }
        self.bytes_sent += sample.bytes_sent;
        self.bytes_received += sample.bytes_received;
    }

    /// Adds `other`'s counts and histograms.
    pub fn merge(&mut self, other: &EndpointStats) {
        self.latency.merge(&other.latency);
        self.corrected.merge(&other.corrected);
        for (a, b) in self.status_classes.iter_mut().zip(other.status_classes) {
            *a += b;
        }
        for (a, b) in self.failures.iter_mut().zip(other.failures) {
            *a += b;
        }
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
    }

    /// Number of requests.
    pub fn requests(&self) -> u64 {
        self.latency.count()
    }

    /// Number of failed requests.
    pub fn failed(&self) -> u64 {
        self.failures.iter().sum()
    }

    /// Failures of one kind.
    pub fn failures_of(&self, kind: FailureKind) -> u64 {
        self.failures[kind.index()]
    }
}
