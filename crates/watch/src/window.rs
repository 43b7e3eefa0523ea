//! A watch window's verdict: passed, failed (and rolled back), or inconclusive, as a
//! shipgate-report [`Report`].

use std::time::SystemTime;

use serde_json::{Value, json};
use shipgate_notify::Delivery;
use shipgate_report::{Finding, Outcome, Phase, Report};

use crate::alert::Transition;
use crate::config::Action;
use crate::evaluate::{Change, Evaluator, RuleStats};
use crate::sample::Reading;

/// How a window ended. Only [`Verdict::Passed`] lets a promotion through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It ran its whole length, every rule had data in all but `max_missing` of its
    /// samples, and no rollback rule fired.
    Passed,
    /// A rollback rule fired (and the rollback was attempted).
    Failed,
    /// Some rule lacked data in more than `max_missing` of its samples: nothing proves
    /// the release healthy.
    Inconclusive,
    /// It was stopped (SIGTERM, Ctrl-C) before its length: it saw too little to pass.
    Interrupted,
}

impl Verdict {
    /// `passed`, `failed`, `inconclusive`, `interrupted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Interrupted => "interrupted",
        }
    }
}

/// The rollback a window made.
#[derive(Debug, Clone)]
pub struct RollbackRecord {
    /// When it finished.
    pub at: SystemTime,
    /// The rule that asked for it.
    pub rule: String,
    /// Why, in words.
    pub reason: String,
    /// What it did, or why it failed.
    pub result: RollbackResult,
}

/// How a rollback went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackResult {
    /// Done: what it did (`switched back to v41`).
    Done(String),
    /// It failed, and why: the deployment may still be serving the bad release.
    Failed(String),
}

/// One rule's part of the window.
#[derive(Debug, Clone)]
pub struct RuleWindow {
    /// The rule's name.
    pub name: String,
    /// `notify` or `rollback`.
    pub action: Action,
    /// What it saw.
    pub stats: RuleStats,
    /// Its most severe condition.
    pub condition: String,
    /// Each level's limit, in the field's unit.
    pub limits: Vec<(shipgate_notify::Severity, f64)>,
}

/// A finished (or running) window.
#[derive(Debug, Clone)]
pub struct Window {
    /// The environment.
    pub environment: String,
    /// When it began.
    pub started: SystemTime,
    /// When it ended.
    pub ended: SystemTime,
    /// Every transition, in order.
    pub changes: Vec<Change>,
    /// The rollback, if one was made.
    pub rollback: Option<RollbackRecord>,
    /// Per rule, once finished.
    pub rules: Vec<RuleWindow>,
    /// Notices sent: `(channel, events, attempts)`, or why not.
    pub deliveries: Vec<DeliveryRecord>,
    /// Per rule, the value of its most severe level's field at each sample (none: no data).
    pub series: std::collections::BTreeMap<String, Vec<(SystemTime, Option<f64>)>>,
    /// The length it was to run, when it was stopped before it.
    pub interrupted: Option<std::time::Duration>,
    /// The share of a rule's samples that may lack data (`[watch] max_missing`).
    pub max_missing: f64,
}

/// One channel's delivery during the window.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    /// The channel.
    pub channel: String,
    /// Events in the message.
    pub events: usize,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl Window {
    pub(crate) fn new(environment: &str, started: SystemTime) -> Self {
        Self {
            environment: environment.to_owned(),
            started,
            ended: started,
            changes: Vec::new(),
            rollback: None,
            rules: Vec::new(),
            deliveries: Vec::new(),
            series: std::collections::BTreeMap::new(),
            interrupted: None,
            max_missing: 0.0,
        }
    }

    pub(crate) fn delivered(&mut self, d: Delivery) {
        self.deliveries.push(DeliveryRecord {
            channel: d.channel,
            events: d.events,
            error: d.result.err().map(|e| shipgate_report::error_line(&e)),
        });
    }

    pub(crate) fn finish(&mut self, eval: &Evaluator, ended: SystemTime) {
        self.ended = ended;
        self.rules = eval
            .rules()
            .iter()
            .map(|r| RuleWindow {
                name: r.config.name.clone(),
                action: r.config.action,
                stats: eval.stats(&r.config.name).cloned().unwrap_or_default(),
                condition: r
                    .levels()
                    .last()
                    .map(|(_, c)| c.to_string())
                    .unwrap_or_default(),
                limits: r
                    .levels()
                    .iter()
                    .map(|(s, c)| (*s, c.threshold()))
                    .collect(),
            })
            .collect();
    }

    /// The verdict: a rollback wins, then an interruption, then missing data, then
    /// passed.
    pub fn verdict(&self) -> Verdict {
        if self.rollback.is_some() || self.changes.iter().any(|c| c.rollback) {
            Verdict::Failed
        } else if self.interrupted.is_some() {
            Verdict::Interrupted
        } else if !self.without_data().is_empty() {
            Verdict::Inconclusive
        } else {
            Verdict::Passed
        }
    }

    /// Whether a rule's samples had too little data: none at all, or more missing
    /// than `max_missing` allows.
    fn lacks_data(&self, stats: &RuleStats) -> bool {
        let allowed = (self.max_missing * stats.samples as f64).floor() as u64;
        stats.with_data == 0 || stats.no_data > allowed
    }

    /// The rules that lacked data (none at all, or more than `max_missing` of their
    /// samples).
    pub fn without_data(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| self.lacks_data(&r.stats))
            .map(|r| r.name.as_str())
            .collect()
    }

    /// Transitions of one rule.
    pub fn changes_of<'a>(&'a self, rule: &'a str) -> impl Iterator<Item = &'a Change> + 'a {
        self.changes.iter().filter(move |c| c.rule == rule)
    }

    /// One finding per rule, one for the rollback, and one for the verdict.
    pub fn report(&self, title: impl Into<String>) -> Report {
        let mut report = Report::new(title).with_started_at(self.started);
        let length = self.ended.duration_since(self.started).unwrap_or_default();
        for r in &self.rules {
            let fired: Vec<&Change> = self
                .changes_of(&r.name)
                .filter(|c| c.transition == Transition::Fired)
                .collect();
            let resolved = self
                .changes_of(&r.name)
                .filter(|c| c.transition == Transition::Resolved)
                .count();
            let (outcome, message) = if r.stats.with_data == 0 {
                (
                    Outcome::Error,
                    format!(
                        "no data in {} sample(s): {}",
                        r.stats.samples,
                        last_reason(&r.stats).unwrap_or("the source was never sampled")
                    ),
                )
            } else if self.lacks_data(&r.stats) {
                (
                    Outcome::Error,
                    format!(
                        "no data in {} of {} sample(s), more than the {}% allowed{}",
                        r.stats.no_data,
                        r.stats.samples,
                        self.max_missing * 100.0,
                        last_reason(&r.stats).map_or_else(String::new, |w| format!(": {w}"))
                    ),
                )
            } else if fired.is_empty() {
                (
                    Outcome::Pass,
                    format!(
                        "`{}` never fired in {} sample(s)",
                        r.condition, r.stats.samples
                    ),
                )
            } else {
                let outcome = if fired.iter().any(|c| c.rollback) {
                    Outcome::Fail
                } else {
                    Outcome::Warn
                };
                let levels: Vec<&str> = fired.iter().map(|c| c.severity.as_str()).collect();
                (
                    outcome,
                    format!(
                        "fired {} time(s) ({}), resolved {resolved}",
                        fired.len(),
                        levels.join(", ")
                    ),
                )
            };
            let mut f = Finding::new(format!("rule {}", r.name), Phase::Watch, outcome)
                .with_message(message)
                .with_detail("samples", r.stats.samples.to_string())
                .with_detail("no_data", r.stats.no_data.to_string());
            if let Some(w) = r.stats.worst {
                f = f.with_detail("worst", format!("{w}"));
            }
            report.push(f);
        }
        if let Some(rb) = &self.rollback {
            let f = match &rb.result {
                RollbackResult::Done(done) => Finding::new("rollback", Phase::Watch, Outcome::Fail)
                    .with_message(format!("{}; {done}", rb.reason)),
                RollbackResult::Failed(why) => {
                    Finding::new("rollback", Phase::Watch, Outcome::Error)
                        .with_message(format!("{}; the rollback FAILED: {why}", rb.reason))
                        .with_recommendation("roll back by hand: shipgate-deploy rollback")
                }
            };
            report.push(f);
        }
        let verdict = self.verdict();
        let outcome = match verdict {
            Verdict::Passed => Outcome::Pass,
            Verdict::Failed => Outcome::Fail,
            Verdict::Inconclusive | Verdict::Interrupted => Outcome::Error,
        };
        let (samples, missing) = self.rules.iter().fold((0, 0), |(s, m), r| {
            (s + r.stats.samples, m + r.stats.no_data)
        });
        let mut f = Finding::new("verdict", Phase::Watch, outcome)
            .with_duration(length)
            .with_message(match verdict {
                Verdict::Passed => format!(
                    "passed: {} with no rollback rule firing; {} of {samples} sample(s) had data ({missing} without, at most {}% per rule allowed)",
                    humantime::format_duration(round(length)),
                    samples - missing,
                    self.max_missing * 100.0
                ),
                Verdict::Failed => "failed: a rollback rule fired".to_owned(),
                Verdict::Inconclusive => format!(
                    "inconclusive: too little data for {}; this window proves nothing about them",
                    self.without_data().join(", ")
                ),
                Verdict::Interrupted => format!(
                    "interrupted after {} of {}: a window that did not run its length proves nothing",
                    humantime::format_duration(round(length)),
                    humantime::format_duration(self.interrupted.unwrap_or_default())
                ),
            });
        match verdict {
            Verdict::Inconclusive => {
                f = f.with_recommendation(
                    "check the sources (is Prometheus up, does the query match series?)",
                );
            }
            Verdict::Interrupted => {
                f = f.with_recommendation("watch the deployment again for the whole window");
            }
            _ => {}
        }
        report.push(f);
        report
    }

    /// The window in one JSON object (the history's closing line).
    pub fn summary_json(&self) -> Value {
        json!({
            "environment": self.environment,
            "started": crate::time::epoch_secs(self.started),
            "ended": crate::time::epoch_secs(self.ended),
            "verdict": self.verdict().as_str(),
            "without_data": self.without_data(),
            "rolled_back": self.rollback.as_ref().map(|r| r.rule.clone()),
        })
    }
}

fn last_reason(stats: &RuleStats) -> Option<&str> {
    match &stats.last {
        Some(Reading::NoData { message, .. }) => Some(message),
        _ => None,
    }
}

fn round(d: std::time::Duration) -> std::time::Duration {
    std::time::Duration::from_secs(d.as_secs())
}
