//! The self-contained HTML report: no script, no CDN; charts are inline SVG.

use std::fmt::Write as _;
use std::time::Duration;

use shipgate_stats::Interval;

use crate::report::LoadReport;

const BLUE: &str = "#2563eb";
const RED: &str = "#dc2626";
const GREEN: &str = "#16a34a";
const AMBER: &str = "#d97706";
const PURPLE: &str = "#7c3aed";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn ms(d: Option<Duration>) -> f64 {
    d.map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// One line of a chart: a name, a colour, a value per second.
struct Series<'a> {
    name: &'a str,
    color: &'a str,
    values: Vec<f64>,
}

/// A line chart of per-second values, with axes, grid and legend.
fn chart(id: &str, title: &str, unit: &str, series: &[Series<'_>]) -> String {
    let (w, h, left, right, top, bottom) = (900.0, 260.0, 60.0, 20.0, 30.0, 40.0);
    let n = series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0f64, f64::max);
    let top_value = nice_ceiling(max);
    let x = |i: usize| left + (w - left - right) * i as f64 / (n - 1) as f64;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - v / top_value);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="{id}" class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{}">"#,
        esc(title)
    );
    let _ = write!(
        svg,
        r#"<text x="{left}" y="18" class="title">{}</text>"#,
        esc(title)
    );
    for k in 0..=4 {
        let v = top_value * f64::from(k) / 4.0;
        let yy = y(v);
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e5e7eb"/>"##,
            w - right
        );
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" class="axis" text-anchor="end">{} {unit}</text>"#,
            left - 6.0,
            yy + 4.0,
            fmt_num(v)
        );
    }
    let step = (n / 8).max(1);
    for i in (0..n).step_by(step) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" class="axis" text-anchor="middle">{i}s</text>"#,
            x(i),
            h - bottom + 16.0
        );
    }
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline class="series" data-name="{}" fill="none" stroke="{}" stroke-width="2.5" points="{}"/>"#,
            esc(s.name),
            s.color,
            points.join(" ")
        );
    }
    for (k, s) in series.iter().enumerate() {
        let lx = left + 10.0 + 150.0 * k as f64;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="{}" width="14" height="4" fill="{}"/><text x="{}" y="{}" class="axis">{}</text>"#,
            h - 12.0,
            s.color,
            lx + 18.0,
            h - 7.0,
            esc(s.name)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if max <= m * magnitude {
            return m * magnitude;
        }
    }
    10.0 * magnitude
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Renders the report; `title` names the run, `config` lines describe it.
pub(crate) fn render(
    report: &LoadReport,
    intervals: &[Interval],
    title: &str,
    config: &[(String, String)],
) -> String {
    let requests: Vec<f64> = intervals.iter().map(|i| i.requests as f64).collect();
    let failures: Vec<f64> = intervals.iter().map(|i| i.failures as f64).collect();
    let p = |q: f64| -> Vec<f64> { intervals.iter().map(|i| ms(i.percentile(q))).collect() };
    let users: Vec<f64> = intervals.iter().map(|i| i.users as f64).collect();
    let passed = report.evaluations.iter().all(|e| e.passed);
    let mut html = String::new();
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{t}</title><style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #111827; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; margin-top: 2rem; }}
table {{ border-collapse: collapse; font-size: .9rem; }} th, td {{ padding: .3rem .7rem; border-bottom: 1px solid #e5e7eb; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }} .pass {{ color: {GREEN}; font-weight: 600; }} .fail {{ color: {RED}; font-weight: 600; }}
.chart .title {{ font-weight: 600; font-size: 14px; }} .chart .axis {{ font-size: 11px; fill: #4b5563; }}
.verdict {{ display: inline-block; padding: .2rem .6rem; border-radius: .3rem; color: white; background: {v}; }}
</style></head><body>"#,
        t = esc(title),
        v = if passed { GREEN } else { RED }
    );
    let _ = write!(
        html,
        r#"<h1>{} <span class="verdict" id="verdict">{}</span></h1>"#,
        esc(title),
        if passed { "PASS" } else { "FAIL" }
    );
    html.push_str("<h2>Thresholds</h2><table id=\"thresholds\"><tr><th>threshold</th><th>actual</th><th>limit</th><th>verdict</th></tr>");
    for e in &report.evaluations {
        let actual = e
            .actual
            .map_or_else(|| "nothing measured".to_owned(), |a| a.to_string());
        let (class, word) = if e.passed {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="{class}">{word}</td></tr>"#,
            esc(&e.threshold),
            esc(&actual),
            esc(&e.limit.to_string())
        );
    }
    html.push_str("</table><h2>Over time</h2>");
    html.push_str(&chart(
        "chart-throughput",
        "Requests and failures per second",
        "/s",
        &[
            Series {
                name: "requests/s",
                color: BLUE,
                values: requests,
            },
            Series {
                name: "failures/s",
                color: RED,
                values: failures,
            },
        ],
    ));
    html.push_str(&chart(
        "chart-latency",
        "Latency per second (coordinated-omission corrected)",
        "ms",
        &[
            Series {
                name: "p50",
                color: GREEN,
                values: p(50.0),
            },
            Series {
                name: "p95",
                color: AMBER,
                values: p(95.0),
            },
            Series {
                name: "p99",
                color: RED,
                values: p(99.0),
            },
        ],
    ));
    html.push_str(&chart(
        "chart-users",
        "Active users",
        "",
        &[Series {
            name: "users",
            color: PURPLE,
            values: users,
        }],
    ));
    html.push_str("<h2>Requests</h2><table id=\"endpoints\"><tr><th>name</th><th>requests</th><th>failures</th><th>median</th><th>p95</th><th>p99</th><th>avg</th><th>min</th><th>max</th><th>req/s</th></tr>");
    for s in &report.summaries {
        let l = s.latency.as_ref();
        let at = |q: f64| fmt_num(ms(l.and_then(|l| l.at(q))));
        let get = |f: &dyn Fn(&shipgate_stats::LatencySummary) -> Duration| {
            fmt_num(l.map_or(0.0, |l| f(l).as_secs_f64() * 1e3))
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            esc(&s.name),
            s.requests,
            s.failures,
            at(50.0),
            at(95.0),
            at(99.0),
            get(&|l| l.mean),
            get(&|l| l.min),
            get(&|l| l.max),
            s.rps
        );
    }
    html.push_str("</table><p>Times in milliseconds, measured from the actual send.</p><h2>Run</h2><table id=\"config\">");
    for (k, v) in config {
        let _ = write!(html, "<tr><td>{}</td><td>{}</td></tr>", esc(k), esc(v));
    }
    html.push_str("</table></body></html>\n");
    html
}

// The page is a view of the report: it lives with the renderer, so that the report
// does not depend on how it is drawn.
impl LoadReport {
    /// The self-contained HTML report (inline SVG charts, no scripts or CDN): thresholds,
    /// requests and failures per second, p50/p95/p99 per second, users, the per-request
    /// table, and `config` lines describing the run.
    pub fn html(&self, title: &str, config: &[(String, String)]) -> String {
        let mut lines = vec![
            (
                "started".to_owned(),
                humantime::format_rfc3339_seconds(self.started_at).to_string(),
            ),
            (
                "duration".to_owned(),
                format!("{:.1}s", self.elapsed.as_secs_f64()),
            ),
            ("dropped iterations".to_owned(), self.dropped.to_string()),
        ];
        lines.extend(config.iter().cloned());
        render(self, &self.intervals, title, &lines)
    }
}
