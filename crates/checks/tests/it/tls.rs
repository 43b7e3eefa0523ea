use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use shipgate_report::Outcome;
use time::{Duration, OffsetDateTime};

use crate::{by_name, context, run_with};

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca() -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "shipgate test CA");
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// A leaf for localhost valid from `from` to `until` (relative to now), signed by `ca`
/// (or self-signed), served by a TLS server on a free port.
async fn serve(ca: Option<&Ca>, from: Duration, until: Duration) -> SocketAddr {
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let now = OffsetDateTime::now_utc();
    params.not_before = now + from;
    params.not_after = now + until;
    let key = KeyPair::generate().unwrap();
    let cert = match ca {
        Some(ca) => params
            .signed_by(&key, &Issuer::from_params(&ca.params, &ca.key))
            .unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(cert.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    addr
}

fn tls(name: &str, addr: SocketAddr, ca_file: Option<&str>) -> String {
    let ca = ca_file
        .map(|f| format!(", ca_file = \"{f}\""))
        .unwrap_or_default();
    format!(
        "[[checks.pre]]\nname = \"{name}\"\ntls = {{ host = \"127.0.0.1\", port = {}, server_name = \"localhost\"{ca} }}\n",
        addr.port()
    )
}

#[tokio::test]
async fn certificates_valid_expiring_expired_and_untrusted() {
    let ca = ca();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca.pem).unwrap();
    let valid = serve(Some(&ca), Duration::days(-1), Duration::days(90)).await;
    let expiring = serve(Some(&ca), Duration::days(-80), Duration::days(10)).await;
    let expired = serve(Some(&ca), Duration::days(-400), Duration::days(-35)).await;
    let self_signed = serve(None, Duration::days(-1), Duration::days(90)).await;
    let text = [
        tls("valid", valid, Some("ca.pem")),
        tls("expiring", expiring, Some("ca.pem")),
        tls("expired", expired, Some("ca.pem")),
        tls("self-signed", self_signed, Some("ca.pem")),
        tls("wrong name", valid, Some("ca.pem")).replace(
            "server_name = \"localhost\"",
            "server_name = \"www.example.com\"",
        ),
    ]
    .concat();
    let mut ctx = context(&[]);
    ctx.base_dir = dir.path().to_owned();
    let findings = run_with(&text, &ctx).await;

    let v = by_name(&findings, "valid");
    assert_eq!(v.outcome, Outcome::Pass, "{v:#?}");
    assert!(
        v.details["days_left"].parse::<i64>().unwrap() >= 89,
        "{v:#?}"
    );
    let e = by_name(&findings, "expiring");
    assert_eq!(e.outcome, Outcome::Warn, "{e:#?}");
    assert!(
        e.message.contains("expires in 9 days") || e.message.contains("expires in 10 days"),
        "{}",
        e.message
    );
    let x = by_name(&findings, "expired");
    assert_eq!(x.outcome, Outcome::Fail);
    assert!(
        x.message.contains("Expired") || x.message.contains("expired"),
        "{}",
        x.message
    );
    assert!(
        x.message.contains("expires in -3"),
        "the certificate is still read and described: {}",
        x.message
    );
    let s = by_name(&findings, "self-signed");
    assert_eq!(s.outcome, Outcome::Fail);
    assert!(s.message.contains("UnknownIssuer"), "{}", s.message);
    let w = by_name(&findings, "wrong name");
    assert_eq!(w.outcome, Outcome::Fail);
    assert!(w.message.contains("not valid for name"), "{}", w.message);
}
