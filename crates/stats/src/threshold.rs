//! Threshold expressions: `p95 < 500ms`, `"GET /search": p(99.9) <= 1s`, `error_rate < 1%`.
//!
//! ```text
//! threshold := [ '"' scope '"' ':' ] metric op value
//! metric    := [ 'corrected.' ] latency | 'error_rate' | 'failure_rate' | 'success_rate'
//!            | 'rps' | 'requests' | 'failures'
//! latency   := 'p' NUMBER | 'p(' NUMBER ')' | 'avg' | 'mean' | 'med' | 'median' | 'min' | 'max' | 'stdev'
//! op        := '<' | '<=' | '>' | '>=' | '==' | '!='
//! value     := NUMBER unit        unit: us µs ms s m h for latencies; % (or a bare 0–1 ratio) for rates;
//!                                 none for rps, requests, failures
//! ```
//!
//! Latency metrics use the latency from the actual send; `corrected.p99` uses the
//! latency from the intended send (coordinated-omission corrected).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::snapshot::Snapshot;

/// A latency statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyStat {
    /// The value at a percentile, 0 < p ≤ 100.
    Percentile(f64),
    /// The mean.
    Mean,
    /// The exact minimum.
    Min,
    /// The exact maximum.
    Max,
    /// The standard deviation.
    Stdev,
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency statistic, from the actual send or (`corrected`) from the intended send.
    Latency {
        /// Which statistic.
        stat: LatencyStat,
        /// Whether the coordinated-omission corrected latency is meant.
        corrected: bool,
    },
    /// Failed / all requests.
    ErrorRate,
    /// Successful / all requests.
    SuccessRate,
    /// Requests per second over the run.
    Rps,
    /// Number of requests.
    Requests,
    /// Number of failed requests.
    Failures,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
            Op::Eq => actual == limit,
            Op::Ne => actual != limit,
        }
    }
}

/// A measured or limiting value, with its kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A latency.
    Duration(Duration),
    /// A ratio, 0–1 (shown as a percentage).
    Ratio(f64),
    /// A count or a rate per second.
    Number(f64),
}

impl Value {
    fn as_f64(self) -> f64 {
        match self {
            Value::Duration(d) => d.as_secs_f64(),
            Value::Ratio(r) | Value::Number(r) => r,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Duration(d) => {
                let us = d.as_micros();
                if us < 1_000 {
                    write!(f, "{us}µs")
                } else if us < 1_000_000 {
                    write!(f, "{}ms", trim(us as f64 / 1e3))
                } else {
                    write!(f, "{}s", trim(d.as_secs_f64()))
                }
            }
            Value::Ratio(r) => write!(f, "{}%", trim(r * 100.0)),
            Value::Number(n) => write!(f, "{}", trim(*n)),
        }
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    source: String,
    /// The request name it applies to; `None` for the aggregate of all.
    pub scope: Option<String>,
    /// What it measures.
    pub metric: Metric,
    /// The comparison.
    pub op: Op,
    /// The limit.
    pub limit: Value,
}

/// The result of evaluating a threshold against a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The threshold as written.
    pub threshold: String,
    /// The measured value; `None` when there was nothing to measure.
    pub actual: Option<Value>,
    /// The limit.
    pub limit: Value,
    /// Whether it holds. Never true without a measured value.
    pub passed: bool,
    /// Why there is no measured value.
    pub note: Option<String>,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Threshold {
    /// Evaluates against a run: the scope's statistics, or the aggregate.
    pub fn evaluate(&self, run: &Snapshot) -> Evaluation {
        let stats = match &self.scope {
            Some(name) => run.endpoints().get(name).cloned(),
            None => Some(run.aggregate()),
        };
        let fail = |note: String| Evaluation {
            threshold: self.source.clone(),
            actual: None,
            limit: self.limit,
            passed: false,
            note: Some(note),
        };
        let Some(stats) = stats.filter(|s| s.requests() > 0) else {
            return fail(match &self.scope {
                Some(name) => format!("no requests named {name:?} were recorded"),
                None => "no requests were recorded".to_owned(),
            });
        };
        let requests = stats.requests() as f64;
        let actual = match self.metric {
            Metric::Latency { stat, corrected } => {
                let h = if corrected {
                    &stats.corrected
                } else {
                    &stats.latency
                };
                let d = match stat {
                    LatencyStat::Percentile(p) => h.percentile(p),
                    LatencyStat::Mean => h.mean(),
                    LatencyStat::Min => h.min(),
                    LatencyStat::Max => h.max(),
                    LatencyStat::Stdev => h.stdev(),
                };
                Value::Duration(d.unwrap_or_default())
            }
            Metric::ErrorRate => Value::Ratio(stats.failed() as f64 / requests),
            Metric::SuccessRate => Value::Ratio(1.0 - stats.failed() as f64 / requests),
            Metric::Rps => {
                let secs = run.elapsed().as_secs_f64();
                if secs <= 0.0 {
                    return fail("the run has no duration to compute a rate over".to_owned());
                }
                Value::Number(requests / secs)
            }
            Metric::Requests => Value::Number(requests),
            Metric::Failures => Value::Number(stats.failed() as f64),
        };
        Evaluation {
            threshold: self.source.clone(),
            actual: Some(actual),
            limit: self.limit,
            passed: self.op.holds(actual.as_f64(), self.limit.as_f64()),
            note: None,
        }
    }
}

/// Why a threshold expression could not be parsed: where, what was expected, what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: expected {expected}, found {found}\n  {input}\n  {caret:>column$}")]
pub struct ParseError {
    /// The expression.
    pub input: String,
    /// Where, counted in characters from 1.
    pub column: usize,
    /// What would have been valid there.
    pub expected: String,
    /// What was there.
    pub found: String,
    caret: char,
}

impl FromStr for Threshold {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        Parser { input, pos: 0 }.threshold()
    }
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
}

const METRICS: &str = "a metric (p95, p(99.9), avg, med, min, max, stdev, error_rate, success_rate, rps, requests, failures)";

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.input.len() - trimmed.len();
    }

    fn error(&self, at: usize, expected: &str) -> ParseError {
        let rest = &self.input[at..];
        let found = match rest.split_whitespace().next() {
            None => "the end of the expression".to_owned(),
            Some(word) => format!("`{word}`"),
        };
        ParseError {
            input: self.input.to_owned(),
            column: self.input[..at].chars().count() + 1,
            expected: expected.to_owned(),
            found,
            caret: '^',
        }
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> (usize, &'a str) {
        let start = self.pos;
        let len = self
            .rest()
            .char_indices()
            .find(|&(_, c)| !f(c))
            .map_or(self.rest().len(), |(i, _)| i);
        self.pos += len;
        (start, &self.input[start..start + len])
    }

    fn threshold(mut self) -> Result<Threshold, ParseError> {
        self.skip_ws();
        let scope = if self.rest().starts_with('"') {
            Some(self.scope()?)
        } else {
            None
        };
        self.skip_ws();
        let metric = self.metric()?;
        self.skip_ws();
        let op = self.op()?;
        self.skip_ws();
        let limit = self.value(metric)?;
        self.skip_ws();
        if !self.rest().is_empty() {
            return Err(self.error(self.pos, "the end of the expression"));
        }
        Ok(Threshold {
            source: self.input.trim().to_owned(),
            scope,
            metric,
            op,
            limit,
        })
    }

    fn scope(&mut self) -> Result<String, ParseError> {
        let open = self.pos;
        self.pos += 1;
        let mut name = String::new();
        let mut chars = self.rest().char_indices();
        loop {
            match chars.next() {
                None => return Err(self.error(open, "a closing `\"` for the request name")),
                Some((i, '"')) => {
                    self.pos += i + 1;
                    break;
                }
                Some((_, '\\')) => match chars.next() {
                    Some((_, c @ ('"' | '\\'))) => name.push(c),
                    _ => {
                        return Err(
                            self.error(open, "only \\\" and \\\\ as escapes in a request name")
                        );
                    }
                },
                Some((_, c)) => name.push(c),
            }
        }
        if name.trim().is_empty() {
            return Err(self.error(open, "a request name inside the quotes"));
        }
        self.skip_ws();
        if !self.rest().starts_with(':') {
            return Err(self.error(self.pos, "`:` after the request name"));
        }
        self.pos += 1;
        Ok(name)
    }

    fn metric(&mut self) -> Result<Metric, ParseError> {
        let (start, word) = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        let (corrected, name) = match word.strip_prefix("corrected.") {
            Some(rest) => (true, rest),
            None => (false, word),
        };
        let name_at = start + (word.len() - name.len());
        let latency = |stat| Ok(Metric::Latency { stat, corrected });
        let plain = |m: Metric| {
            if corrected {
                Err(self.error(start, "`corrected.` only before a latency metric"))
            } else {
                Ok(m)
            }
        };
        match name {
            "p" if self.rest().starts_with('(') => {
                self.pos += 1;
                let (num_at, num) = self.take_while(|c| c.is_ascii_digit() || c == '.');
                let p = self.percentile(num_at, num)?;
                if !self.rest().starts_with(')') {
                    return Err(self.error(self.pos, "`)` after the percentile"));
                }
                self.pos += 1;
                latency(LatencyStat::Percentile(p))
            }
            "avg" | "mean" => latency(LatencyStat::Mean),
            "med" | "median" => latency(LatencyStat::Percentile(50.0)),
            "min" => latency(LatencyStat::Min),
            "max" => latency(LatencyStat::Max),
            "stdev" => latency(LatencyStat::Stdev),
            "error_rate" | "failure_rate" => plain(Metric::ErrorRate),
            "success_rate" => plain(Metric::SuccessRate),
            "rps" => plain(Metric::Rps),
            "requests" | "count" => plain(Metric::Requests),
            "failures" => plain(Metric::Failures),
            n if n.len() > 1
                && n.starts_with('p')
                && n[1..].starts_with(|c: char| c.is_ascii_digit()) =>
            {
                latency(LatencyStat::Percentile(
                    self.percentile(name_at + 1, &n[1..])?,
                ))
            }
            _ => Err(self.error(name_at, METRICS)),
        }
    }

    fn percentile(&self, at: usize, text: &str) -> Result<f64, ParseError> {
        match text.parse::<f64>() {
            Ok(p) if p > 0.0 && p <= 100.0 => Ok(p),
            _ => Err(self.error(at, "a percentile greater than 0 and at most 100")),
        }
    }

    fn op(&mut self) -> Result<Op, ParseError> {
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        for (text, op) in ops {
            if self.rest().starts_with(text) {
                self.pos += text.len();
                return Ok(op);
            }
        }
        Err(self.error(self.pos, "a comparison (<, <=, >, >=, ==, !=)"))
    }

    fn value(&mut self, metric: Metric) -> Result<Value, ParseError> {
        let (num_at, num) = self.take_while(|c| c.is_ascii_digit() || c == '.');
        let Ok(n) = num.parse::<f64>() else {
            return Err(self.error(num_at, "a number"));
        };
        let (unit_at, unit) = self.take_while(|c| c.is_alphabetic() || c == '%');
        match metric {
            Metric::Latency { .. } => {
                let scale = match unit {
                    "us" | "µs" => 1e-6,
                    "ms" => 1e-3,
                    "s" => 1.0,
                    "m" => 60.0,
                    "h" => 3600.0,
                    _ => {
                        return Err(self.error(
                            unit_at,
                            "a time unit (us, ms, s, m, h) right after the number",
                        ));
                    }
                };
                Duration::try_from_secs_f64(n * scale)
                    .map(Value::Duration)
                    .map_err(|_| self.error(num_at, "a duration that fits (under 500 years)"))
            }
            Metric::ErrorRate | Metric::SuccessRate => match unit {
                "%" if n <= 100.0 => Ok(Value::Ratio(n / 100.0)),
                "" if n <= 1.0 => Ok(Value::Ratio(n)),
                "%" | "" => {
                    Err(self.error(num_at, "a percentage up to 100% or a ratio from 0 to 1"))
                }
                _ => Err(self.error(unit_at, "`%` or nothing after a rate")),
            },
            Metric::Rps | Metric::Requests | Metric::Failures => {
                if unit.is_empty() {
                    Ok(Value::Number(n))
                } else {
                    Err(self.error(
                        unit_at,
                        "a plain number (no unit) for a count or rate per second",
                    ))
                }
            }
        }
    }
}
