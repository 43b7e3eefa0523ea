//! Per-second time series: memory grows with the run's duration, not its request count.
//!
//! Seconds are kept at 2 significant digits (within 1%: plenty for a chart), and only
//! the newest second records into a full histogram (~24 KB at that precision); when a
//! later second begins, the finished one is compacted to its recorded buckets (at most
//! ~2,900, typically a few hundred), which keeps its percentiles exactly as the full
//! histogram would have given them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::histogram::{LatencyHistogram, micros};
use crate::sample::Sample;

/// A compacted latency histogram: `(bucket value in µs, count)` ascending, with the
/// exact min and max.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buckets {
    /// `(value_us, count)`, ascending by value; each value is its bucket's highest
    /// equivalent. Kept sorted and merged by [`Buckets::merge`] only.
    buckets: Vec<(u64, u64)>,
    /// Exact smallest value (0 when empty).
    min_us: u64,
    /// Exact largest value (0 when empty).
    max_us: u64,
}

impl Buckets {
    fn from_histogram(h: &LatencyHistogram) -> Self {
        Self {
            buckets: h.buckets().collect(),
            min_us: h.min().map_or(0, micros),
            max_us: h.max().map_or(0, micros),
        }
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.1).sum()
    }

    /// `(bucket value in µs, count)`, ascending by value.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.buckets.iter().copied()
    }

    /// The exact smallest value; none when empty.
    pub fn min(&self) -> Option<Duration> {
        (!self.buckets.is_empty()).then(|| Duration::from_micros(self.min_us))
    }

    /// The exact largest value; none when empty.
    pub fn max(&self) -> Option<Duration> {
        (!self.buckets.is_empty()).then(|| Duration::from_micros(self.max_us))
    }

    /// Adds `count` values at bucket `value` (already a bucket's highest equivalent).
    fn add(&mut self, value: u64, count: u64, min_us: u64, max_us: u64) {
        let empty = self.buckets.is_empty();
        match self.buckets.binary_search_by_key(&value, |b| b.0) {
            Ok(i) => self.buckets[i].1 += count,
            Err(i) => self.buckets.insert(i, (value, count)),
        }
        self.min_us = if empty {
            min_us
        } else {
            self.min_us.min(min_us)
        };
        self.max_us = self.max_us.max(max_us);
    }

    /// Adds `other`'s counts (a window of seconds, merged).
    pub fn merge(&mut self, other: &Buckets) {
        for &(value, count) in &other.buckets {
            self.add(value, count, other.min_us, other.max_us);
        }
    }

    /// The value at `percentile` (0–100), as the full histogram would give it.
    pub fn percentile(&self, percentile: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        if percentile >= 100.0 {
            return Some(Duration::from_micros(self.max_us));
        }
        if percentile <= 0.0 {
            return Some(Duration::from_micros(self.min_us));
        }
        // HdrHistogram's rule: the first bucket whose cumulative count reaches
        // ceil(p/100 * total), at least 1.
        let target = ((percentile.max(0.0) / 100.0 * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(value, count) in &self.buckets {
            seen += count;
            if seen >= target {
                return Some(Duration::from_micros(value.clamp(self.min_us, self.max_us)));
            }
        }
        Some(Duration::from_micros(self.max_us))
    }

    /// The same values as a full histogram of the series' precision (for interval logs).
    pub fn to_histogram(&self) -> LatencyHistogram {
        let mut h = LatencyHistogram::coarse();
        for &(value, count) in &self.buckets {
            h.record_n_us(value, count);
        }
        h.set_extremes(self.min_us, self.max_us);
        h
    }
}

/// One second of a run, across every request name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Requests completed in this second.
    pub requests: u64,
    /// Of which failed.
    pub failures: u64,
    /// Active users (the largest number seen in this second; summed across workers).
    pub users: u64,
    /// Coordinated-omission corrected latencies of this second's requests (within 1%).
    pub latency: Buckets,
}

impl Interval {
    fn merge(&mut self, other: &Interval) {
        self.requests += other.requests;
        self.failures += other.failures;
        self.users += other.users;
        self.latency.merge(&other.latency);
    }

    /// The corrected latency at `percentile` in this second.
    pub fn percentile(&self, percentile: f64) -> Option<Duration> {
        self.latency.percentile(percentile)
    }
}

/// Seconds of a run, in order; second `i` covers `[i, i+1)` s from the start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    intervals: Vec<Interval>,
    /// The newest second's latencies, recording; compacted into `intervals` when a
    /// later second begins or a snapshot is taken.
    #[serde(skip)]
    current: Option<(usize, LatencyHistogram)>,
}

impl Series {
    /// Records a sample in the second it completed in.
    #[inline]
    pub fn record(&mut self, sample: &Sample) {
        let second = sample.at.as_secs() as usize;
        let interval = self.interval(second);
        interval.requests += 1;
        interval.failures += u64::from(sample.failure.is_some());
        let value = micros(sample.corrected());
        match &mut self.current {
            Some((s, h)) if *s == second => h.record_us(value),
            Some((s, _)) if *s > second => {
                // A late sample for a finished second: the slow path, rare.
                let bucket = LatencyHistogram::coarse_bucket_of(value);
                self.intervals[second].latency.add(bucket, 1, value, value);
            }
            _ => {
                self.compact();
                let mut h = LatencyHistogram::coarse();
                h.record_us(value);
                self.current = Some((second, h));
            }
        }
    }

    /// Notes `users` active users at `at`.
    pub fn set_users(&mut self, at: Duration, users: u64) {
        let interval = self.interval(at.as_secs() as usize);
        interval.users = interval.users.max(users);
    }

    fn interval(&mut self, second: usize) -> &mut Interval {
        if second >= self.intervals.len() {
            self.intervals.resize_with(second + 1, Interval::default);
        }
        &mut self.intervals[second]
    }

    /// Moves the recording second into its compact form.
    fn compact(&mut self) {
        if let Some((second, h)) = self.current.take() {
            let buckets = Buckets::from_histogram(&h);
            self.intervals[second].latency.merge(&buckets);
        }
    }

    /// A copy with every second compacted (what snapshots hold).
    pub fn compacted(&self) -> Series {
        let mut copy = Series {
            intervals: self.intervals.clone(),
            current: None,
        };
        if let Some((second, h)) = &self.current {
            copy.intervals[*second]
                .latency
                .merge(&Buckets::from_histogram(h));
        }
        copy
    }

    /// Adds `other` second by second.
    pub fn merge(&mut self, other: &Series) {
        self.compact();
        let other = other.compacted();
        if other.intervals.len() > self.intervals.len() {
            self.intervals
                .resize_with(other.intervals.len(), Interval::default);
        }
        for (a, b) in self.intervals.iter_mut().zip(&other.intervals) {
            a.merge(b);
        }
    }

    /// The latencies of the last `seconds` seconds, the one recording included, without
    /// copying the rest of the run (a progress display's "now").
    pub fn tail(&self, seconds: usize) -> Buckets {
        let mut window = Buckets::default();
        let from = self.intervals.len().saturating_sub(seconds);
        for interval in &self.intervals[from..] {
            window.merge(&interval.latency);
        }
        if let Some((second, h)) = &self.current
            && *second >= from
        {
            window.merge(&Buckets::from_histogram(h));
        }
        window
    }

    /// The seconds, first to last (compact them first with [`Series::compacted`] to
    /// include the one still recording).
    pub fn intervals(&self) -> &[Interval] {
        &self.intervals
    }
}
