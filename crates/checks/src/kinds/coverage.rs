//! A test-coverage gate: the line coverage a report states, against a minimum. Reads
//! the three formats CI jobs produce: Cobertura XML (`coverage xml`, JaCoCo and
//! cargo-llvm-cov's `--cobertura`), lcov (`coverage lcov`, `cargo llvm-cov --lcov`,
//! Istanbul/nyc) and coverage.py's JSON (`coverage json`).

use std::sync::LazyLock;

use serde::Deserialize;

use crate::Context;
use crate::observation::Observation;

/// `[checks.pre.coverage]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageCheck {
    /// The report, relative to the configuration file.
    pub report: String,
    /// The lowest acceptable line coverage, in percent (85 for 85%).
    pub min: f64,
}

/// Lines covered out of lines measured, and the report's format.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Measured {
    pub(crate) covered: u64,
    pub(crate) valid: u64,
    pub(crate) format: &'static str,
}

impl Measured {
    fn percent(self) -> f64 {
        if self.valid == 0 {
            100.0
        } else {
            self.covered as f64 * 100.0 / self.valid as f64
        }
    }
}

static COBERTURA: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"<coverage\b[^>]*>").expect("a valid pattern"));

fn attribute(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[at..].split('"').next().map(str::to_owned)
}

/// Reads a report's totals; what it could not read, in words.
pub(crate) fn measure(text: &str) -> Result<Measured, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|e| format!("not JSON: {e}"))?;
        let totals = &v["totals"];
        let (Some(covered), Some(valid)) = (
            totals["covered_lines"].as_u64(),
            totals["num_statements"].as_u64(),
        ) else {
            return Err("a JSON report without totals.covered_lines and totals.num_statements (coverage.py's `coverage json`)".into());
        };
        return Ok(Measured {
            covered,
            valid,
            format: "coverage.py JSON",
        });
    }
    if let Some(tag) = COBERTURA.find(text).map(|m| m.as_str()) {
        let number = |name: &str| attribute(tag, name).and_then(|v| v.parse::<u64>().ok());
        return match (number("lines-covered"), number("lines-valid")) {
            (Some(covered), Some(valid)) => Ok(Measured {
                covered,
                valid,
                format: "Cobertura XML",
            }),
            _ => Err("a <coverage> element without lines-covered and lines-valid".into()),
        };
    }
    let (mut covered, mut valid, mut records) = (0u64, 0u64, 0usize);
    for line in text.lines() {
        let line = line.trim();
        let count = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("lcov: {line:?} is not a count"))
        };
        if let Some(v) = line.strip_prefix("LF:") {
            valid += count(v)?;
        } else if let Some(v) = line.strip_prefix("LH:") {
            covered += count(v)?;
        } else if line == "end_of_record" {
            records += 1;
        }
    }
    if records == 0 {
        return Err(
            "not a coverage report: expected Cobertura XML, lcov (LF:/LH: records) or coverage.py JSON"
                .into(),
        );
    }
    Ok(Measured {
        covered,
        valid,
        format: "lcov",
    })
}

pub(crate) fn observe(check: &CoverageCheck, ctx: &Context) -> Observation {
    let path = ctx.base_dir.join(&check.report);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return Observation::fail(format!("cannot read {}: {e}", path.display()))
                .recommend("run the tests with coverage first (e.g. `coverage run -m pytest && coverage json`)");
        }
    };
    let m = match measure(&text) {
        Ok(m) => m,
        Err(why) => return Observation::fail(format!("{}: {why}", path.display())),
    };
    let percent = m.percent();
    let line = format!(
        "line coverage {percent:.1}% ({} of {} lines, {})",
        m.covered, m.valid, m.format
    );
    let obs = if percent + 1e-9 >= check.min {
        Observation::pass(format!("{line}, at least {}%", check.min))
    } else {
        Observation::fail(format!("{line}, below the minimum {}%", check.min)).recommend(
            "test the code that is not covered (the report lists it), or lower `min` on purpose",
        )
    };
    obs.detail("coverage", format!("{percent:.2}"))
        .detail("format", m.format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_gives_its_totals_and_anything_else_says_what_was_expected() {
        let cobertura = r#"<?xml version="1.0" ?><coverage version="7" lines-valid="5" lines-covered="4" line-rate="0.8">"#;
        assert_eq!(measure(cobertura).unwrap().covered, 4);
        let lcov = "TN:\nSF:a.py\nLF:3\nLH:3\nend_of_record\nSF:b.py\nLF:2\nLH:1\nend_of_record\n";
        let m = measure(lcov).unwrap();
        assert_eq!((m.covered, m.valid, m.format), (4, 5, "lcov"));
        let json = r#"{"totals": {"covered_lines": 4, "num_statements": 5}}"#;
        assert_eq!(measure(json).unwrap().valid, 5);
        assert!(
            measure("hello")
                .unwrap_err()
                .contains("expected Cobertura XML")
        );
        assert!(
            measure("{\"x\": 1}")
                .unwrap_err()
                .contains("totals.covered_lines")
        );
    }
}
