use std::io::Write;

use super::{Render, format_duration};
use crate::{Error, Outcome, Report};

/// GitHub-flavoured Markdown, for `$GITHUB_STEP_SUMMARY` and pull-request comments.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

fn icon(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "✅ pass",
        Outcome::Skip => "⏭️ skip",
        Outcome::Warn => "⚠️ warn",
        Outcome::Fail => "❌ fail",
        Outcome::Error => "💥 error",
    }
}

impl Render for Markdown {
    fn render(&self, report: &Report, out: &mut dyn Write) -> Result<(), Error> {
        let s = report.summary();
        writeln!(
            out,
            "## {} — {}",
            cell(report.title()),
            icon(report.outcome())
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "{} passed · {} warned · {} failed · {} errored · {} skipped",
            s.passed, s.warned, s.failed, s.errored, s.skipped
        )?;
        writeln!(out)?;
        writeln!(out, "| outcome | phase | name | duration | message |")?;
        writeln!(out, "|---|---|---|---:|---|")?;
        for f in report.findings() {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                icon(f.outcome),
                f.phase,
                cell(&f.name),
                format_duration(f.duration),
                cell(&f.message)
            )?;
        }
        let actionable: Vec<_> = report
            .findings()
            .iter()
            .filter(|f| f.outcome != Outcome::Pass && f.recommendation.is_some())
            .collect();
        if !actionable.is_empty() {
            writeln!(out)?;
            writeln!(out, "### What to do")?;
            writeln!(out)?;
            for f in actionable {
                let rec = f.recommendation.as_deref().unwrap_or_default();
                writeln!(out, "- **{}**: {}", cell(&f.name), cell(rec))?;
            }
        }
        Ok(())
    }
}

/// Makes text safe inside a table cell: one line, pipes and markup escaped.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            // `&lt;` would render as `<`: an entity is shown as written.
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push_str(&super::printable(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}
