//! An AWS call that failed, as a line a person reads.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Why an AWS call, or finding out how to make one, failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No region in the configuration, `AWS_REGION` or the profile.
    #[error("no AWS region: set `region` in the configuration, or AWS_REGION")]
    NoRegion,
    /// A call AWS (or the network on the way) refused.
    #[error("{operation}: {detail}")]
    Call {
        /// The API operation (`UpdateService`).
        operation: &'static str,
        /// AWS's error code (`ServiceNotFoundException`), when it sent one.
        code: Option<String>,
        /// What went wrong: AWS's code and message, or the transport's failure.
        detail: String,
        /// The SDK's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// AWS's error code, when the call reached AWS and it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Call { code, .. } => code.as_deref(),
            Self::NoRegion => None,
        }
    }
}

/// `operation` failed with `e`: AWS's code and message when the service answered, else
/// what kept the request from it (credentials, the network, a timeout).
pub fn call_failed<E, R>(operation: &'static str, e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = code_of(&e).map(str::to_owned);
    let detail = match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_owned(),
                (None, Some(m)) => m.to_owned(),
                (None, None) => err.to_string(),
            }
        }
        SdkError::DispatchFailure(d) => {
            let mut line = String::from("the request did not reach AWS");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                line.push_str(": ");
                line.push_str(&s.to_string());
                source = s.source();
            }
            if d.is_io() || d.is_timeout() {
                line.push_str(" (is the endpoint reachable?)");
            }
            line
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::ConstructionFailure(_) => {
            let mut line = String::from("the request could not be made");
            if let Some(s) = std::error::Error::source(&e) {
                line.push_str(&format!(": {s}"));
                if let Some(inner) = s.source() {
                    line.push_str(&format!(": {inner}"));
                }
            }
            line
        }
        other => other.to_string(),
    };
    Error::Call {
        operation,
        code,
        detail,
        source: Box::new(e),
    }
}

/// AWS's error code in `e`, when the service answered with one.
pub fn code_of<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}
