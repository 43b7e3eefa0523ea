//! One action of one user: build, send, check, capture, record; how a failure counts.

use super::*;

/// A virtual user's state that actions read and change.
pub(super) struct User {
    /// Its own connections, kept alive between its requests.
    pub(super) session: Session,
    pub(super) vars: Vars,
    pub(super) jar: CookieJar,
}

impl User {
    pub(super) fn new(shared: &Shared, session: Option<Session>) -> Self {
        Self {
            session: session.unwrap_or_else(|| Session::new(&shared.client)),
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
pub(super) async fn execute(
    shared: &Shared,
    action: &Action,
    endpoint: &Endpoint,
    user: &mut User,
    shard: usize,
    intended: Option<Instant>,
) -> Option<TaskFailed> {
    let User { session, vars, jar } = user;
    let sent = Instant::now();
    let (status, failure, error, bytes_sent, bytes_received) = match action {
        Action::Custom(_, f) => match f().await {
            Ok(()) => (None, None, None, 0, 0),
            Err(e) => (
                None,
                Some(task_failure_kind(&*e)),
                Some(shipgate_report::error_line(&*e)),
                0,
                0,
            ),
        },
        Action::Http(step) => match step.build(vars, jar) {
            Err(e) => (None, Some(FailureKind::Other), Some(e.to_string()), 0, 0),
            Ok(request) => {
                let sent_bytes = request.body().len() as u64;
                match session.send(&request).await {
                    Ok(response) => {
                        if response.sets_cookies() {
                            jar.store(request.uri(), response.headers());
                        }
                        let received = response.body.len() as u64;
                        let status = Some(response.status.as_u16());
                        match step.verify(&response) {
                            Ok(()) => {
                                let mut missing = None;
                                for (var, capture) in &step.capture {
                                    match capture.apply(&response) {
                                        Some(v) => {
                                            vars.insert(var.clone(), v);
                                        }
                                        None => {
                                            missing = Some(format!(
                                                "capture {var} ({capture}) found nothing"
                                            ));
                                        }
                                    }
                                }
                                match missing {
                                    None => (status, None, None, sent_bytes, received),
                                    Some(m) => (
                                        status,
                                        Some(FailureKind::Assertion),
                                        Some(m),
                                        sent_bytes,
                                        received,
                                    ),
                                }
                            }
                            Err(why) => {
                                let kind = if step.asserts.is_empty() {
                                    FailureKind::HttpStatus
                                } else {
                                    FailureKind::Assertion
                                };
                                (
                                    status,
                                    Some(kind),
                                    Some(shipgate_http::Mismatch::join(&why)),
                                    sent_bytes,
                                    received,
                                )
                            }
                        }
                    }
                    Err(e) => {
                        let kind = http_failure_kind(e.kind());
                        (
                            None,
                            Some(kind),
                            Some(format!("{kind:?}: {}", short(&e.to_string()))),
                            sent_bytes,
                            0,
                        )
                    }
                }
            }
        },
    };
    let done = Instant::now();
    let sample = Sample {
        at: done - shared.start(),
        latency: done - sent,
        from_intended: intended.map(|i| done.saturating_duration_since(i)),
        status,
        failure,
        bytes_sent,
        bytes_received,
    };
    shared.record(shard, endpoint, &sample, error.as_ref());
    failure
        .zip(error)
        .map(|(kind, message)| TaskFailed { kind, message })
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
