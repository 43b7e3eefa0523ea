use serde::Deserialize;
use shipgate_config::{Document, Secret, Vars};
use shipgate_report::{
    Console, Finding, Json, Junit, Markdown, Outcome, Phase, Redactor, Render, Report,
};

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Notify {
    webhook_url: Secret,
    channel: String,
    smtp: Smtp,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Smtp {
    password: Secret,
}

const WEBHOOK: &str = "https://hooks.example.com/services/T000/B000/Xy9-planted-secret-1";
const PASSWORD: &str = "pl4nted p@ss/word";

#[test]
fn a_planted_secret_appears_in_no_renderer_output() {
    let text = r##"
[environments.production]
SMTP_PASSWORD = "${SMTP_PASSWORD_FROM_VAULT}"

[notify]
webhook_url = "${SLACK_WEBHOOK}"
channel = "#deploys"
smtp = { password = "${SMTP_PASSWORD}" }
"##;
    let vars = Vars::from_pairs([
        ("SLACK_WEBHOOK", WEBHOOK),
        ("SMTP_PASSWORD_FROM_VAULT", PASSWORD),
    ]);
    let doc = Document::parse("shipgate.toml", text, Some("production"), vars).unwrap();
    let notify: Notify = doc.section("notify").unwrap().unwrap();
    assert_eq!(notify.webhook_url.expose(), WEBHOOK);
    assert_eq!(notify.smtp.password.expose(), PASSWORD);
    assert_eq!(doc.secrets().len(), 2);

    // Everything a careless layer might put in a report: Debug of the config, Display of
    // the secrets, and the raw values inside an error message, as a driver would echo them.
    let encoded_password = "pl4nted%20p%40ss%2Fword";
    let mut report = Report::new("notify test").with_redactor(Redactor::new(doc.secrets()));
    report.push(
        Finding::new(
            format!("slack {}", notify.webhook_url),
            Phase::Notify,
            Outcome::Fail,
        )
        .with_message(format!("POST {WEBHOOK} failed: 404; config was {notify:?}"))
        .with_detail("password", PASSWORD)
        .with_detail(
            "url",
            format!("smtp://deploy:{encoded_password}@127.0.0.1:2525"),
        )
        .with_recommendation(format!("check the webhook {WEBHOOK}")),
    );
    assert!(!format!("{notify:?}").contains(PASSWORD));

    let renderers: [(&str, Box<dyn Render>); 5] = [
        ("console", Box::new(Console::plain())),
        ("console colored", Box::new(Console::colored())),
        ("json", Box::new(Json)),
        ("junit", Box::new(Junit)),
        ("markdown", Box::new(Markdown)),
    ];
    for (name, renderer) in renderers {
        let out = renderer.render_to_string(&report).unwrap();
        for needle in [
            WEBHOOK,
            PASSWORD,
            encoded_password,
            "Xy9-planted-secret-1",
            "pl4nted",
        ] {
            assert!(!out.contains(needle), "{name} printed {needle:?}:\n{out}");
        }
    }
}
