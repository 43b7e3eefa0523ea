//! What a watch window concluded about a deployment, kept beside its journal
//! (`<state dir>/watches/<deployment>.json`, written whole or not at all), so that the
//! next environment's `promoted` gate reads the verdict instead of trusting a flag.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// A watch window's verdict on one deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchRecord {
    /// The deployment watched.
    pub deployment: String,
    /// Its environment.
    pub environment: String,
    /// The version it deployed.
    pub version: String,
    /// `passed`, `failed` or `inconclusive`.
    pub verdict: String,
    /// When the window began and ended (RFC 3339).
    pub started: String,
    /// When it ended.
    pub ended: String,
    /// Rules that never had data (why a window is inconclusive).
    #[serde(default)]
    pub without_data: Vec<String>,
    /// What the rollback did, if a rule asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<String>,
}

fn path(state_dir: &Path, deployment: &str) -> PathBuf {
    state_dir.join("watches").join(format!("{deployment}.json"))
}

impl WatchRecord {
    /// The record of `window` over `deployment`.
    pub fn of(window: &shipgate_watch::Window, deployment: &str, version: &str) -> Self {
        let time = |t| humantime::format_rfc3339_seconds(t).to_string();
        Self {
            deployment: deployment.to_owned(),
            environment: window.environment.clone(),
            version: version.to_owned(),
            verdict: window.verdict().as_str().to_owned(),
            started: time(window.started),
            ended: time(window.ended),
            without_data: window
                .without_data()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            rollback: window.rollback.as_ref().map(|r| match &r.result {
                shipgate_watch::RollbackResult::Done(d) => d.clone(),
                shipgate_watch::RollbackResult::Failed(e) => format!("failed: {e}"),
            }),
        }
    }

    /// Writes it under `state_dir`: a temporary file, fsync'd, renamed over the old one.
    pub fn write(&self, state_dir: &Path) -> Result<PathBuf, Error> {
        let to = path(state_dir, &self.deployment);
        let dir = to.parent().expect("a watch record has a directory");
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
        let tmp = to.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("a watch record serializes");
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io("write", &tmp, e))?;
        std::fs::rename(&tmp, &to).map_err(|e| Error::io("rename", &tmp, e))?;
        Ok(to)
    }

    /// The record of `deployment`, if its window was watched.
    pub fn read(state_dir: &Path, deployment: &str) -> Result<Option<Self>, Error> {
        let p = path(state_dir, deployment);
        match std::fs::read_to_string(&p) {
            Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                Error::with_source(
                    crate::ErrorKind::Io,
                    format!("{}: not a watch record", p.display()),
                    e,
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &p, e)),
        }
    }
}
