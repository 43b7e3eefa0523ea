use std::fmt;

/// Why a request, a template or an expression failed.
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
    /// The connection could not be made (refused, unreachable, name not resolved).
    Connect,
    /// No complete answer in time.
    Timeout,
    /// The peer reset or closed the connection mid-exchange.
    Reset,
    /// The TLS handshake failed (untrusted, expired, wrong name).
    Tls,
    /// Anything else on the wire: a malformed response, an HTTP/2 error.
    Protocol,
    /// The request could not be built (bad URL, method, header, missing variable).
    InvalidRequest,
    /// A capture, assertion, path or template expression is malformed.
    InvalidExpression,
    /// The client could not be configured (bad CA certificates).
    Config,
}

impl Error {
    /// An error of `kind`: for a [`Sender`](crate::Sender) of one's own, whose failures
    /// should count as the built-in senders' do (a refused connection as `Connect`).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        message: impl fmt::Display,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            // The source's text stays in the source: a chain printer shows it once.
            message: message.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// The same error, its message prefixed with what was being done.
    pub(crate) fn context(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}
