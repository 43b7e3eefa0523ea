//! The hot path: one recorder per worker thread, no lock, no allocation per sample.

use std::collections::HashMap;
use std::time::Duration;

use crate::endpoint::EndpointStats;
use crate::sample::Sample;
use crate::series::{Buckets, Series};
use crate::snapshot::Snapshot;

/// A request name registered with a [`Recorder`]; an index, so recording needs no
/// hashing. Valid only for the recorder that issued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndpointId(u32);

/// A cheap reading of a run in progress ([`Recorder::recent`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recent {
    /// Requests completed so far.
    pub requests: u64,
    /// Of which failed.
    pub failures: u64,
    /// Corrected latencies of the last seconds (2 significant digits).
    pub latency: Buckets,
}

impl Recent {
    /// Adds another worker's reading.
    pub fn merge(&mut self, other: &Recent) {
        self.requests += other.requests;
        self.failures += other.failures;
        self.latency.merge(&other.latency);
    }
}

/// Records samples for one worker. Owned by that worker (`&mut self`): workers share
/// nothing while recording, and a coordinator merges their [`Snapshot`]s.
#[derive(Debug, Default)]
pub struct Recorder {
    names: Vec<String>,
    stats: Vec<EndpointStats>,
    index: HashMap<String, EndpointId>,
    series: Series,
    elapsed: Duration,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `name` (e.g. `GET /api/v1/search`), registering it on first use.
    /// Call once per task, not per request.
    pub fn endpoint(&mut self, name: &str) -> EndpointId {
        if let Some(id) = self.index.get(name) {
            return *id;
        }
        let id =
            EndpointId(u32::try_from(self.names.len()).expect("fewer than 2^32 request names"));
        self.names.push(name.to_owned());
        self.stats.push(EndpointStats::default());
        self.index.insert(name.to_owned(), id);
        id
    }

    /// Records one sample for `endpoint`.
    #[inline]
    pub fn record(&mut self, endpoint: EndpointId, sample: &Sample) {
        self.stats[endpoint.0 as usize].record(sample);
        self.series.record(sample);
        if sample.at > self.elapsed {
            self.elapsed = sample.at;
        }
    }

    /// Notes the number of active users at `at` (for the users-over-time series).
    pub fn set_users(&mut self, at: Duration, users: u64) {
        self.series.set_users(at, users);
    }

    /// Notes that the run has lasted `elapsed` (the rate's denominator), even if no
    /// sample completed that late.
    pub fn set_elapsed(&mut self, elapsed: Duration) {
        self.elapsed = self.elapsed.max(elapsed);
    }

    /// Requests and failures so far and the latencies of the last `seconds` seconds:
    /// what a progress display needs, read without copying the run's histories.
    pub fn recent(&self, seconds: usize) -> Recent {
        Recent {
            requests: self.stats.iter().map(EndpointStats::requests).sum(),
            failures: self.stats.iter().map(EndpointStats::failed).sum(),
            latency: self.series.tail(seconds),
        }
    }

    /// A copy of everything recorded so far; merge copies from several workers with
    /// [`Snapshot::merge`].
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::from_parts(
            self.names
                .iter()
                .cloned()
                .zip(self.stats.iter().cloned())
                .collect(),
            self.series.compacted(),
            self.elapsed,
        )
    }
}
