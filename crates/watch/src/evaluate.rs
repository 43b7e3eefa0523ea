//! Rules over samples: each rule at each severity is one [`Alert`]; a sample of the
//! rule's source moves them. Pure: no I/O, no clock of its own.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use shipgate_notify::Severity;

use crate::alert::{Alert, AlertState, Observation, Timing, Transition};
use crate::condition::Condition;
use crate::config::{Action, NoDataPolicy, RuleConfig, WatchConfig};
use crate::sample::{Missing, Reading, Sample};

/// A rule, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    /// As configured.
    pub config: RuleConfig,
    levels: Vec<(Severity, Condition)>,
    timing: Timing,
    policy: NoDataPolicy,
}

impl Rule {
    fn new(config: &RuleConfig) -> Self {
        Self {
            levels: config
                .levels()
                .into_iter()
                .map(|(s, c)| (s, c.clone()))
                .collect(),
            timing: Timing {
                hold_for: config.hold_for.unwrap_or_default(),
                consecutive: config.consecutive.max(1),
                keep_firing_for: config.keep_firing_for.unwrap_or_default(),
            },
            policy: config.no_data_policy(),
            config: config.clone(),
        }
    }

    /// Its levels, least severe first.
    pub fn levels(&self) -> &[(Severity, Condition)] {
        &self.levels
    }

    /// The most severe level: the one whose firing rolls back a `rollback` rule.
    pub fn top(&self) -> Severity {
        self.levels.last().map_or(Severity::Critical, |(s, _)| *s)
    }
}

/// What a rule has seen over the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleStats {
    /// Samples of its source evaluated.
    pub samples: u64,
    /// Of which had a value for the rule's field.
    pub with_data: u64,
    /// Of which had none (empty, error, timeout).
    pub no_data: u64,
    /// The last reading of its (most severe level's) field.
    pub last: Option<Reading>,
    /// The worst value seen (furthest past the most severe limit's side).
    pub worst: Option<f64>,
    /// Times it fired.
    pub fired: u32,
}

/// One transition of one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The rule.
    pub rule: String,
    /// The level.
    pub severity: Severity,
    /// What happened.
    pub transition: Transition,
    /// The condition.
    pub condition: String,
    /// The value that caused it (none: no data).
    pub value: Option<f64>,
    /// When.
    #[serde(with = "crate::time::secs_f64")]
    pub at: SystemTime,
    /// Whether this firing asks for a rollback.
    pub rollback: bool,
}

/// The alerts of every rule.
#[derive(Debug, Clone)]
pub struct Evaluator {
    rules: Vec<Rule>,
    alerts: BTreeMap<(String, Severity), Alert>,
    stats: BTreeMap<String, RuleStats>,
}

impl Evaluator {
    /// Every rule of a validated `[watch]`, all inactive.
    pub fn new(config: &WatchConfig) -> Self {
        let rules: Vec<Rule> = config.rules.iter().map(Rule::new).collect();
        let mut alerts = BTreeMap::new();
        let mut stats = BTreeMap::new();
        for rule in &rules {
            for (severity, _) in &rule.levels {
                alerts.insert((rule.config.name.clone(), *severity), Alert::default());
            }
            stats.insert(rule.config.name.clone(), RuleStats::default());
        }
        Self {
            rules,
            alerts,
            stats,
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// One alert.
    pub fn alert(&self, rule: &str, severity: Severity) -> Option<&Alert> {
        self.alerts.get(&(rule.to_owned(), severity))
    }

    /// Every alert, by rule and level.
    pub fn alerts(&self) -> &BTreeMap<(String, Severity), Alert> {
        &self.alerts
    }

    /// A rule's window so far.
    pub fn stats(&self, rule: &str) -> Option<&RuleStats> {
        self.stats.get(rule)
    }

    /// Takes alert states saved by an earlier run (a restart); rules or levels that no
    /// longer exist are dropped, new ones start inactive.
    pub fn restore(&mut self, saved: impl IntoIterator<Item = ((String, Severity), Alert)>) {
        for (key, alert) in saved {
            if let Some(slot) = self.alerts.get_mut(&key) {
                *slot = alert;
            }
        }
    }

    /// Feeds one sample to the rules on its source. `muted`: the sample is counted
    /// but moves no alert.
    pub fn observe(&mut self, sample: &Sample, muted: bool) -> Vec<Change> {
        let mut out = Vec::new();
        for rule in self
            .rules
            .iter()
            .filter(|r| r.config.source == sample.source)
        {
            let name = &rule.config.name;
            let stats = self.stats.entry(name.clone()).or_default();
            stats.samples += 1;
            let top = rule.levels.last().map(|(_, c)| c);
            let top_reading = top.and_then(|c| sample.readings.get(c.field())).cloned();
            match top_reading.as_ref().and_then(Reading::value) {
                Some(v) => {
                    stats.with_data += 1;
                    if let Some(c) = top {
                        stats.worst = Some(worst(c, stats.worst, v));
                    }
                }
                None => stats.no_data += 1,
            }
            stats.last = top_reading;
            for (severity, condition) in &rule.levels {
                let reading = sample.readings.get(condition.field());
                let value = reading.and_then(Reading::value);
                let missing = match reading {
                    Some(Reading::NoData { missing, .. }) => Some(*missing),
                    _ => None,
                };
                // A broken source (refused credentials, an invalid query) says nothing
                // about the release: it moves no alert.
                let policy = match missing {
                    Some(Missing::Broken) => NoDataPolicy::Keep,
                    Some(Missing::Empty) => rule.config.empty.unwrap_or(rule.policy),
                    _ => rule.policy,
                };
                let seen = if muted {
                    Observation::Nothing
                } else {
                    match value {
                        Some(v) if condition.holds(v) => Observation::Holds,
                        Some(_) => Observation::Clear,
                        None => match policy {
                            NoDataPolicy::Alert => Observation::Holds,
                            NoDataPolicy::Ok => Observation::Clear,
                            NoDataPolicy::Keep => Observation::Nothing,
                        },
                    }
                };
                let alert = self.alerts.entry((name.clone(), *severity)).or_default();
                if let Some(transition) = alert.observe(sample.at, seen, rule.timing) {
                    let rollback = transition == Transition::Fired
                        && rule.config.action == Action::Rollback
                        && *severity == rule.top();
                    if transition == Transition::Fired {
                        stats.fired += 1;
                    }
                    out.push(Change {
                        rule: name.clone(),
                        severity: *severity,
                        transition,
                        condition: condition.to_string(),
                        value,
                        at: sample.at,
                        rollback,
                    });
                }
            }
        }
        out
    }

    /// A mute began: pending alerts start again; firing ones stay.
    pub fn mute_began(&mut self, at: SystemTime) -> Vec<Change> {
        let mut out = Vec::new();
        for ((rule, severity), alert) in &mut self.alerts {
            if alert.reset_pending().is_some() {
                out.push(Change {
                    rule: rule.clone(),
                    severity: *severity,
                    transition: Transition::Cleared,
                    condition: String::new(),
                    value: None,
                    at,
                    rollback: false,
                });
            }
        }
        out
    }

    /// The alerts firing now.
    pub fn firing(&self) -> Vec<(&str, Severity)> {
        self.alerts
            .iter()
            .filter(|(_, a)| a.state == AlertState::Firing)
            .map(|((r, s), _)| (r.as_str(), *s))
            .collect()
    }
}

/// The value furthest on the condition's alerting side.
fn worst(c: &Condition, so_far: Option<f64>, v: f64) -> f64 {
    use crate::condition::Op;
    match (so_far, c.op()) {
        (None, _) => v,
        (Some(w), Op::Gt | Op::Ge) => w.max(v),
        (Some(w), Op::Lt | Op::Le) => w.min(v),
        (Some(w), Op::Eq | Op::Ne) => {
            if c.holds(v) {
                v
            } else {
                w
            }
        }
    }
}
