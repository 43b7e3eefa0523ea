//! `[pipeline]` in shipgate.toml: the environments a build is promoted through, and
//! the gates each one requires before it takes a version.
//!
//! ```toml
//! [pipeline.environments.staging]
//! watch = "5m"                        # [watch] runs this long after every deployment
//!
//! [pipeline.environments.production]
//! from = "staging"                    # `promote --from staging --to production v2`
//! watch = "10m"
//! skippable = ["soak", "load"]        # what --emergency --reason "…" may skip
//! gates = [
//!   { type = "promoted" },            # staging's last deployment of v2 succeeded, its watch passed
//!   { type = "soak", min = "30m" },   # and it has served staging for 30 minutes
//!   { type = "checks" },              # [checks.pre] pass
//!   { type = "load" },                # [load] (or `config`'s) thresholds hold
//!   { type = "approval", four_eyes = true, wait = "5m", expires = "24h" },
//! ]
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The `[pipeline]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Each environment's place in the pipeline, by name.
    #[serde(default)]
    pub environments: BTreeMap<String, StageConfig>,
}

/// One environment of the pipeline.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// The environment it takes versions from (`promote --from`); none for the first.
    #[serde(default)]
    pub from: Option<String>,
    /// The gates a promotion into it must pass, in order (cheap ones first).
    #[serde(default)]
    pub gates: Vec<GateConfig>,
    /// The gate kinds `--emergency` may skip. The backup and the lock are never
    /// skipped: they are deployment steps, not gates.
    #[serde(default)]
    pub skippable: Vec<GateKind>,
    /// Run `[watch]` for this long after each deployment to it, as the deployment's
    /// last step: a rollback rule that fires rolls it back, and the window's verdict is
    /// recorded for the next environment's `promoted` gate.
    #[serde(default, with = "shipgate_config::duration::option")]
    pub watch: Option<Duration>,
}

/// A gate's kind, as `skippable` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateKind {
    /// The source environment's last deployment of the version succeeded and its watch
    /// window passed.
    Promoted,
    /// The version has served the source environment for a minimum time.
    Soak,
    /// `[checks.pre]` (or `.post`) pass.
    Checks,
    /// A load test's thresholds hold.
    Load,
    /// Someone approved it.
    Approval,
}

impl GateKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            GateKind::Promoted => "promoted",
            GateKind::Soak => "soak",
            GateKind::Checks => "checks",
            GateKind::Load => "load",
            GateKind::Approval => "approval",
        }
    }
}

/// One gate and its settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GateConfig {
    /// The source environment's last deployment of this version ended deployed, it
    /// still serves there, and (unless `watched = false`) its watch window passed:
    /// read from the source's journals and watch records, never from a flag.
    Promoted {
        /// Require a passed watch window (default true).
        #[serde(default = "yes")]
        watched: bool,
    },
    /// The version has served the source environment for at least `min`.
    Soak {
        /// How long.
        #[serde(with = "shipgate_config::duration")]
        min: Duration,
    },
    /// The `[checks]` phase passes (`pre` by default; `post` runs the smoke checks).
    Checks {
        /// `pre` or `post`.
        #[serde(default = "pre")]
        phase: String,
    },
    /// A load test whose thresholds must hold: `[load]` of `config` (relative to this
    /// file), or of this file; its reports are kept with the promotion.
    Load {
        /// Another shipgate.toml whose `[load]` to run (e.g. one aimed at staging).
        #[serde(default)]
        config: Option<PathBuf>,
    },
    /// An approval.
    Approval(ApprovalConfig),
}

/// `{ type = "approval", … }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalConfig {
    /// The approver must be someone other than the requester.
    #[serde(default)]
    pub four_eyes: bool,
    /// How long after the approval the promotion may go ahead (GitHub's wait timer).
    #[serde(default, with = "shipgate_config::duration")]
    pub wait: Duration,
    /// A request not decided, or an approval not used, within this long expires.
    #[serde(default = "one_day", with = "shipgate_config::duration")]
    pub expires: Duration,
    /// `shipgate` (approve with `shipgate-deploy approve ID`) or `github`: the GitHub
    /// environment's required reviewers approved the job that runs the promotion, so
    /// shipgate records that and does not ask again.
    #[serde(default)]
    pub by: Approver,
}

/// Who approves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approver {
    /// `shipgate-deploy approve ID`.
    #[default]
    Shipgate,
    /// The GitHub environment's protection rules (required reviewers, wait timer).
    Github,
}

impl GateConfig {
    /// Its kind.
    pub fn kind(&self) -> GateKind {
        match self {
            GateConfig::Promoted { .. } => GateKind::Promoted,
            GateConfig::Soak { .. } => GateKind::Soak,
            GateConfig::Checks { .. } => GateKind::Checks,
            GateConfig::Load { .. } => GateKind::Load,
            GateConfig::Approval(_) => GateKind::Approval,
        }
    }
}

fn yes() -> bool {
    true
}
fn pre() -> String {
    "pre".to_owned()
}
fn one_day() -> Duration {
    Duration::from_secs(24 * 3600)
}

impl PipelineConfig {
    /// The stage `to`, checked against `from`: the environment must be in the
    /// pipeline, take its versions from `from`, and its gates must make sense.
    pub fn stage(&self, from: &str, to: &str) -> Result<&StageConfig, crate::Error> {
        let config = |m: String| crate::Error::new(crate::ErrorKind::Config, m);
        let Some(stage) = self.environments.get(to) else {
            let names: Vec<&str> = self.environments.keys().map(String::as_str).collect();
            return Err(config(format!(
                "[pipeline.environments] has no {to:?} (it has: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )));
        };
        match &stage.from {
            Some(f) if f == from => {}
            Some(f) => {
                return Err(config(format!(
                    "{to} takes its versions from {f}, not {from} ([pipeline.environments.{to}] from)"
                )));
            }
            None => {
                return Err(config(format!(
                    "{to} is not promoted into: give [pipeline.environments.{to}] from = {from:?}"
                )));
            }
        }
        stage.validate(to)?;
        Ok(stage)
    }

    /// The approval gate of `environment`, if it has one.
    pub fn approval(&self, environment: &str) -> Option<&ApprovalConfig> {
        self.environments
            .get(environment)?
            .gates
            .iter()
            .find_map(|g| match g {
                GateConfig::Approval(a) => Some(a),
                _ => None,
            })
    }

    /// How long to watch `environment` after a deployment, if the pipeline says so.
    pub fn watch_for(&self, environment: &str) -> Option<Duration> {
        self.environments.get(environment).and_then(|s| s.watch)
    }
}

impl StageConfig {
    fn validate(&self, name: &str) -> Result<(), crate::Error> {
        for k in &self.skippable {
            if !self.gates.iter().any(|g| g.kind() == *k) {
                return Err(crate::Error::new(
                    crate::ErrorKind::Config,
                    format!(
                        "[pipeline.environments.{name}] skippable names {:?}, which is not one of its gates",
                        k.as_str()
                    ),
                ));
            }
        }
        for g in &self.gates {
            if let GateConfig::Checks { phase } = g
                && phase != "pre"
                && phase != "post"
            {
                return Err(crate::Error::new(
                    crate::ErrorKind::Config,
                    format!(
                        "[pipeline.environments.{name}] checks gate: phase is \"pre\" or \"post\", not {phase:?}"
                    ),
                ));
            }
        }
        Ok(())
    }
}
