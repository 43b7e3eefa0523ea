use std::path::{Path, PathBuf};

use shipgate_report::{Console, Json, Junit, Markdown, Render, Report};

use crate::Failure;

/// The findings report's outputs, the same in every binary that produces findings:
/// a console table and, on request, JSON, JUnit and Markdown files.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// Write the JSON report (schema shipgate.report/v1) to this file, or `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report (one testcase per finding).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown report (e.g. to $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Colour on the console: auto (a terminal, unless NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// When the console table is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ReportArgs {
    /// Prints the console table (to stderr when `--json -` takes stdout), then writes
    /// each requested file whole.
    pub fn emit(&self, report: &Report) -> Result<(), Failure> {
        let stdout_taken = self.json.as_deref() == Some(Path::new("-"));
        let console = match self.color {
            Color::Always => Console::colored(),
            Color::Never => Console::plain(),
            Color::Auto if stdout_taken => Console::plain(),
            Color::Auto => Console::for_stdout(),
        };
        let console_text = render(&console, report)?;
        if stdout_taken {
            eprint!("{console_text}");
        } else {
            print!("{console_text}");
        }
        let outputs: [(&Option<PathBuf>, &dyn Render); 3] = [
            (&self.json, &Json),
            (&self.junit, &Junit),
            (&self.markdown, &Markdown),
        ];
        for (path, renderer) in outputs {
            if let Some(path) = path {
                crate::write_report(path, &render(renderer, report)?)?;
            }
        }
        Ok(())
    }
}

/// A report rendered to text; failing to render is [`Aborted`](crate::FailureKind::Aborted).
pub fn render(renderer: &dyn Render, report: &Report) -> Result<String, Failure> {
    renderer
        .render_to_string(report)
        .map_err(|e| Failure::aborted("cannot render the report", e))
}
