//! One action of one user: build, send, check, capture, record; how a failure counts.

use super::*;

/// A virtual user's state that actions read and change.
pub(super) struct User<S> {
    /// Its own connections, kept alive between its requests.
    pub(super) session: S,
    pub(super) vars: TemplateVars,
    pub(super) jar: CookieJar,
}

impl<S> User<S> {
    pub(super) fn new<M: MakeSender<Sender = S>>(shared: &Shared<M>, session: Option<S>) -> Self {
        Self {
            session: session.unwrap_or_else(|| shared.make.make_sender()),
            vars: shared.vars.clone(),
            jar: CookieJar::new(),
        }
    }
}

/// How a custom task's error counts: by the first error in its chain that says.
pub(super) fn task_failure_kind(error: &(dyn std::error::Error + 'static)) -> FailureKind {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<tower::timeout::error::Elapsed>() || e.is::<tokio::time::error::Elapsed>() {
            return FailureKind::Timeout;
        }
        if let Some(http) = e.downcast_ref::<shipgate_http::Error>() {
            return http_failure_kind(http.kind());
        }
        next = e.source();
    }
    FailureKind::Other
}

pub(super) fn http_failure_kind(kind: shipgate_http::ErrorKind) -> FailureKind {
    match kind {
        shipgate_http::ErrorKind::Connect => FailureKind::Connect,
        shipgate_http::ErrorKind::Timeout => FailureKind::Timeout,
        shipgate_http::ErrorKind::Reset => FailureKind::Reset,
        shipgate_http::ErrorKind::Tls => FailureKind::Tls,
        _ => FailureKind::Other,
    }
}

/// Runs one action and records it; returns its failure message, if it failed.
pub(super) async fn execute<M: MakeSender>(
    shared: &Shared<M>,
    action: &Action,
    endpoint: &Endpoint,
    user: &mut User<M::Sender>,
    shard: usize,
    intended: Option<Instant>,
) -> Option<TaskFailed> {
    let User { session, vars, jar } = user;
    let sent = Instant::now();
    let (status, failed, bytes_sent, bytes_received) = match action {
        Action::Custom(_, f) => {
            let failed = f().await.err().map(|e| TaskFailed {
                kind: task_failure_kind(&*e),
                message: shipgate_report::error_line(&*e),
            });
            (None, failed, 0, 0)
        }
        Action::Http(step) => {
            let done = exchange(session, step, vars, jar).await;
            let failed = done.result.err().map(failure);
            let status = done.status.map(|s| s.as_u16());
            (status, failed, done.bytes_sent, done.bytes_received)
        }
    };
    let done = Instant::now();
    let sample = Sample {
        at: done - shared.start(),
        latency: done - sent,
        from_intended: intended.map(|i| done.saturating_duration_since(i)),
        status,
        failure: failed.as_ref().map(|f| f.kind),
        bytes_sent,
        bytes_received,
    };
    shared.record(
        shard,
        endpoint,
        &sample,
        failed.as_ref().map(|f| &f.message),
    );
    failed
}

/// How a failed exchange counts, and its message as the failures table groups it.
fn failure(failed: Failed) -> TaskFailed {
    let (kind, message) = match failed {
        Failed::Invalid(e) => (FailureKind::Other, shipgate_report::error_line(&e)),
        Failed::Request(e) => {
            let kind = http_failure_kind(e.kind());
            (
                kind,
                format!("{kind:?}: {}", short(&shipgate_report::error_line(&e))),
            )
        }
        Failed::Status(m) => (FailureKind::HttpStatus, m.to_string()),
        Failed::Assertions(m) | Failed::Captures(m) => (FailureKind::Assertion, Mismatch::join(&m)),
    };
    TaskFailed { kind, message }
}

/// The part of an error message worth grouping by (no per-request numbers).
pub(super) fn short(message: &str) -> String {
    message
        .split(": ")
        .last()
        .unwrap_or(message)
        .chars()
        .take(120)
        .collect()
}

/// Why a task failed: its kind, as the statistics count it, and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TaskFailed {
    /// How it failed.
    pub kind: FailureKind,
    /// What failed, as the failures table shows it.
    pub message: String,
}
