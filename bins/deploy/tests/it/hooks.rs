//! The other layers in a deployment: `[checks.pre]` and `[checks.post]` as its pre and
//! post steps, `[notify]` announcing it.

use crate::{Site, text};

#[tokio::test(flavor = "multi_thread")]
async fn pre_checks_gate_the_deployment_and_notify_announces_each_ending() {
    let site = Site::new("").await;
    let base = site.base.clone();
    let extra = format!(
        r#"
[checks]
[[checks.pre]]
name = "build ready"
file = {{ path = "build/READY" }}
[[checks.post]]
name = "health"
http = {{ url = "{base}/health" }}

[notify]
[notify.channels.hook]
type = "webhook"
url = "{base}/hook"
"#
    );
    let config = std::fs::read_to_string(site.path().join("shipgate.toml")).unwrap();
    std::fs::write(
        site.path().join("shipgate.toml"),
        format!("{config}\n{extra}"),
    )
    .unwrap();

    // The pre checks fail: nothing is changed, and the failure is announced.
    let out = site
        .run("staging", &["deploy", "--release", "v1"], &[])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("[checks.pre] failed: build ready"),
        "{stdout}"
    );
    assert!(!site.path().join("app").exists());
    assert!(site.log("migrations.log").is_empty());
    let events = |site: &Site| -> Vec<(String, String)> {
        site.hooked
            .lock()
            .unwrap()
            .iter()
            .flat_map(|body| {
                let v: serde_json::Value = serde_json::from_str(body).unwrap();
                let events = v["events"]
                    .as_array()
                    .cloned()
                    .unwrap_or_else(|| vec![v.clone()]);
                events
                    .into_iter()
                    .map(|e| {
                        (
                            e["kind"].as_str().unwrap_or("?").to_owned(),
                            e["summary"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let seen = events(&site);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0, "deployment_started");
    assert_eq!(seen[1].0, "deployment_failed");
    assert!(seen[1].1.contains("at step pre"), "{seen:?}");

    // Ready: pre and post pass around the release.
    std::fs::write(site.path().join("build/READY"), "yes").unwrap();
    let out = site
        .run("staging", &["deploy", "--release", "v1"], &[])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let story = site.story("staging");
    let at = |e: &str| {
        story
            .iter()
            .position(|s| s == e)
            .unwrap_or_else(|| panic!("{e}: {story:?}"))
    };
    assert!(at("step_done:pre") < at("step_starting:build"));
    assert!(at("step_done:release") < at("step_done:post"));
    let seen = events(&site);
    assert_eq!(seen.last().unwrap().0, "deployment_succeeded", "{seen:?}");
    assert!(
        seen.last().unwrap().1.contains("v1 is live on staging"),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deployment_news_reaches_the_webhook_but_never_becomes_an_alertmanager_alert() {
    let am = shipgate_testkit::Alertmanager::start()
        .expect("start alertmanager (apt-get install prometheus-alertmanager)");
    let site = Site::new("").await;
    let base = site.base.clone();
    let config = std::fs::read_to_string(site.path().join("shipgate.toml")).unwrap();
    std::fs::write(
        site.path().join("shipgate.toml"),
        format!(
            "{config}\n[notify]\ngroup_wait = \"0s\"\n[notify.channels.hook]\ntype = \"webhook\"\nurl = \"{base}/hook\"\n\
             [notify.channels.am]\ntype = \"alertmanager\"\nurl = \"{}\"\n",
            am.url()
        ),
    )
    .unwrap();
    site.deployed("v1").await;
    site.deployed("v2").await;
    let hooked = site.hooked.lock().unwrap().join("\n");
    assert!(hooked.contains("deployment_succeeded"), "{hooked}");
    let client = shipgate_http::HttpClient::new(&Default::default()).unwrap();
    let request = http::Request::get(format!("{}/api/v2/alerts", am.url()))
        .body(bytes::Bytes::new())
        .unwrap();
    let r = client.send(request).await.unwrap();
    assert_eq!(r.status.as_u16(), 200);
    let alerts: Vec<serde_json::Value> = serde_json::from_slice(&r.body).unwrap();
    assert!(alerts.is_empty(), "{alerts:?}");
}
