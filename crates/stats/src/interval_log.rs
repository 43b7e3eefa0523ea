//! The per-second series in HdrHistogram's interval log format (`.hlog`), which
//! HdrHistogram's own tools (HistogramLogAnalyzer, hdr-plot) read.

use std::io::Write;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry,
};

use crate::histogram::LatencyHistogram;
use crate::series::Series;
use crate::{Error, ErrorKind};

/// Writes one interval per second of `series` (corrected latency, in microseconds;
/// max values in the log are in milliseconds as the format expects), starting at `start`.
pub fn write_interval_log<W: Write>(
    series: &Series,
    start: SystemTime,
    out: &mut W,
) -> Result<(), Error> {
    let series = series.compacted();
    let mut serializer = V2DeflateSerializer::new();
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment("shipgate-stats per-second latency (microseconds)")
        .with_start_time(start)
        .with_base_time(start)
        .with_max_value_divisor(1000.0);
    let mut writer = builder
        .begin_log_with(out, &mut serializer)
        .map_err(|e| Error::with_source(ErrorKind::Encode, "cannot begin an interval log", e))?;
    for (second, interval) in series.intervals().iter().enumerate() {
        let histogram = interval.latency.to_histogram();
        writer
            .write_histogram(
                histogram.hdr(),
                Duration::from_secs(second as u64),
                Duration::from_secs(1),
                None,
            )
            .map_err(|e| {
                Error::new(
                    ErrorKind::Encode,
                    format!("cannot write interval {second}: {e:?}"),
                )
            })?;
    }
    Ok(())
}

/// Reads an interval log back: `(start offset, histogram)` per interval.
pub fn read_interval_log(log: &[u8]) -> Result<Vec<(Duration, LatencyHistogram)>, Error> {
    let mut out = Vec::new();
    for entry in IntervalLogIterator::new(log) {
        let entry = entry
            .map_err(|e| Error::new(ErrorKind::Decode, format!("not an interval log: {e:?}")))?;
        if let LogEntry::Interval(interval) = entry {
            let mut h = LatencyHistogram::from_base64(interval.encoded_histogram(), 0, 0)?;
            // The log keeps no exact extremes; the histogram's own are within 0.1%.
            let (min, max) = h.bucket_extremes();
            h.set_extremes(min, max);
            out.push((interval.start_timestamp(), h));
        }
    }
    Ok(out)
}
