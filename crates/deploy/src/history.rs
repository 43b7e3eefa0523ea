//! The environment's deployments as their journals tell them: the latest, every one,
//! and the releases a rollback can name.

use std::path::{Path, PathBuf};

use crate::driver::Driver;
use crate::journal::Ending;
use crate::state::State;
use crate::{Error, ErrorKind};

/// The release `to` names: `previous` is the one before the current release; a
/// release the driver has is itself; otherwise `to` is a version, and its release is
/// the one the environment's newest successful deployment of that version put in
/// place (the journals say which).
pub async fn rollback_target(
    driver: &dyn Driver,
    state_dir: &Path,
    to: &str,
) -> Result<String, Error> {
    if to == "previous" {
        // The release the current one replaced, as the journals tell it (after a
        // rollback, that is the release rolled back from); else the driver's own
        // order, for a release deployed before shipgate kept journals here.
        let Some(current) = driver.current().await? else {
            return Err(Error::new(
                ErrorKind::NothingToDo,
                "nothing is deployed here: there is no previous release to roll back to",
            ));
        };
        let replaced = history(state_dir)?
            .into_iter()
            .rev()
            .find(|s| s.release == current && s.ending == Some(Ending::Deployed))
            .and_then(|s| s.previous)
            .filter(|p| *p != current);
        let found = match replaced {
            Some(p) => Some(p),
            None => previous_release(driver).await?,
        };
        return found.ok_or_else(|| {
            Error::new(
                ErrorKind::NothingToDo,
                "there is no previous release to roll back to",
            )
        });
    }
    if driver.releases().await?.iter().any(|r| r == to) {
        return Ok(to.to_owned());
    }
    let all = history(state_dir)?;
    if let Some(s) = all
        .iter()
        .rev()
        .find(|s| s.artifact.version == to && s.ending == Some(Ending::Deployed))
    {
        return Ok(s.release.clone());
    }
    if all.iter().any(|s| s.release == to) {
        // A release the environment ran whose files the driver no longer lists: the
        // driver says whether it can bring it back.
        return Ok(to.to_owned());
    }
    let mut known: Vec<&str> = all
        .iter()
        .filter(|s| s.ending == Some(Ending::Deployed))
        .map(|s| s.artifact.version.as_str())
        .collect();
    known.sort_unstable();
    known.dedup();
    Err(Error::new(
        ErrorKind::Config,
        format!(
            "{to:?} is neither a release in place ({}) nor a version deployed here ({}); nothing was changed",
            driver.releases().await?.join(", "),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ),
    ))
}

/// The artifact the environment's newest successful deployment of `release` recorded
/// (a rollback journals the version it returns to); just the release id when none did.
pub fn artifact_of(state_dir: &Path, release: &str) -> Result<crate::Artifact, Error> {
    Ok(history(state_dir)?
        .into_iter()
        .rev()
        .find(|s| s.release == release && s.ending == Some(Ending::Deployed))
        .map_or_else(|| crate::Artifact::version(release), |s| s.artifact))
}

/// The release of the environment's latest deployment (what resume and abort act on).
pub fn latest_release(state_dir: &Path) -> Result<String, Error> {
    match latest(state_dir)? {
        Some((_, s)) => Ok(s.release),
        None => Err(Error::new(
            ErrorKind::NothingToDo,
            "the environment has no deployment to take over",
        )),
    }
}

/// The journals of an environment, oldest first.
pub fn journals(state_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let dir = state_dir.join("deployments");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::state("list", &dir, e)),
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    out.sort();
    Ok(out)
}

/// Every past and current deployment of the environment, oldest first. A journal
/// without its first line (its deployer was killed as it created it) is a deployment
/// that never began, and is left out.
pub fn history(state_dir: &Path) -> Result<Vec<State>, Error> {
    let mut out = Vec::new();
    for path in journals(state_dir)? {
        let records = crate::journal::read(&path)?;
        if !records.is_empty() {
            out.push(State::of(&records));
        }
    }
    Ok(out)
}

/// The latest deployment that began, if any.
pub fn latest(state_dir: &Path) -> Result<Option<(PathBuf, State)>, Error> {
    for path in journals(state_dir)?.into_iter().rev() {
        let records = crate::journal::read(&path)?;
        if !records.is_empty() {
            return Ok(Some((path, State::of(&records))));
        }
    }
    Ok(None)
}

/// Removes the journals of deployments that never began (no first line): their
/// deployer died before it did anything. Only under the lock. Reads no further than
/// each journal's first line.
pub(crate) fn remove_unbegun(state_dir: &Path) -> Result<(), Error> {
    use std::io::BufRead as _;
    for path in journals(state_dir)? {
        let file = std::fs::File::open(&path).map_err(|e| Error::state("read", &path, e))?;
        let mut first = Vec::new();
        std::io::BufReader::new(file)
            .read_until(b'\n', &mut first)
            .map_err(|e| Error::state("read", &path, e))?;
        if !first.ends_with(b"\n") {
            std::fs::remove_file(&path).map_err(|e| Error::state("remove", &path, e))?;
        }
    }
    Ok(())
}

/// The release before the one serving now, as the driver lists them.
pub async fn previous_release(driver: &dyn Driver) -> Result<Option<String>, Error> {
    let current = driver.current().await?;
    let releases = driver.releases().await?;
    let Some(current) = current else {
        return Ok(None);
    };
    let at = releases.iter().position(|r| *r == current);
    Ok(at
        .and_then(|i| i.checked_sub(1))
        .map(|i| releases[i].clone()))
}
