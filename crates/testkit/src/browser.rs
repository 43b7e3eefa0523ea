//! Rendering a page in headless Chromium (Debian's package), for tests that check
//! what a browser draws, not only the HTML's text.

use std::path::Path;
use std::process::Command;

/// Renders `html` (1000×1500) in headless Chromium and returns the screenshot's RGB
/// pixels and width; panics naming the package when Chromium is missing.
pub fn screenshot(html: &Path, png: &Path) -> (Vec<[u8; 3]>, u32) {
    let chromium = crate::needs::CHROMIUM
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
                crate::needs::missing_message("chromium")
            )
        });
    let profile = tempfile::tempdir().expect("a temporary directory");
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
        .expect("chromium runs");
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::fs::File::open(png).expect("the screenshot opens");
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (pixels, info.width)
}

/// Whether a pixel is within a small distance of the colour `0xRRGGBB`.
pub fn near(p: [u8; 3], hex: u32) -> bool {
    let want = [(hex >> 16) as u8, (hex >> 8) as u8, hex as u8];
    p.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 24)
}
