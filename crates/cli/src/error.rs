use std::error::Error as StdError;
use std::fmt;

use shipgate_report::ExitCode;

/// A boxed error from any layer.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Why a command ended without a verdict of its own.
///
/// The kind decides the exit code: a [`Usage`](FailureKind::Usage) error means nothing
/// ran (2); an [`Aborted`](FailureKind::Aborted) one that work had started when it went
/// wrong (1), such as a report that could not be written after a load run.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct Failure {
    kind: FailureKind,
    context: String,
    #[source]
    source: Option<BoxError>,
}

/// The kind of a [`Failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// Bad arguments or configuration; nothing ran. Exit code 2.
    Usage,
    /// Work had started; what was done is reported. Exit code 1.
    Aborted,
}

impl Failure {
    /// A usage or configuration error: `context` says what, `source` why.
    pub fn usage(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::new(FailureKind::Usage, context, Some(source.into()))
    }

    /// A usage or configuration error with no underlying cause.
    pub fn usage_msg(context: impl Into<String>) -> Self {
        Self::new(FailureKind::Usage, context, None)
    }

    /// A failure after work had started.
    pub fn aborted(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::new(FailureKind::Aborted, context, Some(source.into()))
    }

    fn new(kind: FailureKind, context: impl Into<String>, source: Option<BoxError>) -> Self {
        Self {
            kind,
            context: context.into(),
            source,
        }
    }

    /// The kind, which decides the exit code.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The documented exit code for it.
    pub fn exit_code(&self) -> ExitCode {
        match self.kind {
            FailureKind::Usage => ExitCode::Usage,
            FailureKind::Aborted => ExitCode::Failure,
        }
    }
}

/// A configuration error is a usage error; its own message carries file:line:column.
impl From<shipgate_config::Error> for Failure {
    fn from(error: shipgate_config::Error) -> Self {
        // The error is the message: no context of ours to put above it.
        Self::new(FailureKind::Usage, String::new(), Some(error.into()))
    }
}

/// An error and its chain of causes, one per line: `cannot write x: permission denied`
/// becomes `cannot write x` / `  caused by: permission denied`. A cause whose text the
/// line above already contains is not repeated.
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.to_string();
        let mut next = self.0.source();
        // An error with no text of its own (a wrapper) shows its cause first.
        while shown.is_empty() {
            let Some(cause) = next else { break };
            shown = cause.to_string();
            next = cause.source();
        }
        write!(f, "{shown}")?;
        while let Some(cause) = next {
            let text = cause.to_string();
            if !shown.contains(&text) {
                write!(f, "\n  caused by: {text}")?;
            }
            shown = text;
            next = cause.source();
        }
        Ok(())
    }
}
