/// Why a deployment could not be planned, started, resumed or undone.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The kind of an [`Error`]; match on this, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `[deploy]` is inconsistent (an unknown step, a bad release id, ...).
    Config,
    /// Another deployment of this environment holds the lock.
    Locked,
    /// The environment's last deployment was interrupted: resume or abort it first.
    Interrupted,
    /// Nothing to resume, abort or roll back to.
    NothingToDo,
    /// The state directory (journal, lock) cannot be read or written.
    State,
    /// A protected environment was not confirmed.
    Unconfirmed,
    /// A driver could not prepare, switch or restart a release.
    Driver,
    /// A backup could not be taken, verified or restored.
    Backup,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error caused by `source`; `message` says what was being done, not why.
    pub(crate) fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// A state-directory error about `path`.
    pub(crate) fn state(what: &str, path: &std::path::Path, e: std::io::Error) -> Self {
        Self::with_source(
            ErrorKind::State,
            format!("cannot {what} {}", path.display()),
            e,
        )
    }
}
