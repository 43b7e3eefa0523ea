//! The HTTP client: hyper 1 with keep-alive pooling, HTTP/1.1 and HTTP/2 (ALPN over
//! TLS via rustls), connect and request timeouts, as a tower `Service`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::{Error, ErrorKind, Response};

/// Which certificate authorities the client trusts.
#[derive(Debug, Clone, Default)]
pub enum Roots {
    /// Mozilla's root store (the `webpki-roots` crate).
    #[default]
    WebPki,
    /// Only the certificates in this PEM text (a private CA, a self-signed test server).
    Pem(String),
}

/// How the client connects.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Time to establish TCP (and TLS).
    pub connect_timeout: Duration,
    /// Time from sending to the end of the response body.
    pub request_timeout: Duration,
    /// Trusted authorities for `https://`.
    pub roots: Roots,
    /// Speak HTTP/2 without TLS (h2c, prior knowledge); over TLS, ALPN chooses.
    pub http2_prior_knowledge: bool,
    /// Idle connections kept per host.
    pub max_idle_per_host: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            roots: Roots::WebPki,
            http2_prior_knowledge: false,
            max_idle_per_host: 64,
        }
    }
}

/// An HTTP client; cheap to clone (clones share the connection pool).
#[derive(Clone)]
pub struct HttpClient {
    /// One allocation shared by every clone: each virtual user's session holds a clone.
    shared: Arc<Shared>,
}

struct Shared {
    pool: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    config: ClientConfig,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("request_timeout", &self.shared.config.request_timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with the given configuration.
    pub fn new(config: &ClientConfig) -> Result<Self, Error> {
        let mut roots = rustls::RootCertStore::empty();
        match &config.roots {
            Roots::WebPki => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::Pem(pem) => {
                use rustls::pki_types::pem::PemObject as _;
                let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        Error::new(
                            ErrorKind::Config,
                            format!("CA certificates are not valid PEM: {e:?}"),
                        )
                    })?;
                if certs.is_empty() {
                    return Err(Error::new(
                        ErrorKind::Config,
                        "the CA PEM holds no certificate",
                    ));
                }
                for cert in certs {
                    roots.add(cert).map_err(|e| {
                        Error::with_source(ErrorKind::Config, "a CA certificate is not usable", e)
                    })?;
                }
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::with_source(ErrorKind::Config, "TLS versions", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(config.connect_timeout));
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let inner = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(config.max_idle_per_host)
            .http2_only(config.http2_prior_knowledge)
            .build(connector);
        Ok(Self {
            shared: Arc::new(Shared {
                pool: inner,
                config: config.clone(),
            }),
        })
    }

    /// The configuration this client was made with.
    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// Sends a request and reads the whole response within the request timeout.
    pub async fn send(&self, request: Request<Bytes>) -> Result<Response, Error> {
        let what = format!("{} {}", request.method(), request.uri());
        let request_timeout = self.shared.config.request_timeout;
        let start = Instant::now();
        let request = request.map(Full::new);
        let exchange = async {
            let response = self
                .shared
                .pool
                .request(request)
                .await
                .map_err(|e| classify(&what, e))?;
            let (parts, body) = response.into_parts();
            let body = body
                .collect()
                .await
                .map_err(|e| classify(&what, e))?
                .to_bytes();
            Ok::<_, Error>(Response::new(
                parts.status,
                parts.version,
                parts.headers,
                body,
                start.elapsed(),
            ))
        };
        match tokio::time::timeout(request_timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("{what}: no complete response within {request_timeout:?}"),
            )),
        }
    }
}

impl tower::Service<Request<Bytes>> for HttpClient {
    type Response = Response;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let client = self.clone();
        Box::pin(async move { client.send(request).await })
    }
}

/// Sorts a client error into a kind by what caused it.
fn classify(what: &str, err: impl std::error::Error + Send + Sync + 'static) -> Error {
    let mut kind = None;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = cause {
        if e.downcast_ref::<rustls::Error>().is_some() {
            kind = Some(ErrorKind::Tls);
            break;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
            {
                kind = Some(ErrorKind::Tls);
                break;
            }
            kind = kind.or(match io.kind() {
                std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::HostUnreachable
                | std::io::ErrorKind::NetworkUnreachable
                | std::io::ErrorKind::AddrNotAvailable => Some(ErrorKind::Connect),
                std::io::ErrorKind::TimedOut => Some(ErrorKind::Timeout),
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof => Some(ErrorKind::Reset),
                _ => None,
            });
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                kind = kind.or(Some(ErrorKind::Reset));
            } else if h.is_timeout() {
                kind = kind.or(Some(ErrorKind::Timeout));
            }
        }
        if let Some(c) = e.downcast_ref::<hyper_util::client::legacy::Error>()
            && c.is_connect()
        {
            kind = kind.or(Some(ErrorKind::Connect));
        }
        cause = e.source();
    }
    let kind = kind.unwrap_or(ErrorKind::Protocol);
    // The causes stay causes: a reader prints the chain (`shipgate_report::error_line`).
    Error::with_source(kind, what, err)
}
