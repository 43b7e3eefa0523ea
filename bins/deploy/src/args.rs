// The doc comments are clap's --help text: their [brackets] are TOML, not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links)]

//! The command line: every subcommand and flag, with the help text that teaches them.

use clap::{Parser, Subcommand};
use shipgate_cli::{ConfigArgs, LogArgs, ReportArgs};
use shipgate_deploy::{Artifact, Error};
use shipgate_pipeline::{Ask, Intent, RollbackOf};

/// Deploy a release from the [deploy] section of shipgate.toml, with a journal that
/// survives a crash, one deployment per environment at a time, and an undo.
///
/// A deployment runs its steps in order (backup, [checks.pre], the team's commands,
/// migrate, release, health, [checks.post]), writing each step's start and end to a
/// journal under [deploy] state_dir before going on. A step that fails after something changed undoes what was done,
/// newest first. After a crash or kill -9, `resume` finishes the deployment (no step
/// that took effect runs again) and `abort` undoes it.
///
/// A protected environment ([deploy] protected) asks for the phrase "deploy ENV" (or
/// "rollback ENV", ...) on a terminal; without one it needs --confirm ENV.
///
/// With [pipeline.environments.ENV] watch = "10m" and a [watch] section, a deployment
/// (or promotion) to ENV ends with that long a watch window: a rollback rule that fires
/// rolls it back, and the verdict is kept for the next environment's promoted gate.
///
/// Exit codes: 0 deployed (or, for status and history, shown), 1 a step or a gate
/// failed or the watch window did not pass (the report says whether it was rolled
/// back), 2 a usage or configuration error, the environment is locked, or an
/// interrupted deployment waits: nothing was changed.
///
/// Examples:
///   shipgate-deploy --env staging deploy --release v42
///   shipgate-deploy --env production deploy --release v42 --dry-run
///   shipgate-deploy --env production deploy --release v42 --confirm production --junit deploy.xml
///   shipgate-deploy --env staging status
///   shipgate-deploy --env staging resume
///   shipgate-deploy --env staging abort
///   shipgate-deploy --env staging rollback --to previous
///   shipgate-deploy --env staging rollback database --backup 20261202T101500Z-v41
///   shipgate-deploy --env staging deploy --release build-812 --version v1.76.0 --commit "$GITHUB_SHA"
///   shipgate-deploy promote --from staging --to production v1.76.0 --confirm production
///   shipgate-deploy --env production approve 20261203T101500123Z-v1.76.0
///   shipgate-deploy promote --from staging --to production v1.76.1 --emergency --reason "INC-42 fix"
///   shipgate-deploy --env production rollback --to v1.75.0
///   shipgate-deploy --env production history --all
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Parser)]
#[command(name = "shipgate-deploy", version, verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    #[command(flatten)]
    pub(crate) log: LogArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Deploy a release: the steps of [deploy], in order, journaled.
    Deploy {
        /// The release's id (a directory name: letters, digits, `.`, `_`, `-`).
        #[arg(long)]
        release: String,
        #[command(flatten)]
        artifact: ArtifactArgs,
        /// Print the resolved plan (what would run, against what) and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not run this step (repeatable); a protected environment keeps backup
        /// and health unless --force.
        #[arg(long, value_name = "STEP")]
        skip: Vec<String>,
        /// In a protected environment: skip what it keeps (backup, health), and deploy
        /// even when a rollback could not be proved (the release serving is not in
        /// place, or new migrations cannot be undone and no backup covers them).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        confirm: Confirm,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Promote a version from one environment to the next, through the gates
    /// [pipeline.environments.TO] lists.
    ///
    /// The version must have been deployed to --from (its release and artifact are
    /// taken from there). Gates run in order and the first that fails stops the
    /// promotion, saying which and why: promoted (--from's last deployment of it
    /// succeeded and its watch window passed), soak, checks, load, approval. An
    /// approval gate without an approval records a request and prints the
    /// `approve` command to run; promote again once approved (the wait timer counts
    /// from the approval). With --emergency --reason, the gates the stage names as
    /// skippable are skipped, the reason is journaled and announced at critical
    /// severity; the backup and the lock are never skipped.
    Promote {
        /// The environment the version comes from.
        #[arg(long)]
        from: String,
        /// The environment it goes to (the same as --env, which may be left out).
        #[arg(long)]
        to: String,
        /// The version, as deployed to --from.
        version: String,
        /// Skip the gates [pipeline.environments.TO] skippable names.
        #[arg(long, requires = "reason")]
        emergency: bool,
        /// Why (required with --emergency; journaled and announced).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        confirm: Confirm,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Approve a promotion's request (`status` lists the pending ones).
    ///
    /// Under four_eyes the approver must not be the requester. Who you are comes from
    /// SHIPGATE_USER, else GITHUB_ACTOR, else USER.
    Approve {
        /// The request's id, as `promote` printed it.
        id: String,
    },
    /// Finish an interrupted deployment (after a crash or kill -9).
    Resume {
        #[command(flatten)]
        confirm: Confirm,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Undo an interrupted deployment, newest step first.
    Abort {
        #[command(flatten)]
        confirm: Confirm,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Switch back to an earlier release, restore a backup, or both.
    ///
    /// application: switch back to the previous (or named) release, refused past
    /// migrations it cannot undo ([deploy.migrations]) unless --force. database: restore
    /// the latest (or named) backup; the writes since it was taken are lost, and the
    /// report says when that was. full: the application first, then the backup. Then
    /// health and [checks.post] against what was restored.
    Rollback {
        /// application, database or full.
        #[arg(value_enum, default_value = "application")]
        what: What,
        /// `previous` (the release before the current one), a release id, or a version
        /// deployed here (v1.75.0), resolved to its release from the journals.
        #[arg(long, default_value = "previous")]
        to: String,
        /// The backup to restore (default: the environment's latest).
        #[arg(long, value_name = "ID")]
        backup: Option<String>,
        /// Roll the application back even past migrations that cannot be undone.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        confirm: Confirm,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// The current (or last) deployment, its step, and the lock.
    Status {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every deployment of the environment, newest last: which version ran where
    /// and when.
    History {
        /// As JSON.
        #[arg(long)]
        json: bool,
        /// Of every environment under [deploy] state_dir, by time.
        #[arg(long)]
        all: bool,
    },
    /// Release a stale lock by hand.
    ///
    /// The interrupted deployment ends "abandoned" and what it changed stays as it is.
    Unlock {
        /// Do it (without this, only say what would be released).
        #[arg(long)]
        yes: bool,
    },
    /// Stop what a deployment kept for an instant rollback, once its time is up.
    ///
    /// With the nginx driver's scale_down_delay, the old slot keeps running after a
    /// deployment so that a rollback is a switch back; the first deployment after the
    /// delay stops it, or this does (run it from a timer). Exit 0 also when there is
    /// nothing to stop yet.
    Gc,
}

impl Command {
    /// The confirmation and report flags of a command that changes something; none for
    /// the commands that only read (status, history) or decide (approve, unlock).
    pub(crate) fn flags(&self) -> Option<(&Confirm, &ReportArgs)> {
        match self {
            Command::Deploy {
                confirm, report, ..
            }
            | Command::Promote {
                confirm, report, ..
            }
            | Command::Resume { confirm, report }
            | Command::Abort { confirm, report }
            | Command::Rollback {
                confirm, report, ..
            } => Some((confirm, report)),
            _ => None,
        }
    }

    /// What the operator asks for; none for the commands without [`Command::flags`].
    pub(crate) fn ask(&self) -> Result<Option<Ask>, Error> {
        Ok(Some(match self {
            Command::Deploy {
                release,
                artifact: a,
                skip,
                force,
                ..
            } => Ask::Operation(Intent::Deploy {
                release: release.clone(),
                artifact: Artifact::described(
                    release,
                    a.version.clone(),
                    a.commit.clone(),
                    a.digest.clone(),
                )?,
                promotion: None,
                skip: skip.clone(),
                force: *force,
            }),
            Command::Promote {
                from,
                version,
                emergency,
                reason,
                ..
            } => Ask::Promote {
                from: from.clone(),
                version: version.clone(),
                emergency: reason.clone().filter(|_| *emergency),
            },
            Command::Resume { .. } => Ask::Operation(Intent::Resume),
            Command::Abort { .. } => Ask::Operation(Intent::Abort),
            Command::Rollback {
                what,
                to,
                backup,
                force,
                ..
            } => Ask::Operation(Intent::Rollback {
                of: match what {
                    What::Application => RollbackOf::Application,
                    What::Database => RollbackOf::Database,
                    What::Full => RollbackOf::Full,
                },
                to: to.clone(),
                backup: backup.clone(),
                force: *force,
                unattended: false,
            }),
            _ => return Ok(None),
        }))
    }
}

/// What a rollback restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum What {
    /// The previous (or named) release.
    Application,
    /// The databases and directories of a backup.
    Database,
    /// The release, then the backup.
    Full,
}

/// What a release is, recorded in the journal (`history`, `rollback --to VERSION`).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ArtifactArgs {
    /// The version people call it (default: the release id).
    #[arg(long)]
    pub(crate) version: Option<String>,
    /// The commit it was built from (in GitHub Actions: $GITHUB_SHA).
    #[arg(long)]
    pub(crate) commit: Option<String>,
    /// The artifact's digest (an image's sha256:…).
    #[arg(long)]
    pub(crate) digest: Option<String>,
}

/// Confirmation for a protected environment.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Confirm {
    /// Confirm a protected environment without a terminal: must name it.
    #[arg(long, value_name = "ENV")]
    pub(crate) confirm: Option<String>,
}

impl Args {
    /// `--config` and `--env`, with `promote --to` as the environment.
    pub(crate) fn target(&self) -> Result<ConfigArgs, shipgate_cli::Failure> {
        let mut config = self.config.clone();
        if let Command::Promote { to, .. } = &self.command {
            match &config.env {
                Some(env) if env != to => {
                    return Err(shipgate_cli::Failure::usage_msg(format!(
                        "--env {env} and promote --to {to} disagree: give one of them"
                    )));
                }
                _ => config.env = Some(to.clone()),
            }
        }
        Ok(config)
    }
}
