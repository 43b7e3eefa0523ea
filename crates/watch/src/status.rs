//! The watcher's status (`shipgate.watch-status/v1`, docs/watch-schema.md): rules,
//! their alerts' states, last values, what is firing. Rewritten whole (temporary file,
//! renamed) every cycle; `shipgate-watch status` prints it, and a restarted watcher
//! takes its alerts' states from it.

use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use shipgate_notify::Severity;

use crate::alert::Alert;
use crate::evaluate::{Evaluator, RuleStats};
use crate::{Error, ErrorKind};

/// The schema name.
pub const STATUS_SCHEMA: &str = "shipgate.watch-status/v1";

/// One alert in the status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStatus {
    /// Its level.
    pub severity: Severity,
    /// Its condition.
    pub condition: String,
    /// Its state and times.
    #[serde(flatten)]
    pub alert: Alert,
}

/// One rule in the status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleStatus {
    /// Its name.
    pub name: String,
    /// Its source.
    pub source: String,
    /// `notify` or `rollback`.
    pub action: crate::config::Action,
    /// One per level.
    pub alerts: Vec<AlertStatus>,
    /// What it has seen.
    #[serde(flatten)]
    pub stats: RuleStats,
}

/// The whole status file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// [`STATUS_SCHEMA`].
    pub schema: String,
    /// The environment watched.
    pub environment: String,
    /// When the watcher started.
    #[serde(with = "crate::time::secs_f64")]
    pub started_at: SystemTime,
    /// When this was written.
    #[serde(with = "crate::time::secs_f64")]
    pub updated_at: SystemTime,
    /// Why alerts are held now, if they are.
    pub muted: Option<String>,
    /// `rule/severity` of every firing alert.
    pub firing: Vec<String>,
    /// Every rule.
    pub rules: Vec<RuleStatus>,
}

impl Status {
    /// The status of `eval` now.
    pub fn of(
        eval: &Evaluator,
        environment: &str,
        started_at: SystemTime,
        now: SystemTime,
        muted: Option<String>,
    ) -> Self {
        let rules = eval
            .rules()
            .iter()
            .map(|r| RuleStatus {
                name: r.config.name.clone(),
                source: r.config.source.clone(),
                action: r.config.action,
                alerts: r
                    .levels()
                    .iter()
                    .map(|(s, c)| AlertStatus {
                        severity: *s,
                        condition: c.to_string(),
                        alert: eval.alert(&r.config.name, *s).cloned().unwrap_or_default(),
                    })
                    .collect(),
                stats: eval.stats(&r.config.name).cloned().unwrap_or_default(),
            })
            .collect();
        Self {
            schema: STATUS_SCHEMA.to_owned(),
            environment: environment.to_owned(),
            started_at,
            updated_at: now,
            muted,
            firing: eval
                .firing()
                .into_iter()
                .map(|(r, s)| format!("{r}/{}", s.as_str()))
                .collect(),
            rules,
        }
    }

    /// The alert states it holds, to [`Evaluator::restore`].
    pub fn alerts(&self) -> Vec<((String, Severity), Alert)> {
        self.rules
            .iter()
            .flat_map(|r| {
                r.alerts
                    .iter()
                    .map(|a| ((r.name.clone(), a.severity), a.alert.clone()))
            })
            .collect()
    }

    /// Writes it whole: a temporary file beside `path`, renamed over it.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io("cannot create", dir, e))?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).expect("status serializes");
        std::fs::write(&tmp, text).map_err(|e| io("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| io("cannot replace", path, e))
    }

    /// Reads one written by [`Status::write`]; `Ok(None)` when there is none.
    pub fn read(path: &Path) -> Result<Option<Self>, Error> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::with_source(
                    ErrorKind::Io,
                    format!("{} is not a watch status file", path.display()),
                    e,
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("cannot read", path, e)),
        }
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::with_source(ErrorKind::Io, format!("{what} {}", path.display()), e)
}

/// As `shipgate-watch status` prints it: when, what is held, each rule's alert states
/// and last value, what is firing.
impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let updated = humantime::format_rfc3339_seconds(self.updated_at);
        writeln!(f, "{}: updated {updated}", self.environment)?;
        if let Some(why) = &self.muted {
            writeln!(f, "alerts held: {why}")?;
        }
        for rule in &self.rules {
            let states: Vec<String> = rule
                .alerts
                .iter()
                .map(|a| format!("{} {}", a.severity.as_str(), a.alert.state.as_str()))
                .collect();
            let last = match &rule.stats.last {
                Some(crate::Reading::Value(v)) => format!("{v}"),
                Some(crate::Reading::NoData { missing, .. }) => {
                    format!("no data ({})", missing.as_str())
                }
                None => "never sampled".to_owned(),
            };
            writeln!(
                f,
                "  {:<24} {:<28} last {last}; {} sample(s), {} without data",
                rule.name,
                states.join(", "),
                rule.stats.samples,
                rule.stats.no_data
            )?;
        }
        let firing = if self.firing.is_empty() {
            "none".to_owned()
        } else {
            self.firing.join(", ")
        };
        writeln!(f, "firing: {firing}")
    }
}
