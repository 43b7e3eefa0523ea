// The doc comments are clap's --help text: their [brackets] are TOML, not rustdoc links.
#![allow(rustdoc::broken_intra_doc_links)]

//! The command line: every subcommand and flag, with the help text that teaches them.

use clap::{Parser, Subcommand};
use shipgate_cli::{ConfigArgs, LogArgs, ReportArgs};
use shipgate_deploy::Operation;

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
/// Exit codes: 0 deployed (or, for status and history, shown), 1 a step failed (the
/// report says whether it was rolled back), 2 a usage or configuration error, the
/// environment is locked, or an interrupted deployment waits: nothing was changed.
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
///   shipgate-deploy --env staging history --json
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
        /// `previous` (the release before the current one) or a release id.
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
    /// Every deployment of the environment, newest last.
    History {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Release a stale lock by hand.
    ///
    /// The interrupted deployment ends "abandoned" and what it changed stays as it is.
    Unlock {
        /// Do it (without this, only say what would be released).
        #[arg(long)]
        yes: bool,
    },
}

impl Command {
    /// The operation, its release (none: from the journal), and its flags; none for
    /// the read-only subcommands.
    pub(crate) fn operation(&self) -> Option<(Operation, Option<&str>, &Confirm, &ReportArgs)> {
        Some(match self {
            Command::Deploy {
                release,
                confirm,
                report,
                ..
            } => (Operation::Deploy, Some(release.as_str()), confirm, report),
            Command::Resume { confirm, report } => (Operation::Resume, None, confirm, report),
            Command::Abort { confirm, report } => (Operation::Abort, None, confirm, report),
            Command::Rollback {
                to,
                confirm,
                report,
                ..
            } => (Operation::Rollback, Some(to.as_str()), confirm, report),
            _ => return None,
        })
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

/// Confirmation for a protected environment.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Confirm {
    /// Confirm a protected environment without a terminal: must name it.
    #[arg(long, value_name = "ENV")]
    pub(crate) confirm: Option<String>,
}
