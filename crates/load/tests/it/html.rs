use std::path::Path;
use std::process::Command;
use std::time::Duration;

use shipgate_demo_app::{Options, Stall};
use shipgate_load::{Engine, LoadReport};
use tokio_util::sync::CancellationToken;

use crate::{client, demo, plan};

/// Renders `html` in headless Chromium (Debian's package) and returns the screenshot's
/// RGB pixels and width.
fn screenshot(html: &Path, png: &Path) -> (Vec<[u8; 3]>, u32) {
    let chromium = shipgate_testkit::needs::CHROMIUM
        .iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or_else(|| {
            panic!(
                "headless Chromium not found: {}",
                shipgate_testkit::needs::missing_message("chromium")
            )
        });
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--window-size=1000,1500")
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (pixels, info.width)
}

fn near(p: [u8; 3], hex: u32) -> bool {
    let want = [(hex >> 16) as u8, (hex >> 8) as u8, hex as u8];
    p.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 24)
}

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
