//! The one notification type every layer sends.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// How urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For the record.
    Info,
    /// Someone should look.
    Warning,
    /// Someone must act now.
    Critical,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A deployment began.
    DeploymentStarted,
    /// A deployment finished and passed its checks.
    DeploymentSucceeded,
    /// A deployment failed.
    DeploymentFailed,
    /// A deployment was rolled back.
    RolledBack,
    /// A pre- or post-deployment check failed.
    CheckFailed,
    /// A load-test or monitoring threshold was breached.
    ThresholdBreached,
    /// A monitoring alert (firing or resolved).
    Alert,
    /// `shipgate-notify test`: proves the wiring.
    Test,
}

impl EventKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DeploymentStarted => "deployment_started",
            EventKind::DeploymentSucceeded => "deployment_succeeded",
            EventKind::DeploymentFailed => "deployment_failed",
            EventKind::RolledBack => "rolled_back",
            EventKind::CheckFailed => "check_failed",
            EventKind::ThresholdBreached => "threshold_breached",
            EventKind::Alert => "alert",
            EventKind::Test => "test",
        }
    }

    /// Whether this is a deployment's change (PagerDuty sends those as change events).
    pub fn is_change(self) -> bool {
        matches!(
            self,
            EventKind::DeploymentStarted | EventKind::DeploymentSucceeded | EventKind::RolledBack
        )
    }
}

impl EventKind {
    /// Every kind, in the order documented.
    pub const ALL: [EventKind; 8] = [
        EventKind::DeploymentStarted,
        EventKind::DeploymentSucceeded,
        EventKind::DeploymentFailed,
        EventKind::RolledBack,
        EventKind::CheckFailed,
        EventKind::ThresholdBreached,
        EventKind::Alert,
        EventKind::Test,
    ];
}

impl std::str::FromStr for EventKind {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| UnknownName::new("kind", text, Self::ALL.map(Self::as_str)))
    }
}

impl Severity {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = UnknownName;
    fn from_str(text: &str) -> Result<Self, UnknownName> {
        let all = [Severity::Info, Severity::Warning, Severity::Critical];
        all.into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownName::new("severity", text, all.map(Self::as_str)))
    }
}

/// A name that is not one of an enumeration's (an event kind, a severity).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not a {what}: expected one of {}", .expected.join(", "))]
pub struct UnknownName {
    what: &'static str,
    given: String,
    expected: Vec<&'static str>,
}

impl UnknownName {
    fn new<const N: usize>(what: &'static str, given: &str, expected: [&'static str; N]) -> Self {
        Self {
            what,
            given: given.to_owned(),
            expected: expected.to_vec(),
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the condition is ongoing or over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ongoing (or a one-off event).
    #[default]
    Firing,
    /// Over: sent once, after a firing notice.
    Resolved,
}

/// A link shown with the notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Its text.
    pub title: String,
    /// Its address.
    pub url: String,
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// How urgent.
    pub severity: Severity,
    /// Ongoing or over.
    #[serde(default)]
    pub status: Status,
    /// Where (production, staging, ...).
    pub environment: String,
    /// The version deployed or affected.
    #[serde(default)]
    pub version: Option<String>,
    /// One line.
    pub summary: String,
    /// Facts, by name.
    #[serde(default)]
    pub details: BTreeMap<String, String>,
    /// Dashboards, runbooks, logs.
    #[serde(default)]
    pub links: Vec<Link>,
    /// Identity for dedup and resolution; defaults to kind, environment and summary.
    #[serde(default)]
    pub key: Option<String>,
    /// When it happened (seconds since the Unix epoch).
    #[serde(default = "now_secs")]
    pub at: u64,
}

pub(crate) fn now_secs() -> u64 {
    secs(SystemTime::now())
}

pub(crate) fn secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Event {
    /// Events as `shipgate-notify send --json` takes them (docs/notification-schema.md):
    /// one object, or an array of them. A bad one is named by its position, from 1.
    pub fn parse_json(text: &str) -> Result<Vec<Event>, crate::Error> {
        use crate::{Error, ErrorKind};
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::with_source(ErrorKind::Config, "the JSON is not valid", e))?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            one => vec![one],
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::from_value(v).map_err(|e| {
                    Error::with_source(ErrorKind::Config, format!("event {}", i + 1), e)
                })
            })
            .collect()
    }

    /// A firing event with no version, details or links.
    pub fn new(
        kind: EventKind,
        severity: Severity,
        environment: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            severity,
            status: Status::Firing,
            environment: environment.into(),
            version: None,
            summary: summary.into(),
            details: BTreeMap::new(),
            links: Vec::new(),
            key: None,
            at: now_secs(),
        }
    }

    /// The identity used for dedup, grouping and PagerDuty's `dedup_key`.
    pub fn dedup_key(&self) -> String {
        self.key
            .clone()
            .unwrap_or_else(|| format!("{}/{}/{}", self.kind, self.environment, self.summary))
    }

    /// A title line: `[CRITICAL] production: deployment_failed — summary`.
    pub fn title(&self) -> String {
        let state = if self.status == Status::Resolved {
            "RESOLVED".to_owned()
        } else {
            format!("{:?}", self.severity).to_uppercase()
        };
        format!("[{state}] {}: {}", self.environment, self.summary)
    }
}
