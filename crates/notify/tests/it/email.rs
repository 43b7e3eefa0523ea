use std::time::SystemTime;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use shipgate_notify::{Event, EventKind, Severity};
use shipgate_testkit::Smtp;

use crate::notifier;

#[tokio::test(flavor = "multi_thread")]
async fn a_multipart_mail_arrives_over_starttls() {
    // A CA, and a certificate for localhost signed by it, for the SMTP server.
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "shipgate test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &Issuer::from_params(&ca_params, &ca_key))
        .unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.path().join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), leaf_key.serialize_pem()).unwrap();

    let smtp = Smtp::start(Some((
        &dir.path().join("cert.pem"),
        &dir.path().join("key.pem"),
    )))
    .expect("aiosmtpd");
    let text = format!(
        r#"
[notify]
group_wait = "0s"
[notify.channels.mail]
type = "email"
host = "localhost"
port = {}
tls = "starttls"
from = "shipgate <deploy@example.com>"
to = ["ops@example.com", "oncall@example.com"]
ca_file = "ca.pem"
"#,
        smtp.port()
    );
    let mut n = notifier(&text, dir.path());
    let mut e = Event::new(
        EventKind::RolledBack,
        Severity::Critical,
        "production",
        "v42 rolled back to v41",
    );
    e.details
        .insert("reason".into(), "error_rate 4.2% > 1%".into());
    n.submit(e, SystemTime::now());
    let d = n.flush_all(SystemTime::now()).await;
    assert!(d[0].result.is_ok(), "{:?}", d[0].result);

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(
        m.contains("Subject: [CRITICAL] production: v42 rolled back to v41"),
        "{m}"
    );
    assert!(m.contains("To: ops@example.com, oncall@example.com"), "{m}");
    assert!(m.contains("multipart/alternative"), "{m}");
    assert!(m.contains("Content-Type: text/plain"), "{m}");
    assert!(m.contains("Content-Type: text/html"), "{m}");
    assert!(
        m.contains("error_rate 4.2% &gt; 1%"),
        "HTML is escaped: {m}"
    );
    // aiosmtpd records the session's TLS in its X-Peer header only; STARTTLS is required
    // by the server (it refuses MAIL before STARTTLS), so delivery proves the upgrade.
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_starttls_is_refused_when_starttls_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(None).expect("aiosmtpd");
    let text = format!(
        "[notify]\ngroup_wait = \"0s\"\nattempts = 1\n[notify.channels.mail]\ntype = \"email\"\nhost = \"localhost\"\nport = {}\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\n",
        smtp.port()
    );
    let mut n = notifier(&text, dir.path());
    n.submit(
        Event::new(EventKind::Test, Severity::Info, "ci", "x"),
        SystemTime::now(),
    );
    let d = n.flush_all(SystemTime::now()).await;
    assert!(d[0].result.is_err(), "no plaintext fallback");
    assert!(smtp.messages().is_empty());
}
