//! What a run recorded, as a value: merged exactly, serialized to JSON and back.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::endpoint::EndpointStats;
use crate::series::Series;
use crate::summary::EndpointSummary;
use crate::{Error, ErrorKind};

/// The schema name of [`Snapshot`]'s JSON form.
pub const SNAPSHOT_SCHEMA: &str = "shipgate.stats/v1";

/// Per-name statistics and the per-second series of one worker, or of many merged.
///
/// Merging is exact, associative and commutative: the merge of any split of the
/// samples equals the snapshot of one recorder that saw them all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    schema: String,
    /// Run duration in microseconds: the largest of the merged snapshots'.
    elapsed_us: u64,
    endpoints: BTreeMap<String, EndpointStats>,
    series: Series,
}

impl Snapshot {
    pub(crate) fn from_parts(
        endpoints: BTreeMap<String, EndpointStats>,
        series: Series,
        elapsed: Duration,
    ) -> Self {
        Self {
            schema: SNAPSHOT_SCHEMA.to_owned(),
            elapsed_us: crate::histogram::micros(elapsed),
            endpoints,
            series,
        }
    }

    /// An empty snapshot (the identity of [`Snapshot::merge`]).
    pub fn empty() -> Self {
        Self::from_parts(BTreeMap::new(), Series::default(), Duration::ZERO)
    }

    /// Adds `other` into this one.
    pub fn merge(&mut self, other: &Snapshot) {
        for (name, stats) in &other.endpoints {
            self.endpoints.entry(name.clone()).or_default().merge(stats);
        }
        self.series.merge(&other.series);
        self.elapsed_us = self.elapsed_us.max(other.elapsed_us);
        if self.schema.is_empty() {
            self.schema = SNAPSHOT_SCHEMA.to_owned();
        }
    }

    /// How long the run lasted.
    pub fn elapsed(&self) -> Duration {
        Duration::from_micros(self.elapsed_us)
    }

    /// Statistics by request name.
    pub fn endpoints(&self) -> &BTreeMap<String, EndpointStats> {
        &self.endpoints
    }

    /// The per-second series.
    pub fn series(&self) -> &Series {
        &self.series
    }

    /// Every name's statistics merged into one (Locust's "Aggregated" row).
    pub fn aggregate(&self) -> EndpointStats {
        let mut all = EndpointStats::default();
        for stats in self.endpoints.values() {
            all.merge(stats);
        }
        all
    }

    /// The summary of one name, or `None` if nothing was recorded under it.
    pub fn summary(&self, name: &str) -> Option<EndpointSummary> {
        self.endpoints
            .get(name)
            .map(|s| EndpointSummary::new(name, s, self.elapsed()))
    }

    /// The summary of every name, in name order, then the aggregate (named `Aggregated`).
    pub fn summaries(&self) -> Vec<EndpointSummary> {
        let mut out: Vec<EndpointSummary> = self
            .endpoints
            .iter()
            .map(|(n, s)| EndpointSummary::new(n, s, self.elapsed()))
            .collect();
        out.push(EndpointSummary::new(
            crate::AGGREGATED,
            &self.aggregate(),
            self.elapsed(),
        ));
        out
    }

    /// The JSON form (histograms in HdrHistogram V2 compressed encoding, base64).
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string(self)
            .map_err(|e| Error::with_source(ErrorKind::Encode, "cannot encode a snapshot", e))
    }

    /// Reads [`Snapshot::to_json`]'s output.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let snapshot: Snapshot = serde_json::from_str(text)
            .map_err(|e| Error::with_source(ErrorKind::Decode, "cannot read a snapshot", e))?;
        if snapshot.schema != SNAPSHOT_SCHEMA {
            return Err(Error::new(
                ErrorKind::Schema,
                format!(
                    "snapshot schema is {:?}, this version reads {SNAPSHOT_SCHEMA:?}",
                    snapshot.schema
                ),
            ));
        }
        Ok(snapshot)
    }
}
