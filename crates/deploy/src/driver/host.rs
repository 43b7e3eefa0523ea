//! The `host` driver: `root/releases/<id>/` side by side and `root/current`, a symlink
//! switched atomically (a new link renamed over the old one), then the team's restart
//! command. The Capistrano layout: a rollback is a switch back, instant and
//! complete, as long as the previous release's directory is there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Driver, DriverFuture, valid_release_id};
use crate::config::HostConfig;
use crate::{Error, ErrorKind};

/// Releases under a directory, switched by a symlink.
#[derive(Debug, Clone)]
pub struct Host {
    root: PathBuf,
    source: Option<PathBuf>,
    restart: Option<String>,
    keep: usize,
    /// Where the restart command runs (the configuration's directory).
    dir: PathBuf,
    restart_timeout: Duration,
}

impl Host {
    /// The driver for `config`; relative paths are taken from `base_dir`.
    pub fn new(config: &HostConfig, base_dir: &Path, restart_timeout: Duration) -> Self {
        Self {
            root: base_dir.join(&config.root),
            source: config.source.as_ref().map(|s| base_dir.join(s)),
            restart: config.restart.clone(),
            keep: config.keep.max(2),
            dir: base_dir.to_owned(),
            restart_timeout,
        }
    }

    /// `root/releases`.
    pub fn releases_dir(&self) -> PathBuf {
        self.root.join("releases")
    }

    fn release_dir(&self, id: &str) -> Result<PathBuf, Error> {
        if !valid_release_id(id) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("{id:?} cannot name a release: use letters, digits, `.`, `_`, `-`"),
            ));
        }
        Ok(self.releases_dir().join(id))
    }

    fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
        Error::with_source(
            ErrorKind::Driver,
            format!("cannot {what} {}", path.display()),
            e,
        )
    }
}

impl Host {
    /// The release serving now, read from this machine.
    pub(crate) fn current_now(&self) -> Result<Option<String>, Error> {
        let link = self.root.join("current");
        match std::fs::read_link(&link) {
            Ok(target) => Ok(target.file_name().map(|n| n.to_string_lossy().into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Self::io("read", &link, e)),
        }
    }

    /// The releases in place, oldest first.
    pub(crate) fn releases_now(&self) -> Result<Vec<String>, Error> {
        let dir = self.releases_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Self::io("list", &dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Self::io("list", &dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
            out.push((modified, name));
        }
        out.sort();
        Ok(out.into_iter().map(|(_, n)| n).collect())
    }
}

impl Driver for Host {
    fn name(&self) -> &'static str {
        "host"
    }

    fn current(&self) -> DriverFuture<'_, Option<String>> {
        Box::pin(async move { self.current_now() })
    }

    fn releases(&self) -> DriverFuture<'_, Vec<String>> {
        Box::pin(async move { self.releases_now() })
    }

    fn release_dir(&self, release: &str) -> Option<PathBuf> {
        self.release_dir(release).ok().filter(|d| d.is_dir())
    }

    fn candidate_dir(&self, release: &str) -> Option<PathBuf> {
        Driver::release_dir(self, release).or_else(|| self.source.clone().filter(|s| s.is_dir()))
    }

    fn prepare<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let target = self.release_dir(release)?;
            if target.is_dir() {
                return Ok(());
            }
            let Some(source) = &self.source else {
                return Err(Error::new(
                    ErrorKind::Driver,
                    format!(
                        "release {release} is not in {} and the host driver has no `source` to copy it from",
                        self.releases_dir().display()
                    ),
                ));
            };
            // Copied beside its final name, then renamed: a crash leaves a `.tmp`
            // directory (removed on the next try), never half a release.
            let partial = self.releases_dir().join(format!(".{release}.tmp"));
            if partial.exists() {
                std::fs::remove_dir_all(&partial).map_err(|e| Self::io("remove", &partial, e))?;
            }
            copy_dir(source, &partial)?;
            std::fs::rename(&partial, &target).map_err(|e| Self::io("rename", &partial, e))?;
            crate::journal::sync_directory(&self.releases_dir())
        })
    }

    fn switch<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let target = self.release_dir(release)?;
            if !target.is_dir() {
                return Err(Error::new(
                    ErrorKind::Driver,
                    format!(
                        "release {release} is not in {}",
                        self.releases_dir().display()
                    ),
                ));
            }
            let link = self.root.join("current");
            let fresh = self.root.join(".current.tmp");
            let _ = std::fs::remove_file(&fresh);
            std::os::unix::fs::symlink(Path::new("releases").join(release), &fresh)
                .map_err(|e| Self::io("create", &fresh, e))?;
            std::fs::rename(&fresh, &link).map_err(|e| Self::io("switch", &link, e))?;
            crate::journal::sync_directory(&self.root)
        })
    }

    fn activate<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            if let Some(restart) = &self.restart {
                let current = self.root.join("current").to_string_lossy().into_owned();
                let env = [
                    ("SHIPGATE_RELEASE", release),
                    ("SHIPGATE_CURRENT", &current),
                ];
                let done =
                    crate::command::run(restart, &self.dir, &env, self.restart_timeout).await?;
                if !done.success {
                    return Err(Error::new(
                        ErrorKind::Driver,
                        format!(
                            "restart `{restart}` failed ({}): {}",
                            done.status, done.tail
                        ),
                    ));
                }
            }
            Ok(())
        })
    }

    fn prune<'a>(&'a self, keep: &'a [String]) -> DriverFuture<'a, Vec<String>> {
        Box::pin(async move {
            let all = self.releases_now()?;
            let excess = all.len().saturating_sub(self.keep);
            let mut removed = Vec::new();
            for id in all.into_iter().take(excess) {
                if keep.contains(&id) {
                    continue;
                }
                let dir = self.release_dir(&id)?;
                std::fs::remove_dir_all(&dir).map_err(|e| Self::io("remove", &dir, e))?;
                removed.push(id);
            }
            Ok(removed)
        })
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(to).map_err(|e| Host::io("create", to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| Host::io("read", from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Host::io("read", from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| Host::io("read", &src, e))?;
        if kind.is_dir() {
            copy_dir(&src, &dst)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(|e| Host::io("read", &src, e))?;
            std::os::unix::fs::symlink(target, &dst).map_err(|e| Host::io("create", &dst, e))?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| Host::io("copy", &src, e))?;
        }
    }
    Ok(())
}
