//! The watcher's own `/metrics`, in Prometheus's text format, so a real Prometheus can
//! scrape the watcher: each alert's state, each rule's last value, samples and
//! samples without data per source, and how long samples take.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use crate::alert::AlertState;
use crate::evaluate::Evaluator;
use crate::sample::{Reading, Sample};

#[derive(Debug, Default)]
struct PerSource {
    samples: u64,
    no_data: BTreeMap<&'static str, u64>,
    seconds: f64,
}

/// What `/metrics` shows; updated by the loop, read by the server.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    sources: BTreeMap<String, PerSource>,
    text: String,
}

/// Shared between the loop and the server.
pub(crate) type Shared = Arc<Mutex<Metrics>>;

impl Metrics {
    pub(crate) fn sampled(&mut self, sample: &Sample) {
        let s = self.sources.entry(sample.source.clone()).or_default();
        s.samples += 1;
        s.seconds += sample.took.as_secs_f64();
        for r in sample.readings.values() {
            if let Reading::NoData { missing, .. } = r {
                *s.no_data.entry(missing.as_str()).or_default() += 1;
            }
        }
    }

    /// Renders the text once per cycle, so a scrape only copies it.
    pub(crate) fn update(&mut self, eval: &Evaluator) {
        let mut out = String::new();
        out.push_str("# HELP shipgate_watch_alert_state 0 inactive, 1 pending, 2 firing.\n# TYPE shipgate_watch_alert_state gauge\n");
        for ((rule, severity), alert) in eval.alerts() {
            let n = match alert.state {
                AlertState::Inactive => 0,
                AlertState::Pending => 1,
                AlertState::Firing => 2,
            };
            let _ = writeln!(
                out,
                "shipgate_watch_alert_state{{rule=\"{}\",severity=\"{}\"}} {n}",
                escape(rule),
                severity.as_str()
            );
        }
        out.push_str("# HELP shipgate_watch_rule_value The last value of each rule's field.\n# TYPE shipgate_watch_rule_value gauge\n");
        for rule in eval.rules() {
            if let Some(v) = eval
                .stats(&rule.config.name)
                .and_then(|s| s.last.as_ref())
                .and_then(Reading::value)
            {
                let _ = writeln!(
                    out,
                    "shipgate_watch_rule_value{{rule=\"{}\"}} {v}",
                    escape(&rule.config.name)
                );
            }
        }
        out.push_str("# HELP shipgate_watch_samples_total Samples taken, by source.\n# TYPE shipgate_watch_samples_total counter\n");
        for (name, s) in &self.sources {
            let _ = writeln!(
                out,
                "shipgate_watch_samples_total{{source=\"{}\"}} {}",
                escape(name),
                s.samples
            );
        }
        out.push_str("# HELP shipgate_watch_no_data_total Readings without a value, by source and reason.\n# TYPE shipgate_watch_no_data_total counter\n");
        for (name, s) in &self.sources {
            for (missing, n) in &s.no_data {
                let _ = writeln!(
                    out,
                    "shipgate_watch_no_data_total{{source=\"{}\",missing=\"{missing}\"}} {n}",
                    escape(name)
                );
            }
        }
        out.push_str("# HELP shipgate_watch_sample_seconds_total Time spent sampling, by source.\n# TYPE shipgate_watch_sample_seconds_total counter\n");
        for (name, s) in &self.sources {
            let _ = writeln!(
                out,
                "shipgate_watch_sample_seconds_total{{source=\"{}\"}} {}",
                escape(name),
                s.seconds
            );
        }
        self.text = out;
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Serves `GET /metrics` on `listener` until the token is cancelled.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Shared,
    cancel: tokio_util::sync::CancellationToken,
) {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let text = shared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .text
                .clone();
            async move { ([("content-type", "text/plain; version=0.0.4")], text) }
        }),
    );
    let _ = axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await;
}
