//! The `[checks]` section of shipgate.toml.
//!
//! ```toml
//! [checks]
//! timeout = "5s"        # default per check
//! concurrency = 16      # checks running at once
//!
//! [[checks.pre]]
//! name = "primary database"
//! severity = "fail"     # or "warn": a failure only warns
//! timeout = "3s"
//! depends_on = ["env"]
//! optional = false      # true: cannot connect => warn
//! [checks.pre.database] # exactly one kind table: env, http, tcp, dns, command, file,
//! url = "${DATABASE_URL}"   # system, database, redis, tls, django, elasticsearch, smoke
//! ```

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::kinds::CheckKind;

/// The error for a kind whose cargo feature this build of shipgate-checks lacks.
#[allow(dead_code)]
fn disabled<E: de::Error>(kind: &str) -> E {
    disabled_as(kind, kind)
}

/// [`disabled`] for a kind whose feature has another name.
#[allow(dead_code)]
fn disabled_as<E: de::Error>(kind: &str, feature: &str) -> E {
    E::custom(format!(
        "the `{kind}` check kind is not in this build: it needs shipgate-checks' `{feature}` cargo feature"
    ))
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_concurrency() -> usize {
    16
}

/// The whole `[checks]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksConfig {
    /// Default timeout of a check.
    #[serde(default = "default_timeout", with = "shipgate_config::duration")]
    pub timeout: Duration,
    /// How many checks run at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Pre-deployment checks (`shipgate-check pre`).
    #[serde(default)]
    pub pre: Vec<CheckSpec>,
    /// Post-deployment checks and smoke tests (`shipgate-check post`).
    #[serde(default)]
    pub post: Vec<CheckSpec>,
}

/// `[checks]`'s own settings, without the phases: read with
/// `Document::section_without("checks", &["pre", "post"])` so that a phase's variables
/// are needed only when that phase runs.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSettings {
    /// Default timeout of a check.
    #[serde(default = "default_timeout", with = "shipgate_config::duration")]
    pub timeout: Duration,
    /// How many checks run at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

impl Default for ChecksSettings {
    fn default() -> Self {
        Self {
            timeout: default_timeout(),
            concurrency: default_concurrency(),
        }
    }
}

/// Whether a failing check fails the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckSeverity {
    /// A failure fails the run (exit 1).
    #[default]
    Fail,
    /// A failure is reported as a warning.
    Warn,
}

/// One configured check.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// Its name in reports; unique within a phase.
    pub name: String,
    /// Whether its failure fails the run.
    pub severity: CheckSeverity,
    /// Overrides `[checks] timeout`.
    pub timeout: Option<Duration>,
    /// Checks that must pass first; when one does not, this one is skipped.
    pub depends_on: Vec<String>,
    /// When the target cannot be reached at all, warn instead of failing.
    pub optional: bool,
    /// Replaces the check's own recommendation.
    pub recommendation: Option<String>,
    /// What to check.
    pub kind: CheckKind,
}

/// Every key a check may have: the common ones, then the kinds.
const FIELDS: &[&str] = &[
    "name",
    "severity",
    "timeout",
    "depends_on",
    "optional",
    "recommendation",
    "env",
    "http",
    "tcp",
    "dns",
    "command",
    "file",
    "system",
    "database",
    "redis",
    "tls",
    "django",
    "elasticsearch",
    "smoke",
    "coverage",
    "audit",
    "aws_secrets",
];
const KINDS: &[&str] = FIELDS.split_at(6).1;

impl<'de> Deserialize<'de> for CheckSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SpecVisitor)
    }
}

struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = CheckSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a check: a table with `name` and one kind table (env, http, tcp, ...)")
    }

    // Each value is deserialized straight from the TOML deserializer, so an error inside
    // a kind's table keeps its exact line and column.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CheckSpec, A::Error> {
        let mut name = None;
        let mut severity = CheckSeverity::default();
        let mut timeout = None;
        let mut depends_on = Vec::new();
        let mut optional = false;
        let mut recommendation = None;
        let mut kind: Option<CheckKind> = None;
        while let Some(key) = map.next_key::<String>()? {
            let parsed = match key.as_str() {
                "name" => {
                    name = Some(map.next_value::<String>()?);
                    None
                }
                "severity" => {
                    severity = map.next_value()?;
                    None
                }
                "timeout" => {
                    let text: String = map.next_value()?;
                    timeout = Some(
                        shipgate_config::duration::parse(&text)
                            .map_err(|e| de::Error::custom(e.to_line()))?,
                    );
                    None
                }
                "depends_on" => {
                    depends_on = map.next_value()?;
                    None
                }
                "optional" => {
                    optional = map.next_value()?;
                    None
                }
                "recommendation" => {
                    recommendation = Some(map.next_value()?);
                    None
                }
                "env" => Some(CheckKind::Env(map.next_value()?)),
                "http" => Some(CheckKind::Http(map.next_value()?)),
                "tcp" => Some(CheckKind::Tcp(map.next_value()?)),
                "dns" => Some(CheckKind::Dns(map.next_value()?)),
                "command" => Some(CheckKind::Command(map.next_value()?)),
                "file" => Some(CheckKind::File(map.next_value()?)),
                "system" => Some(CheckKind::System(map.next_value()?)),
                #[cfg(feature = "database")]
                "database" => Some(CheckKind::Database(map.next_value()?)),
                #[cfg(not(feature = "database"))]
                "database" => return Err(disabled("database")),
                #[cfg(feature = "redis")]
                "redis" => Some(CheckKind::Redis(map.next_value()?)),
                #[cfg(not(feature = "redis"))]
                "redis" => return Err(disabled("redis")),
                #[cfg(feature = "tls")]
                "tls" => Some(CheckKind::Tls(map.next_value()?)),
                #[cfg(not(feature = "tls"))]
                "tls" => return Err(disabled("tls")),
                "django" => Some(CheckKind::Django(map.next_value()?)),
                "coverage" => Some(CheckKind::Coverage(map.next_value()?)),
                "audit" => Some(CheckKind::Audit(map.next_value()?)),
                #[cfg(feature = "elasticsearch")]
                "elasticsearch" => Some(CheckKind::Elasticsearch(map.next_value()?)),
                #[cfg(not(feature = "elasticsearch"))]
                "elasticsearch" => return Err(disabled("elasticsearch")),
                "smoke" => Some(CheckKind::Smoke(map.next_value()?)),
                #[cfg(feature = "aws")]
                "aws_secrets" => Some(CheckKind::AwsSecrets(map.next_value()?)),
                #[cfg(not(feature = "aws"))]
                "aws_secrets" => return Err(disabled_as("aws_secrets", "aws")),
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            };
            if let Some(k) = parsed {
                if kind.is_some() {
                    return Err(de::Error::custom(format!(
                        "a check has one kind table; `{key}` is a second one: split it into two checks"
                    )));
                }
                kind = Some(k);
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        let kind = kind.ok_or_else(|| {
            de::Error::custom(format!(
                "check `{name}` needs one kind table: one of {}",
                KINDS.join(", ")
            ))
        })?;
        Ok(CheckSpec {
            name,
            severity,
            timeout,
            depends_on,
            optional,
            recommendation,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[allow(dead_code)]
        pre: Vec<CheckSpec>,
    }

    /// Built without the `redis` feature (`cargo xtask ci` runs this build), a redis
    /// check is refused with the feature to enable; with it, it parses.
    #[test]
    fn a_kind_without_its_feature_is_refused_naming_the_feature() {
        let text = "[[pre]]\nname = \"cache\"\nredis = { url = \"redis://127.0.0.1\" }\n";
        let parsed = toml::from_str::<Doc>(text);
        if cfg!(feature = "redis") {
            parsed.unwrap();
        } else {
            let err = parsed.unwrap_err().to_string();
            assert!(
                err.contains("needs shipgate-checks' `redis` cargo feature"),
                "{err}"
            );
        }
    }
}
