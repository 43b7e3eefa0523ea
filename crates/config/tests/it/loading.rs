use std::time::Duration;

use serde::Deserialize;
use shipgate_config::{Document, ErrorKind, Vars};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Http {
    url: String,
    #[serde(with = "shipgate_config::duration")]
    timeout: Duration,
    #[serde(default)]
    headers: Vec<String>,
}

const FILE: &str = r#"
[environments.staging]
HOST = "staging.example.com"
PORT = 8443
TOKEN = "${STAGING_TOKEN}"

[environments.production]
HOST = "www.example.com"
PORT = 443
TOKEN = "${PROD_TOKEN:-unset}"

[checks]
url = "https://${HOST}:${PORT}/health?cost=$$5"
timeout = "2s"
headers = ["Authorization: Bearer ${TOKEN}", "X-Env: ${DEPLOY_ENV:-none}"]
"#;

#[test]
fn environment_variables_win_over_the_process_environment_and_defaults_apply() {
    let vars = Vars::from_pairs([("STAGING_TOKEN", "tok-staging"), ("HOST", "from-process")]);
    let doc = Document::parse("shipgate.toml", FILE, Some("staging"), vars).unwrap();
    assert_eq!(doc.environment_names(), ["production", "staging"]);
    let http: Http = doc.section("checks").unwrap().unwrap();
    assert_eq!(http.url, "https://staging.example.com:8443/health?cost=$5");
    assert_eq!(http.timeout, Duration::from_secs(2));
    assert_eq!(
        http.headers,
        ["Authorization: Bearer tok-staging", "X-Env: none"]
    );

    let doc = Document::parse("shipgate.toml", FILE, Some("production"), Vars::default()).unwrap();
    let http: Http = doc.section("checks").unwrap().unwrap();
    assert_eq!(http.url, "https://www.example.com:443/health?cost=$5");
    assert_eq!(http.headers[0], "Authorization: Bearer unset");
}

#[test]
fn without_an_environment_only_the_process_environment_is_used() {
    let vars = Vars::from_pairs([("HOST", "h"), ("PORT", "1"), ("TOKEN", "t")]);
    let doc = Document::parse("shipgate.toml", FILE, None, vars).unwrap();
    let http: Http = doc.section("checks").unwrap().unwrap();
    assert_eq!(http.url, "https://h:1/health?cost=$5");
}

#[test]
fn an_absent_section_is_none_and_a_file_loads_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    std::fs::write(&path, "[load]\n").unwrap();
    let doc = Document::load(&path, None, Vars::default()).unwrap();
    assert!(doc.section::<Http>("checks").unwrap().is_none());
    assert!(doc.has_section("load"));
    assert_eq!(doc.path(), path);
}

#[test]
fn the_process_environment_is_read_when_asked() {
    // PATH is set in every test environment; no variable is modified.
    let path = std::env::var("PATH").unwrap();
    let doc = Document::parse(
        "s.toml",
        "[checks]\nurl = \"${PATH}\"\ntimeout = \"1s\"\n",
        None,
        Vars::process(),
    )
    .unwrap();
    assert_eq!(doc.section::<Http>("checks").unwrap().unwrap().url, path);
}

#[test]
fn an_unknown_environment_is_rejected_with_the_known_ones() {
    let err = Document::parse("shipgate.toml", FILE, Some("stagign"), Vars::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownEnvironment);
    assert!(err.message().contains("production, staging"), "{err}");
    assert_eq!(err.hint(), Some("did you mean `staging`?"));
}

#[test]
fn a_subsection_interpolates_only_itself() {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        timeout: String,
    }
    #[derive(Debug, Deserialize)]
    struct Check {
        url: String,
    }
    let text = r#"
[checks]
timeout = "5s"
[[checks.pre]]
url = "${ONLY_PRE_NEEDS_THIS}"
[[checks.post]]
url = "http://${HOST}/health"
"#;
    let doc = Document::parse("s.toml", text, None, Vars::from_pairs([("HOST", "h")])).unwrap();
    let post: Vec<Check> = doc.subsection(&["checks", "post"]).unwrap().unwrap();
    assert_eq!(post[0].url, "http://h/health");
    let settings: Settings = doc
        .section_without("checks", &["pre", "post"])
        .unwrap()
        .unwrap();
    assert_eq!(settings.timeout, "5s");
    let err = doc
        .subsection::<Vec<Check>>(&["checks", "pre"])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UndefinedVariable);
    assert!(
        doc.subsection::<Vec<Check>>(&["checks", "nope"])
            .unwrap()
            .is_none()
    );
    assert!(
        doc.subsection::<Vec<Check>>(&["nope", "x"])
            .unwrap()
            .is_none()
    );
}
