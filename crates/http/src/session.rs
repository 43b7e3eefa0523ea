//! One virtual user's connections: plain `http://` over connections the user owns
//! (see `h1`), everything else (TLS, HTTP/2) through the shared pooled client.

use std::time::Instant;

use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{Method, Request, Version};

use crate::Response;
use crate::client::HttpClient;
use crate::h1::Conn;
use crate::{Error, ErrorKind};

/// A virtual user's HTTP session: its own keep-alive connection per origin for plain
/// HTTP/1.1, as a browser or a Locust user has, and the shared [`HttpClient`] for
/// `https://` and HTTP/2. Not shared between users; cheap to create (connections open
/// on first use).
///
/// ```no_run
/// # async fn demo() -> Result<(), shipgate_http::Error> {
/// use shipgate_http::{ClientConfig, HttpClient, Session};
///
/// let client = HttpClient::new(&ClientConfig::default())?;
/// let mut session = Session::new(&client);
/// for _ in 0..3 {
///     // One connection, opened by the first request and kept alive.
///     let request = http::Request::get("http://127.0.0.1:8000/health").body(bytes::Bytes::new()).unwrap();
///     let response = session.send(&request).await?;
///     assert!(response.status.is_success());
/// }
/// # Ok(()) }
/// ```
pub struct Session {
    client: HttpClient,
    idle: Vec<(Authority, Conn)>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("idle_connections", &self.idle.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session using `client`'s settings (timeouts, TLS roots, HTTP/2).
    pub fn new(client: &HttpClient) -> Self {
        Self {
            client: client.clone(),
            idle: Vec::new(),
        }
    }

    /// Idle keep-alive connections this session holds.
    pub fn idle_connections(&self) -> usize {
        self.idle.len()
    }

    /// Sends a request and reads the whole response within the client's request timeout
    /// (connecting included). Borrowed: on the direct path nothing of it is copied, and
    /// the caller still has it (its URI, to store the response's cookies under).
    pub async fn send(&mut self, request: &Request<Bytes>) -> Result<Response, Error> {
        let direct = request.uri().scheme() == Some(&Scheme::HTTP)
            && request.version() == Version::HTTP_11
            && !self.client.config().http2_prior_knowledge;
        if !direct {
            // Boxed, as is connecting below: rare, large futures that would otherwise
            // make every virtual user's future (100,000 of them asleep) as large.
            return Box::pin(self.client.send(copy(request))).await;
        }
        let timeout = self.client.config().request_timeout;
        match tokio::time::timeout(timeout, self.send_direct(request)).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "{} {}: no complete response within {timeout:?}",
                    request.method(),
                    request.uri()
                ),
            )),
        }
    }

    async fn send_direct(&mut self, request: &Request<Bytes>) -> Result<Response, Error> {
        let start = Instant::now();
        let uri = request.uri();
        let Some(authority) = uri.authority() else {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("`{uri}` needs a host"),
            ));
        };
        let what = || format!("{} {uri}", request.method());
        let mut retried = false;
        loop {
            // Taken out while in use: if the exchange fails or is cancelled by the
            // timeout, the connection is dropped with it, never reused half-read.
            let taken = self
                .idle
                .iter()
                .position(|(a, _)| a == authority)
                .map(|i| self.idle.swap_remove(i));
            let (key, mut conn) = match taken {
                Some((key, conn)) if conn.idle_ok() => (key, conn),
                _ => {
                    let port = uri.port_u16().unwrap_or(80);
                    let timeout = self.client.config().connect_timeout;
                    let conn = Box::pin(Conn::connect(authority.host(), port, timeout))
                        .await
                        .map_err(|e| e.context(&what()))?;
                    (authority.clone(), conn)
                }
            };
            match conn.exchange(request, start).await {
                Ok((response, keep)) => {
                    if keep {
                        self.idle.push((key, conn));
                    }
                    return Ok(response);
                }
                // The peer closed the idle connection as the request went out: send an
                // idempotent request once more, on a new connection (RFC 9110 §9.2.2).
                Err(failed) if failed.stale && !retried && idempotent(request.method()) => {
                    retried = true;
                }
                Err(failed) => return Err(failed.error.context(&what())),
            }
        }
    }
}

/// An owned copy for the pooled client (extensions are not carried).
pub(crate) fn copy(request: &Request<Bytes>) -> Request<Bytes> {
    let mut copy = Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}
