use std::collections::BTreeMap;
use std::io::Write;

use super::Render;
use crate::{Error, Finding, Outcome, Phase, Report};

/// JUnit XML: one `<testsuite>` per phase, one `<testcase>` per finding.
///
/// `fail` becomes `<failure>`, `error` becomes `<error>`, `skip` becomes `<skipped>`;
/// `warn` passes, with the warning in `<system-out>`, since JUnit has no warning state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Junit;

impl Render for Junit {
    fn render(&self, report: &Report, out: &mut dyn Write) -> Result<(), Error> {
        let mut by_phase: BTreeMap<Phase, Vec<&Finding>> = BTreeMap::new();
        for finding in report.findings() {
            by_phase.entry(finding.phase).or_default().push(finding);
        }
        let s = report.summary();
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            out,
            // No `skipped` here: the xUnit schema CI servers validate against allows it
            // on each <testsuite>, not on <testsuites>.
            r#"<testsuites name="{}" tests="{}" failures="{}" errors="{}" time="{:.3}">"#,
            escape(report.title()),
            s.total,
            s.failed,
            s.errored,
            report.total_duration().as_secs_f64()
        )?;
        for (phase, findings) in &by_phase {
            let count = |o: Outcome| findings.iter().filter(|f| f.outcome == o).count();
            let time: f64 = findings.iter().map(|f| f.duration.as_secs_f64()).sum();
            writeln!(
                out,
                r#"  <testsuite name="{phase}" tests="{}" failures="{}" errors="{}" skipped="{}" time="{time:.3}">"#,
                findings.len(),
                count(Outcome::Fail),
                count(Outcome::Error),
                count(Outcome::Skip),
            )?;
            for f in findings {
                write_case(out, f)?;
            }
            writeln!(out, "  </testsuite>")?;
        }
        writeln!(out, "</testsuites>")?;
        Ok(())
    }
}

fn write_case(out: &mut dyn Write, f: &Finding) -> Result<(), Error> {
    write!(
        out,
        r#"    <testcase name="{}" classname="shipgate.{}" time="{:.3}""#,
        escape(&f.name),
        f.phase,
        f.duration.as_secs_f64()
    )?;
    let body = body_text(f);
    match f.outcome {
        Outcome::Pass => writeln!(out, "/>")?,
        Outcome::Warn => {
            writeln!(out, ">")?;
            writeln!(
                out,
                "      <system-out>warning: {}</system-out>",
                escape(&body)
            )?;
            writeln!(out, "    </testcase>")?;
        }
        Outcome::Skip => {
            writeln!(out, ">")?;
            writeln!(out, r#"      <skipped message="{}"/>"#, escape(&f.message))?;
            writeln!(out, "    </testcase>")?;
        }
        Outcome::Fail | Outcome::Error => {
            let tag = if f.outcome == Outcome::Fail {
                "failure"
            } else {
                "error"
            };
            writeln!(out, ">")?;
            writeln!(
                out,
                r#"      <{tag} message="{}" type="{}">{}</{tag}>"#,
                escape(&f.message),
                f.outcome,
                escape(&body)
            )?;
            writeln!(out, "    </testcase>")?;
        }
    }
    Ok(())
}

fn body_text(f: &Finding) -> String {
    let mut text = f.message.clone();
    for (k, v) in &f.details {
        text.push_str(&format!("\n{k}: {v}"));
    }
    if let Some(rec) = &f.recommendation {
        text.push_str(&format!("\nrecommendation: {rec}"));
    }
    text
}

/// Escapes text for XML attribute values and character data, dropping the control
/// characters XML 1.0 cannot carry at all.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}
