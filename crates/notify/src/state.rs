//! What was sent, kept in a small JSON file so a restarted watcher does not re-send.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::event::Status;
use crate::{Error, ErrorKind};

/// The last notice sent for one alert key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sent {
    pub(crate) status: Status,
    pub(crate) at: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    alerts: BTreeMap<String, Sent>,
}

/// Dedup state; written whole (to a temporary file renamed into place) on every change.
#[derive(Debug, Default)]
pub(crate) struct State {
    path: Option<PathBuf>,
    alerts: BTreeMap<String, Sent>,
}

impl State {
    /// Loads `path` if it exists. A corrupt file is set aside (`.corrupt`) and state
    /// starts empty: losing dedup history is better than losing notifications.
    pub(crate) fn load(path: Option<&Path>) -> Self {
        let Some(path) = path else {
            return Self::default();
        };
        let alerts = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<File>(&bytes) {
                Ok(file) => file.alerts,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "notify state is corrupt; starting empty");
                    let _ = std::fs::rename(path, path.with_extension("corrupt"));
                    BTreeMap::new()
                }
            },
            Err(_) => BTreeMap::new(),
        };
        Self {
            path: Some(path.to_owned()),
            alerts,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<Sent> {
        self.alerts.get(key).copied()
    }

    pub(crate) fn record(&mut self, key: String, sent: Sent) -> Result<(), Error> {
        self.alerts.insert(key, sent);
        self.save()
    }

    fn save(&self) -> Result<(), Error> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let fail = |e: std::io::Error| {
            Error::with_source(
                ErrorKind::State,
                format!("cannot write notify state {}", path.display()),
                e,
            )
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let body = serde_json::to_vec_pretty(&File {
            version: 1,
            alerts: self.alerts.clone(),
        })
        .expect("state serializes");
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, body)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(fail)
    }
}
