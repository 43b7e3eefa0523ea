//! One measured request.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The connection could not be made (refused, unreachable, DNS).
    Connect,
    /// No answer in time.
    Timeout,
    /// The peer reset or closed the connection mid-request.
    Reset,
    /// The TLS handshake failed.
    Tls,
    /// The response had a failing HTTP status.
    HttpStatus,
    /// The response arrived but an assertion on it failed.
    Assertion,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// Every kind, in index order.
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Connect,
        FailureKind::Timeout,
        FailureKind::Reset,
        FailureKind::Tls,
        FailureKind::HttpStatus,
        FailureKind::Assertion,
        FailureKind::Other,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Connect => "connect",
            FailureKind::Timeout => "timeout",
            FailureKind::Reset => "reset",
            FailureKind::Tls => "tls",
            FailureKind::HttpStatus => "http_status",
            FailureKind::Assertion => "assertion",
            FailureKind::Other => "other",
        }
    }
}

/// One completed (or failed) request, as the load engine measured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When it completed, from the start of the run; places it in the per-second series.
    pub at: Duration,
    /// From the actual send to the end of the response.
    pub latency: Duration,
    /// From the *intended* send time to the end of the response (open model: the
    /// schedule's start, which may precede the actual send when the generator fell
    /// behind). `None` in a closed model, where it equals `latency`.
    pub from_intended: Option<Duration>,
    /// The HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// Why it failed; `None` for a success.
    pub failure: Option<FailureKind>,
    /// Bytes written.
    pub bytes_sent: u64,
    /// Bytes read.
    pub bytes_received: u64,
}

impl Sample {
    /// A successful sample with a status and a latency, completed at `at`.
    pub fn ok(at: Duration, latency: Duration, status: u16) -> Self {
        Self {
            at,
            latency,
            from_intended: None,
            status: Some(status),
            failure: None,
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    /// A failed sample.
    pub fn failed(at: Duration, latency: Duration, failure: FailureKind) -> Self {
        Self {
            at,
            latency,
            from_intended: None,
            status: None,
            failure: Some(failure),
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    /// The coordinated-omission corrected latency: from the intended start when known.
    #[inline]
    pub fn corrected(&self) -> Duration {
        self.from_intended
            .map_or(self.latency, |d| d.max(self.latency))
    }
}
