//! One operation on one environment, resolved to what it will do: the release it acts
//! on, the plan of steps, and what the guards a protected environment asks for found.
//!
//! A front end (the `shipgate-deploy` binary, a team's own tool) says what the
//! operator asked for as a [`Intent`]; [`prepare`] reads the environment (its driver,
//! journals, backups, migration files) and either refuses, changing nothing, or gives
//! the [`Prepared`] operation to confirm, print (`--dry-run`) or run.

use std::path::Path;

use shipgate_deploy::{
    Artifact, Context, DeployConfig, Driver, Hooks, Operation, Plan, Promotion, StepKind,
};
use shipgate_http::HttpClient;
use shipgate_report::Finding;

use crate::{Error, guard};

/// What an operator asked of an environment.
#[derive(Debug, Clone)]
pub enum Intent {
    /// Deploy `release`, described by `artifact`; `promotion`: the gates it passed.
    Deploy {
        /// The release id the driver knows it by.
        release: String,
        /// What it is (version, commit, digest).
        artifact: Artifact,
        /// The gates it passed, when it is promoted from another environment.
        promotion: Option<Promotion>,
        /// Steps not to run.
        skip: Vec<String>,
        /// Skip even what a protected environment keeps; deploy even when a
        /// rollback of it could not be proved.
        force: bool,
    },
    /// Take over the latest deployment and finish it.
    Resume,
    /// Take over the latest deployment and undo what it did.
    Abort,
    /// Go back to an earlier state.
    Rollback {
        /// What goes back.
        of: RollbackOf,
        /// `previous`, a release id, or a version (`v1.75.0`).
        to: String,
        /// The backup a database rollback restores (none: the latest).
        backup: Option<String>,
        /// Roll the application back even when the database holds migrations the
        /// target does not know that cannot be undone.
        force: bool,
        /// Nobody is there to weigh them (a watch rule's rollback): refuse when the
        /// database holds any migration the target does not know, even a reversible
        /// one, and leave it to `shipgate-deploy rollback`.
        unattended: bool,
    },
}

/// What a rollback takes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollbackOf {
    /// Switch to an earlier release; the schema stays.
    Application,
    /// Restore a backup; the release stays.
    Database,
    /// Switch back, then restore the backup taken before the release.
    Full,
}

impl Intent {
    /// The deployment operation it runs.
    pub fn operation(&self) -> Operation {
        match self {
            Intent::Deploy { .. } => Operation::Deploy,
            Intent::Resume => Operation::Resume,
            Intent::Abort => Operation::Abort,
            Intent::Rollback { .. } => Operation::Rollback,
        }
    }

    fn skip(&self) -> &[String] {
        match self {
            Intent::Deploy { skip, .. } => skip,
            _ => &[],
        }
    }

    fn force_skips(&self) -> bool {
        matches!(self, Intent::Deploy { force: true, .. })
    }
}

/// Where an operation acts.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    /// `[deploy]`.
    pub config: &'a DeployConfig,
    /// The directory relative paths (and commands) start from.
    pub base: &'a Path,
    /// The environment.
    pub environment: &'a str,
    /// How releases are put in place and switched there.
    pub driver: &'a dyn Driver,
}

/// A request resolved against the environment, ready to confirm and run.
#[derive(Debug)]
pub struct Prepared {
    /// What runs.
    pub operation: Operation,
    /// The release it acts on (empty for a database rollback of an environment that
    /// has never had one).
    pub release: String,
    /// Its steps.
    pub plan: Plan,
    /// What the guards found: rollback readiness, the migrations compared.
    pub findings: Vec<Finding>,
    skip: Vec<String>,
    force: bool,
}

impl Prepared {
    /// The context to run it in; `confirmed`: the operator of a protected
    /// environment typed the phrase or passed `--confirm`.
    pub fn context<'a>(
        &'a self,
        driver: &'a dyn Driver,
        http: HttpClient,
        confirmed: bool,
    ) -> Context<'a> {
        Context {
            skip: self.skip.clone(),
            force: self.force,
            confirmed,
            ..Context::new(&self.plan, driver, http)
        }
    }

    /// What `--dry-run` prints: a heading, then the plan's steps, each with the calls
    /// the driver would make for it (read from the driver, which changes nothing).
    pub async fn describe(&self, driver: &dyn Driver) -> Result<Vec<String>, Error> {
        let mut lines = vec![format!(
            "would {} {} to {} (driver {}):",
            self.operation.verb(),
            self.release,
            self.plan.environment,
            driver.name()
        )];
        let steps = self.plan.describe(driver.name(), &self.skip);
        for (line, step) in steps.into_iter().zip(&self.plan.steps) {
            lines.push(line);
            if self.skip.contains(&step.name) {
                continue;
            }
            let calls = match &step.kind {
                StepKind::Release => Some(driver.dry_run(&self.release).await),
                StepKind::Command {
                    run,
                    in_release: true,
                    ..
                } => match driver.dry_run_task(&self.release, run) {
                    Some(calls) => Some(calls.await),
                    None => None,
                },
                _ => None,
            };
            match calls {
                Some(Ok(calls)) => lines.extend(calls.into_iter().map(|c| format!("      {c}"))),
                Some(Err(e)) => lines.push(format!(
                    "      (cannot say which calls: {})",
                    shipgate_report::error_line(&e)
                )),
                None => {}
            }
        }
        Ok(lines)
    }
}

/// Resolves `request` on `target`: which release it acts on (a rollback's `--to`
/// read from the driver and the journals, resume's and abort's from the latest
/// deployment), the plan (`hooks`: the pre and post checks), the skips allowed, and,
/// for a protected environment, the proof that the deployment could be rolled back;
/// for an application rollback, that the database holds nothing the target cannot
/// live with. Refuses before anything changes otherwise.
pub async fn prepare(
    target: &Target<'_>,
    request: &Intent,
    hooks: Hooks,
) -> Result<Prepared, Error> {
    let Target {
        config,
        base,
        environment: env,
        driver,
    } = *target;
    let state_dir = config.state_dir_for(base, env);
    let release = match request {
        Intent::Deploy { release, .. } => release.clone(),
        Intent::Rollback {
            of: RollbackOf::Database,
            ..
        } => driver.current().await?.unwrap_or_default(),
        Intent::Rollback { to, .. } => {
            shipgate_deploy::rollback_target(driver, &state_dir, to).await?
        }
        Intent::Resume | Intent::Abort => shipgate_deploy::latest_release(&state_dir)?,
    };
    let named = if release.is_empty() { "none" } else { &release };
    let plan = Plan::from_config(config, env, named, base, hooks)?;
    let plan = match request {
        Intent::Deploy {
            artifact,
            promotion,
            ..
        } => {
            let plan = plan.with_artifact(artifact.clone());
            match promotion {
                Some(p) => plan.with_promotion(p.clone()),
                None => plan,
            }
        }
        Intent::Resume | Intent::Abort => plan,
        Intent::Rollback { of, backup, .. } => match of {
            RollbackOf::Application => plan
                .rollback_to(&release)
                .with_artifact(shipgate_deploy::artifact_of(&state_dir, &release)?),
            RollbackOf::Database => plan.restore(None, backup.as_deref())?,
            RollbackOf::Full => plan.restore(Some(&release), backup.as_deref())?,
        },
    };
    let (skip, force) = (request.skip().to_vec(), request.force_skips());
    plan.check_skips(&skip, force)?;
    let found = match request {
        Intent::Rollback {
            of: RollbackOf::Application,
            force,
            unattended,
            ..
        } => {
            let policy = match (force, unattended) {
                (_, true) => guard::Policy::Unattended,
                (true, false) => guard::Policy::Forced,
                (false, false) => guard::Policy::Attended,
            };
            guard::rollback(config, base, env, driver, &release, policy).await?
        }
        Intent::Rollback {
            of: RollbackOf::Database,
            backup,
            force,
            ..
        } => guard::database(config, base, env, driver, backup.as_deref(), *force).await?,
        Intent::Deploy { .. } if plan.protected => {
            let backed_up = config.backup.is_some() && !skip.iter().any(|s| s == "backup");
            guard::release(config, base, driver, &release, backed_up, force).await?
        }
        _ => None,
    };
    Ok(Prepared {
        operation: request.operation(),
        release,
        plan,
        findings: found.into_iter().collect(),
        skip,
        force,
    })
}
