//! The `shipgate-load` binary end to end against the demo app.

use std::path::{Path, PathBuf};
use std::process::Output;

const BIN: &str = env!("CARGO_BIN_EXE_shipgate-load");

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/shipgate.toml")
}

async fn demo() -> u16 {
    let app = shipgate_demo_app::App::build(shipgate_demo_app::Options::default())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app.router()).await });
    port
}

async fn load(args: &[&str], port: u16) -> Output {
    tokio::process::Command::new(BIN)
        .args(args)
        .env("DEMO_PORT", port.to_string())
        .output()
        .await
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn smoke_only_runs_every_task_of_the_five_classes_once() {
    let port = demo().await;
    let out = load(
        &[
            "--config",
            fixture().to_str().unwrap(),
            "--env",
            "demo",
            "--smoke-only",
        ],
        port,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        15,
        "{stdout}"
    );
    assert!(
        stdout.contains("ok    dashboard / POST /api/v1/auth/login"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_run_of_the_step_config_passes_its_thresholds_and_writes_reports() {
    let port = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("run");
    let json = dir.path().join("run.json");
    let junit = dir.path().join("thresholds.xml");
    let out = load(
        &[
            "--config",
            fixture().to_str().unwrap(),
            "--env",
            "demo",
            "--users",
            "60",
            "--spawn-rate",
            "100",
            "--run-time",
            "3s",
            "--progress",
            "1s",
            "--csv",
            prefix.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
        port,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("users    60 |"), "progress lines: {stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["schema"], "shipgate.load/v1");
    assert_eq!(report["thresholds"].as_array().unwrap().len(), 5);
    assert!(
        report["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["passed"] == true),
        "{report:#}"
    );
    for suffix in ["_stats.csv", "_stats_history.csv", "_failures.csv"] {
        assert!(dir.path().join(format!("run{suffix}")).exists(), "{suffix}");
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    shipgate_testkit::junit::validate(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .count(),
        5,
        "one testcase per threshold"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_threshold_exits_1_and_bad_input_exits_2() {
    let port = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let strict = dir.path().join("strict.toml");
    std::fs::write(
        &strict,
        format!(
            "[load]\nhost = \"http://127.0.0.1:{port}\"\nthresholds = [\"p95 < 1us\"]\nshape = {{ type = \"arrival\", rate = 50, duration = \"1s\", max_vus = 10 }}\n\
             [[load.users]]\nname = \"u\"\n[[load.users.tasks]]\nrequest = {{ url = \"{{{{host}}}}/health\" }}\n"
        ),
    )
    .unwrap();
    let out = load(&["--config", strict.to_str().unwrap()], port).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL  p95 < 1us"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[load]\nthresholds = [\"p95 < 500\"]\nshape = { type = \"constant\", users = 1, duration = \"1s\" }\n[[load.users]]\nname = \"u\"\n[[load.users.tasks]]\nrequest = { url = \"http://x\" }\n").unwrap();
    let out = load(&["--config", bad.to_str().unwrap()], port).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("expected a time unit"),
        "{}",
        text(&out)
    );

    let out = load(
        &[
            "--config",
            fixture().to_str().unwrap(),
            "--env",
            "demo",
            "--users",
            "5",
        ],
        port,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "--users needs --run-time: {}",
        text(&out)
    );
    let out = load(
        &[
            "--config",
            strict
                .to_str()
                .unwrap()
                .replace("strict", "missing")
                .as_str(),
        ],
        port,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_progress_is_a_bar_with_users_rate_p95_and_failures() {
    // util-linux's `script` gives the binary a pseudo-terminal for stderr.
    let port = demo().await;
    let command = format!(
        "{BIN} --config {} --env demo --users 60 --spawn-rate 100 --run-time 3s",
        fixture().display()
    );
    let out = tokio::process::Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("DEMO_PORT", port.to_string())
        .env("TERM", "xterm")
        .output()
        .await
        .expect("script (util-linux) runs the binary on a pseudo-terminal");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    // The bar over the shape's 3 s, its message the live numbers.
    assert!(screen.contains("/3s"), "{screen}");
    assert!(screen.contains(" 60 users, "), "{screen}");
    // The table starts on a line of its own, below the bar's last reading.
    assert!(screen.contains("\nName"), "{screen:?}");
    // All of it fits 80 columns (script's default): nothing cut off.
    assert!(screen.contains(" req/s, p95 "), "{screen}");
    assert!(screen.contains(" ms, 0 failed (0.0%)"), "{screen}");
    // Redrawn in place, not one line per second.
    assert!(
        screen.contains('\r') || screen.contains("\u{1b}["),
        "{screen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_combines_two_generators_exactly_and_judges_the_whole() {
    // Two generators at the same time against one target, as a distributed run.
    let port = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let part = |n: usize| dir.path().join(format!("gen{n}.json"));
    let (p1, p2) = (part(1), part(2));
    let args = |json: &PathBuf| {
        vec![
            "--config".to_owned(),
            fixture().display().to_string(),
            "--env".to_owned(),
            "demo".to_owned(),
            "--users".to_owned(),
            "40".to_owned(),
            "--spawn-rate".to_owned(),
            "100".to_owned(),
            "--run-time".to_owned(),
            "2s".to_owned(),
            "--json".to_owned(),
            json.display().to_string(),
        ]
    };
    let (a1, a2) = (args(&p1), args(&p2));
    let (a1, a2): (Vec<&str>, Vec<&str>) = (
        a1.iter().map(String::as_str).collect(),
        a2.iter().map(String::as_str).collect(),
    );
    let (o1, o2) = tokio::join!(load(&a1, port), load(&a2, port));
    assert!(o1.status.code().is_some() && o2.status.code().is_some());
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let merged = dir.path().join("all.json");
    let html = dir.path().join("all.html");
    let out = load(
        &[
            "merge",
            p1.to_str().unwrap(),
            p2.to_str().unwrap(),
            "--json",
            merged.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
        port,
    )
    .await;
    let (one, two, all) = (read(&p1), read(&p2), read(&merged));
    let aggregated = |v: &serde_json::Value| {
        v["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "Aggregated")
            .unwrap()
            .clone()
    };
    let (g1, g2, ga) = (aggregated(&one), aggregated(&two), aggregated(&all));
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap();
    assert!(n(&g1, "requests") > 0 && n(&g2, "requests") > 0);
    assert_eq!(n(&ga, "requests"), n(&g1, "requests") + n(&g2, "requests"));
    assert_eq!(n(&ga, "failures"), n(&g1, "failures") + n(&g2, "failures"));
    // Exact extremes: min and max are kept exactly, and a merge cannot invent them.
    let lat = |v: &serde_json::Value, k: &str| v["latency"][k].as_f64().unwrap();
    assert_eq!(
        lat(&ga, "max_ms"),
        lat(&g1, "max_ms").max(lat(&g2, "max_ms"))
    );
    assert_eq!(
        lat(&ga, "min_ms"),
        lat(&g1, "min_ms").min(lat(&g2, "min_ms"))
    );
    // Every request name's count adds up too.
    for e in all["endpoints"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        let count = |v: &serde_json::Value| {
            v["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == name)
                .map_or(0, |x| x["requests"].as_u64().unwrap())
        };
        assert_eq!(count(&all), count(&one) + count(&two), "{name}");
    }
    // Judged by the thresholds the generators shared; the combined rate is the sum.
    assert_eq!(all["thresholds"].as_array().unwrap().len(), 5);
    let expected = i32::from(
        !all["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["passed"] == true),
    );
    assert_eq!(out.status.code(), Some(expected), "{}", text(&out));
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));

    // A threshold of our choosing, which the merged run fails.
    let out = load(
        &[
            "merge",
            p1.to_str().unwrap(),
            p2.to_str().unwrap(),
            "--threshold",
            "rps > 1000000",
        ],
        port,
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("FAIL  rps > 1000000"), "{}", text(&out));

    // Unreadable input names the file and exits 2.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"schema\": \"something/v9\"}").unwrap();
    let out = load(
        &["merge", p1.to_str().unwrap(), junk.to_str().unwrap()],
        port,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("junk.json: schema is \"something/v9\""),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_that_cannot_be_written_after_the_run_exits_1_and_says_what_was_written() {
    let port = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("thresholds.xml");
    // A non-empty directory where the JSON summary should go: it cannot be replaced.
    let json = dir.path().join("summary.json");
    std::fs::create_dir(&json).unwrap();
    std::fs::write(json.join("keep"), "x").unwrap();
    let out = load(
        &[
            "--config",
            fixture().to_str().unwrap(),
            "--env",
            "demo",
            "--users",
            "2",
            "--run-time",
            "1s",
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
        port,
    )
    .await;
    // The run happened (exit 2 would claim nothing ran): the table was printed.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "shipgate-load: the run finished, but not every report was written\n  caused by: cannot write {} (written: {})",
            json.display(),
            junit.display()
        )),
        "{stderr}"
    );
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuites")
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Aggregated"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_url_alone_runs_a_get_load_test_without_a_file_and_masks_its_password() {
    let port = demo().await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("quick.json");
    let run = |url: String, threshold: &str, json: &Path| {
        tokio::process::Command::new(BIN)
            .current_dir(dir.path()) // no shipgate.toml here
            .env_remove("SHIPGATE_CONFIG")
            .args([
                &url,
                "--users",
                "4",
                "--run-time",
                "1s",
                "--progress",
                "10s",
            ])
            .args(["--threshold", threshold, "--json"])
            .arg(json)
            .output()
    };
    let ok = run(
        format!("http://probe:s3cret-pass@127.0.0.1:{port}/health"),
        "error_rate < 1%",
        &json,
    )
    .await
    .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(!text(&ok).contains("s3cret-pass"), "{}", text(&ok));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(!summary.to_string().contains("s3cret-pass"));
    let total = summary["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Aggregated")
        .unwrap();
    assert!(total["requests"].as_u64().unwrap() > 10, "{total}");

    // A path that answers 404: every request fails, and the threshold says so.
    let missing = run(
        format!("http://127.0.0.1:{port}/no-such-page"),
        "error_rate < 1%",
        &dir.path().join("missing.json"),
    )
    .await
    .unwrap();
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(
        text(&missing).contains("FAIL  error_rate < 1%"),
        "{}",
        text(&missing)
    );
}

/// Every form a planted password could leak in.
fn leaks(password: &str, user: &str) -> Vec<String> {
    use std::fmt::Write as _;
    let mut encoded = String::new();
    for b in password.bytes() {
        if b.is_ascii_alphanumeric() {
            encoded.push(b as char);
        } else {
            let _ = write!(encoded, "%{b:02X}");
        }
    }
    // As an Authorization: Basic header carries it.
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    };
    vec![password.to_owned(), encoded.to_lowercase(), encoded, basic]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_load_tests_secrets_are_in_no_output_format_console_or_trace_log() {
    // A target that echoes what it is sent: every failure quotes the secret back.
    let echo = axum::Router::new().fallback(
        |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: String| async move {
            let pw = headers
                .get("x-pw")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            format!("you sent {uri} with x-pw {pw} and {body}")
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, echo).await });
    let dir = tempfile::tempdir().unwrap();
    let password = "Pl@nted/s3cret-PW";
    let config = dir.path().join("shipgate.toml");
    // The password goes into a URL, a header and a body; the assertion fails, and its
    // failure quotes the echoed body.
    std::fs::write(
        &config,
        format!(
            r#"[load]
host = "http://127.0.0.1:{port}"
secrets = {{ password = "${{LOAD_TEST_PASSWORD}}" }}
thresholds = ["error_rate < 1%"]
shape = {{ type = "constant", users = 2, duration = "500ms" }}
[[load.users]]
name = "account"
[[load.users.tasks]]
request = {{ name = "login", method = "POST", url = "{{{{host}}}}/no-such-login?pw={{{{password}}}}", headers = {{ "x-pw" = "{{{{password}}}}" }}, body = "{{{{password}}}}", assert = ['body contains "never"'] }}
"#
        ),
    )
    .unwrap();
    let out = tokio::process::Command::new(BIN)
        .current_dir(dir.path())
        .args(["--config", "shipgate.toml"])
        .args(["--csv", "run", "--json", "run.json", "--html", "run.html"])
        .args(["--junit", "run.xml", "--markdown", "run.md"])
        .env("LOAD_TEST_PASSWORD", password)
        .env("RUST_LOG", "trace")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let mut everything = text(&out);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() != "shipgate.toml" {
            everything.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    assert!(everything.contains("run_stats.csv") || dir.path().join("run_stats.csv").exists());
    assert!(
        everything.contains("[redacted]"),
        "the secret was used and masked"
    );
    for leak in leaks(password, "") {
        assert!(!everything.contains(&leak), "{leak:?} leaked");
    }
}
