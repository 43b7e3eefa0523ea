//! Wall-clock times as JSON numbers (seconds since the Unix epoch, with fractions),
//! and the clock the watcher reads.

use std::time::{Duration, SystemTime};

/// Where the watcher reads the time. Alert states are kept in wall-clock time so that
/// they survive a restart; the loop's waits use tokio's timer, so a test on tokio's
/// paused clock uses [`TokioClock`] and never sleeps.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Wall-clock time that advances with tokio's clock (paused or not) from a fixed start.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall: SystemTime,
    base: tokio::time::Instant,
}

impl TokioClock {
    /// Starts at `wall`, now.
    pub fn starting_at(wall: SystemTime) -> Self {
        Self {
            wall,
            base: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.wall + self.base.elapsed()
    }
}

/// Seconds since the epoch, as an `f64`.
pub fn epoch_secs(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The time `secs` after the epoch.
pub fn from_epoch_secs(secs: f64) -> SystemTime {
    // A value no clock can hold (a corrupted state file) is the epoch, not a panic.
    Duration::try_from_secs_f64(secs.max(0.0))
        .ok()
        .and_then(|d| SystemTime::UNIX_EPOCH.checked_add(d))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// RFC 3339 with milliseconds, UTC (`2026-12-02T18:48:17.123Z`), as Alertmanager takes it.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

pub(crate) mod secs_f64 {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::SystemTime;

    pub(crate) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((super::epoch_secs(*t) * 1000.0).round() / 1000.0)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        f64::deserialize(d).map(super::from_epoch_secs)
    }

    pub(crate) mod option {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(
            t: &Option<SystemTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<SystemTime>, D::Error> {
            Option::<f64>::deserialize(d).map(|o| o.map(super::super::from_epoch_secs))
        }
    }
}

pub(crate) mod duration_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e6)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        f64::deserialize(d)
            .and_then(|s| Duration::try_from_secs_f64(s.max(0.0)).map_err(serde::de::Error::custom))
    }
}
