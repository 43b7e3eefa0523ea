//! Against a real Prometheus (Debian's package) scraping the demo app: knobs turned
//! up fire rules after their `for`, turned down resolve them, one notice each; and
//! every way of having no data is no data, never a pass.

use std::time::{Duration, SystemTime};

use shipgate_notify::NotifyConfig;
use shipgate_testkit::{Prometheus, RefusingPort};
use shipgate_watch::{SystemClock, Transition, Verdict, Watch, WatchConfig, Window};
use tokio_util::sync::CancellationToken;

use crate::support::{DemoApp, bare_watch, client, send, traffic};

const ERROR_RATE: &str = r#"(sum(rate(http_requests_total{status=~"5.."}[3s])) or vector(0)) / sum(rate(http_requests_total[3s]))"#;
const P95: &str =
    "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[3s])))";

fn watch_config(prom: &str, rules: &str) -> WatchConfig {
    // rate() has no value until Prometheus has scraped twice: a window's first
    // samples lack data, so these windows allow half of them to.
    let text = format!(
        "interval = \"500ms\"\ntimeout = \"2s\"\nmax_missing = \"50%\"\n\
         [sources.prom]\ntype = \"prometheus\"\nurl = \"{prom}\"\n\
         queries = {{ error_rate = '{ERROR_RATE}', p95 = '{P95}', requests = 'sum(rate(http_requests_total[3s]))' }}\n\
         {rules}"
    );
    let c: WatchConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    c.validate().unwrap();
    c
}

fn notifier(receiver: &DemoApp, state: &std::path::Path) -> shipgate_notify::Notifier {
    let cfg: NotifyConfig = toml::from_str(&format!(
        "group_wait = \"0s\"\nretry_delay = \"50ms\"\nstate_file = \"{}\"\n[channels.hook]\ntype = \"webhook\"\nurl = \"{}\"",
        state.display(),
        receiver.url("/hooks/alerts")
    ))
    .unwrap();
    shipgate_notify::Notifier::new(cfg, client(), ".".into()).unwrap()
}

/// The notices the receiver got, as `(status, summary)`.
async fn notices(receiver: &DemoApp) -> Vec<(String, String)> {
    let (_, list) = send("GET", &receiver.url("/hooks/alerts"), "").await;
    list["received"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|body| body["events"].as_array().unwrap().clone())
        .map(|e| {
            (
                e["status"].as_str().unwrap().to_owned(),
                e["summary"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Polls `what` every 100 ms until it holds; panics after `limit`.
async fn until<F: std::future::Future<Output = bool>>(
    limit: Duration,
    what: &str,
    mut f: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {limit:?}"
        );
        // tidy: polling real servers (Prometheus scrapes on its own clock)
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts the app, Prometheus and traffic; turns `knob` on once the rule has data,
/// off once it fired, and returns the window after it resolved.
async fn knob_fires_then_resolves(
    rule: &str,
    on: &str,
    off: &str,
) -> (Window, Vec<(String, String)>, Vec<SystemTime>) {
    let app = DemoApp::start("v1").await;
    let receiver = DemoApp::start("receiver").await;
    let own = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let own_addr = own.local_addr().unwrap();
    own.set_nonblocking(true).unwrap();
    let prom = Prometheus::builder()
        .scrape(app.addr.to_string())
        .scrape(own_addr.to_string())
        .interval(Duration::from_millis(250))
        .start()
        .expect("start prometheus (apt-get install prometheus)");
    let _load = traffic(app.url("/api/v1/courses"), 40);
    let dir = tempfile::tempdir().unwrap();
    let config = watch_config(&prom.url(), rule);
    let history = dir.path().join("history.jsonl");
    let cancel = CancellationToken::new();
    let watch = Watch {
        config: &config,
        environment: "staging".into(),
        version: Some("v1".into()),
        http: client(),
        clock: &SystemClock,
        notifier: Some(notifier(&receiver, &dir.path().join("notify.json"))),
        rollback: None,
        mute: None,
        history: Some(shipgate_watch::History::open(&history, 1 << 20).unwrap()),
        state_file: Some(dir.path().join("state.json")),
        deployed_at: None,
        cancel: cancel.clone(),
        metrics: Some(tokio::net::TcpListener::from_std(own).unwrap()),
    };
    let status = dir.path().join("state.json");
    let state_of = || {
        let status = status.clone();
        move || {
            shipgate_watch::Status::read(&status)
                .ok()
                .flatten()
                .map(|s| (s.rules[0].stats.with_data, s.firing.len()))
        }
    };
    let read = state_of();
    let drive = async {
        until(Duration::from_secs(30), "the rule has data", || {
            let s = read();
            async move { s.is_some_and(|(with_data, _)| with_data >= 2) }
        })
        .await;
        let (code, _) = send("PUT", &app.url("/admin/faults"), on).await;
        assert_eq!(code, 200);
        until(Duration::from_secs(30), "a firing notice", || async {
            notices(&receiver).await.iter().any(|(s, _)| s == "firing")
        })
        .await;
        send("PUT", &app.url("/admin/faults"), off).await;
        until(Duration::from_secs(30), "a resolved notice", || async {
            notices(&receiver)
                .await
                .iter()
                .any(|(s, _)| s == "resolved")
        })
        .await;
        // A real Prometheus scraped the watcher's own /metrics: it saw the alert fire.
        until(
            Duration::from_secs(30),
            "the watcher's metrics in Prometheus",
            || async {
                let q = "max_over_time(shipgate_watch_alert_state[1m])";
                let (_, v) = send(
                    "GET",
                    &shipgate_watch::source::query_url(&prom.url(), q),
                    "",
                )
                .await;
                v["data"]["result"][0]["value"][1] == "2"
            },
        )
        .await;
        cancel.cancel();
    };
    // Until cancelled, as a continuous watch runs (a window stopped before its length
    // would be interrupted, whatever it saw).
    let (window, ()) = tokio::join!(watch.run(None), drive);
    let window = window.unwrap();
    let lines = std::fs::read_to_string(&history).unwrap();
    assert!(
        lines
            .lines()
            .all(|l| l.contains("\"schema\":\"shipgate.watch-history/v1\""))
    );
    assert!(lines.contains("\"type\":\"transition\"") && lines.contains("\"type\":\"window\""));
    let sampled: Vec<SystemTime> = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "sample")
        .map(|v| shipgate_watch::from_epoch_secs(v["at"].as_f64().unwrap()))
        .collect();
    (window, notices(&receiver).await, sampled)
}

/// Fired at the first sample at or after `for` had passed since pending: not before,
/// and no sample in between (whatever the machine's load did to the sampling times).
fn assert_fired_after_exactly(window: &Window, sampled: &[SystemTime], hold: Duration) {
    let at = |t: Transition| {
        window
            .changes
            .iter()
            .find(|c| c.transition == t)
            .unwrap_or_else(|| panic!("no {t:?} in {:?}", window.changes))
            .at
    };
    // In whole milliseconds, as the history writes times. Samples are stamped with
    // their interval's edge, as Prometheus stamps an evaluation: `for` being a whole
    // number of intervals, the firing sample is `pending + for` exactly, never the
    // one after it.
    let ms = |t: SystemTime| (shipgate_watch::epoch_secs(t) * 1000.0).round() as u64;
    let fired = ms(at(Transition::Fired));
    // The `for` counts from the pending that led to the firing (a dip below the limit
    // while the rate climbs clears an earlier one).
    let pending = window
        .changes
        .iter()
        .filter(|c| c.transition == Transition::Pending && ms(c.at) <= fired)
        .map(|c| ms(c.at))
        .max()
        .expect("a pending before the firing");
    let due = pending + hold.as_millis() as u64;
    assert_eq!(
        fired - pending,
        hold.as_millis() as u64,
        "fired {} ms after pending; `for` is {hold:?}",
        fired - pending
    );
    let sampled: Vec<u64> = sampled.iter().map(|t| ms(*t)).collect();
    let skipped: Vec<_> = sampled
        .iter()
        .filter(|t| **t > due && **t < fired)
        .collect();
    assert!(
        skipped.is_empty(),
        "samples after `for` passed, before it fired: {skipped:?}"
    );
    assert!(sampled.contains(&fired), "{fired} not in {sampled:?}");
    assert!(ms(at(Transition::Resolved)) > fired);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_ratio_of_ten_percent_fires_after_for_and_resolves_when_lowered() {
    let (window, notices, sampled) = knob_fires_then_resolves(
        "[[rules]]\nname = \"error rate\"\nsource = \"prom\"\nwhen = \"error_rate > 5%\"\nfor = \"2s\"",
        r#"{"error_ratio": 0.1}"#,
        r#"{"error_ratio": 0}"#,
    )
    .await;
    assert_fired_after_exactly(&window, &sampled, Duration::from_secs(2));
    let firing: Vec<_> = notices.iter().filter(|(s, _)| s == "firing").collect();
    let resolved: Vec<_> = notices.iter().filter(|(s, _)| s == "resolved").collect();
    assert_eq!((firing.len(), resolved.len()), (1, 1), "{notices:?}");
    assert!(
        firing[0].1.starts_with("error rate: error_rate > 5%"),
        "{firing:?}"
    );
    assert_eq!(
        window.verdict(),
        Verdict::Passed,
        "a notify rule firing is not a rollback"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn added_latency_fires_a_p95_rule_and_resolves_when_removed() {
    let (window, notices, sampled) = knob_fires_then_resolves(
        "[[rules]]\nname = \"latency\"\nsource = \"prom\"\nwhen = \"p95 > 200ms\"\nfor = \"1s\"",
        r#"{"latency": "300ms"}"#,
        r#"{"latency": "0s"}"#,
    )
    .await;
    assert_fired_after_exactly(&window, &sampled, Duration::from_secs(1));
    let statuses: Vec<&str> = notices.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(statuses, ["firing", "resolved"], "{notices:?}");
    let worst = window.rules[0].stats.worst.unwrap();
    assert!(
        worst > 0.25 && worst <= 0.5,
        "p95 between the 250 ms and 500 ms buckets: {worst}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn empty_results_query_errors_and_a_down_prometheus_are_no_data_never_a_pass() {
    let app = DemoApp::start("v1").await;
    let prom = Prometheus::builder()
        .scrape(app.addr.to_string())
        .interval(Duration::from_millis(250))
        .start()
        .expect("start prometheus (apt-get install prometheus)");
    let down = RefusingPort::new();
    let text = format!(
        "interval = \"300ms\"\ntimeout = \"2s\"\n\
         [sources.prom]\ntype = \"prometheus\"\nurl = \"{}\"\n\
         queries = {{ nothing = 'no_such_metric_total', broken = 'sum(', up = 'up' }}\n\
         [sources.gone]\ntype = \"prometheus\"\nurl = \"http://{}\"\nqueries = {{ up = 'up' }}\n\
         [[rules]]\nname = \"empty\"\nsource = \"prom\"\nwhen = \"nothing > 0\"\n\
         [[rules]]\nname = \"error\"\nsource = \"prom\"\nwhen = \"broken > 0\"\nno_data = \"ok\"\n\
         [[rules]]\nname = \"down\"\nsource = \"gone\"\nwhen = \"up < 1\"\nno_data = \"alert\"\nconsecutive = 2\n\
         [[rules]]\nname = \"fine\"\nsource = \"prom\"\nwhen = \"up < 1\"\n",
        prom.url(),
        down.addr()
    );
    let config: WatchConfig = toml::from_str(&text).unwrap();
    config.validate().unwrap();
    // Wait until Prometheus has scraped the app once, so `up` has data.
    until(Duration::from_secs(30), "a first scrape", || async {
        let (_, v) = send(
            "GET",
            &shipgate_watch::source::query_url(&prom.url(), "up"),
            "",
        )
        .await;
        v["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    })
    .await;
    let window = bare_watch(&config)
        .run(Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(window.verdict(), Verdict::Inconclusive);
    assert_eq!(window.without_data(), ["empty", "error", "down"]);
    let report = window.report("watch");
    let outcome = |name: &str| {
        report
            .findings()
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no finding {name}"))
            .clone()
    };
    use shipgate_report::Outcome;
    assert_eq!(outcome("rule empty").outcome, Outcome::Error);
    assert!(
        outcome("rule empty").message.contains("returned no series"),
        "{:?}",
        outcome("rule empty")
    );
    assert!(
        outcome("rule error")
            .message
            .contains("Prometheus rejects the query: invalid parameter"),
        "{:?}",
        outcome("rule error")
    );
    assert!(
        outcome("rule down").message.contains("unreachable"),
        "{:?}",
        outcome("rule down")
    );
    assert_eq!(outcome("rule fine").outcome, Outcome::Pass);
    assert_eq!(outcome("verdict").outcome, Outcome::Error);
    assert_eq!(report.exit_code(), shipgate_report::ExitCode::Failure);
    // `down` has no_data = "alert": a Prometheus that does not answer fires it.
    assert!(
        window
            .changes_of("down")
            .any(|c| c.transition == Transition::Fired && c.value.is_none()),
        "{:?}",
        window.changes
    );
    // `error` has no_data = "ok": it never fires, yet the window does not pass.
    assert!(window.changes_of("error").next().is_none());
}
