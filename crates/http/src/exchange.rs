//! One request of a [`Step`], the single path every caller takes: build it from the
//! step's templates and the user's cookies, send it through a [`Sender`], keep the
//! cookies it sets, check the assertions, capture the variables. Smoke steps
//! ([`run_step`](crate::run_step)) and load-test users both come through here, so a
//! failure reads the same in a check report and in a load report.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};

use crate::client::HttpClient;
use crate::cookies::CookieJar;
use crate::expr::Mismatch;
use crate::session::{Session, copy};
use crate::step::Step;
use crate::template::TemplateVars;
use crate::{Error, Response};

/// Something that sends one request and reads its whole response: a virtual user's
/// [`Session`], the pooled [`HttpClient`], or a test's fake.
///
/// Borrowed requests, so that the caller still has the URI to file cookies under and a
/// session's direct path copies nothing.
pub trait Sender: Send {
    /// Sends `request` and reads the whole response (the sender's own timeouts apply).
    fn send(
        &mut self,
        request: &Request<Bytes>,
    ) -> impl Future<Output = Result<Response, Error>> + Send;
}

/// Makes one [`Sender`] per virtual user (cheap: connections open on first use).
pub trait MakeSender: Send + Sync + 'static {
    /// What each user sends through.
    type Sender: Sender + 'static;
    /// A new user's sender.
    fn make_sender(&self) -> Self::Sender;
}

impl Sender for Session {
    fn send(
        &mut self,
        request: &Request<Bytes>,
    ) -> impl Future<Output = Result<Response, Error>> + Send {
        Session::send(self, request)
    }
}

impl Sender for HttpClient {
    fn send(
        &mut self,
        request: &Request<Bytes>,
    ) -> impl Future<Output = Result<Response, Error>> + Send {
        HttpClient::send(self, copy(request))
    }
}

impl MakeSender for HttpClient {
    type Sender = Session;
    fn make_sender(&self) -> Session {
        Session::new(self)
    }
}

/// Why one exchange failed.
#[derive(Debug)]
pub enum Failed {
    /// The request could not be built (a bad URL, header or body template).
    Invalid(Error),
    /// It was built but not sent or not answered.
    Request(Error),
    /// A step without assertions got a status of 400 or more.
    Status(Mismatch),
    /// Assertions that did not hold.
    Assertions(Vec<Mismatch>),
    /// Every assertion held, but these captures found nothing.
    Captures(Vec<Mismatch>),
}

impl Failed {
    /// The mismatches, for the three kinds that have a response to judge.
    pub fn mismatches(self) -> Result<Vec<Mismatch>, Error> {
        match self {
            Self::Invalid(e) | Self::Request(e) => Err(e),
            Self::Status(m) => Ok(vec![m]),
            Self::Assertions(m) | Self::Captures(m) => Ok(m),
        }
    }
}

/// What one exchange did.
#[derive(Debug)]
pub struct Exchange {
    /// Passed, or why not.
    pub result: Result<(), Failed>,
    /// The response's status, when one came.
    pub status: Option<StatusCode>,
    /// The response's latency as its sender measured it, when one came.
    pub latency: Option<Duration>,
    /// The request body's size, once built.
    pub bytes_sent: u64,
    /// The response body's size, when one came.
    pub bytes_received: u64,
}

/// Builds `step`'s request from `vars` and `jar`, sends it through `sender`, stores the
/// cookies the response sets, checks the step's assertions (or, with none, a status
/// below 400) and, when they hold, captures into `vars`.
pub async fn exchange<S: Sender>(
    sender: &mut S,
    step: &Step,
    vars: &mut TemplateVars,
    jar: &mut CookieJar,
) -> Exchange {
    let mut out = Exchange {
        result: Ok(()),
        status: None,
        latency: None,
        bytes_sent: 0,
        bytes_received: 0,
    };
    let request = match step.build(vars, jar) {
        Ok(r) => r,
        Err(e) => {
            out.result = Err(Failed::Invalid(e));
            return out;
        }
    };
    out.bytes_sent = request.body().len() as u64;
    let response = match sender.send(&request).await {
        Ok(r) => r,
        Err(e) => {
            tracing::trace!(method = %request.method(), uri = %request.uri(), error = %e, "request failed");
            out.result = Err(Failed::Request(e));
            return out;
        }
    };
    tracing::trace!(
        method = %request.method(),
        uri = %request.uri(),
        status = response.status.as_u16(),
        latency = ?response.elapsed,
        "exchange"
    );
    if response.sets_cookies() {
        jar.store(request.uri(), response.headers());
    }
    out.status = Some(response.status);
    out.latency = Some(response.elapsed);
    out.bytes_received = response.body.len() as u64;
    out.result = judge(step, &response, vars);
    out
}

fn judge(step: &Step, response: &Response, vars: &mut TemplateVars) -> Result<(), Failed> {
    if let Err(mut failures) = step.verify(response) {
        return Err(if step.asserts.is_empty() {
            Failed::Status(failures.remove(0))
        } else {
            Failed::Assertions(failures)
        });
    }
    let mut missing = Vec::new();
    for (name, capture) in &step.capture {
        match capture.apply(response) {
            Some(value) => {
                vars.insert(name.clone(), value);
            }
            None => missing.push(Mismatch::new(format!(
                "capture `{name}` ({capture}) found nothing"
            ))),
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Failed::Captures(missing))
    }
}
