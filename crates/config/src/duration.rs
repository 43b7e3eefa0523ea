//! Serde helpers for human-written durations: `"500ms"`, `"2s"`, `"2m"`, `"1h 30m"`.
//!
//! Use with `#[serde(with = "shipgate_config::duration")]` on a
//! [`std::time::Duration`] field, or [`option`] on an `Option<Duration>`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer, de};

/// Parses a duration as shipgate.toml writes it.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    humantime::parse_duration(text.trim()).map_err(|source| DurationError {
        text: text.to_owned(),
        source,
    })
}

/// A duration that cannot be read; its source says why.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid duration {text:?}: expected a number with a unit, like \"500ms\", \"2s\" or \"2m\""
)]
pub struct DurationError {
    text: String,
    #[source]
    source: humantime::DurationError,
}

impl DurationError {
    /// The message and its cause on one line, as a configuration error shows it.
    pub fn to_line(&self) -> String {
        format!("{self} ({})", self.source)
    }
}

/// Deserializes a duration string.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(|e| de::Error::custom(e.to_line()))
}

/// Serializes a duration the way it is written (`"1m 30s"`).
pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&humantime::format_duration(*value).to_string())
}

/// The same for `Option<Duration>`; pair it with `#[serde(default)]`.
pub mod option {
    use super::*;

    /// Deserializes an optional duration string.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        super::deserialize(deserializer).map(Some)
    }

    /// Serializes an optional duration.
    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => super::serialize(d, serializer),
            None => serializer.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse(" 1h 30m ").unwrap(), Duration::from_secs(5400));
        let err = parse("5").unwrap_err();
        assert!(err.to_string().contains("expected a number with a unit"));
        // The reason is the source, and one line carries both.
        assert!(std::error::Error::source(&err).is_some());
        assert!(err.to_line().starts_with(&err.to_string()));
    }
}
