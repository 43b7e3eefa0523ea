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

use crate::config::{EmailConfig, EmailTls};
use crate::{Error, ErrorKind};

/// Retry settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) attempts: u32,
    pub(crate) delay: Duration,
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
    let mut delay = policy.delay;
    let mut last = String::new();
    for attempt in 1..=policy.attempts.max(1) {
        let mut builder = http::Request::post(url).header("content-type", "application/json");
        for (k, v) in headers {
            builder = builder.header(*k, v.as_str());
        }
        let request = builder.body(body.clone()).map_err(|_| {
            Error::new(
                ErrorKind::Config,
                format!("channel {channel}: the URL is not valid"),
            )
        })?;
        let mut wait = delay;
        match client.send(request).await {
            Ok(r) => {
                let status = r.status.as_u16();
                // Teams' legacy connectors answer 200 with the throttling in the body.
                let throttled = status == 429 || (teams && r.text().contains("HTTP error 429"));
                if (200..300).contains(&status) && !throttled {
                    tracing::info!(channel, attempt, status, "notification delivered");
                    return Ok(attempt);
                }
                if !throttled && (400..500).contains(&status) {
                    tracing::warn!(
                        channel,
                        attempt,
                        status,
                        "notification rejected; not retrying"
                    );
                    return Err(Error::new(
                        ErrorKind::Rejected,
                        format!(
                            "channel {channel}: rejected with {status}: {}",
                            snippet(&r.text())
                        ),
                    ));
                }
                if let Some(after) = r
                    .header("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                {
                    wait = Duration::from_secs(after.min(30));
                }
                last = format!("{status} {}", snippet(&r.text()));
                tracing::warn!(
                    channel,
                    attempt,
                    status,
                    "notification not accepted; will retry"
                );
            }
            Err(e) => {
                // The client's messages name the URL, which may hold a token: keep only the kind.
                last = format!("{:?} error", e.kind());
                tracing::warn!(channel, attempt, kind = ?e.kind(), "notification failed; will retry");
            }
        }
        if attempt < policy.attempts {
            tokio::time::sleep(wait).await;
            delay = delay.saturating_mul(2);
        }
    }
    Err(Error::new(
        ErrorKind::Exhausted,
        format!(
            "channel {channel}: {} attempts failed, last: {last}",
            policy.attempts
        ),
    ))
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
    let config_err =
        |what: String| Error::new(ErrorKind::Config, format!("channel {channel}: {what}"));
    let from: Mailbox = cfg
        .from
        .parse()
        .map_err(|e| config_err(format!("`from` {:?}: {e}", cfg.from)))?;
    let mut builder = Message::builder().from(from).subject(subject);
    for to in &cfg.to {
        builder = builder.to(to
            .parse()
            .map_err(|e| config_err(format!("`to` {to:?}: {e}")))?);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| config_err(e.to_string()))?;
    let mut tls = TlsParameters::builder(cfg.host.clone());
    if let Some(ca) = &cfg.ca_file {
        let pem = std::fs::read(base_dir.join(ca))
            .map_err(|e| config_err(format!("ca_file {ca}: {e}")))?;
        tls = tls.add_root_certificate(
            Certificate::from_pem(&pem).map_err(|e| config_err(format!("ca_file {ca}: {e}")))?,
        );
    }
    let tls = tls
        .build_rustls()
        .map_err(|e| config_err(format!("TLS: {e}")))?;
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
    let mut delay = policy.delay;
    let mut last = String::new();
    for attempt in 1..=policy.attempts.max(1) {
        match transport.send(message.clone()).await {
            Ok(_) => {
                tracing::info!(channel, attempt, "mail delivered");
                return Ok(attempt);
            }
            Err(e) if e.is_permanent() => {
                tracing::warn!(channel, attempt, "mail rejected; not retrying");
                return Err(Error::new(
                    ErrorKind::Rejected,
                    format!("channel {channel}: rejected: {e}"),
                ));
            }
            Err(e) => {
                last = e.to_string();
                tracing::warn!(channel, attempt, "mail failed; will retry");
            }
        }
        if attempt < policy.attempts {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
    Err(Error::new(
        ErrorKind::Exhausted,
        format!(
            "channel {channel}: {} attempts failed, last: {last}",
            policy.attempts
        ),
    ))
}
