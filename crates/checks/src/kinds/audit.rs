//! A dependency-vulnerability gate over the JSON reports CI already produces (where it
//! has the network): `cargo audit --json`, `npm audit --json` (report version 2) and
//! `pip-audit --format json`. Each vulnerability gets a severity (npm states it;
//! cargo-audit's is computed from the advisory's CVSS v3 vector; pip-audit gives none,
//! so its findings are *unknown*, which counts as failing); at or above `fail_at` fails.

use serde::Deserialize;
use serde_json::Value;

use crate::Context;
use crate::observation::Observation;

/// `[checks.pre.audit]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditCheck {
    /// The report, relative to the configuration file.
    pub report: String,
    /// The lowest severity that fails: `low`, `moderate`, `high` (default) or `critical`.
    #[serde(default = "high")]
    pub fail_at: Severity,
    /// Advisory ids or aliases accepted on purpose (`RUSTSEC-2026-0044`, `CVE-…`).
    #[serde(default)]
    pub ignore: Vec<String>,
}

fn high() -> Severity {
    Severity::High
}

/// How bad a vulnerability is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// npm's `info`; a CVSS score of 0.
    Info,
    /// CVSS 0.1–3.9.
    Low,
    /// CVSS 4.0–6.9 (npm's `moderate`, CVSS's "medium").
    #[serde(alias = "medium")]
    Moderate,
    /// CVSS 7.0–8.9.
    High,
    /// CVSS 9.0–10.
    Critical,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Moderate => "moderate",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    fn of_score(score: f64) -> Self {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Moderate,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Info,
        }
    }
}

/// One vulnerable dependency, as a report states it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub(crate) id: String,
    pub(crate) aliases: Vec<String>,
    pub(crate) package: String,
    /// None: the report gives no severity.
    pub(crate) severity: Option<Severity>,
    pub(crate) fix: Option<String>,
}

/// CVSS v3.x base score of a vector (`CVSS:3.1/AV:N/AC:L/…`), as the specification
/// computes it; none for another version or a malformed vector.
pub(crate) fn cvss3_score(vector: &str) -> Option<f64> {
    let rest = vector
        .strip_prefix("CVSS:3.1/")
        .or_else(|| vector.strip_prefix("CVSS:3.0/"))?;
    let mut m = std::collections::BTreeMap::new();
    for part in rest.split('/') {
        let (k, v) = part.split_once(':')?;
        m.insert(k, v);
    }
    let changed = match *m.get("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match *m.get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match *m.get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (*m.get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match *m.get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |k: &str| -> Option<f64> {
        Some(match *m.get(k)? {
            "H" => 0.56,
            "L" => 0.22,
            "N" => 0.0,
            _ => return None,
        })
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploitability = 8.22 * av * ac * pr * ui;
    let base = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    // The specification's Roundup: the smallest one-decimal number at or above.
    let int = (base * 100_000.0).round() as i64;
    Some(if int % 10_000 == 0 {
        int as f64 / 100_000.0
    } else {
        ((int / 10_000) + 1) as f64 / 10.0
    })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The report's tool and its vulnerabilities.
pub(crate) fn read(text: &str) -> Result<(&'static str, Vec<Finding>), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if let Some(list) = v["vulnerabilities"]["list"].as_array() {
        let found = list
            .iter()
            .map(|item| {
                let adv = &item["advisory"];
                Finding {
                    id: adv["id"].as_str().unwrap_or("?").to_owned(),
                    aliases: strings(&adv["aliases"]),
                    package: format!(
                        "{} {}",
                        item["package"]["name"].as_str().unwrap_or("?"),
                        item["package"]["version"].as_str().unwrap_or("?")
                    ),
                    severity: adv["cvss"]
                        .as_str()
                        .and_then(cvss3_score)
                        .map(Severity::of_score),
                    fix: strings(&item["versions"]["patched"]).first().cloned(),
                }
            })
            .collect();
        return Ok(("cargo-audit", found));
    }
    if v["auditReportVersion"].is_number() {
        let mut found = Vec::new();
        for (name, vuln) in v["vulnerabilities"].as_object().into_iter().flatten() {
            // A package listed only through another's advisory (`via: ["lodash"]`) is
            // that one's effect; the advisories themselves are the objects in `via`.
            for via in vuln["via"].as_array().into_iter().flatten() {
                if !via.is_object() {
                    continue;
                }
                let url = via["url"].as_str().unwrap_or_default();
                found.push(Finding {
                    id: url
                        .rsplit('/')
                        .next()
                        .filter(|s| !s.is_empty())
                        .map_or_else(|| via["source"].to_string(), str::to_owned),
                    aliases: Vec::new(),
                    package: format!("{name} {}", vuln["range"].as_str().unwrap_or("")),
                    severity: serde_json::from_value(via["severity"].clone()).ok(),
                    fix: match &vuln["fixAvailable"] {
                        Value::Object(o) => o
                            .get("version")
                            .and_then(Value::as_str)
                            .map(|v| format!("{} {v}", o["name"].as_str().unwrap_or(name))),
                        Value::Bool(true) => Some("npm audit fix".to_owned()),
                        _ => None,
                    },
                });
            }
        }
        return Ok(("npm audit", found));
    }
    if let Some(deps) = v["dependencies"].as_array() {
        let mut found = Vec::new();
        for dep in deps {
            for vuln in dep["vulns"].as_array().into_iter().flatten() {
                found.push(Finding {
                    id: vuln["id"].as_str().unwrap_or("?").to_owned(),
                    aliases: strings(&vuln["aliases"]),
                    package: format!(
                        "{} {}",
                        dep["name"].as_str().unwrap_or("?"),
                        dep["version"].as_str().unwrap_or("?")
                    ),
                    severity: None,
                    fix: strings(&vuln["fix_versions"]).first().cloned(),
                });
            }
        }
        return Ok(("pip-audit", found));
    }
    Err("not a report of cargo audit --json, npm audit --json or pip-audit --format json".into())
}

pub(crate) fn observe(check: &AuditCheck, ctx: &Context) -> Observation {
    let path = ctx.base_dir.join(&check.report);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return Observation::fail(format!("cannot read {}: {e}", path.display()))
                .recommend("produce the report in CI first (cargo audit --json > audit.json, npm audit --json, pip-audit --format json)");
        }
    };
    let (tool, found) = match read(&text) {
        Ok(r) => r,
        Err(why) => return Observation::fail(format!("{}: {why}", path.display())),
    };
    let ignored = |f: &Finding| {
        check
            .ignore
            .iter()
            .any(|i| *i == f.id || f.aliases.iter().any(|a| a == i))
    };
    let (accepted, open): (Vec<&Finding>, Vec<&Finding>) = found.iter().partition(|f| ignored(f));
    let failing: Vec<&&Finding> = open
        .iter()
        .filter(|f| f.severity.is_none_or(|s| s >= check.fail_at))
        .collect();
    let describe = |f: &Finding| {
        let sev = f.severity.map_or("severity unknown", Severity::as_str);
        let fix = f
            .fix
            .as_deref()
            .map(|x| format!(", fixed in {x}"))
            .unwrap_or_default();
        format!("{} ({}, {sev}{fix})", f.id, f.package)
    };
    let counts = format!(
        "{} vulnerabilit{} in the {tool} report{}",
        found.len(),
        if found.len() == 1 { "y" } else { "ies" },
        if accepted.is_empty() {
            String::new()
        } else {
            format!(", {} ignored on purpose", accepted.len())
        }
    );
    let obs = if failing.is_empty() {
        Observation::pass(format!(
            "{counts}; none at or above {}",
            check.fail_at.as_str()
        ))
    } else {
        let shown: Vec<String> = failing.iter().take(10).map(|f| describe(f)).collect();
        Observation::fail(format!(
            "{counts}; {} at or above {} (or of unknown severity): {}",
            failing.len(),
            check.fail_at.as_str(),
            shown.join("; ")
        ))
        .recommend(
            "upgrade to the fixed versions, or accept one on purpose with `ignore = [\"ID\"]`",
        )
    };
    obs.detail("tool", tool)
        .detail("failing", failing.len().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cvss_scores_as_the_specification_computes_them() {
        // Scores as NVD publishes them for these vectors.
        for (vector, score) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N", 7.4),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
            ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
        ] {
            assert_eq!(cvss3_score(vector), Some(score), "{vector}");
        }
        assert_eq!(cvss3_score("CVSS:2.0/AV:N"), None);
        assert_eq!(cvss3_score("CVSS:3.1/AV:X/AC:L"), None);
    }
}
