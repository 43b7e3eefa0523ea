use std::time::{Duration, Instant};

use shipgate_demo_app::{Options, Stall};
use shipgate_load::{Engine, LoadReport};
use shipgate_report::ExitCode;
use shipgate_stats::FailureKind;
use shipgate_testkit::BlackHole;
use tokio_util::sync::CancellationToken;

use crate::{client, demo, plan};

fn config(host: &str, shape: &str, think: &str, thresholds: &str) -> String {
    format!(
        r#"
[load]
host = "{host}"
graceful_stop = "2s"
thresholds = [{thresholds}]
shape = {shape}

[[load.users]]
name = "browsing"
weight = 3
think = {think}
[[load.users.tasks]]
weight = 3
request = {{ name = "GET /health", url = "{{{{host}}}}/health" }}
[[load.users.tasks]]
request = {{ name = "GET /api/v1/search", url = "{{{{host}}}}/api/v1/search?q=rust", assert = ["json $.count >= 1"] }}

[[load.users]]
name = "auth"
weight = 1
think = {think}
on_start = [{{ name = "login", method = "POST", url = "{{{{host}}}}/api/v1/auth/login", json = {{ username = "demo", password = "demo-password" }}, capture = {{ token = "json $.token" }} }}]
on_stop = [{{ name = "logout", method = "POST", url = "{{{{host}}}}/api/v1/auth/logout", headers = {{ Authorization = "Bearer {{{{token}}}}" }} }}]
[[load.users.tasks]]
request = {{ name = "GET /dashboard", url = "{{{{host}}}}/dashboard", headers = {{ Authorization = "Bearer {{{{token}}}}" }}, assert = ["status == 200"] }}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn thresholds_pass_and_fail_with_the_right_exit_code() {
    let addr = demo(Options::default()).await;
    let text = config(
        &format!("http://{addr}"),
        r#"{ type = "constant", users = 8, duration = "1500ms", spawn_rate = 100 }"#,
        r#"{ constant = "10ms" }"#,
        r#""p95 < 1s", "error_rate < 1%", "rps > 10", "\"GET /dashboard\": failures == 0""#,
    );
    let p = plan(&text);
    let result = Engine::new(p.clone(), client(Duration::from_secs(5)))
        .run(CancellationToken::new())
        .await;
    let report = LoadReport::new(&p, &result);
    assert_eq!(report.exit_code(), ExitCode::Success, "{}", report.table());
    let names: Vec<&str> = report.summaries.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "GET /api/v1/search",
            "GET /dashboard",
            "GET /health",
            "login",
            "logout",
            "Aggregated"
        ]
    );
    let login = report.summaries.iter().find(|s| s.name == "login").unwrap();
    assert_eq!(login.requests, 2, "two auth users logged in once each");
    let logout = report
        .summaries
        .iter()
        .find(|s| s.name == "logout")
        .unwrap();
    assert_eq!(
        (logout.requests, logout.failures),
        (2, 0),
        "on_stop ran with the captured token"
    );

    // Stricter thresholds against the same numbers fail.
    let strict = plan(&text.replace(r#""p95 < 1s""#, r#""p95 < 1us""#));
    let report = LoadReport::new(&strict, &result);
    assert_eq!(report.exit_code(), ExitCode::Failure);
    assert!(
        report.table().contains("FAIL  p95 < 1us"),
        "{}",
        report.table()
    );

    // The CSV files Locust's dashboards read.
    let dir = tempfile::tempdir().unwrap();
    LoadReport::new(&p, &result)
        .write_csv(&dir.path().join("run"))
        .unwrap();
    let stats = std::fs::read_to_string(dir.path().join("run_stats.csv")).unwrap();
    assert!(
        stats.starts_with("Type,Name,Request Count,Failure Count,Median Response Time,"),
        "{stats}"
    );
    assert!(stats.contains("\nGET,/health,"), "{stats}");
    assert!(
        stats.lines().last().unwrap().starts_with(",Aggregated,"),
        "{stats}"
    );
    let history = std::fs::read_to_string(dir.path().join("run_stats_history.csv")).unwrap();
    assert!(history.lines().count() >= 2, "{history}");
    assert!(
        std::fs::read_to_string(dir.path().join("run_failures.csv"))
            .unwrap()
            .starts_with("Method,Name,Error,Occurrences")
    );
    let json = LoadReport::new(&p, &result).json();
    assert_eq!(json["schema"], "shipgate.load/v1");
    assert_eq!(
        json["snapshot"]["schema"], "shipgate.stats/v1",
        "the snapshot is kept for later merges"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_periodic_stall_shows_in_the_corrected_p99_not_the_uncorrected_one() {
    // 200 ms stalls every 2 s; two users each due every 5 ms (wrk2's constant rate).
    let stall = Stall {
        hold: Duration::from_millis(200),
        every: Duration::from_secs(2),
    };
    let addr = demo(Options {
        stall: Some(stall),
        ..Options::default()
    })
    .await;
    let text = format!(
        r#"
[load]
host = "http://{addr}"
shape = {{ type = "constant", users = 2, duration = "4500ms", spawn_rate = 100 }}
[[load.users]]
name = "paced"
think = {{ pacing = "5ms" }}
[[load.users.tasks]]
request = {{ name = "GET /static/app.css", url = "{{{{host}}}}/static/app.css" }}
"#
    );
    let p = plan(&text);
    let result = Engine::new(p, client(Duration::from_secs(5)))
        .run(CancellationToken::new())
        .await;
    let e = &result.snapshot.endpoints()["GET /static/app.css"];
    let uncorrected = e.latency.percentile(99.0).unwrap();
    let corrected = e.corrected.percentile(99.0).unwrap();
    assert!(
        corrected >= Duration::from_millis(160),
        "corrected p99 {corrected:?} should show the 200 ms stall"
    );
    assert!(
        uncorrected < Duration::from_millis(60),
        "uncorrected p99 {uncorrected:?} hides it (coordinated omission)"
    );
    assert!(
        e.latency.max().unwrap() >= Duration::from_millis(150),
        "the stalled requests themselves were slow"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_killed_mid_run_gives_errors_by_kind_and_the_run_ends_on_time() {
    // The target runs on its own runtime; shutting that down drops its listener and every
    // connection at once, as a killed process would.
    let (tx, rx) = std::sync::mpsc::channel();
    let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let addr = demo(Options::default()).await;
            tx.send(addr).unwrap();
        });
        kill_rx.recv().unwrap();
        rt.shutdown_background();
    });
    let addr = rx.recv().unwrap();
    let text = config(
        &format!("http://{addr}"),
        r#"{ type = "constant", users = 4, duration = "2s", spawn_rate = 100 }"#,
        r#"{ constant = "5ms" }"#,
        "",
    );
    let p = plan(&text);
    let killer = tokio::spawn(async move {
        // tidy: pacing, not synchronisation (the target dies mid-run on purpose).
        tokio::time::sleep(Duration::from_millis(800)).await;
        kill_tx.send(()).unwrap();
    });
    let start = Instant::now();
    let result = Engine::new(p.clone(), client(Duration::from_secs(2)))
        .run(CancellationToken::new())
        .await;
    killer.await.unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "ran {:?}",
        start.elapsed()
    );
    let all = result.snapshot.aggregate();
    assert!(
        all.requests() - all.failed() > 20,
        "requests succeeded before the kill"
    );
    let connect = all.failures_of(FailureKind::Connect);
    let reset = all.failures_of(FailureKind::Reset);
    assert!(
        connect > 0,
        "connections refused after the kill: {:?}",
        all.failures
    );
    assert_eq!(
        all.failed(),
        connect + reset + all.failures_of(FailureKind::Other),
        "{:?}",
        all.failures
    );
    assert!(
        result
            .failures
            .keys()
            .any(|(_, m)| m.starts_with("Connect")),
        "{:?}",
        result.failures
    );
    // No thresholds: failed requests fail the run, and the table says why.
    let report = LoadReport::new(&p, &result);
    assert_eq!(report.exit_code(), ExitCode::Failure, "{}", report.table());
    assert!(
        report.table().contains(&format!(
            "FAIL  no thresholds: {} of {} requests failed",
            all.failed(),
            all.requests()
        )),
        "{}",
        report.table()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_black_holed_target_times_out_rather_than_hangs() {
    let hole = BlackHole::start().unwrap();
    let text = config(
        &format!("http://{}", hole.addr()),
        r#"{ type = "constant", users = 3, duration = "1s", spawn_rate = 100 }"#,
        "\"none\"",
        "\"error_rate < 1%\"",
    );
    let p = plan(&text);
    let start = Instant::now();
    let result = Engine::new(p.clone(), client(Duration::from_millis(300)))
        .run(CancellationToken::new())
        .await;
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "ran {:?}",
        start.elapsed()
    );
    let all = result.snapshot.aggregate();
    assert!(
        all.failures_of(FailureKind::Timeout) >= 3,
        "{:?}",
        all.failures
    );
    assert_eq!(LoadReport::new(&p, &result).exit_code(), ExitCode::Failure);
}
