//! Writing a run's reports to files, each whole and with secrets masked.

use std::path::PathBuf;

use shipgate_report::{Junit, Markdown, Redactor, Render};

use crate::error::{Error, ErrorKind};
use crate::report::{LoadReport, suffixed};

/// Where to write a run's reports; `None` skips one.
#[derive(Debug, Clone, Default)]
pub struct Files {
    /// Locust's CSVs: `PREFIX_stats.csv`, `PREFIX_stats_history.csv`, `PREFIX_failures.csv`.
    pub csv: Option<PathBuf>,
    /// The self-contained HTML report.
    pub html: Option<PathBuf>,
    /// The JSON summary (schema [`JSON_SCHEMA`](crate::JSON_SCHEMA)); `merge` reads it.
    pub json: Option<PathBuf>,
    /// The thresholds as JUnit XML.
    pub junit: Option<PathBuf>,
    /// The thresholds as Markdown.
    pub markdown: Option<PathBuf>,
}

impl LoadReport {
    /// Writes every file `files` asks for, through `redactor`. Each file is written
    /// whole (a temporary file renamed over it) or not at all; `context` lines (what
    /// ran: configuration, shape, classes) head the HTML report. A file that cannot be
    /// written does not stop the others; the error ([`ErrorKind::Write`]) names the
    /// first that failed and those that were written.
    pub fn write_files(
        &self,
        files: &Files,
        context: &[(String, String)],
        redactor: &Redactor,
    ) -> Result<(), Error> {
        let mut texts: Vec<(PathBuf, String)> = Vec::new();
        if let Some(prefix) = &files.csv {
            for (suffix, text) in self.csv_texts() {
                texts.push((suffixed(prefix, suffix), text));
            }
        }
        if let Some(path) = &files.html {
            texts.push((path.clone(), self.html("shipgate-load", context)));
        }
        if let Some(path) = &files.json {
            let text =
                serde_json::to_string_pretty(&self.json()).expect("a JSON value always serializes");
            texts.push((path.clone(), text));
        }
        let findings_outputs: [(&Option<PathBuf>, &dyn Render); 2] =
            [(&files.junit, &Junit), (&files.markdown, &Markdown)];
        if findings_outputs.iter().any(|(p, _)| p.is_some()) {
            let mut findings = shipgate_report::Report::new("shipgate-load thresholds")
                .with_redactor(redactor.clone());
            findings.extend(self.findings());
            for (path, renderer) in findings_outputs {
                if let Some(path) = path {
                    let text = renderer.render_to_string(&findings).map_err(|e| {
                        Error::with_source(
                            ErrorKind::Write,
                            format!("cannot render {}", path.display()),
                            e,
                        )
                    })?;
                    texts.push((path.clone(), text));
                }
            }
        }
        // Every file that can be written is: one that cannot does not cost the others.
        let mut written = Vec::new();
        let mut failed = None;
        for (path, text) in texts {
            match shipgate_report::write_atomic(&path, &redactor.redact(&text)) {
                Ok(()) => written.push(path.display().to_string()),
                Err(e) if failed.is_none() => failed = Some((path, e)),
                Err(_) => {}
            }
        }
        if let Some((path, e)) = failed {
            let others = if written.is_empty() {
                "no other report was written".to_owned()
            } else {
                format!("written: {}", written.join(", "))
            };
            return Err(Error::with_source(
                ErrorKind::Write,
                format!("cannot write {} ({others})", path.display()),
                e,
            ));
        }
        Ok(())
    }
}
