//! A watch window as one self-contained HTML page (no script, no outside resource):
//! per rule, its values over time against its limits, with when it went pending,
//! fired and resolved, and when the rollback happened.

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::alert::Transition;
use crate::window::{Verdict, Window};

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 180.0;
const PAD: f64 = 40.0;

/// Colours, named in the page's legend (and checked by the browser test).
pub(crate) const VALUE: &str = "#2563eb";
const WARNING: &str = "#d97706";
const CRITICAL: &str = "#dc2626";
const RESOLVED: &str = "#16a34a";
const ROLLBACK: &str = "#7c3aed";
const NO_DATA: &str = "#9ca3af";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn secs(from: SystemTime, t: SystemTime) -> f64 {
    t.duration_since(from).map_or(0.0, |d| d.as_secs_f64())
}

impl Window {
    /// The page.
    pub fn html(&self, title: &str) -> String {
        let span = secs(self.started, self.ended).max(1.0);
        let x = |t: SystemTime| PAD + secs(self.started, t) / span * (WIDTH - 2.0 * PAD);
        let (badge, colour) = match self.verdict() {
            Verdict::Passed => ("PASSED", RESOLVED),
            Verdict::Failed => ("FAILED", CRITICAL),
            Verdict::Inconclusive => ("INCONCLUSIVE", WARNING),
            Verdict::Interrupted => ("INTERRUPTED", WARNING),
        };
        let mut out = String::new();
        let _ = write!(
            out,
            "<!doctype html><meta charset=\"utf-8\"><title>{t}</title>\
             <style>body{{font-family:system-ui,sans-serif;margin:1.5rem;color:#111}}\
             .badge{{display:inline-block;padding:.3rem .8rem;color:#fff;background:{colour};font-weight:700;border-radius:4px}}\
             table{{border-collapse:collapse}}td,th{{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}}\
             .legend span{{margin-right:1rem}}</style>\
             <h1>{t}</h1><p><span class=\"badge\">{badge}</span> {env}, {len:.0} s</p>\
             <p class=\"legend\"><span style=\"color:{VALUE}\">■ value</span><span style=\"color:{WARNING}\">■ warning limit / pending</span>\
             <span style=\"color:{CRITICAL}\">■ critical limit / fired</span><span style=\"color:{RESOLVED}\">■ resolved</span>\
             <span style=\"color:{ROLLBACK}\">■ rollback</span><span style=\"color:{NO_DATA}\">■ no data</span></p>",
            t = esc(title),
            env = esc(&self.environment),
            len = span,
        );
        for rule in &self.rules {
            let points = self.series.get(&rule.name).map_or(&[][..], Vec::as_slice);
            let values: Vec<f64> = points.iter().filter_map(|(_, v)| *v).collect();
            let limits: Vec<(f64, &str)> = rule
                .limits
                .iter()
                .map(|(sev, l)| {
                    (
                        *l,
                        if *sev == shipgate_notify::Severity::Critical {
                            CRITICAL
                        } else {
                            WARNING
                        },
                    )
                })
                .collect();
            let top = values
                .iter()
                .copied()
                .chain(limits.iter().map(|(l, _)| *l))
                .fold(0.0_f64, f64::max)
                .max(f64::MIN_POSITIVE)
                * 1.15;
            let y = |v: f64| HEIGHT - PAD / 2.0 - (v / top).clamp(0.0, 1.0) * (HEIGHT - PAD);
            let _ = write!(
                out,
                "<h2>{}</h2><p>{} · {} sample(s), {} without data</p>\
                 <svg width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\">\
                 <rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#fafafa\"/>",
                esc(&rule.name),
                esc(&rule.condition),
                rule.stats.samples,
                rule.stats.no_data
            );
            for (limit, colour) in &limits {
                let _ = write!(
                    out,
                    "<line x1=\"{PAD}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>",
                    WIDTH - PAD,
                    y = y(*limit)
                );
            }
            for change in self.changes_of(&rule.name) {
                let colour = match change.transition {
                    Transition::Pending => WARNING,
                    Transition::Fired => CRITICAL,
                    Transition::Resolved => RESOLVED,
                    Transition::Cleared => continue,
                };
                let _ = write!(
                    out,
                    "<line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"4\" y2=\"{}\" stroke=\"{colour}\" stroke-width=\"3\"><title>{:?} {}</title></line>",
                    HEIGHT - 4.0,
                    change.transition,
                    change.severity.as_str(),
                    cx = x(change.at)
                );
            }
            if let Some(rb) = self.rollback.as_ref().filter(|r| r.rule == rule.name) {
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"0\" width=\"8\" height=\"{HEIGHT}\" fill=\"{ROLLBACK}\"><title>rollback: {}</title></rect>",
                    x(rb.at) - 4.0,
                    esc(&rb.reason)
                );
            }
            let line: Vec<String> = points
                .iter()
                .filter_map(|(t, v)| v.map(|v| format!("{:.1},{:.1}", x(*t), y(v))))
                .collect();
            let _ = write!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{VALUE}\" stroke-width=\"3\"/>",
                line.join(" ")
            );
            for (t, _) in points.iter().filter(|(_, v)| v.is_none()) {
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{}\" width=\"4\" height=\"10\" fill=\"{NO_DATA}\"/>",
                    x(*t) - 2.0,
                    HEIGHT - 12.0
                );
            }
            let _ = write!(
                out,
                "<text x=\"4\" y=\"14\" font-size=\"11\">{}</text></svg>",
                fmt(top)
            );
        }
        out.push_str("<h2>Transitions</h2><table><tr><th>at (s)</th><th>rule</th><th>level</th><th>what</th><th>value</th></tr>");
        for c in &self.changes {
            let _ = write!(
                out,
                "<tr><td>{:.1}</td><td>{}</td><td>{}</td><td>{:?}</td><td>{}</td></tr>",
                secs(self.started, c.at),
                esc(&c.rule),
                c.severity.as_str(),
                c.transition,
                c.value.map_or_else(|| "no data".to_owned(), fmt)
            );
        }
        out.push_str("</table>");
        if let Some(rb) = &self.rollback {
            let _ = write!(
                out,
                "<h2>Rollback</h2><p>at {:.1} s: {}</p>",
                secs(self.started, rb.at),
                esc(&rb.reason)
            );
        }
        out
    }
}

fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}
