//! A TLS certificate: chain trusted, name matches, days until expiry.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Deserialize;

use crate::Context;
use crate::observation::Observation;

fn https() -> u16 {
    443
}

fn thirty() -> i64 {
    30
}

fn seven() -> i64 {
    7
}

/// `[checks.pre.tls]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsCheck {
    /// Host to connect to.
    pub host: String,
    /// Port: a number, or a string holding one.
    #[serde(default = "https", deserialize_with = "crate::kinds::port")]
    pub port: u16,
    /// Name the certificate must be valid for (default: `host`).
    #[serde(default)]
    pub server_name: Option<String>,
    /// PEM file of trusted CAs, relative to the configuration (default: Mozilla's roots).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Warn when the certificate expires within this many days.
    #[serde(default = "thirty")]
    pub warn_days: i64,
    /// Fail when it expires within this many days.
    #[serde(default = "seven")]
    pub fail_days: i64,
}

pub(crate) async fn observe(check: &TlsCheck, ctx: &Context) -> Observation {
    let name_text = check
        .server_name
        .clone()
        .unwrap_or_else(|| check.host.clone());
    let Ok(server_name) = ServerName::try_from(name_text.clone()) else {
        return Observation::fail(format!("{name_text:?} is not a valid server name"));
    };
    let mut roots = rustls::RootCertStore::empty();
    match &check.ca_file {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(file) => {
            use rustls::pki_types::pem::PemObject as _;
            let path = ctx.base_dir.join(file);
            let certs: Vec<_> = match CertificateDer::pem_file_iter(&path)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            {
                Ok(c) => c,
                Err(e) => {
                    return Observation::fail(format!(
                        "cannot read CA file {}: {e:?}",
                        path.display()
                    ));
                }
            };
            for cert in certs {
                if let Err(e) = roots.add(cert) {
                    return Observation::fail(format!("CA file {}: {e}", path.display()));
                }
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verified = match rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
        Err(e) => return Observation::fail(format!("TLS configuration: {e}")),
    };
    let addr = (check.host.as_str(), check.port);
    let tcp = match tokio::net::TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            return Observation::unreachable(format!("{}:{}: {e}", check.host, check.port))
                .recommend("is the service listening?");
        }
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(verified));
    match connector.connect(server_name.clone(), tcp).await {
        Ok(stream) => {
            let (_, conn) = stream.get_ref();
            let leaf = conn
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.as_ref().to_vec());
            match leaf.as_deref().map(expiry) {
                Some(Ok((days, subject))) => judge_expiry(check, days, &subject, &name_text),
                Some(Err(e)) => Observation::fail(format!("cannot read the certificate: {e}")),
                None => Observation::fail("the server sent no certificate"),
            }
        }
        Err(e) => {
            // Say what the certificate is, even though it is not trusted.
            let detail = match peek_certificate(check, server_name, provider).await {
                Some(Ok((days, subject))) => {
                    format!(" (certificate {subject}, expires in {days} days)")
                }
                _ => String::new(),
            };
            Observation::fail(format!("TLS handshake with {}:{} failed: {e}{detail}", check.host, check.port))
                .recommend("renew or replace the certificate, serve the full chain, or fix the name it is issued for")
        }
    }
}

fn judge_expiry(check: &TlsCheck, days: i64, subject: &str, name: &str) -> Observation {
    let text = format!("certificate for {name} ({subject}) is trusted and expires in {days} days");
    let out = if days <= check.fail_days {
        Observation::fail(text).recommend("renew the certificate now")
    } else if days <= check.warn_days {
        Observation::warn(text).recommend("renew the certificate soon")
    } else {
        Observation::pass(text)
    };
    out.detail("days_left", days)
}

/// Days until `notAfter` (negative when expired) and the subject.
fn expiry(der: &[u8]) -> Result<(i64, String), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    let not_after = cert.validity().not_after.timestamp();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Ok((
        (not_after - now).div_euclid(86_400),
        cert.subject().to_string(),
    ))
}

async fn peek_certificate(
    check: &TlsCheck,
    server_name: ServerName<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Option<Result<(i64, String), String>> {
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider)))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect((check.host.as_str(), check.port))
        .await
        .ok()?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await
        .ok()?;
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()?
        .first()?
        .as_ref()
        .to_vec();
    Some(expiry(&leaf))
}

/// Used only to read an untrusted certificate after the real handshake failed; never
/// to decide that anything passes.
#[derive(Debug)]
struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
