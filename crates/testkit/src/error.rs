use std::fmt;

/// Why a test server could not be started.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<std::io::Error>,
}

/// The kind of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A server binary is not installed; the message names the package.
    MissingBinary,
    /// The server exited or reported an error while starting; the message has its log.
    Start,
    /// The server did not become ready in time; the message has its log.
    Timeout,
    /// A file or socket operation failed.
    Io,
    /// A file is not what a consumer accepts (a JUnit file the xUnit schema rejects).
    Invalid,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn io(what: impl fmt::Display, source: std::io::Error) -> Self {
        Self {
            kind: ErrorKind::Io,
            message: format!("{what}: {source}"),
            source: Some(source),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}
