//! Delivery with retries: 429, 5xx and network errors are retried with backoff (a 429's
//! `Retry-After` wins); any other 4xx is final. Every attempt is logged, never the URL.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use shipgate_http::HttpClient;
use shipgate_http::retry::{Attempt, Backoff, retry};

use crate::config::{EmailConfig, EmailTls};
use crate::{Error, ErrorKind};

/// Retry settings, from `[notify]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) attempts: u32,
    pub(crate) delay: Duration,
}

impl Policy {
    /// Doubling waits from `delay`, `attempts` in all; a peer's `Retry-After` is
    /// honoured up to 30 s.
    fn backoff(self) -> Backoff {
        Backoff::exponential(self.delay).attempts(self.attempts)
    }
}

/// POSTs `body` as JSON; `Ok(attempts)` once the receiver accepts it.
pub(crate) async fn post(
    client: &HttpClient,
    channel: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    policy: Policy,
    teams: bool,
) -> Result<u32, Error> {
    let body = Bytes::from(body);
    let body = &body;
    let exhausted = |attempt: u32, last: String| {
        Err(Error::new(
            ErrorKind::Exhausted,
            format!("channel {channel}: {attempt} attempts failed, last: {last}"),
        ))
    };
    let (result, _) = retry(&policy.backoff(), |attempt| async move {
        let mut builder = http::Request::post(url).header("content-type", "application/json");
        for (k, v) in headers {
            builder = builder.header(*k, v.as_str());
        }
        let Ok(request) = builder.body(body.clone()) else {
            return Attempt::Done(Err(Error::new(
                ErrorKind::Config,
                format!("channel {channel}: the URL is not valid"),
            )));
        };
        match client.send(request).await {
            Ok(r) => {
                let status = r.status.as_u16();
                // Teams' legacy connectors answer 200 with the throttling in the body.
                let throttled = status == 429 || (teams && r.text().contains("HTTP error 429"));
                if (200..300).contains(&status) && !throttled {
                    tracing::info!(channel, attempt, status, "notification delivered");
                    return Attempt::Done(Ok(attempt));
                }
                if !throttled && (400..500).contains(&status) {
                    tracing::warn!(channel, attempt, status, "notification rejected; not retrying");
                    return Attempt::Done(Err(Error::new(
                        ErrorKind::Rejected,
                        format!(
                            "channel {channel}: rejected with {status}: {}",
                            snippet(&r.text())
                        ),
                    )));
                }
                let wait = r
                    .header("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                tracing::warn!(channel, attempt, status, "notification not accepted; will retry");
                Attempt::Again {
                    last: exhausted(attempt, format!("{status} {}", snippet(&r.text()))),
                    wait,
                }
            }
            Err(e) => {
                // The client's messages name the URL, which may hold a token: keep only the kind.
                tracing::warn!(channel, attempt, kind = ?e.kind(), "notification failed; will retry");
                Attempt::again(exhausted(attempt, format!("{:?} error", e.kind())))
            }
        }
    })
    .await;
    result
}

fn snippet(text: &str) -> String {
    let t = text.trim();
    t.chars().take(200).collect()
}

/// Sends one mail (plain text and HTML alternatives).
pub(crate) async fn mail(
    channel: &str,
    cfg: &EmailConfig,
    base_dir: &Path,
    subject: &str,
    text: String,
    html: String,
    policy: Policy,
) -> Result<u32, Error> {
    let caused = |what: String, e: Box<dyn std::error::Error + Send + Sync>| {
        Error::with_source(ErrorKind::Config, format!("channel {channel}: {what}"), e)
    };
    let from: Mailbox = cfg
        .from
        .parse()
        .map_err(|e| caused(format!("`from` {:?}", cfg.from), Box::new(e)))?;
    let mut builder = Message::builder().from(from).subject(subject);
    for to in &cfg.to {
        builder = builder.to(to
            .parse()
            .map_err(|e| caused(format!("`to` {to:?}"), Box::new(e)))?);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| caused("the message cannot be built".to_owned(), Box::new(e)))?;
    let mut tls = TlsParameters::builder(cfg.host.clone());
    if let Some(ca) = &cfg.ca_file {
        let pem = std::fs::read(base_dir.join(ca))
            .map_err(|e| caused(format!("ca_file {ca}"), Box::new(e)))?;
        tls = tls.add_root_certificate(
            Certificate::from_pem(&pem)
                .map_err(|e| caused(format!("ca_file {ca}"), Box::new(e)))?,
        );
    }
    let tls = tls
        .build_rustls()
        .map_err(|e| caused("TLS".to_owned(), Box::new(e)))?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str())
        .port(cfg.port)
        .timeout(Some(Duration::from_secs(10)))
        .tls(match cfg.tls {
            EmailTls::Starttls => Tls::Required(tls),
            EmailTls::Implicit => Tls::Wrapper(tls),
            EmailTls::None => Tls::None,
        });
    if let (Some(user), Some(pass)) = (&cfg.username, &cfg.password) {
        transport = transport.credentials(Credentials::new(user.clone(), pass.expose().to_owned()));
    }
    let transport = transport.build();
    let message = &message;
    let transport = &transport;
    let (result, _) = retry(&policy.backoff(), |attempt| async move {
        match transport.send(message.clone()).await {
            Ok(_) => {
                tracing::info!(channel, attempt, "mail delivered");
                Attempt::Done(Ok(attempt))
            }
            Err(e) if e.is_permanent() => {
                tracing::warn!(channel, attempt, "mail rejected; not retrying");
                Attempt::Done(Err(Error::with_source(
                    ErrorKind::Rejected,
                    format!("channel {channel}: rejected"),
                    e,
                )))
            }
            Err(e) => {
                tracing::warn!(channel, attempt, "mail failed; will retry");
                Attempt::again(Err(Error::with_source(
                    ErrorKind::Exhausted,
                    format!("channel {channel}: {attempt} attempts failed, the last"),
                    e,
                )))
            }
        }
    })
    .await;
    result
}
