//! A deployment, resolved: the environment, the release, and its named steps in their
//! fixed order: pre checks → the team's commands → migrate → release → health → post
//! checks. Each has a time limit. Checks are steps a caller plugs in ([`Hook`]), so
//! that this crate does not pull every check kind's client into an embedder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{DeployConfig, HealthConfig};
use crate::driver::valid_release_id;
use crate::{Error, ErrorKind};

/// What a hook step returns: a line for the report, or why it failed.
pub type HookFuture =
    std::pin::Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'static>>;

/// A step the caller supplies (pre-deployment checks, post-deployment smoke tests).
#[derive(Clone)]
pub struct Hook(pub Arc<dyn Fn() -> HookFuture + Send + Sync>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// A command through `sh -c`, and the command that reverses it.
    Command {
        /// The command line.
        run: String,
        /// What reverses it, if anything does.
        undo: Option<String>,
        /// Run where the release runs when the driver has such a place (ECS: a
        /// one-off task), not here: `[deploy.migrate]`.
        in_release: bool,
    },
    /// Back up every `[deploy.backup]` item, verified.
    Backup(crate::backup::BackupConfig),
    /// Restore a backup (`None`: the environment's latest).
    Restore {
        /// What the backup holds.
        config: crate::backup::BackupConfig,
        /// Which backup.
        id: Option<String>,
    },
    /// The driver prepares the release and switches to it.
    Release,
    /// A GET retried until it passes.
    Health(HealthConfig),
    /// A caller's step; nothing to undo.
    Hook(Hook),
}

/// One named step with its time limit.
#[derive(Debug, Clone)]
pub struct Step {
    /// Its name, unique in the plan (`--skip NAME`).
    pub name: String,
    /// What it does.
    pub kind: StepKind,
    /// How long it may take.
    pub timeout: Duration,
}

/// Steps the caller adds around the configured ones.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    /// Before everything (`shipgate-check pre`).
    pub pre: Option<Hook>,
    /// After health (`shipgate-check post`).
    pub post: Option<Hook>,
}

/// A deployment of one release to one environment.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The environment.
    pub environment: String,
    /// The release deployed (a directory name for the host driver).
    pub release: String,
    /// Whether the environment is protected.
    pub protected: bool,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Where commands run.
    pub base_dir: PathBuf,
    /// This environment's journals and lock.
    pub state_dir: PathBuf,
    /// What the release is: its version (by default the release id), commit, digest.
    pub artifact: crate::Artifact,
    /// The gates it passed, when it is a promotion; journaled after `Started`.
    pub promotion: Option<crate::Promotion>,
    /// What it is: a deployment, or a rollback (of the application, the database or
    /// both); journaled in `Started`, shown by `history`.
    pub operation: crate::Operation,
}

/// Steps a protected environment does not skip without `--force`.
pub const UNSKIPPABLE: &[&str] = &["backup", "health"];

impl Plan {
    /// The plan `[deploy]` gives for `release` to `environment`.
    pub fn from_config(
        config: &DeployConfig,
        environment: &str,
        release: &str,
        base_dir: &Path,
        hooks: Hooks,
    ) -> Result<Self, Error> {
        if !valid_release_id(release) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("release {release:?}: use letters, digits, `.`, `_`, `-` (at most 100)"),
            ));
        }
        if !valid_release_id(environment) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("environment {environment:?}: use letters, digits, `.`, `_`, `-`"),
            ));
        }
        let mut steps = Vec::new();
        let limit = |t: Option<Duration>| t.unwrap_or(config.timeout);
        if let Some(b) = &config.backup {
            steps.push(Step {
                name: "backup".into(),
                kind: StepKind::Backup(b.clone()),
                timeout: config.timeout,
            });
        }
        if let Some(pre) = hooks.pre {
            steps.push(Step {
                name: "pre".into(),
                kind: StepKind::Hook(pre),
                timeout: config.timeout,
            });
        }
        for (i, c) in config.commands.iter().enumerate() {
            steps.push(Step {
                name: c
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("command-{}", i + 1)),
                kind: StepKind::Command {
                    run: c.run.clone(),
                    undo: c.undo.clone(),
                    in_release: false,
                },
                timeout: limit(c.timeout),
            });
        }
        if let Some(m) = &config.migrate {
            steps.push(Step {
                name: m.name.clone().unwrap_or_else(|| "migrate".into()),
                kind: StepKind::Command {
                    run: m.run.clone(),
                    undo: m.undo.clone(),
                    in_release: true,
                },
                timeout: limit(m.timeout),
            });
        }
        steps.push(Step {
            name: "release".into(),
            kind: StepKind::Release,
            timeout: config.timeout,
        });
        if let Some(h) = &config.health {
            for a in &h.asserts {
                shipgate_http::Assertion::parse(&a.replace("{{release}}", release)).map_err(
                    |e| {
                        Error::with_source(
                            ErrorKind::Config,
                            format!("[deploy.health] assert {a:?}"),
                            e,
                        )
                    },
                )?;
            }
            steps.push(Step {
                name: "health".into(),
                kind: StepKind::Health(h.clone()),
                timeout: h.timeout + Duration::from_secs(30),
            });
        }
        if let Some(post) = hooks.post {
            steps.push(Step {
                name: "post".into(),
                kind: StepKind::Hook(post),
                timeout: config.timeout,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &steps {
            if !seen.insert(s.name.as_str()) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "two steps are named {:?}: give each command its own name",
                        s.name
                    ),
                ));
            }
        }
        Ok(Self {
            environment: environment.to_owned(),
            release: release.to_owned(),
            protected: config.protected.iter().any(|p| p == environment),
            steps,
            base_dir: base_dir.to_owned(),
            state_dir: config.state_dir_for(base_dir, environment),
            artifact: crate::Artifact::version(release),
            promotion: None,
            operation: crate::Operation::Deploy,
        })
    }

    /// The same plan, recording what the release is (its version, commit, digest).
    pub fn with_artifact(mut self, artifact: crate::Artifact) -> Self {
        self.artifact = artifact;
        self
    }

    /// The same plan, recording the gates it passed as a promotion.
    pub fn with_promotion(mut self, promotion: crate::Promotion) -> Self {
        self.promotion = Some(promotion);
        self
    }

    /// The same plan for another release, with only the steps a rollback runs: the
    /// switch, then health and post checks against the restored release.
    pub fn rollback_to(&self, release: &str) -> Self {
        let mut plan = self.clone();
        plan.release = release.to_owned();
        plan.artifact = crate::Artifact::version(release);
        plan.promotion = None;
        plan.operation = crate::Operation::Rollback;
        plan.steps.retain(|s| {
            matches!(s.kind, StepKind::Release | StepKind::Health(_)) || s.name == "post"
        });
        plan
    }

    /// A database rollback: restore backup `id` (none: the latest), with `app` first
    /// switching back to `release` (`rollback full`; the old code meets the new schema
    /// only for the moment between the two, never the new code the old schema), then
    /// health and post checks.
    pub fn restore(&self, release: Option<&str>, id: Option<&str>) -> Result<Self, Error> {
        let Some(backup) = self.steps.iter().find_map(|s| match &s.kind {
            StepKind::Backup(b) => Some(b.clone()),
            _ => None,
        }) else {
            return Err(Error::new(
                ErrorKind::Config,
                "a database rollback needs [deploy.backup]",
            ));
        };
        let mut plan = match release {
            Some(r) => self.rollback_to(r),
            None => {
                let mut p = self.rollback_to(&self.release);
                p.steps.retain(|s| !matches!(s.kind, StepKind::Release));
                p
            }
        };
        let at = plan
            .steps
            .iter()
            .position(|s| !matches!(s.kind, StepKind::Release))
            .unwrap_or(plan.steps.len());
        plan.steps.insert(
            at,
            Step {
                name: "restore".into(),
                kind: StepKind::Restore {
                    config: backup,
                    id: id.map(str::to_owned),
                },
                timeout: self.steps[0].timeout,
            },
        );
        Ok(plan)
    }

    /// Whether a rollback of this deployment could undo it: every command before the
    /// release (migrate above all) has an `undo` or is covered by a backup step. A
    /// protected environment deploys only when it could (or with `--force`).
    pub fn check_rollback_ready(&self, skip: &[String]) -> Result<(), Error> {
        let backed_up = self
            .steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Backup(_)) && !skip.contains(&s.name));
        let release = self
            .steps
            .iter()
            .position(|s| matches!(s.kind, StepKind::Release))
            .unwrap_or(self.steps.len());
        let unreversed: Vec<&str> = self.steps[..release]
            .iter()
            .filter(|s| !skip.contains(&s.name))
            .filter(|s| s.name == "migrate")
            .filter(|s| matches!(&s.kind, StepKind::Command { undo: None, .. }))
            .map(|s| s.name.as_str())
            .collect();
        if unreversed.is_empty() || backed_up {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Config,
            format!(
                "{} is protected and a rollback could not undo step {}: it has no `undo` and                  no [deploy.backup] covers it; add one of them, or pass --force",
                self.environment,
                unreversed.join(", ")
            ),
        ))
    }

    /// Checks `--skip` names: each must be a step, and a protected environment keeps
    /// backup and health unless forced.
    pub fn check_skips(&self, skip: &[String], force: bool) -> Result<(), Error> {
        for name in skip {
            if !self.steps.iter().any(|s| &s.name == name) {
                let names: Vec<&str> = self.steps.iter().map(|s| s.name.as_str()).collect();
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("--skip {name}: no such step (steps: {})", names.join(", ")),
                ));
            }
            if name == "release" {
                return Err(Error::new(
                    ErrorKind::Config,
                    "--skip release: a deployment without its release deploys nothing",
                ));
            }
            if self.protected && !force && UNSKIPPABLE.contains(&name.as_str()) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "--skip {name}: {} is protected; {name} is skipped there only with --force",
                        self.environment
                    ),
                ));
            }
        }
        Ok(())
    }

    /// One line per step, as `--dry-run` prints it: what would run, against what.
    pub fn describe(&self, driver: &str, skip: &[String]) -> Vec<String> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let what = match &s.kind {
                    StepKind::Command { run, undo, .. } => match undo {
                        Some(u) => format!("run `{run}` (undo: `{u}`)"),
                        None => format!("run `{run}` (no undo)"),
                    },
                    StepKind::Release => {
                        format!("{driver}: prepare {} and switch to it", self.release)
                    }
                    StepKind::Backup(b) => {
                        let items: Vec<String> = b
                            .items
                            .iter()
                            .map(|i| format!("{} ({:?})", i.name, i.kind).to_lowercase())
                            .collect();
                        let mut line =
                            format!("back up {} into {}/", items.join(", "), b.dir.display());
                        for i in &b.items {
                            if i.kind == crate::backup::ItemKind::Rds {
                                let instance = i.instance.as_deref().unwrap_or("(no instance)");
                                line.push_str(&format!(
                                    "\n      rds:CreateDBSnapshot {{\"DBSnapshotIdentifier\":\"shipgate-{}-{instance}-<deployment id>\",\"DBInstanceIdentifier\":\"{instance}\"}}, then rds:DescribeDBSnapshots until available",
                                    self.environment
                                ));
                            }
                        }
                        line
                    }
                    StepKind::Restore { id, .. } => format!(
                        "restore backup {} (the writes since it was taken are lost)",
                        id.as_deref().unwrap_or("(the latest)")
                    ),
                    StepKind::Health(h) => format!(
                        "GET {} until healthy, every {:?}, for at most {:?}",
                        h.url, h.interval, h.timeout
                    ),
                    StepKind::Hook(_) if s.name == "pre" => "[checks.pre]".to_owned(),
                    StepKind::Hook(_) if s.name == "post" => "[checks.post]".to_owned(),
                    StepKind::Hook(_) => "a caller's step".to_owned(),
                };
                let skipped = if skip.contains(&s.name) {
                    "  (skipped)"
                } else {
                    ""
                };
                format!(
                    "{:>2}. {:<10} {what}  [timeout {:?}]{skipped}",
                    i + 1,
                    s.name,
                    s.timeout
                )
            })
            .collect()
    }
}
