//! What a source gives: one reading per field, a number or the reason there is none.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Why a reading has no value. Each is its own verdict, never a pass by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// The source answered with nothing: an empty vector, a NaN, an unlimited maximum.
    Empty,
    /// The source answered with an error, or did not answer (refused, reset, bad JSON).
    Error,
    /// The sample took longer than its timeout.
    Timeout,
    /// The source itself is broken: it refused our credentials (401, 403), has no
    /// such API (404), or rejected the query as invalid. Not the release's doing: no
    /// rule's alert moves on it, and the window is inconclusive.
    Broken,
}

impl Missing {
    /// `empty`, `error`, `timeout`, `broken`.
    pub fn as_str(self) -> &'static str {
        match self {
            Missing::Empty => "empty",
            Missing::Error => "error",
            Missing::Timeout => "timeout",
            Missing::Broken => "broken",
        }
    }
}

/// One field's reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reading {
    /// A number, in the field's unit (seconds, ratios 0–1, bytes, counts).
    Value(f64),
    /// No number, and why.
    NoData {
        /// The kind of absence.
        missing: Missing,
        /// What the source said.
        message: String,
    },
}

impl Reading {
    /// A reading without a value.
    pub fn none(missing: Missing, message: impl Into<String>) -> Self {
        Reading::NoData {
            missing,
            message: message.into(),
        }
    }

    /// The value, if there is one.
    pub fn value(&self) -> Option<f64> {
        match self {
            Reading::Value(v) => Some(*v),
            Reading::NoData { .. } => None,
        }
    }
}

/// One sample of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The source's name.
    pub source: String,
    /// When it was taken.
    #[serde(with = "crate::time::secs_f64")]
    pub at: SystemTime,
    /// How long it took.
    #[serde(with = "crate::time::duration_secs")]
    pub took: Duration,
    /// Field → reading.
    pub readings: BTreeMap<String, Reading>,
}

impl Sample {
    /// Every field of `fields` without data, for the same reason.
    pub fn all_missing(
        source: &str,
        at: SystemTime,
        took: Duration,
        fields: &[String],
        missing: Missing,
        message: &str,
    ) -> Self {
        Self {
            source: source.to_owned(),
            at,
            took,
            readings: fields
                .iter()
                .map(|f| (f.clone(), Reading::none(missing, message)))
                .collect(),
        }
    }
}
