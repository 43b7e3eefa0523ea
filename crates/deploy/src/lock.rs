//! One deployment per environment at a time: an OS lock on `<env>/lock` (released by
//! the kernel when its holder dies, however it dies) and a record of the holder
//! beside it (`<env>/holder.json`: deployment id, pid, host, user, since when), so a
//! second deployer can say who holds it, and a holder that died is recognised as stale.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::{Error, ErrorKind};

/// Who holds (or held) an environment's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The deployment it runs.
    pub deployment: String,
    /// Its process id.
    pub pid: u32,
    /// The machine it runs on.
    pub host: String,
    /// The user it runs as.
    pub user: String,
    /// When it took the lock (RFC 3339).
    pub since: String,
}

impl Holder {
    /// This process, running `deployment`.
    pub fn me(deployment: &str) -> Self {
        Self {
            deployment: deployment.to_owned(),
            pid: std::process::id(),
            host: hostname(),
            user: username(),
            since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }

    /// `deployment D by user@host (pid P) since T`.
    pub fn describe(&self) -> String {
        format!(
            "deployment {} by {}@{} (pid {}) since {}",
            self.deployment, self.user, self.host, self.pid, self.since
        )
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// An environment's lock, held until dropped.
#[derive(Debug)]
pub struct Lock {
    file: File,
    holder_path: PathBuf,
}

/// What the lock of an environment looks like from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds it.
    Free,
    /// A live process holds it.
    Held(Holder),
    /// A holder record remains but its process is gone (killed, machine rebooted): the
    /// OS lock is free.
    Stale(Holder),
}

impl std::fmt::Display for LockState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockState::Free => f.write_str("free"),
            LockState::Held(h) => write!(f, "held by {h}"),
            LockState::Stale(h) => write!(f, "stale: {h}, which is gone"),
        }
    }
}

impl Lock {
    /// Takes the OS lock of the environment whose state lives in `dir`. Held by a
    /// live process: [`ErrorKind::Locked`], naming it. Returns the record a dead
    /// holder left, if any (stale): the caller decides, from the journal, whether that
    /// holder's deployment needs `resume`/`abort` first, then [`Lock::claim`]s it.
    pub fn acquire(dir: &Path) -> Result<(Self, Option<Holder>), Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::state("create", dir, e))?;
        let path = dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::state("open", &path, e))?;
        let holder_path = dir.join("holder.json");
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let who = read_holder(&holder_path)
                    .ok()
                    .flatten()
                    .map_or_else(|| "another deployer".to_owned(), |h| h.describe());
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!("the environment is locked by {who}"),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::state("lock", &path, e)),
        }
        let stale = read_holder(&holder_path)?;
        Ok((Self { file, holder_path }, stale))
    }

    /// Records `holder` as the lock's holder (replacing a stale record).
    pub fn claim(&mut self, holder: &Holder) -> Result<(), Error> {
        shipgate_report::write_atomic(
            &self.holder_path,
            &serde_json::to_string_pretty(holder).expect("a holder serializes"),
        )
        .map_err(|e| Error::with_source(ErrorKind::State, "cannot record the lock's holder", e))
    }

    /// The lock's state, without taking it.
    pub fn inspect(dir: &Path) -> Result<LockState, Error> {
        let holder_path = dir.join("holder.json");
        let Some(holder) = read_holder(&holder_path)? else {
            return Ok(LockState::Free);
        };
        let path = dir.join("lock");
        let Ok(file) = File::open(&path) else {
            return Ok(LockState::Stale(holder));
        };
        Ok(match file.try_lock_shared() {
            Ok(()) => LockState::Stale(holder),
            Err(_) => LockState::Held(holder),
        })
    }

    /// Releases the lock and removes the holder record (the deployment finished).
    pub fn release(self) -> Result<(), Error> {
        std::fs::remove_file(&self.holder_path)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
            .map_err(|e| Error::state("remove", &self.holder_path, e))?;
        let _ = self.file.unlock();
        Ok(())
    }
}

fn read_holder(path: &Path) -> Result<Option<Holder>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::with_source(
                ErrorKind::State,
                format!("{} is not a lock holder record", path.display()),
                e,
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::state("read", path, e)),
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

fn username() -> String {
    actor()
}

/// Who is acting: `SHIPGATE_USER`, else the CI's actor (`GITHUB_ACTOR`), else the
/// login name. What `history` shows as "by", and who asks for a promotion.
pub fn actor() -> String {
    ["SHIPGATE_USER", "GITHUB_ACTOR", "USER"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        })
        .unwrap_or_else(|| "unknown-user".to_owned())
}
