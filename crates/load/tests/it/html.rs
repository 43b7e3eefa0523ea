use std::time::Duration;

use shipgate_demo_app::{Options, Stall};
use shipgate_load::{Engine, LoadReport};
use tokio_util::sync::CancellationToken;

use shipgate_testkit::browser::{near, screenshot};

use crate::{client, demo, plan};

#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_renders_its_charts_in_a_real_browser() {
    let stall = Stall {
        hold: Duration::from_millis(150),
        every: Duration::from_secs(1),
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
thresholds = ["p95 < 5s", "error_rate < 1%"]
shape = {{ type = "stages", stages = [{{ users = 4, duration = "1500ms", spawn_rate = 100 }}, {{ users = 8, duration = "1500ms", spawn_rate = 100 }}] }}
[[load.users]]
name = "paced"
think = {{ pacing = "20ms" }}
[[load.users.tasks]]
request = {{ name = "GET /health", url = "{{{{host}}}}/health" }}
"#
    );
    let p = plan(&text);
    let result = Engine::new(p.clone(), client(Duration::from_secs(5)))
        .run(CancellationToken::new())
        .await;
    let report = LoadReport::new(&p, &result);
    let html = report.html(
        "shipgate-load: demo <test>",
        &[("shape".into(), "stages 4 -> 8 users".into())],
    );

    // Structure: self-contained, three charts with a point per second, escaped text.
    assert!(
        !html.contains("<script") && !html.contains("http://cdn") && !html.contains("https://"),
        "self-contained"
    );
    assert_eq!(html.matches("<svg ").count(), 3);
    assert!(html.contains("demo &lt;test&gt;"));
    let polyline = html.split("<polyline").nth(1).unwrap();
    let points = polyline
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(points.split(' ').count() >= 3, "{points}");
    assert!(html.contains(r#"<td class="pass">PASS</td>"#));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    std::fs::write(&file, &html).unwrap();
    let (pixels, _) = screenshot(&file, &dir.path().join("report.png"));
    // Every chart's series colour is drawn: requests (blue), p95 (amber), users (purple),
    // and the verdict badge (green).
    for (name, color) in [
        ("requests/s", 0x2563eb),
        ("p95", 0xd97706),
        ("users", 0x7c3aed),
        ("verdict", 0x16a34a),
    ] {
        let count = pixels.iter().filter(|p| near(**p, color)).count();
        assert!(
            count > 150,
            "{name}: only {count} pixels of #{color:06x} rendered"
        );
    }
    let white = pixels.iter().filter(|p| p.iter().all(|c| *c > 245)).count();
    assert!(white < pixels.len(), "the page is not blank");
}
