//! A deployment's watch window reading CloudWatch (the `cloudwatch` source) from a
//! real moto_server: an alarm that goes off in the window rolls the service back; a
//! metric's datapoints are read as a field's values.

use std::process::Stdio;

use serde_json::json;

use shipgate_testkit::moto_shop;

use super::{Site, text, until};

const CLOUDWATCH: &str = "2010-08-01";

/// A window of `window` over an alarm `shop-5xx` (rolls back) and the service's CPU
/// (notifies above 80%).
fn watched(window: &str) -> Site {
    let extra = format!(
        r#"
[pipeline.environments.staging]
watch = "{window}"

[watch]
interval = "200ms"
timeout = "2s"
history = "watch.jsonl"

[watch.sources.aws]
type = "cloudwatch"
endpoint_url = "MOTO_URL"
region = "us-east-1"
alarms = {{ errors = "shop-5xx" }}
metrics.cpu = {{ namespace = "AWS/ECS", metric = "CPUUtilization", dimensions = {{ ClusterName = "shop", ServiceName = "shop-web" }} }}

[[watch.rules]]
name = "5xx alarm"
source = "aws"
when = "errors == 1"
action = "rollback"

[[watch.rules]]
name = "cpu"
source = "aws"
when = "cpu > 80"
empty = "ok"
"#
    );
    let site = Site::new(2, 2, &["v1", "v2"], &extra);
    moto_shop::alarm(&site.moto, "shop-5xx").unwrap();
    let cw = |action: &str, params: &[(&str, &str)]| {
        site.moto
            .query("monitoring", CLOUDWATCH, action, params)
            .unwrap()
    };
    cw(
        "PutMetricData",
        &[
            ("Namespace", "AWS/ECS"),
            ("MetricData.member.1.MetricName", "CPUUtilization"),
            ("MetricData.member.1.Value", "35"),
            ("MetricData.member.1.Unit", "Percent"),
            (
                "MetricData.member.1.Dimensions.member.1.Name",
                "ClusterName",
            ),
            ("MetricData.member.1.Dimensions.member.1.Value", "shop"),
            (
                "MetricData.member.1.Dimensions.member.2.Name",
                "ServiceName",
            ),
            ("MetricData.member.1.Dimensions.member.2.Value", "shop-web"),
        ],
    );
    site
}

/// The watch record of the latest deployment.
fn record(site: &Site) -> serde_json::Value {
    let dir = site.dir.path().join("state/staging/watches");
    let mut all: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    all.sort();
    serde_json::from_str(&std::fs::read_to_string(all.last().unwrap()).unwrap()).unwrap()
}

#[test]
fn an_alarm_in_the_watch_window_rolls_the_service_back() {
    let site = watched("5s");
    let child = site.deploying("v2", Stdio::piped);
    until("the update to shop:2", || site.serving() == "shop:2");
    moto_shop::set_alarm(&site.moto, "shop-5xx", "ALARM").unwrap();
    let out = child.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("5xx alarm"), "{all}");
    assert_eq!(site.serving(), "shop:1", "rolled back: {all}");
    // The watch's rollback is an operation of its own, after the deployment.
    let history = site.run(&["history"]);
    assert!(
        text(&history).contains("rollback deployed"),
        "{}",
        text(&history)
    );
    assert_eq!(record(&site)["verdict"], "failed", "{:#}", record(&site));
}

#[test]
fn a_quiet_window_reads_the_metric_and_passes() {
    let site = watched("2s");
    let out = site.run(&["deploy", "--release", "v2"]);
    let all = text(&out);
    let history = std::fs::read_to_string(site.dir.path().join("watch.jsonl")).unwrap_or_default();
    assert_eq!(out.status.code(), Some(0), "{all}\n{history}");
    assert_eq!(site.serving(), "shop:2");
    let record = record(&site);
    assert_eq!(record["verdict"], "passed", "{record:#}");
    // Every sample is in the history: the CPU datapoint moto holds was read.
    let history = std::fs::read_to_string(site.dir.path().join("watch.jsonl")).unwrap();
    let cpu: Vec<serde_json::Value> = history
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["source"] == "aws")
        .map(|e| e["readings"]["cpu"].clone())
        .collect();
    assert!(!cpu.is_empty(), "no sample of aws: {history}");
    assert!(
        cpu.iter()
            .all(|r| r == &json!(35.0) || r["value"] == json!(35.0)),
        "{cpu:?}"
    );
}
