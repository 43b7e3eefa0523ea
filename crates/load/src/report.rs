//! What a run means: thresholds' verdicts, Locust's table and CSV files, a JSON summary.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use shipgate_report::{ExitCode, Finding, Outcome, Phase};
use shipgate_stats::{EndpointSummary, Evaluation, Interval, PERCENTILES, Threshold};

use crate::engine::RunResult;
use crate::plan::Plan;

/// The JSON summary's schema name.
pub const JSON_SCHEMA: &str = "shipgate.load/v1";

/// A finished run, judged.
#[derive(Debug)]
pub struct LoadReport {
    /// Per request name, then `Aggregated`.
    pub summaries: Vec<EndpointSummary>,
    /// Each threshold's verdict.
    pub evaluations: Vec<Evaluation>,
    /// The run's result.
    pub dropped: u64,
    /// Users or iterations aborted at the hard stop.
    pub hard_stopped: usize,
    failures: Vec<((String, String), u64)>,
    pub(crate) intervals: Vec<Interval>,
    pub(crate) started_at: SystemTime,
    pub(crate) elapsed: Duration,
    snapshot_json: Value,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl LoadReport {
    /// Evaluates the plan's thresholds against the result.
    pub fn new(plan: &Plan, result: &RunResult) -> Self {
        Self::judged(&plan.thresholds, result)
    }

    /// Evaluates `thresholds` against the result (a merged one, say).
    pub fn judged(thresholds: &[Threshold], result: &RunResult) -> Self {
        let snapshot = &result.snapshot;
        Self {
            summaries: snapshot.summaries(),
            evaluations: thresholds.iter().map(|t| t.evaluate(snapshot)).collect(),
            dropped: result.dropped,
            hard_stopped: result.hard_stopped,
            failures: result
                .failures
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            intervals: snapshot.series().intervals().to_vec(),
            started_at: result.started_at,
            elapsed: snapshot.elapsed(),
            snapshot_json: snapshot
                .to_json()
                .ok()
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or(Value::Null),
        }
    }

    /// 0 when every threshold holds, 1 otherwise. With no thresholds, any failed
    /// request fails the run (as Locust's default exit code on errors): a run is never
    /// judged a pass without a rule saying how much may fail.
    pub fn exit_code(&self) -> ExitCode {
        let passed = if self.evaluations.is_empty() {
            self.failed_requests().0 == 0
        } else {
            self.evaluations.iter().all(|e| e.passed)
        };
        if passed {
            ExitCode::Success
        } else {
            ExitCode::Failure
        }
    }

    /// `(failed, total)` requests of the whole run.
    fn failed_requests(&self) -> (u64, u64) {
        self.summaries
            .iter()
            .find(|s| s.name == shipgate_stats::AGGREGATED)
            .map_or((0, 0), |s| (s.failures, s.requests))
    }

    /// The verdict of a run with no thresholds, as the table and reports say it.
    fn without_thresholds(&self) -> (bool, String) {
        let (failed, total) = self.failed_requests();
        if failed == 0 {
            (
                true,
                format!("no thresholds: none of {total} requests failed"),
            )
        } else {
            (
                false,
                format!(
                    "no thresholds: {failed} of {total} requests failed (with no thresholds any failure fails the run; allow some with e.g. \"error_rate < 1%\")"
                ),
            )
        }
    }

    /// One finding per threshold, for shipgate-report's renderers.
    pub fn findings(&self) -> Vec<Finding> {
        if self.evaluations.is_empty() {
            let (passed, message) = self.without_thresholds();
            let outcome = if passed { Outcome::Pass } else { Outcome::Fail };
            return vec![
                Finding::new("no failed requests", Phase::Load, outcome).with_message(message),
            ];
        }
        self.evaluations
            .iter()
            .map(|e| {
                let actual = e
                    .actual
                    .map_or_else(|| "nothing measured".to_owned(), |a| a.to_string());
                let f = Finding::new(
                    &e.threshold,
                    Phase::Load,
                    if e.passed {
                        Outcome::Pass
                    } else {
                        Outcome::Fail
                    },
                )
                .with_message(format!("{actual} (limit {})", e.limit))
                .with_detail("actual", actual)
                .with_detail("limit", e.limit.to_string());
                if e.passed {
                    f
                } else {
                    f.with_recommendation(e.note.clone().unwrap_or_else(|| {
                        "the target is slower or less reliable than the threshold allows".to_owned()
                    }))
                }
            })
            .collect()
    }

    /// Locust's console table, then the thresholds.
    pub fn table(&self) -> String {
        let width = self
            .summaries
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<width$} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "Name", "# reqs", "# fails", "Med", "95%", "99%", "Avg", "Min", "Max", "req/s"
        );
        for s in &self.summaries {
            let (med, p95, p99, avg, min, max) =
                s.latency
                    .as_ref()
                    .map_or((0.0, 0.0, 0.0, 0.0, 0.0, 0.0), |l| {
                        (
                            ms(l.at(50.0).unwrap_or_default()),
                            ms(l.at(95.0).unwrap_or_default()),
                            ms(l.at(99.0).unwrap_or_default()),
                            ms(l.mean),
                            ms(l.min),
                            ms(l.max),
                        )
                    });
            let fails = format!("{}({:.1}%)", s.failures, s.failure_ratio * 100.0);
            let _ = writeln!(
                out,
                "{:<width$} {:>9} {:>9} {med:>8.1} {p95:>8.1} {p99:>8.1} {avg:>8.1} {min:>8.1} {max:>8.1} {:>8.1}",
                s.name, s.requests, fails, s.rps
            );
        }
        let _ = writeln!(out, "(milliseconds; latency from the actual send)");
        if let Some(agg) = self.summaries.last().and_then(|s| s.corrected.as_ref())
            && agg.max
                > self
                    .summaries
                    .last()
                    .and_then(|s| s.latency.as_ref())
                    .map_or(Duration::ZERO, |l| l.max)
        {
            let _ = writeln!(
                out,
                "coordinated-omission corrected: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                ms(agg.at(50.0).unwrap_or_default()),
                ms(agg.at(99.0).unwrap_or_default()),
                ms(agg.max)
            );
        }
        if self.dropped > 0 {
            let _ = writeln!(
                out,
                "dropped iterations: {} (every virtual user was busy)",
                self.dropped
            );
        }
        if self.evaluations.is_empty() {
            let (passed, message) = self.without_thresholds();
            let _ = writeln!(out, "{}  {message}", if passed { "PASS" } else { "FAIL" });
        }
        for e in &self.evaluations {
            let actual = e
                .actual
                .map_or_else(|| "nothing measured".to_owned(), |a| a.to_string());
            let _ = writeln!(
                out,
                "{}  {}: {actual}",
                if e.passed { "PASS" } else { "FAIL" },
                e.threshold
            );
        }
        out
    }

    /// The JSON summary (schema `shipgate.load/v1`), with the stats snapshot so runs can
    /// be merged later.
    pub fn json(&self) -> Value {
        let endpoints: Vec<Value> = self
            .summaries
            .iter()
            .map(|s| {
                let lat = |l: &Option<shipgate_stats::LatencySummary>| {
                    l.as_ref().map(|l| {
                        let p: serde_json::Map<String, Value> = l.percentiles.iter().map(|(p, v)| (format!("p{p}"), json!(ms(*v)))).collect();
                        json!({"min_ms": ms(l.min), "max_ms": ms(l.max), "mean_ms": ms(l.mean), "stdev_ms": ms(l.stdev), "percentiles_ms": p})
                    })
                };
                json!({
                    "name": s.name, "requests": s.requests, "failures": s.failures, "failure_ratio": s.failure_ratio, "rps": s.rps,
                    "latency": lat(&s.latency), "corrected_latency": lat(&s.corrected),
                    "bytes_sent": s.bytes_sent, "bytes_received": s.bytes_received,
                })
            })
            .collect();
        let thresholds: Vec<Value> = self
            .evaluations
            .iter()
            .map(|e| json!({"threshold": e.threshold, "passed": e.passed, "actual": e.actual.map(|a| a.to_string()), "limit": e.limit.to_string(), "note": e.note}))
            .collect();
        json!({
            "schema": JSON_SCHEMA,
            "started_at": humantime::format_rfc3339_seconds(self.started_at).to_string(),
            "duration_s": self.elapsed.as_secs_f64(),
            "exit_code": self.exit_code().code(),
            "dropped_iterations": self.dropped,
            "hard_stopped": self.hard_stopped,
            "endpoints": endpoints,
            "thresholds": thresholds,
            "failures": self.failures.iter().map(|((n, m), c)| json!({"name": n, "error": m, "occurrences": c})).collect::<Vec<_>>(),
            "snapshot": self.snapshot_json,
        })
    }

    /// Writes `<prefix>_stats.csv`, `<prefix>_stats_history.csv` and `<prefix>_failures.csv`
    /// in Locust's formats (milliseconds), so existing dashboards keep working.
    pub fn write_csv(&self, prefix: &Path) -> std::io::Result<()> {
        for (suffix, text) in self.csv_texts() {
            write(&suffixed(prefix, suffix), &text)?;
        }
        Ok(())
    }

    /// The three CSV files' suffixes and texts.
    pub(crate) fn csv_texts(&self) -> [(&'static str, String); 3] {
        let pct_header: String = PERCENTILES
            .iter()
            .map(|p| format!("{}%", trim(*p)))
            .collect::<Vec<_>>()
            .join(",");
        let mut stats = format!(
            "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,{pct_header}\n"
        );
        for s in &self.summaries {
            let (method, name) = split_method(&s.name);
            let l = s.latency.as_ref();
            let get = |f: &dyn Fn(&shipgate_stats::LatencySummary) -> Duration| {
                l.map_or(0.0, |l| ms(f(l)))
            };
            let pcts: String = PERCENTILES
                .iter()
                .map(|p| format!("{:.0}", l.and_then(|l| l.at(*p)).map_or(0.0, ms)))
                .collect::<Vec<_>>()
                .join(",");
            let secs = self.elapsed.as_secs_f64().max(1e-9);
            let size = if s.requests > 0 {
                s.bytes_received as f64 / s.requests as f64
            } else {
                0.0
            };
            let _ = writeln!(
                stats,
                "{},{},{},{},{:.0},{:.2},{:.2},{:.2},{size:.2},{:.4},{:.4},{pcts}",
                csv(method),
                csv(name),
                s.requests,
                s.failures,
                get(&|l| l.at(50.0).unwrap_or_default()),
                get(&|l| l.mean),
                get(&|l| l.min),
                get(&|l| l.max),
                s.rps,
                s.failures as f64 / secs
            );
        }

        let mut history = format!(
            "Timestamp,User Count,Type,Name,Requests/s,Failures/s,{pct_header},Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size\n"
        );
        let start = self
            .started_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (mut total_requests, mut total_failures) = (0u64, 0u64);
        let mut running = shipgate_stats::Buckets::default();
        for (i, interval) in self.intervals.iter().enumerate() {
            total_requests += interval.requests;
            total_failures += interval.failures;
            running.merge(&interval.latency);
            let pcts: String = PERCENTILES
                .iter()
                .map(|p| format!("{:.0}", interval.percentile(*p).map_or(0.0, ms)))
                .collect::<Vec<_>>()
                .join(",");
            let total = running.to_histogram();
            let _ = writeln!(
                history,
                "{},{},,Aggregated,{},{},{pcts},{total_requests},{total_failures},{:.0},{:.2},{:.2},{:.2},0",
                start + i as u64,
                interval.users,
                interval.requests,
                interval.failures,
                total.percentile(50.0).map_or(0.0, ms),
                total.mean().map_or(0.0, ms),
                total.min().map_or(0.0, ms),
                total.max().map_or(0.0, ms),
            );
        }

        let mut failures = String::from("Method,Name,Error,Occurrences\n");
        for ((name, error), count) in &self.failures {
            let (method, name) = split_method(name);
            let _ = writeln!(
                failures,
                "{},{},{},{count}",
                csv(method),
                csv(name),
                csv(error)
            );
        }
        [
            ("_stats.csv", stats),
            ("_stats_history.csv", history),
            ("_failures.csv", failures),
        ]
    }
}

fn trim(p: f64) -> String {
    let s = format!("{p}");
    s.trim_end_matches(".0").to_owned()
}

/// `GET /x` -> (`GET`, `/x`); anything else has no method.
fn split_method(name: &str) -> (&str, &str) {
    match name.split_once(' ') {
        Some((m, rest))
            if ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].contains(&m) =>
        {
            (m, rest)
        }
        _ => ("", name),
    }
}

fn csv(field: &str) -> String {
    if field.contains([',', '"', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

pub(crate) fn suffixed(prefix: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    shipgate_report::write_atomic(path, text)
}
