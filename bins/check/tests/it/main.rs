//! The `shipgate-check` binary end to end: the sample configuration against the demo
//! app, exit codes, outputs, and secrets.

use std::path::{Path, PathBuf};
use std::process::Output;

use shipgate_demo_app::{App, Options};

const BIN: &str = env!("CARGO_BIN_EXE_shipgate-check");
const SECRET_KEY: &str = "p7#Vq2!mX9zR4@kL8wN1$tY6^hB3&cF5*jD0(sG+eU-aQ=iO_r";
const PASSWORD: &str = "s3cret-demo-pass-91";

fn config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/shipgate.toml")
}

struct Demo {
    port: u16,
    database_url: String,
    _dir: tempfile::TempDir,
}

async fn demo(options: Options) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display());
    let app = App::build(Options {
        database_url: database_url.clone(),
        password: PASSWORD.into(),
        ..options
    })
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app.router()).await });
    Demo {
        port,
        database_url,
        _dir: dir,
    }
}

async fn check(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn pre_and_post_pass_against_the_demo_app_with_every_output() {
    let demo = demo(Options::default()).await;
    let port = demo.port.to_string();
    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("pre.json");
    let junit = out_dir.path().join("post.xml");
    let md = out_dir.path().join("post.md");
    let env = [
        ("DEMO_PORT", port.as_str()),
        ("DATABASE_URL", demo.database_url.as_str()),
        ("SECRET_KEY", SECRET_KEY),
        ("DEMO_PASSWORD", PASSWORD),
    ];
    let config = config();
    let config = config.to_str().unwrap();

    let pre = check(
        &[
            "pre",
            "--config",
            config,
            "--env",
            "demo",
            "--json",
            json.to_str().unwrap(),
        ],
        &env,
    )
    .await;
    assert_eq!(pre.status.code(), Some(0), "{}", text(&pre));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["schema"], "shipgate.report/v1");
    // Seven checks hold; `host resources` may warn on a machine whose disk is over 80%
    // used (it is this machine's disk, not the demo app's), never fail.
    let summary = &report["summary"];
    assert_eq!(
        summary["passed"].as_u64().unwrap() + summary["warned"].as_u64().unwrap(),
        7,
        "{report:#}"
    );
    for f in report["findings"].as_array().unwrap() {
        if f["outcome"] == "warn" {
            assert_eq!(f["name"], "host resources", "{report:#}");
        }
    }

    let post = check(
        &[
            "post",
            "-c",
            config,
            "-e",
            "demo",
            "--junit",
            junit.to_str().unwrap(),
            "--markdown",
            md.to_str().unwrap(),
        ],
        &env,
    )
    .await;
    assert_eq!(post.status.code(), Some(0), "{}", text(&post));
    let xml = std::fs::read_to_string(&junit).unwrap();
    shipgate_testkit::junit::validate(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(
        cases, 11,
        "one testcase per check and per smoke step:\n{xml}"
    );
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .contains("auth flow / dashboard with the token")
    );

    for output in [
        text(&pre),
        text(&post),
        std::fs::read_to_string(&json).unwrap(),
        xml,
        std::fs::read_to_string(&md).unwrap(),
    ] {
        assert!(
            !output.contains(SECRET_KEY) && !output.contains(PASSWORD),
            "a secret leaked:\n{output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_check_exits_1_and_says_what_to_do() {
    let demo = demo(Options {
        security_headers: false,
        ..Options::default()
    })
    .await;
    let port = demo.port.to_string();
    let config = config();
    let out = check(
        &[
            "post",
            "--config",
            config.to_str().unwrap(),
            "--env",
            "demo",
            "--json",
            "-",
        ],
        &[("DEMO_PORT", port.as_str()), ("DEMO_PASSWORD", PASSWORD)],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("--json - writes only JSON to stdout");
    let health = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "health")
        .unwrap();
    assert_eq!(health["outcome"], "fail");
    assert!(
        health["message"]
            .as_str()
            .unwrap()
            .contains("strict-transport-security is missing")
    );
    assert!(
        health["recommendation"]
            .as_str()
            .unwrap()
            .contains("SECURE_HSTS_SECONDS")
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("FAIL  health"),
        "the console goes to stderr"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_weak_secret_fails_without_being_printed() {
    let weak = "django-insecure-weak-key-that-must-not-appear-0123456789abcdef";
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let out = check(
        &[
            "pre",
            "--config",
            config().to_str().unwrap(),
            "--env",
            "demo",
            "--only",
            "environment",
            "--json",
            json.to_str().unwrap(),
        ],
        &[
            ("DEMO_PORT", "1"),
            ("DATABASE_URL", "sqlite::memory:"),
            ("SECRET_KEY", weak),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = format!("{}{}", text(&out), std::fs::read_to_string(&json).unwrap());
    assert!(all.contains("starts with `django-insecure-`"), "{all}");
    assert!(!all.contains(weak), "{all}");
}

#[tokio::test(flavor = "multi_thread")]
async fn configuration_errors_exit_2_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    std::fs::write(&path, "[checks]\ntimeout = \"5s\"\n\n[[checks.pre]]\nname = \"x\"\n[checks.pre.http]\nurl = \"http://a\"\nstauts = 200\n").unwrap();
    let out = check(&["pre", "--config", path.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:8:1: unknown field `stauts`", path.display())),
        "{err}"
    );
    assert!(err.contains("did you mean `status`?"), "{err}");

    let out = check(
        &[
            "pre",
            "--config",
            config().to_str().unwrap(),
            "--env",
            "prod",
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no environment `prod`"));

    let out = check(&["pre", "--config", "/nonexistent/shipgate.toml"], &[]).await;
    assert_eq!(out.status.code(), Some(2));

    let out = check(&["sideways"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "clap's usage error");

    let env = [
        ("DEMO_PORT", "1"),
        ("DATABASE_URL", "sqlite::memory:"),
        ("SECRET_KEY", SECRET_KEY),
    ];
    let out = check(
        &[
            "pre",
            "--config",
            config().to_str().unwrap(),
            "--env",
            "demo",
            "--only",
            "nope",
        ],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such check"));
}

#[tokio::test(flavor = "multi_thread")]
async fn only_runs_the_named_checks_and_their_dependencies() {
    let out = check(
        &[
            "pre",
            "--config",
            config().to_str().unwrap(),
            "--env",
            "demo",
            "--only",
            "database and migrations",
            "--json",
            "-",
        ],
        &[
            ("DEMO_PORT", "1"),
            ("DATABASE_URL", "sqlite::memory:"),
            ("SECRET_KEY", SECRET_KEY),
        ],
    )
    .await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["environment", "database and migrations"]);
    // An empty in-memory database: both sqlx migrations are pending.
    assert_eq!(out.status.code(), Some(1));
    assert!(
        report["findings"][1]["message"]
            .as_str()
            .unwrap()
            .contains("2 pending sqlx migration(s)")
    );
}

#[test]
fn help_teaches_usage_and_exit_codes() {
    let out = std::process::Command::new(BIN)
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Exit codes: 0",
        "shipgate-check pre --env staging",
        "--junit",
        "--only",
    ] {
        assert!(help.contains(needle), "{needle} not in --help:\n{help}");
    }
}

#[test]
fn the_binary_generates_its_man_page_and_completions_from_its_flags() {
    let run = |args: &[&str]| std::process::Command::new(BIN).args(args).output().unwrap();
    let man = run(&["--generate-man"]);
    assert_eq!(man.status.code(), Some(0));
    let man = String::from_utf8(man.stdout).unwrap();
    assert!(man.contains(".TH shipgate-check 1"), "{man}");
    assert!(
        man.contains("\\-\\-only"),
        "every flag is documented: {man}"
    );
    let bash = run(&["--generate-completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let bash = String::from_utf8(bash.stdout).unwrap();
    assert!(
        bash.contains("complete -F") && bash.contains("--markdown"),
        "{bash}"
    );
    let unknown = run(&["--generate-completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_commands_output_cannot_repaint_the_terminal_or_fake_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    // It clears the screen, prints a green PASS line, returns the cursor over it.
    std::fs::write(
        &path,
        r#"[[checks.pre]]
name = "migrations"
command = { run = ["sh", "-c", '''printf '\033[2J\033[1;32m  PASS  migrations\033[0m\r fake & <b>'; exit 1'''] }
"#,
    )
    .unwrap();
    let md = dir.path().join("pre.md");
    let out = check(
        &[
            "pre",
            "--config",
            path.to_str().unwrap(),
            "--markdown",
            md.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\r'),
        "{stdout:?}"
    );
    assert!(
        !stdout.lines().any(|l| l.trim_start().starts_with("PASS")),
        "no line may claim a pass: {stdout}"
    );
    let md = std::fs::read_to_string(md).unwrap();
    assert!(!md.contains('\x1b') && !md.contains('\r'), "{md:?}");
    assert!(md.contains("&amp; \\<b\\>"), "{md}");
}

#[tokio::test(flavor = "multi_thread")]
async fn planted_secrets_are_in_no_output_format_console_or_trace_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    let url = "postgres://app:Pl%40nted-s3cret@127.0.0.1:1/shop";
    // A command that prints the secret URL, its password decoded on its own, and the
    // Basic header of user:password, then fails so that its output is quoted.
    std::fs::write(
        &path,
        r#"[[checks.pre]]
name = "secrets set"
env = { required = ["DATABASE_URL"], secrets = ["DATABASE_URL"] }
[[checks.pre]]
name = "talkative"
command = { run = ["sh", "-c", 'echo "$DATABASE_URL Pl@nted-s3cret $(printf app:Pl@nted-s3cret | base64)"; exit 1'] }
"#,
    )
    .unwrap();
    let (json, junit, md) = (
        dir.path().join("pre.json"),
        dir.path().join("pre.xml"),
        dir.path().join("pre.md"),
    );
    let out = check(
        &[
            "pre",
            "--config",
            path.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--markdown",
            md.to_str().unwrap(),
        ],
        &[("DATABASE_URL", url), ("RUST_LOG", "trace")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let mut all = text(&out);
    for p in [&json, &junit, &md] {
        all.push_str(&std::fs::read_to_string(p).unwrap());
    }
    assert!(all.contains("[redacted]"), "{all}");
    for leak in [
        "Pl%40nted",
        "Pl%40nted".to_lowercase().as_str(),
        "Pl@nted",
        "YXBwOlBsQG50ZWQtczNjcmV0",
    ] {
        assert!(!all.contains(leak), "{leak} leaked: {all}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_names_unknown_dependencies_and_cycles_point_at_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    let cases = [
        (
            "[[checks.pre]]\nname = \"db\"\nfile = { path = \"a\" }\n[[checks.pre]]\nname = \"db\"\nfile = { path = \"b\" }\n",
            "5:8: two checks are named \"db\" (checks 1 and 2 of the phase)",
        ),
        (
            "[[checks.pre]]\nname = \"database\"\nfile = { path = \"a\" }\n[[checks.pre]]\nname = \"migrations\"\ndepends_on = [\"databse\"]\nfile = { path = \"b\" }\n",
            "6:15: check \"migrations\" depends on \"databse\", which does not exist: did you mean `database`?",
        ),
        (
            "[[checks.pre]]\nname = \"a\"\ndepends_on = [\"b\"]\nfile = { path = \"a\" }\n[[checks.pre]]\nname = \"b\"\ndepends_on = [\"a\"]\nfile = { path = \"b\" }\n",
            "7:15: dependency cycle: a -> b -> a",
        ),
    ];
    for (toml, expected) in cases {
        std::fs::write(&path, toml).unwrap();
        let out = check(&["pre", "--config", path.to_str().unwrap()], &[]).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{}:{expected}", path.display())),
            "{expected}\n{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relative_sqlite_path_is_relative_to_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    std::fs::write(
        &path,
        "[[checks.pre]]\nname = \"db\"\ndatabase = { url = \"sqlite://relative-fixture.db?mode=rwc\" }\n",
    )
    .unwrap();
    let out = check(&["pre", "--config", path.to_str().unwrap()], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        dir.path().join("relative-fixture.db").exists(),
        "beside the file"
    );
    assert!(
        !std::env::current_dir()
            .unwrap()
            .join("relative-fixture.db")
            .exists(),
        "not in the working directory"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_log_shows_each_check_in_its_span_as_text_or_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shipgate.toml");
    std::fs::write(
        &path,
        "[[checks.pre]]\nname = \"config present\"\nfile = { path = \"shipgate.toml\" }\n",
    )
    .unwrap();
    let out = check(
        &["pre", "--config", path.to_str().unwrap()],
        &[("RUST_LOG", "debug")],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("check{check=config present phase=pre}")
            && stderr.contains("outcome=\"pass\""),
        "{stderr}"
    );
    let out = check(
        &[
            "pre",
            "--config",
            path.to_str().unwrap(),
            "--log-format",
            "json",
        ],
        &[("RUST_LOG", "debug")],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["check"] == "config present" && l["fields"]["outcome"] == "pass"),
        "{lines:?}"
    );
    // Without RUST_LOG, nothing below a warning.
    let out = check(&["pre", "--config", path.to_str().unwrap()], &[]).await;
    assert!(out.stderr.is_empty(), "{}", text(&out));
}
