//! Each deployment's story, one JSON object per line, appended and fsync'd before the
//! deployer moves on: "step X starting" before a step acts, "step X done" (with what it
//! changed) after. A deployer killed at any moment leaves a journal that says exactly
//! how far it got; the next one reads it to resume or to undo.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::{Error, ErrorKind};

/// What a step changed, so that it can be undone and never done twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Effect {
    /// Nothing to undo (checks, health, a command without an undo).
    None,
    /// A command ran; `undo` reverses it, if the team gave one.
    Ran {
        /// The command that reverses it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<String>,
    },
    /// A backup was taken and verified: `<backup dir>/<id>/`.
    BackedUp {
        /// The backup's id (the deployment's).
        id: String,
        /// The RDS snapshots it took (their identifiers), which AWS keeps.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        snapshots: Vec<String>,
    },
    /// Databases and directories were restored from backup `id`.
    Restored {
        /// The backup restored.
        id: String,
        /// What is left for a person to do (an RDS snapshot restored to a new
        /// instance the service must be pointed at): the step warns.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pending: Vec<String>,
    },
    /// The driver switched from `from` (none on a first deployment) to `to`.
    Switched {
        /// The release that was current before.
        from: Option<String>,
        /// The release that is current now.
        to: String,
    },
}

/// How a deployment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// Every step passed.
    Deployed,
    /// A step failed and what had been done was undone.
    RolledBack,
    /// A step failed; nothing had changed, or the undo itself failed (see the journal).
    Failed,
    /// An operator aborted an interrupted deployment; what was done was undone.
    Aborted,
    /// An operator released it by hand (`unlock`): its changes stay as they are.
    Abandoned,
}

impl Ending {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Deployed => "deployed",
            Ending::RolledBack => "rolled_back",
            Ending::Failed => "failed",
            Ending::Aborted => "aborted",
            Ending::Abandoned => "abandoned",
        }
    }
}

/// What a deployment put in place: the version people name (`v1.75.0`), the release
/// id the driver knows it by, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// The version, as the team names it (`rollback --to v1.75.0`).
    pub version: String,
    /// The commit it was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The artifact's digest (an image's `sha256:…`, an archive's checksum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl Artifact {
    /// A version with nothing else known.
    pub fn version(version: impl Into<String>) -> Self {
        Self {
            version: version.into(),
            commit: None,
            digest: None,
        }
    }

    /// What `--version --commit --digest` say release `release` is: the version is
    /// the release id unless given, and must be a valid id itself (it names records).
    pub fn described(
        release: &str,
        version: Option<String>,
        commit: Option<String>,
        digest: Option<String>,
    ) -> Result<Self, crate::Error> {
        let version = version.unwrap_or_else(|| release.to_owned());
        if !crate::valid_release_id(&version) {
            return Err(crate::Error::new(
                crate::ErrorKind::Config,
                format!("version {version:?}: use letters, digits, `.`, `_`, `-` (at most 100)"),
            ));
        }
        Ok(Self {
            version,
            commit,
            digest,
        })
    }
}

/// What a promoted deployment passed through before it started: each gate's result,
/// who approved it, and the reason of an emergency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    /// The environment it was promoted from.
    pub from: String,
    /// Who asked for it (`SHIPGATE_USER`, the CI's actor, or the login name).
    #[serde(default)]
    pub requested_by: String,
    /// Each gate, in order.
    pub gates: Vec<GateRecord>,
    /// Who approved it, if an approval gate passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// Why gates were skipped (`--emergency --reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency: Option<String>,
}

/// One gate of a promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRecord {
    /// The gate's kind (`promoted`, `soak`, `checks`, `load`, `approval`).
    pub gate: String,
    /// `passed` or `skipped` (a promotion with a failed gate does not start).
    pub result: String,
    /// What it saw, in words.
    pub detail: String,
}

/// One line of a journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// The first line: what this deployment is.
    Started {
        /// The deployment's id.
        id: String,
        /// The environment deployed.
        environment: String,
        /// The release deployed.
        release: String,
        /// Its steps, in order.
        steps: Vec<String>,
        /// Who ran it: `user@host pid N`.
        by: String,
        /// The version and artifact it deploys (absent in journals written before
        /// versions were recorded: the release id is the version then).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        artifact: Option<Artifact>,
        /// The deployer's session id: its steps' processes run in it, and a
        /// take-over stops those of the step it was in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<i32>,
        /// Who asked for it ([`crate::actor`]: `SHIPGATE_USER`, the CI's actor, the
        /// login name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        /// `deploy` or `rollback` (absent in older journals: a deployment).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        operation: Option<String>,
    },
    /// The gates a promoted deployment passed, written right after `Started`.
    Promoted(Promotion),
    /// A step is about to act.
    StepStarting {
        /// The step's name.
        step: String,
        /// For the release step: the release serving before it, so that a crash in
        /// its middle can still be undone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<String>,
    },
    /// A step took effect.
    StepDone {
        /// The step's name.
        step: String,
        /// What it changed.
        effect: Effect,
    },
    /// A step failed; what it failed with.
    StepFailed {
        /// The step's name.
        step: String,
        /// Why, as one line.
        error: String,
    },
    /// A step was not run (`--skip`).
    StepSkipped {
        /// The step's name.
        step: String,
    },
    /// A step's change is about to be undone.
    UndoStarting {
        /// The step's name.
        step: String,
    },
    /// A step's change was undone.
    UndoDone {
        /// The step's name.
        step: String,
    },
    /// Undoing a step's change failed.
    UndoFailed {
        /// The step's name.
        step: String,
        /// Why, as one line.
        error: String,
    },
    /// The deployment was taken over after an interruption.
    Resumed {
        /// Who took it over.
        by: String,
        /// Its session id, as `Started`'s.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<i32>,
    },
    /// The last line.
    Finished {
        /// How it ended.
        ending: Ending,
    },
}

/// A journal line: an event and when it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// When, as RFC 3339 UTC.
    pub at: String,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

impl Event {
    /// The event with every secret `redactor` knows masked in its free text (a failed
    /// command's output, an undo command, a gate's detail): what a journal stores.
    pub fn masked(mut self, redactor: &shipgate_report::Redactor) -> Self {
        match &mut self {
            Event::StepFailed { error, .. } | Event::UndoFailed { error, .. } => {
                redactor.redact_in_place(error);
            }
            Event::StepDone {
                effect: Effect::Ran { undo: Some(undo) },
                ..
            } => redactor.redact_in_place(undo),
            Event::Promoted(p) => {
                for g in &mut p.gates {
                    redactor.redact_in_place(&mut g.detail);
                }
                if let Some(e) = &mut p.emergency {
                    redactor.redact_in_place(e);
                }
            }
            _ => {}
        }
        self
    }
}

/// An open journal, appended to by one deployer at a time (the lock sees to that).
/// Secrets are masked before a line is written ([`Journal::masking`]).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    records: Vec<Record>,
    redactor: shipgate_report::Redactor,
}

impl Journal {
    /// Creates the journal of a new deployment; fails if it exists.
    pub fn create(path: &Path, started: Event) -> Result<Self, Error> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::state("create", dir, e))?;
        }
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::state("create", path, e))?;
        // The new file's name must survive a crash too.
        if let Some(dir) = path.parent() {
            sync_directory(dir)?;
        }
        let mut journal = Self {
            path: path.to_owned(),
            file,
            records: Vec::new(),
            redactor: shipgate_report::Redactor::default(),
        };
        journal.append(started)?;
        Ok(journal)
    }

    /// The same journal, masking what `redactor` knows in every line it writes from
    /// now on.
    pub fn masking(mut self, redactor: shipgate_report::Redactor) -> Self {
        self.redactor = redactor;
        self
    }

    /// Opens an existing journal to read it and append to it. A last line cut short
    /// by a crash mid-write is dropped (and truncated away), never misread.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let records = read(path)?;
        let text = std::fs::read(path).map_err(|e| Error::state("read", path, e))?;
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::state("open", path, e))?;
        if whole < text.len() {
            file.set_len(whole as u64)
                .map_err(|e| Error::state("truncate", path, e))?;
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            records,
            redactor: shipgate_report::Redactor::default(),
        })
    }

    /// Appends `event` and waits until it is on disk.
    pub fn append(&mut self, event: Event) -> Result<(), Error> {
        let record = Record {
            at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            event: event.masked(&self.redactor),
        };
        let mut line = serde_json::to_string(&record).expect("a journal record serializes");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| Error::state("append to", &self.path, e))?;
        self.records.push(record);
        crate::failpoint::after_journal_write();
        Ok(())
    }

    /// Every record so far.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads a journal's records; a torn last line (a crash mid-write) is left out.
pub fn read(path: &Path) -> Result<Vec<Record>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::state("read", path, e))?;
    let mut out = Vec::new();
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    for (n, line) in complete.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line).map_err(|e| {
            Error::with_source(
                ErrorKind::State,
                format!("{}:{}: not a journal record", path.display(), n + 1),
                e,
            )
        })?;
        out.push(record);
    }
    Ok(out)
}

/// Flushes a directory's entries (a new or renamed file's name) to disk.
pub(crate) fn sync_directory(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::state("sync", dir, e))
}
