//! A latency histogram: HdrHistogram in microseconds, 3 significant digits, 1 µs to
//! 1 hour, plus the exact minimum and maximum.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Deserializer as SerdeDeserializer, Serialize, Serializer};

use crate::{Error, ErrorKind};

/// Highest value tracked with full precision: one hour, in microseconds. Longer
/// latencies are counted at this value; the exact maximum is still kept.
pub const HIGHEST_US: u64 = 3_600_000_000;

/// Significant decimal digits: every value is kept within 0.1% of itself.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Significant digits of the per-second series: within 1%, at most ~2,900 buckets a second.
pub(crate) const SERIES_DIGITS: u8 = 2;

/// Latencies in microseconds with exact min and max; merging two gives exactly the
/// histogram of all their values.
#[derive(Clone, PartialEq)]
pub struct LatencyHistogram {
    hist: Histogram<u64>,
    min_us: u64,
    max_us: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count())
            .field("min_us", &self.min_us)
            .field("max_us", &self.max_us)
            .finish()
    }
}

impl LatencyHistogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::with_digits(SIGNIFICANT_DIGITS)
    }

    /// An empty histogram of the per-second series' precision.
    pub(crate) fn coarse() -> Self {
        Self::with_digits(SERIES_DIGITS)
    }

    fn with_digits(digits: u8) -> Self {
        Self {
            hist: Histogram::new_with_bounds(1, HIGHEST_US, digits)
                .expect("constant bounds are valid"),
            min_us: u64::MAX,
            max_us: 0,
        }
    }

    /// Records one latency.
    #[inline]
    pub fn record(&mut self, latency: Duration) {
        self.record_us(micros(latency));
    }

    /// Records one latency in microseconds.
    #[inline]
    pub fn record_us(&mut self, us: u64) {
        // Everything past the hour counts in the top bucket, however far past.
        self.hist.saturating_record(us.clamp(1, HIGHEST_US));
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
    }

    /// Records `count` values of `us` microseconds.
    pub fn record_n_us(&mut self, us: u64, count: u64) {
        if count == 0 {
            return;
        }
        self.hist
            .saturating_record_n(us.clamp(1, HIGHEST_US), count);
        self.min_us = self.min_us.min(us);
        self.max_us = self.max_us.max(us);
    }

    /// Replaces the tracked extremes with known exact ones (after recording bucket
    /// values, which are only within the histogram's precision).
    pub(crate) fn set_extremes(&mut self, min_us: u64, max_us: u64) {
        if !self.is_empty() {
            self.min_us = min_us;
            self.max_us = max_us;
        }
    }

    /// The smallest and largest bucket values (within the histogram's precision).
    pub(crate) fn bucket_extremes(&self) -> (u64, u64) {
        (self.hist.min(), self.hist.max())
    }

    /// The per-second series' bucket `us` falls in, as its highest equivalent value.
    pub(crate) fn coarse_bucket_of(us: u64) -> u64 {
        thread_local! {
            static TEMPLATE: LatencyHistogram = LatencyHistogram::coarse();
        }
        TEMPLATE.with(|t| t.hist.highest_equivalent(us.clamp(1, HIGHEST_US)))
    }

    /// Adds every value of `other`. Exact: the result is what recording all values
    /// into one histogram would have given.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Same bounds and precision by construction, so addition cannot fail.
        self.hist
            .add(&other.hist)
            .expect("histograms of one configuration add");
        self.min_us = self.min_us.min(other.min_us);
        self.max_us = self.max_us.max(other.max_us);
    }

    /// How many values.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The exact smallest value, if any.
    pub fn min(&self) -> Option<Duration> {
        (!self.is_empty()).then(|| Duration::from_micros(self.min_us))
    }

    /// The exact largest value, if any.
    pub fn max(&self) -> Option<Duration> {
        (!self.is_empty()).then(|| Duration::from_micros(self.max_us))
    }

    /// The mean (within the histogram's precision).
    pub fn mean(&self) -> Option<Duration> {
        (!self.is_empty()).then(|| Duration::from_secs_f64(self.hist.mean() / 1e6))
    }

    /// The standard deviation (within the histogram's precision).
    pub fn stdev(&self) -> Option<Duration> {
        (!self.is_empty()).then(|| Duration::from_secs_f64(self.hist.stdev() / 1e6))
    }

    /// The value at `percentile` (0–100), within 0.1%; clamped to the exact min and
    /// max, so p100 is the maximum and no percentile ever exceeds it.
    pub fn percentile(&self, percentile: f64) -> Option<Duration> {
        if self.is_empty() {
            return None;
        }
        let value = if percentile >= 100.0 {
            self.max_us
        } else if percentile <= 0.0 {
            self.min_us
        } else {
            self.hist
                .value_at_percentile(percentile)
                .clamp(self.min_us, self.max_us)
        };
        Some(Duration::from_micros(value))
    }

    /// `(value_us, count)` for every distinct recorded bucket, ascending.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.hist.iter_recorded().map(|v| {
            (
                self.hist.highest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
    }

    /// The underlying HdrHistogram (microseconds), e.g. to write an interval log.
    pub fn hdr(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// The HdrHistogram V2 compressed encoding, base64: readable by every
    /// HdrHistogram implementation (Java, Go, C, Python, JavaScript).
    pub fn to_base64(&self) -> Result<String, Error> {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.hist, &mut bytes)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Encode,
                    format!("cannot encode a histogram: {e:?}"),
                )
            })?;
        Ok(BASE64.encode(bytes))
    }

    /// Reads [`LatencyHistogram::to_base64`]'s output; `min_us`/`max_us` are the exact
    /// extremes (pass the histogram's own when they were not kept).
    pub fn from_base64(encoded: &str, min_us: u64, max_us: u64) -> Result<Self, Error> {
        let bytes = BASE64
            .decode(encoded.trim())
            .map_err(|e| Error::with_source(ErrorKind::Decode, "histogram is not base64", e))?;
        let decoded: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| {
                Error::new(
                    ErrorKind::Decode,
                    format!("not an HdrHistogram V2 encoding: {e:?}"),
                )
            })?;
        // Keep the encoded precision (3 digits for endpoints, 2 for the series).
        let mut out = Self::with_digits(decoded.sigfig().clamp(SERIES_DIGITS, SIGNIFICANT_DIGITS));
        out.hist
            .add(&decoded)
            .map_err(|e| Error::new(ErrorKind::Merge, format!("histogram out of range: {e:?}")))?;
        out.set_extremes(min_us, max_us);
        Ok(out)
    }
}

#[inline]
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[derive(Serialize, Deserialize)]
struct Encoded {
    count: u64,
    min_us: u64,
    max_us: u64,
    hdr: String,
}

impl Serialize for LatencyHistogram {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let hdr = self.to_base64().map_err(serde::ser::Error::custom)?;
        let empty = self.is_empty();
        Encoded {
            count: self.count(),
            min_us: if empty { 0 } else { self.min_us },
            max_us: self.max_us,
            hdr,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: SerdeDeserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let e = Encoded::deserialize(deserializer)?;
        let h = Self::from_base64(&e.hdr, e.min_us, e.max_us).map_err(serde::de::Error::custom)?;
        if h.count() != e.count {
            return Err(serde::de::Error::custom(format!(
                "histogram holds {} values, `count` says {}",
                h.count(),
                e.count
            )));
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_are_exact_and_percentiles_never_exceed_max() {
        let mut h = LatencyHistogram::new();
        for us in [1_234_567u64, 3, 999_999] {
            h.record_us(us);
        }
        assert_eq!(h.min(), Some(Duration::from_micros(3)));
        assert_eq!(h.max(), Some(Duration::from_micros(1_234_567)));
        assert_eq!(h.percentile(100.0), h.max());
        assert!(h.percentile(99.99).unwrap() <= h.max().unwrap());
    }

    #[test]
    fn values_past_an_hour_keep_an_exact_max() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_secs(7200));
        assert_eq!(h.max(), Some(Duration::from_secs(7200)));
        assert_eq!(h.count(), 1);
    }

    #[test]
    fn base64_round_trips() {
        let mut h = LatencyHistogram::new();
        (1..5000u64).for_each(|i| h.record_us(i * 37));
        let back =
            LatencyHistogram::from_base64(&h.to_base64().unwrap(), h.min_us, h.max_us).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn empty_has_no_statistics() {
        let h = LatencyHistogram::new();
        assert_eq!(
            (h.min(), h.max(), h.mean(), h.percentile(50.0)),
            (None, None, None, None)
        );
    }
}
