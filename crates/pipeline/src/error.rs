//! The pipeline layer's error: a kind to match on, a message, and the real cause.

/// What went wrong, to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `[pipeline]` (or a section it uses) is wrong, or names what does not exist.
    Config,
    /// An approval cannot be given: four eyes, expired, unknown, already decided.
    Approval,
    /// A file (approvals, watch records, reports) could not be read or written.
    Io,
    /// The deployment layer refused or failed.
    Deploy,
    /// The watch layer failed.
    Watch,
    /// The load test could not run.
    Load,
    /// A guard refused the operation before it began (a rollback that could not be
    /// proved, migrations in the way), or could not read what it must prove: nothing
    /// was changed, and the message says so and what to do.
    Refused,
}

/// An error of the pipeline layer.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error without a cause.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error caused by `source` (whose text is not repeated in the message).
    pub fn with_source(
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

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether nothing was changed: a configuration error, a refused approval, or a
    /// deployment the deploy layer refused before it began.
    pub fn changed_nothing(&self) -> bool {
        match self.kind {
            ErrorKind::Config | ErrorKind::Approval | ErrorKind::Refused => true,
            ErrorKind::Deploy => self
                .source
                .as_deref()
                .and_then(|s| s.downcast_ref::<shipgate_deploy::Error>())
                .is_some_and(shipgate_deploy::Error::changed_nothing),
            _ => false,
        }
    }

    /// The deployment layer's own error, when that is what this is: the caller maps it
    /// as it maps any deployment error (nothing changed, or the deployment stopped).
    pub fn into_deploy(self) -> Result<shipgate_deploy::Error, Self> {
        match (self.kind, self.source) {
            (ErrorKind::Deploy, Some(source)) => {
                match source.downcast::<shipgate_deploy::Error>() {
                    Ok(e) => Ok(*e),
                    Err(source) => Err(Self {
                        source: Some(source),
                        ..self
                    }),
                }
            }
            (kind, source) => Err(Self {
                kind,
                source,
                message: self.message,
            }),
        }
    }

    pub(crate) fn io(
        what: impl std::fmt::Display,
        path: &std::path::Path,
        e: std::io::Error,
    ) -> Self {
        Self::with_source(
            ErrorKind::Io,
            format!("cannot {what} {}", path.display()),
            e,
        )
    }
}

impl From<shipgate_deploy::Error> for Error {
    fn from(e: shipgate_deploy::Error) -> Self {
        Self::with_source(ErrorKind::Deploy, "the deployment layer", e)
    }
}
