use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::redact::Redactor;

/// How one finding ended.
///
/// Ordered from best to worst, so the worst outcome of a report is its maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The condition holds.
    Pass,
    /// Not evaluated, with a reason (a dependency failed, it was disabled, ...).
    Skip,
    /// The condition does not hold, but the finding's severity says it must not block.
    Warn,
    /// The condition does not hold.
    Fail,
    /// The condition could not be evaluated (a bug, a misconfiguration found at run time).
    Error,
}

impl Outcome {
    /// Every outcome, best first.
    pub const ALL: [Outcome; 5] = [
        Outcome::Pass,
        Outcome::Skip,
        Outcome::Warn,
        Outcome::Fail,
        Outcome::Error,
    ];

    /// The lowercase name used in every renderer and in the JSON schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Skip => "skip",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
        }
    }

    /// Whether this outcome makes the run fail (exit code 1).
    pub fn is_blocking(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::Error)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part of a deployment a finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Phase {
    /// Pre-deployment checks.
    Pre,
    /// Post-deployment smoke tests.
    Post,
    /// Load generation and its thresholds.
    Load,
    /// Deployment steps, switches and rollbacks.
    Deploy,
    /// Monitoring probes and rules.
    Watch,
    /// Notification delivery.
    Notify,
}

impl Phase {
    /// The lowercase name used in every renderer and in the JSON schema.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pre => "pre",
            Phase::Post => "post",
            Phase::Load => "load",
            Phase::Deploy => "deploy",
            Phase::Watch => "watch",
            Phase::Notify => "notify",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One evaluated condition: a check, a smoke step, a threshold, a deployment step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was evaluated, e.g. `database: primary` or `GET /health`.
    pub name: String,
    /// Where in the deployment it ran.
    pub phase: Phase,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took.
    pub duration: Duration,
    /// One line saying what was observed.
    pub message: String,
    /// Observed values, by name (e.g. `status` = `200`, `p95` = `312ms`).
    pub details: BTreeMap<String, String>,
    /// What a person should do about it; expected on every finding that did not pass.
    pub recommendation: Option<String>,
}

impl Finding {
    /// A finding with no message, details or recommendation and a zero duration.
    pub fn new(name: impl Into<String>, phase: Phase, outcome: Outcome) -> Self {
        Self {
            name: name.into(),
            phase,
            outcome,
            duration: Duration::ZERO,
            message: String::new(),
            details: BTreeMap::new(),
            recommendation: None,
        }
    }

    /// Sets the outcome.
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// Sets the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Sets the duration.
    pub fn with_duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// Adds one detail.
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// Sets the recommendation.
    pub fn with_recommendation(mut self, recommendation: impl Into<String>) -> Self {
        self.recommendation = Some(recommendation.into());
        self
    }

    fn redact(&mut self, redactor: &Redactor) {
        redactor.redact_in_place(&mut self.name);
        redactor.redact_in_place(&mut self.message);
        for value in self.details.values_mut() {
            redactor.redact_in_place(value);
        }
        if let Some(rec) = &mut self.recommendation {
            redactor.redact_in_place(rec);
        }
    }
}

/// Counts of findings by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Number of findings.
    pub total: usize,
    /// Findings that passed.
    pub passed: usize,
    /// Findings that were skipped.
    pub skipped: usize,
    /// Findings that warned.
    pub warned: usize,
    /// Findings that failed.
    pub failed: usize,
    /// Findings that could not be evaluated.
    pub errored: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        self.total += 1;
        *match outcome {
            Outcome::Pass => &mut self.passed,
            Outcome::Skip => &mut self.skipped,
            Outcome::Warn => &mut self.warned,
            Outcome::Fail => &mut self.failed,
            Outcome::Error => &mut self.errored,
        } += 1;
    }
}

/// A shipgate process exit code. The same rule holds for every binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitCode {
    /// 0: everything passed; warnings and skips allowed.
    Success,
    /// 1: at least one finding failed or could not be evaluated.
    Failure,
    /// 2: configuration or usage error; nothing was evaluated.
    Usage,
}

impl ExitCode {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failure => 1,
            ExitCode::Usage => 2,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

/// Findings of one run, with a title and the time it started.
///
/// Every string added to a report passes through its [`Redactor`] first, so no
/// renderer can print a known secret.
#[derive(Debug, Clone)]
pub struct Report {
    title: String,
    started_at: SystemTime,
    findings: Vec<Finding>,
    redactor: Redactor,
}

impl Report {
    /// An empty report started now, with no secrets to mask.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            started_at: SystemTime::now(),
            findings: Vec::new(),
            redactor: Redactor::default(),
        }
    }

    /// Masks these secrets in everything the report holds now and gets later.
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        redactor.redact_in_place(&mut self.title);
        for finding in &mut self.findings {
            finding.redact(&redactor);
        }
        self.redactor = redactor;
        self
    }

    /// Sets when the run started (defaults to when the report was created).
    pub fn with_started_at(mut self, started_at: SystemTime) -> Self {
        self.started_at = started_at;
        self
    }

    /// Adds a finding, masking any secret in it.
    pub fn push(&mut self, mut finding: Finding) {
        finding.redact(&self.redactor);
        self.findings.push(finding);
    }

    /// The title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// When the run started.
    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// The findings, in the order they were added.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Counts by outcome.
    pub fn summary(&self) -> Tally {
        let mut summary = Tally::default();
        for finding in &self.findings {
            summary.add(finding.outcome);
        }
        summary
    }

    /// The worst outcome, or `Pass` for an empty report.
    pub fn outcome(&self) -> Outcome {
        self.findings
            .iter()
            .map(|f| f.outcome)
            .max()
            .unwrap_or(Outcome::Pass)
    }

    /// The sum of the findings' durations (not wall-clock time: findings may run concurrently).
    pub fn total_duration(&self) -> Duration {
        self.findings.iter().map(|f| f.duration).sum()
    }

    /// 0 when nothing failed, 1 when a finding failed or errored.
    pub fn exit_code(&self) -> ExitCode {
        if self.findings.iter().any(|f| f.outcome.is_blocking()) {
            ExitCode::Failure
        } else {
            ExitCode::Success
        }
    }
}

impl Extend<Finding> for Report {
    fn extend<T: IntoIterator<Item = Finding>>(&mut self, iter: T) {
        for finding in iter {
            self.push(finding);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_follows_the_worst_blocking_outcome() {
        let mut report = Report::new("t");
        assert_eq!(report.exit_code(), ExitCode::Success);
        report.push(Finding::new("a", Phase::Pre, Outcome::Warn));
        report.push(Finding::new("b", Phase::Pre, Outcome::Skip));
        assert_eq!(report.exit_code(), ExitCode::Success);
        assert_eq!(report.outcome(), Outcome::Warn);
        report.push(Finding::new("c", Phase::Pre, Outcome::Error));
        assert_eq!(report.exit_code(), ExitCode::Failure);
        let s = report.summary();
        assert_eq!(
            (s.total, s.warned, s.skipped, s.errored, s.passed),
            (3, 1, 1, 1, 0)
        );
    }

    #[test]
    fn outcomes_are_ordered_best_to_worst() {
        let mut all = Outcome::ALL;
        all.reverse();
        all.sort();
        assert_eq!(all, Outcome::ALL);
    }
}
