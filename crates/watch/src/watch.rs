//! The loop: sample each source when it is due, feed the rules, record, notify, roll
//! back once, until the window ends or the token is cancelled.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::json;
use shipgate_http::HttpClient;
use shipgate_notify::{Event, EventKind, Notifier, Severity, Status as NoticeStatus};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::alert::Transition;
use crate::config::WatchConfig;
use crate::evaluate::{Change, Evaluator};
use crate::history::History;
use crate::source::Source;
use crate::status::Status;
use crate::time::Clock;
use crate::window::{RollbackRecord, RollbackResult, Window};

/// A boxed future, for the hooks' object-safe traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Any error a hook returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Undoes the deployment being watched. shipgate-deploy's rollback implements it in
/// `shipgate-watch`; embedders bring their own.
pub trait Rollback: Send + Sync {
    /// Rolls back; `Ok` says what it did (`switched back to v41`).
    fn rollback<'a>(&'a self, reason: &'a str) -> BoxFuture<'a, Result<String, BoxError>>;
}

/// Holds alerts while something we caused is under way (a deployment's switch).
pub trait Mute: Send + Sync {
    /// Why alerts are held now, or `None`.
    fn muted(&self) -> Option<String>;
}

/// What a watch needs.
pub struct Watch<'a> {
    /// The validated `[watch]`.
    pub config: &'a WatchConfig,
    /// The environment, in notices and the report.
    pub environment: String,
    /// The release watched, in notices.
    pub version: Option<String>,
    /// For HTTP and Prometheus sources.
    pub http: HttpClient,
    /// Wall-clock time.
    pub clock: &'a dyn Clock,
    /// Where alerts go; none: recorded only.
    pub notifier: Option<Notifier>,
    /// Called once when a `rollback` rule fires; none: such rules only notify.
    pub rollback: Option<&'a dyn Rollback>,
    /// Holds alerts while it says so.
    pub mute: Option<&'a dyn Mute>,
    /// Every sample and transition.
    pub history: Option<History>,
    /// Where the status is written; a continuous watch (no length) also reads alert
    /// states back from it on start. A window over a deployment never does: it
    /// judges its release from a clean slate.
    pub state_file: Option<PathBuf>,
    /// When the environment's latest deployment ended: a continuous watch does not
    /// restore alert states saved before it (they were about another release).
    pub deployed_at: Option<SystemTime>,
    /// Stops the watch early (SIGTERM, Ctrl-C).
    pub cancel: CancellationToken,
    /// Serves the watcher's own `/metrics` here while it runs.
    pub metrics: Option<tokio::net::TcpListener>,
}

impl Watch<'_> {
    /// Runs for `length` (none: until cancelled), then reports the window.
    pub async fn run(mut self, length: Option<Duration>) -> Result<Window, Error> {
        let started_wall = self.clock.now();
        let start = Instant::now();
        let deadline = length.map(|l| start + l);
        let sources: Vec<Arc<Source>> = self
            .config
            .sources
            .iter()
            .filter(|(name, _)| self.config.rules.iter().any(|r| &r.source == *name))
            .map(|(name, s)| Arc::new(Source::new(name, s, self.config)))
            .collect();
        let mut eval = Evaluator::new(self.config);
        if length.is_none()
            && let Some(path) = &self.state_file
            && let Some(saved) = Status::read(path)?
        {
            let written = crate::time::rfc3339(saved.updated_at);
            match self.deployed_at {
                Some(deployed) if deployed > saved.updated_at => tracing::warn!(
                    path = %path.display(),
                    "alert states not restored: written at {written}, before the deployment that ended at {}; the rules judge the release serving now from a clean slate",
                    crate::time::rfc3339(deployed)
                ),
                _ => {
                    let firing = if saved.firing.is_empty() {
                        "none firing".to_owned()
                    } else {
                        format!("firing: {}", saved.firing.join(", "))
                    };
                    tracing::warn!(path = %path.display(), "alert states restored from {written} ({firing})");
                    eval.restore(saved.alerts());
                }
            }
        }
        let mut window = Window::new(&self.environment, started_wall);
        window.max_missing = self.config.max_missing;
        let metrics = crate::metrics::Shared::default();
        let stop_serving = self.cancel.child_token();
        if let Some(listener) = self.metrics.take() {
            tokio::spawn(crate::metrics::serve(
                listener,
                metrics.clone(),
                stop_serving.clone(),
            ));
        }
        let _stop = stop_serving.drop_guard();
        let mut next: Vec<Instant> = vec![start; sources.len()];
        let mut was_muted: Option<String> = None;
        loop {
            let due_at = next.iter().min().copied().unwrap_or(start);
            let wake = deadline.map_or(due_at, |d| due_at.min(d));
            tokio::select! {
                () = self.cancel.cancelled() => {
                    // A window stopped before its length has not seen what it is for.
                    if deadline.is_some_and(|d| Instant::now() < d) {
                        window.interrupted = length;
                    }
                    break;
                }
                () = tokio::time::sleep_until(wake) => {}
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            let mut tasks = tokio::task::JoinSet::new();
            for (i, source) in sources.iter().enumerate() {
                if next[i] > now {
                    continue;
                }
                // A sample is stamped with the edge of its interval, as Prometheus
                // stamps a rule evaluation with its scheduled time, not with when the
                // timer woke: `for = 5s` then fires on the sample 5 s after the first,
                // never one later because of a millisecond of jitter.
                let due = next[i];
                next[i] += source.interval();
                if next[i] <= now {
                    next[i] = now + source.interval();
                }
                let (source, http) = (source.clone(), self.http.clone());
                let clock = WallAt(started_wall + due.duration_since(start));
                tasks.spawn(async move { (i, source.sample(&http, &clock).await) });
            }
            let mut samples = Vec::new();
            while let Some(done) = tasks.join_next().await {
                if let Ok(s) = done {
                    samples.push(s);
                }
            }
            samples.sort_by_key(|(i, _)| *i);
            let muted = self.mute.and_then(|m| m.muted());
            let wall = self.clock.now();
            if muted.is_some() != was_muted.is_some() {
                self.log_event(
                    "mute",
                    json!({"at": crate::time::epoch_secs(wall), "muted": muted.is_some(), "reason": muted.clone().or(was_muted.clone())}),
                )?;
                if muted.is_some() {
                    for c in eval.mute_began(wall) {
                        self.record(&c, &mut window)?;
                    }
                }
                was_muted.clone_from(&muted);
            }
            for (_, sample) in &samples {
                metrics
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .sampled(sample);
                if let Some(h) = &mut self.history {
                    h.sample(sample, muted.is_some())?;
                }
                for rule in eval
                    .rules()
                    .iter()
                    .filter(|r| r.config.source == sample.source)
                {
                    let value = rule
                        .levels()
                        .last()
                        .and_then(|(_, c)| sample.readings.get(c.field()))
                        .and_then(crate::Reading::value);
                    let series = window.series.entry(rule.config.name.clone()).or_default();
                    // A continuous watch runs for weeks: keep the newest points only.
                    if series.len() >= SERIES_CAP {
                        series.drain(..SERIES_CAP / 2);
                    }
                    series.push((sample.at, value));
                }
                for change in eval.observe(sample, muted.is_some()) {
                    self.record(&change, &mut window)?;
                    self.notify(&change, &eval);
                    if change.rollback && window.rollback.is_none() {
                        self.roll_back(&change, &mut window).await?;
                    }
                }
            }
            metrics
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .update(&eval);
            if let Some(path) = &self.state_file {
                Status::of(&eval, &self.environment, started_wall, wall, muted.clone())
                    .write(path)?;
            }
            if let Some(n) = &mut self.notifier {
                for d in n.flush_due(self.clock.now()).await {
                    window.delivered(d);
                }
            }
        }
        let ended = self.clock.now();
        if length.is_some() {
            // A window hands its alerts over when it ends: one still firing is
            // resolved as no longer watched here, not left to page until it expires.
            self.hand_over(&eval, ended);
        }
        if let Some(n) = &mut self.notifier {
            for d in n.flush_all(ended).await {
                window.delivered(d);
            }
        }
        if let Some(path) = &self.state_file {
            Status::of(&eval, &self.environment, started_wall, ended, was_muted).write(path)?;
        }
        window.finish(&eval, ended);
        self.log_event("window", window.summary_json())?;
        Ok(window)
    }

    fn record(&mut self, change: &Change, window: &mut Window) -> Result<(), Error> {
        tracing::info!(rule = %change.rule, severity = change.severity.as_str(), transition = ?change.transition, value = ?change.value, "alert");
        if window.changes.len() >= SERIES_CAP {
            window.changes.drain(..SERIES_CAP / 2);
        }
        window.changes.push(change.clone());
        if let Some(h) = &mut self.history {
            h.change(change)?;
        }
        Ok(())
    }

    fn log_event(&mut self, kind: &str, fields: serde_json::Value) -> Result<(), Error> {
        match &mut self.history {
            Some(h) => h.event(kind, fields),
            None => Ok(()),
        }
    }

    fn notify(&mut self, change: &Change, eval: &Evaluator) {
        let status = match change.transition {
            Transition::Fired => NoticeStatus::Firing,
            Transition::Resolved => NoticeStatus::Resolved,
            Transition::Pending | Transition::Cleared => return,
        };
        let Some(notifier) = &mut self.notifier else {
            return;
        };
        let rule = eval.rules().iter().find(|r| r.config.name == change.rule);
        // No value says why: an empty result, the query's error, an unreachable or
        // broken source.
        let why = match eval.stats(&change.rule).and_then(|s| s.last.as_ref()) {
            Some(crate::Reading::NoData { missing, message }) => {
                format!("no data ({}: {message})", missing.as_str())
            }
            _ => "no data".to_owned(),
        };
        let value = change.value.map_or(why, |v| format!("{v}"));
        let mut event = Event::new(
            EventKind::Alert,
            change.severity,
            self.environment.clone(),
            format!("{}: {} (value {value})", change.rule, change.condition),
        );
        event.status = status;
        event.version.clone_from(&self.version);
        event.key = Some(format!(
            "watch/{}/{}/{}",
            self.environment,
            change.rule,
            change.severity.as_str()
        ));
        event.details.insert("rule".to_owned(), change.rule.clone());
        event
            .details
            .insert("condition".to_owned(), change.condition.clone());
        event.details.insert("value".to_owned(), value);
        if let Some(rule) = rule {
            event
                .details
                .insert("source".to_owned(), rule.config.source.clone());
            for (k, v) in &rule.config.labels {
                event.details.insert(format!("label.{k}"), v.clone());
            }
        }
        event.at = crate::time::epoch_secs(change.at) as u64;
        let decision = notifier.submit(event, self.clock.now());
        tracing::debug!(?decision, rule = %change.rule, "alert submitted");
    }

    /// Resolves, with a summary saying so, every alert still firing when a window ends.
    fn hand_over(&mut self, eval: &Evaluator, at: SystemTime) {
        let Some(notifier) = &mut self.notifier else {
            return;
        };
        for (rule, severity) in eval.firing() {
            let mut event = Event::new(
                EventKind::Alert,
                severity,
                self.environment.clone(),
                format!(
                    "{rule}: the watch window ended while it fired; no longer watched by this window"
                ),
            );
            event.status = NoticeStatus::Resolved;
            event.version.clone_from(&self.version);
            event.key = Some(format!(
                "watch/{}/{rule}/{}",
                self.environment,
                severity.as_str()
            ));
            event.details.insert("rule".to_owned(), rule.to_owned());
            event.details.insert(
                "ended_by".to_owned(),
                "the end of the watch window".to_owned(),
            );
            if let Some(r) = eval.rules().iter().find(|r| r.config.name == rule) {
                event
                    .details
                    .insert("source".to_owned(), r.config.source.clone());
                for (k, v) in &r.config.labels {
                    event.details.insert(format!("label.{k}"), v.clone());
                }
            }
            event.at = crate::time::epoch_secs(at) as u64;
            notifier.submit(event, at);
        }
    }

    async fn roll_back(&mut self, change: &Change, window: &mut Window) -> Result<(), Error> {
        let Some(hook) = self.rollback else {
            tracing::warn!(rule = %change.rule, "a rollback rule fired, but no rollback is configured");
            return Ok(());
        };
        let reason = format!(
            "rule `{}` fired: {} ({})",
            change.rule,
            change.condition,
            change
                .value
                .map_or_else(|| "no data".to_owned(), |v| format!("value {v}"))
        );
        tracing::warn!(%reason, "rolling back");
        let result = match hook.rollback(&reason).await {
            Ok(done) => RollbackResult::Done(done),
            Err(e) => RollbackResult::Failed(crate::report_chain(&*e)),
        };
        let ok = matches!(result, RollbackResult::Done(_));
        let at = self.clock.now();
        self.log_event(
            "rollback",
            json!({"at": crate::time::epoch_secs(at), "rule": change.rule, "reason": reason,
                   "ok": ok, "result": match &result { RollbackResult::Done(m) | RollbackResult::Failed(m) => m.clone() }}),
        )?;
        if let Some(n) = &mut self.notifier {
            let (severity, summary) = match &result {
                RollbackResult::Done(done) => {
                    (Severity::Critical, format!("rolled back: {reason}; {done}"))
                }
                RollbackResult::Failed(why) => (
                    Severity::Critical,
                    format!("ROLLBACK FAILED after {reason}: {why}"),
                ),
            };
            let kind = if ok {
                EventKind::RolledBack
            } else {
                EventKind::DeploymentFailed
            };
            let mut event = Event::new(kind, severity, self.environment.clone(), summary);
            event.version.clone_from(&self.version);
            n.submit(event, at);
        }
        window.rollback = Some(RollbackRecord {
            at,
            rule: change.rule.clone(),
            reason,
            result,
        });
        Ok(())
    }
}

/// Points kept per rule for the window's picture (a day of 5 s samples is 17 280).
const SERIES_CAP: usize = 50_000;

/// A fixed time, handed to a sample task so that it needs no borrowed clock.
struct WallAt(SystemTime);

impl Clock for WallAt {
    fn now(&self) -> SystemTime {
        self.0
    }
}
