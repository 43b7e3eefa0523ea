//! Exact latency statistics for shipgate: recorded per worker without locks, merged
//! exactly across threads and machines, summarized, and judged by threshold
//! expressions and baseline comparison. No I/O; nothing about HTTP.
//!
//! - [`Recorder`]: one per worker thread. Register a request name once
//!   ([`Recorder::endpoint`]), then [`Recorder::record`] each [`Sample`]: an
//!   [`EndpointStats`] per name (two [`LatencyHistogram`]s, from the actual send and
//!   from the intended send, counts by status class and [`FailureKind`], bytes) and a
//!   per-second [`Series`] (requests, failures, users, corrected latency).
//! - [`Snapshot`]: what a recorder holds, as a value. [`Snapshot::merge`] is exact;
//!   its JSON form (`shipgate.stats/v1`) carries histograms in the HdrHistogram V2
//!   compressed encoding, so distributed workers' results merge later with no loss.
//! - [`EndpointSummary`]: count, rate, failures, min/max (exact), mean, stdev and Locust's
//!   [`PERCENTILES`], per name and [`AGGREGATED`].
//! - [`Threshold`]: `p95 < 500ms`, `"GET /search": p(99.9) <= 1s`, `error_rate < 1%`,
//!   parsed once, evaluated to an [`Evaluation`] with the actual value.
//! - [`compare`]: a Mann-Whitney U test of a candidate against a baseline, with a
//!   relative tolerance, as Kayenta judges canaries.
//! - [`write_interval_log`]: the per-second series in HdrHistogram's interval log format.
//!
//! ```
//! use std::time::Duration;
//! use shipgate_stats::{Recorder, Sample, Snapshot, Threshold};
//!
//! let ms = Duration::from_millis;
//! let mut worker_a = Recorder::new();
//! let mut worker_b = Recorder::new();
//! let search_a = worker_a.endpoint("GET /search");
//! let search_b = worker_b.endpoint("GET /search");
//! for i in 0..100 {
//!     worker_a.record(search_a, &Sample::ok(ms(i * 10), ms(20 + i % 7), 200));
//!     worker_b.record(search_b, &Sample::ok(ms(i * 10), ms(30 + i % 5), 200));
//! }
//!
//! let mut run = Snapshot::empty();
//! run.merge(&worker_a.snapshot());
//! run.merge(&worker_b.snapshot());
//! let summary = run.summary("GET /search").unwrap();
//! assert_eq!(summary.requests, 200);
//! assert_eq!(summary.latency.as_ref().unwrap().max, ms(34));
//!
//! let gate: Threshold = r#""GET /search": p95 < 500ms"#.parse().unwrap();
//! assert!(gate.evaluate(&run).passed);
//! ```

mod baseline;
mod endpoint;
mod error;
mod histogram;
mod interval_log;
mod recorder;
mod sample;
mod series;
mod snapshot;
mod summary;
mod threshold;

pub use baseline::{BaselineVerdict, CompareConfig, Comparison, compare, compare_snapshots};
pub use endpoint::{EndpointStats, StatusClasses};
pub use error::{Error, ErrorKind};
pub use histogram::{HIGHEST_US, LatencyHistogram, SIGNIFICANT_DIGITS};
pub use interval_log::{read_interval_log, write_interval_log};
pub use recorder::{EndpointId, Recent, Recorder};
pub use sample::{FailureKind, Sample};
pub use series::{Buckets, Interval, Series};
pub use snapshot::{SNAPSHOT_SCHEMA, Snapshot};
pub use summary::{AGGREGATED, EndpointSummary, LatencySummary, PERCENTILES};
pub use threshold::{Evaluation, LatencyStat, Metric, Op, ParseError, Threshold, Value};
