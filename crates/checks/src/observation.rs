use std::collections::BTreeMap;

/// What a check saw: its own verdict before severity and dependencies are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Pass, warn or fail.
    pub verdict: Verdict,
    /// One line on what was observed.
    pub message: String,
    /// Observed values.
    pub details: BTreeMap<String, String>,
    /// What to do about it (for anything but a pass).
    pub recommendation: Option<String>,
    /// The target could not be reached at all (an `optional` check then only warns).
    pub unreachable: bool,
    /// Sub-results (a smoke scenario's steps), each reported as its own finding.
    pub steps: Vec<StepObservation>,
}

/// One step of a multi-step check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepObservation {
    /// The step's name.
    pub name: String,
    /// What it saw.
    pub observation: Observation,
    /// How long it took.
    pub duration: std::time::Duration,
}

/// A check's own verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The condition holds.
    Pass,
    /// The condition holds only partly (e.g. memory above the warning ratio).
    Warn,
    /// The condition does not hold.
    Fail,
    /// Not evaluated (a step after a failed one).
    Skip,
}

impl Observation {
    /// A pass.
    pub fn pass(message: impl Into<String>) -> Self {
        Self::new(Verdict::Pass, message)
    }

    /// A warning.
    pub fn warn(message: impl Into<String>) -> Self {
        Self::new(Verdict::Warn, message)
    }

    /// A failure.
    pub fn fail(message: impl Into<String>) -> Self {
        Self::new(Verdict::Fail, message)
    }

    /// Not evaluated, with the reason.
    pub fn skipped(message: impl Into<String>) -> Self {
        Self::new(Verdict::Skip, message)
    }

    /// A failure to reach the target at all.
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self {
            unreachable: true,
            ..Self::fail(message)
        }
    }

    fn new(verdict: Verdict, message: impl Into<String>) -> Self {
        Self {
            verdict,
            message: message.into(),
            details: BTreeMap::new(),
            recommendation: None,
            unreachable: false,
            steps: Vec::new(),
        }
    }

    /// Adds a detail.
    pub fn detail(mut self, key: impl Into<String>, value: impl std::fmt::Display) -> Self {
        self.details.insert(key.into(), value.to_string());
        self
    }

    /// Sets the recommendation.
    pub fn recommend(mut self, text: impl Into<String>) -> Self {
        self.recommendation = Some(text.into());
        self
    }

    /// The worse of two observations' verdicts, with both messages.
    pub(crate) fn combine(findings: Vec<Observation>, all_good: &str) -> Observation {
        let rank = |v: Verdict| match v {
            Verdict::Pass | Verdict::Skip => 0,
            Verdict::Warn => 1,
            Verdict::Fail => 2,
        };
        let worst = findings
            .iter()
            .map(|f| f.verdict)
            .max_by_key(|v| rank(*v))
            .unwrap_or(Verdict::Pass);
        let worst = if worst == Verdict::Skip {
            Verdict::Pass
        } else {
            worst
        };
        if worst == Verdict::Pass {
            let mut out = Observation::pass(all_good);
            for f in findings {
                out.details.extend(f.details);
            }
            return out;
        }
        let bad: Vec<&Observation> = findings.iter().filter(|f| rank(f.verdict) > 0).collect();
        let mut out = Observation::new(
            worst,
            bad.iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        );
        out.recommendation = bad
            .iter()
            .filter_map(|f| f.recommendation.clone())
            .reduce(|a, b| format!("{a}; {b}"));
        out.unreachable = bad.iter().all(|f| f.unreachable);
        for f in findings {
            out.details.extend(f.details);
        }
        out
    }
}
