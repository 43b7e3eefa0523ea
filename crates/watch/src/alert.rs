//! One alert's lifecycle: inactive → pending → firing → resolved (inactive again), as
//! Prometheus's alerting rules go, plus a count of samples in a row.
//!
//! - The first sample meeting the condition makes it *pending*; it *fires* once the
//!   condition has held for `for` **and** for `consecutive` samples in a row.
//! - A sample not meeting it drops a pending alert back to inactive (the `for` starts
//!   again); a firing alert *resolves* on it, unless the condition held within the last
//!   `keep_firing_for`.
//! - A sample without data counts as the rule's no-data policy says: as meeting the
//!   condition (`alert`), as not meeting it (`ok`), or not at all (`keep`).
//!
//! Times are wall-clock and passed in, so the machine is a pure function of its
//! inputs, tested without sleeping, and its state survives a restart.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Where an alert is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition does not hold.
    #[default]
    Inactive,
    /// It holds, not yet for long enough.
    Pending,
    /// It held long enough; notified.
    Firing,
}

impl AlertState {
    /// `inactive`, `pending`, `firing`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// A change of state worth recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    /// Inactive → pending.
    Pending,
    /// Pending (or inactive, with no `for`) → firing: notify.
    Fired,
    /// Pending → inactive: the condition stopped holding before `for`.
    Cleared,
    /// Firing → inactive: notify the resolution.
    Resolved,
}

/// What one sample says about a condition, after the no-data policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    /// The condition holds.
    Holds,
    /// It does not.
    Clear,
    /// Nothing to learn (no data under `keep`, or the watcher is muted).
    Nothing,
}

/// How long and how often the condition must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// Prometheus's `for`.
    pub hold_for: Duration,
    /// Samples in a row (at least 1).
    pub consecutive: u32,
    /// Prometheus's `keep_firing_for`.
    pub keep_firing_for: Duration,
}

/// One alert (a rule at one severity).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Where it is.
    pub state: AlertState,
    /// When the condition began to hold, this run of samples.
    #[serde(with = "crate::time::secs_f64::option", default)]
    pub active_since: Option<SystemTime>,
    /// The last time it held.
    #[serde(with = "crate::time::secs_f64::option", default)]
    pub last_held: Option<SystemTime>,
    /// When it fired, while firing.
    #[serde(with = "crate::time::secs_f64::option", default)]
    pub fired_at: Option<SystemTime>,
    /// Samples in a row that met it.
    pub in_a_row: u32,
}

impl Alert {
    /// Feeds one observation at `now`; returns the transition, if any.
    pub fn observe(
        &mut self,
        now: SystemTime,
        seen: Observation,
        timing: Timing,
    ) -> Option<Transition> {
        match seen {
            Observation::Nothing => None,
            Observation::Holds => {
                self.in_a_row = self.in_a_row.saturating_add(1);
                self.last_held = Some(now);
                let since = *self.active_since.get_or_insert(now);
                let long_enough = now.duration_since(since).unwrap_or_default() >= timing.hold_for
                    && self.in_a_row >= timing.consecutive.max(1);
                match (self.state, long_enough) {
                    (AlertState::Firing, _) => None,
                    (_, true) => {
                        self.state = AlertState::Firing;
                        self.fired_at = Some(now);
                        Some(Transition::Fired)
                    }
                    (AlertState::Inactive, false) => {
                        self.state = AlertState::Pending;
                        Some(Transition::Pending)
                    }
                    (AlertState::Pending, false) => None,
                }
            }
            Observation::Clear => {
                self.in_a_row = 0;
                self.active_since = None;
                match self.state {
                    AlertState::Inactive => None,
                    AlertState::Pending => {
                        self.state = AlertState::Inactive;
                        Some(Transition::Cleared)
                    }
                    AlertState::Firing => {
                        let held = self.last_held.unwrap_or(now);
                        if now.duration_since(held).unwrap_or_default() < timing.keep_firing_for {
                            return None;
                        }
                        self.state = AlertState::Inactive;
                        self.fired_at = None;
                        Some(Transition::Resolved)
                    }
                }
            }
        }
    }

    /// Forgets a pending run (a mute began): the `for` and the count start again. A
    /// firing alert stays firing.
    pub fn reset_pending(&mut self) -> Option<Transition> {
        self.in_a_row = 0;
        self.active_since = None;
        if self.state == AlertState::Pending {
            self.state = AlertState::Inactive;
            return Some(Transition::Cleared);
        }
        None
    }
}
