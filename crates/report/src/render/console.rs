use std::io::{IsTerminal, Write};

use super::{Render, format_duration, printable};
use crate::{Error, Outcome, Report};

/// Aligned, human-readable text; ANSI colour only when enabled.
#[derive(Debug, Clone, Copy)]
pub struct Console {
    color: bool,
}

impl Console {
    /// Plain text, no colour.
    pub fn plain() -> Self {
        Self { color: false }
    }

    /// Coloured text.
    pub fn colored() -> Self {
        Self { color: true }
    }

    /// Colour when standard output is a terminal and `NO_COLOR` is unset.
    pub fn for_stdout() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            color: !no_color && std::io::stdout().is_terminal(),
        }
    }

    fn tag(&self, outcome: Outcome) -> String {
        let (text, code) = match outcome {
            Outcome::Pass => ("PASS", "32"),
            Outcome::Skip => ("SKIP", "2"),
            Outcome::Warn => ("WARN", "33"),
            Outcome::Fail => ("FAIL", "31"),
            Outcome::Error => ("ERR ", "1;31"),
        };
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

impl Render for Console {
    fn render(&self, report: &Report, out: &mut dyn Write) -> Result<(), Error> {
        writeln!(out, "{}", printable(report.title()))?;
        let name_width = report
            .findings()
            .iter()
            .map(|f| printable(&f.name).chars().count())
            .max()
            .unwrap_or(0);
        let durations: Vec<String> = report
            .findings()
            .iter()
            .map(|f| format_duration(f.duration))
            .collect();
        let dur_width = durations
            .iter()
            .map(|d| d.chars().count())
            .max()
            .unwrap_or(0);
        for (finding, duration) in report.findings().iter().zip(&durations) {
            let message = printable(first_line(&finding.message));
            let line = format!(
                "  {tag}  {name:<name_width$}  {duration:>dur_width$}  {message}",
                tag = self.tag(finding.outcome),
                name = printable(&finding.name),
            );
            writeln!(out, "{}", line.trim_end())?;
            if finding.outcome != Outcome::Pass
                && let Some(rec) = &finding.recommendation
            {
                writeln!(out, "        -> {}", printable(first_line(rec)))?;
            }
        }
        let s = report.summary();
        writeln!(
            out,
            "{} passed, {} warned, {} failed, {} errored, {} skipped ({} checks) => {}",
            s.passed,
            s.warned,
            s.failed,
            s.errored,
            s.skipped,
            s.total,
            self.tag(report.outcome()).trim_end()
        )?;
        Ok(())
    }
}

/// The first line (a `\r` does not end it: it is shown as `\r`).
fn first_line(text: &str) -> &str {
    text.split('\n').next().unwrap_or("")
}
