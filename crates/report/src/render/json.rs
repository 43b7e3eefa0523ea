use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::Render;
use crate::{Error, ErrorKind, Finding, Outcome, Phase, Report, Tally};

/// The identifier of the JSON schema [`Json`] writes; documented in `docs/report-schema.md`.
///
/// It changes only when a field is removed or changes meaning; new fields may be added
/// within a version.
pub const JSON_SCHEMA: &str = "shipgate.report/v1";

/// The versioned JSON document, pretty-printed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    title: &'a str,
    started_at: String,
    outcome: Outcome,
    exit_code: u8,
    summary: Tally,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    name: &'a str,
    phase: Phase,
    outcome: Outcome,
    duration_ms: f64,
    message: &'a str,
    details: &'a BTreeMap<String, String>,
    recommendation: Option<&'a str>,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        Self {
            name: &f.name,
            phase: f.phase,
            outcome: f.outcome,
            duration_ms: f.duration.as_secs_f64() * 1e3,
            message: &f.message,
            details: &f.details,
            recommendation: f.recommendation.as_deref(),
        }
    }
}

impl Render for Json {
    fn render(&self, report: &Report, out: &mut dyn Write) -> Result<(), Error> {
        let doc = Document {
            schema: JSON_SCHEMA,
            title: report.title(),
            started_at: humantime::format_rfc3339_millis(report.started_at()).to_string(),
            outcome: report.outcome(),
            exit_code: report.exit_code().code(),
            summary: report.summary(),
            findings: report.findings().iter().map(JsonFinding::from).collect(),
        };
        serde_json::to_writer_pretty(&mut *out, &doc)
            .map_err(|e| Error::new(ErrorKind::Serialize, e))?;
        writeln!(out)?;
        Ok(())
    }
}
