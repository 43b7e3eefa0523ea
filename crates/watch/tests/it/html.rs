//! The window's HTML page, rendered in headless Chromium: each mark is drawn.

use std::time::Duration;

use shipgate_testkit::browser::{near, screenshot};
use shipgate_watch::{BoxError, BoxFuture, Rollback, Verdict, Watch, WatchConfig};

use crate::support::{DemoApp, bare_watch, send};

/// "Rolls back" by turning the demo app's error knob off.
struct HealTheApp(String);

impl Rollback for HealTheApp {
    fn rollback<'a>(&'a self, _reason: &'a str) -> BoxFuture<'a, Result<String, BoxError>> {
        Box::pin(async move {
            send("PUT", &self.0, r#"{"error_ratio": 0}"#).await;
            Ok("healed".to_owned())
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_window_page_draws_values_limits_transitions_and_the_rollback() {
    let app = DemoApp::start("v2").await;
    send("PUT", &app.url("/admin/faults"), r#"{"error_ratio": 1}"#).await;
    let config: WatchConfig = toml::from_str(&format!(
        "interval = \"100ms\"\nsources.api = {{ type = \"http\", url = \"{}\" }}\n\
         [[rules]]\nname = \"health <api>\"\nsource = \"api\"\nwhen = \"status != 200\"\nconsecutive = 2\naction = \"rollback\"",
        app.url("/health")
    ))
    .unwrap();
    config.validate().unwrap();
    let heal = HealTheApp(app.url("/admin/faults"));
    let window = Watch {
        rollback: Some(&heal),
        ..bare_watch(&config)
    }
    .run(Some(Duration::from_secs(2)))
    .await
    .unwrap();
    assert_eq!(window.verdict(), Verdict::Failed);
    let html = window.html("shipgate-watch <staging>");
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("shipgate-watch &lt;staging&gt;") && html.contains("health &lt;api&gt;"));
    assert_eq!(html.matches("<svg ").count(), 1);
    let points = html
        .split("<polyline points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        points.split(' ').count() >= 10,
        "a point per sample: {points}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("watch.html");
    std::fs::write(&file, &html).unwrap();
    let (pixels, _) = screenshot(&file, &dir.path().join("watch.png"));
    for (what, colour) in [
        ("values", 0x2563eb),
        ("fired and the critical limit", 0xdc2626),
        ("resolved", 0x16a34a),
        ("rollback", 0x7c3aed),
        ("pending", 0xd97706),
    ] {
        let count = pixels.iter().filter(|p| near(**p, colour)).count();
        assert!(
            count > 150,
            "{what}: only {count} pixels of #{colour:06x} drawn"
        );
    }
}
