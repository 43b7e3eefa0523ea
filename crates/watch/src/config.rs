//! The `[watch]` section of shipgate.toml.
//!
//! ```toml
//! [watch]
//! interval = "15s"          # how often each source is sampled (a source may say its own)
//! timeout = "5s"            # a sample that takes longer is a timeout (no data)
//! window = "10m"            # how long `shipgate-watch deployment` watches by default
//! history = ".shipgate/watch/history.jsonl"
//! state_file = ".shipgate/watch/state.json"
//! metrics = "127.0.0.1:9464"   # the watcher's own /metrics
//!
//! [watch.sources.api]
//! type = "http"
//! url = "http://127.0.0.1:8000/health"
//! interval = "5s"
//!
//! [watch.sources.prom]
//! type = "prometheus"
//! url = "http://127.0.0.1:9090"
//! queries.error_rate = 'sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))'
//!
//! [[watch.rules]]
//! name = "health"
//! source = "api"
//! when = "status != 200"
//! consecutive = 3
//! action = "rollback"
//!
//! [[watch.rules]]
//! name = "error rate"
//! source = "prom"
//! warning = "error_rate > 1%"
//! critical = "error_rate > 5%"
//! for = "2m"
//! action = "rollback"
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shipgate_config::Secret;
use shipgate_http::Assertion;
use shipgate_notify::Severity;

use crate::condition::Condition;
use crate::{Error, ErrorKind};

fn fifteen_seconds() -> Duration {
    Duration::from_secs(15)
}
fn five_seconds() -> Duration {
    Duration::from_secs(5)
}
fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}
fn ten_mib() -> u64 {
    10 * 1024 * 1024
}
fn one() -> u32 {
    1
}
fn five_percent() -> f64 {
    0.05
}

/// `"5%"`, or a fraction from 0 to 1.
fn share<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        Number(f64),
    }
    let value = match Given::deserialize(d)? {
        Given::Number(n) => n,
        Given::Text(t) => {
            let Some(n) = t.trim().strip_suffix('%') else {
                return Err(serde::de::Error::custom(format!(
                    "{t:?}: write a percentage (\"5%\") or a fraction from 0 to 1"
                )));
            };
            n.trim()
                .parse::<f64>()
                .map_err(|_| serde::de::Error::custom(format!("{t:?}: not a percentage")))?
                / 100.0
        }
    };
    if !(0.0..=1.0).contains(&value) {
        return Err(serde::de::Error::custom(format!(
            "{value}: a share lies between 0 (no sample may lack data) and 100%"
        )));
    }
    Ok(value)
}

/// The whole `[watch]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// How often a source is sampled unless it says otherwise.
    #[serde(default = "fifteen_seconds", with = "shipgate_config::duration")]
    pub interval: Duration,
    /// A sample that takes longer is a timeout (no data), unless the source says otherwise.
    #[serde(default = "five_seconds", with = "shipgate_config::duration")]
    pub timeout: Duration,
    /// How long a deployment is watched unless `--for` says otherwise.
    #[serde(default = "ten_minutes", with = "shipgate_config::duration")]
    pub window: Duration,
    /// Every sample and transition, one JSON object per line (`shipgate.watch-history/v1`).
    #[serde(default)]
    pub history: Option<String>,
    /// The history file is rotated (to `.1`, `.2`, `.3`) when it grows past this.
    #[serde(default = "ten_mib")]
    pub history_max_bytes: u64,
    /// Rule states and last values (`shipgate.watch-status/v1`), rewritten every cycle;
    /// a restarted watcher takes its alerts' states from it.
    #[serde(default)]
    pub state_file: Option<String>,
    /// Where the watcher serves its own `/metrics` (`127.0.0.1:9464`), for Prometheus.
    #[serde(default)]
    pub metrics: Option<String>,
    /// The share of a rule's samples in a window that may lack data, as `"5%"` or a
    /// fraction (`0.05`): a window in which any rule had more missing is inconclusive,
    /// never passed. Default 5% (of 15 samples, none; of 60, three).
    #[serde(default = "five_percent", deserialize_with = "share")]
    pub max_missing: f64,
    /// Where the data comes from, by name.
    pub sources: BTreeMap<String, SourceConfig>,
    /// The rules, evaluated on every sample of their source.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

/// One source of samples.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceConfig {
    /// An HTTP probe: gives `status` (0 when nothing answered), `latency` (seconds) and
    /// `up` (1 when the status is the expected one and every assertion holds).
    Http {
        /// What to GET.
        url: String,
        /// The status that counts as up (default 200).
        #[serde(default = "ok")]
        expect_status: u16,
        /// Assertions on the body, as the checks write them (`json $.status == "ok"`).
        #[serde(default)]
        assert: Vec<Assertion>,
        /// Sampling interval (default: `[watch] interval`).
        #[serde(default, with = "shipgate_config::duration::option")]
        interval: Option<Duration>,
        /// Sample timeout (default: `[watch] timeout`).
        #[serde(default, with = "shipgate_config::duration::option")]
        timeout: Option<Duration>,
    },
    /// PromQL instant queries over Prometheus's HTTP API; each query's name is a field.
    Prometheus {
        /// The server's base URL (a secret: it may carry credentials,
        /// `https://user:password@host/`, sent as Basic auth).
        url: shipgate_config::Secret,
        /// A bearer token (`Authorization: Bearer …`), as Prometheus's own
        /// `authorization` setting sends it.
        #[serde(default)]
        bearer_token: Option<shipgate_config::Secret>,
        /// The PEM file of the CA that signed the server's certificate (relative to
        /// the configuration's directory), for a server with a private certificate.
        #[serde(default)]
        ca_file: Option<std::path::PathBuf>,
        /// Field name → PromQL. Each must give one series or a scalar.
        queries: BTreeMap<String, String>,
        /// Sampling interval.
        #[serde(default, with = "shipgate_config::duration::option")]
        interval: Option<Duration>,
        /// Sample timeout.
        #[serde(default, with = "shipgate_config::duration::option")]
        timeout: Option<Duration>,
    },
    /// This host: `cpu`, `memory` and `disk` (ratios 0–1), `load1`, `load5`, `load15`.
    Host {
        /// The mount point whose use is `disk` (default `/`).
        #[serde(default = "root")]
        disk: String,
        /// Sampling interval.
        #[serde(default, with = "shipgate_config::duration::option")]
        interval: Option<Duration>,
        /// Sample timeout.
        #[serde(default, with = "shipgate_config::duration::option")]
        timeout: Option<Duration>,
    },
    /// PostgreSQL: `connections`, `max_connections`, `connections_ratio`, and
    /// `slow_queries` (active statements running longer than `slow`).
    Postgres {
        /// The connection URL (a secret).
        url: Secret,
        /// What counts as a slow query (default 1s).
        #[serde(default = "second", with = "shipgate_config::duration")]
        slow: Duration,
        /// Sampling interval.
        #[serde(default, with = "shipgate_config::duration::option")]
        interval: Option<Duration>,
        /// Sample timeout.
        #[serde(default, with = "shipgate_config::duration::option")]
        timeout: Option<Duration>,
    },
    /// MariaDB or MySQL: `connections`, `max_connections`, `connections_ratio`, and
    /// `slow_queries` (statements running longer than `slow`).
    Mariadb {
        /// The connection URL (a secret).
        url: Secret,
        /// What counts as a slow query (default 1s).
        #[serde(default = "second", with = "shipgate_config::duration")]
        slow: Duration,
        /// Sampling interval.
        #[serde(default, with = "shipgate_config::duration::option")]
        interval: Option<Duration>,
        /// Sample timeout.
        #[serde(default, with = "shipgate_config::duration::option")]
        timeout: Option<Duration>,
    },
    /// AWS CloudWatch: each alarm's field is 1 while it is in ALARM and 0 while OK
    /// (no data while INSUFFICIENT_DATA); each metric's, its newest datapoint (through
    /// GetMetricData). Needs shipgate-watch's `cloudwatch` feature.
    Cloudwatch {
        /// Field name → alarm name.
        #[serde(default)]
        alarms: BTreeMap<String, String>,
        /// Field name → metric.
        #[serde(default)]
        metrics: BTreeMap<String, CloudwatchMetric>,
        /// The region (default: `AWS_REGION`, then the profile's).
        #[serde(default)]
        region: Option<String>,
        /// A profile of `~/.aws/config`.
        #[serde(default)]
        profile: Option<String>,
        /// Another endpoint (LocalStack, moto_server).
        #[serde(default)]
        endpoint_url: Option<String>,
        /// Sampling interval.
        #[serde(default, with = "shipgate_config::duration::option")]
        interval: Option<Duration>,
        /// Sample timeout.
        #[serde(default, with = "shipgate_config::duration::option")]
        timeout: Option<Duration>,
    },
    /// Redis: `memory` (bytes used), `maxmemory`, `memory_ratio` (no data when
    /// `maxmemory` is 0, unlimited), `clients`.
    Redis {
        /// The connection URL (a secret).
        url: Secret,
        /// Sampling interval.
        #[serde(default, with = "shipgate_config::duration::option")]
        interval: Option<Duration>,
        /// Sample timeout.
        #[serde(default, with = "shipgate_config::duration::option")]
        timeout: Option<Duration>,
    },
}

/// One CloudWatch metric: e.g. `{ namespace = "AWS/ECS", metric = "CPUUtilization",
/// dimensions = { ClusterName = "shop", ServiceName = "shop-web" } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudwatchMetric {
    /// `AWS/ECS`, `AWS/ApplicationELB`, …
    pub namespace: String,
    /// `CPUUtilization`, …
    pub metric: String,
    /// Its dimensions.
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    /// `Average` (default), `Sum`, `Maximum`, `p99`, …
    #[serde(default = "average")]
    pub stat: String,
    /// The period each datapoint sums up (default 1m, CloudWatch's finest for most
    /// AWS metrics).
    #[serde(default = "minute", with = "shipgate_config::duration")]
    pub period: Duration,
}

fn average() -> String {
    "Average".to_owned()
}
fn minute() -> Duration {
    Duration::from_secs(60)
}

fn ok() -> u16 {
    200
}
fn root() -> String {
    "/".to_owned()
}
fn second() -> Duration {
    Duration::from_secs(1)
}

impl SourceConfig {
    /// `http`, `prometheus`, ...
    pub fn type_name(&self) -> &'static str {
        match self {
            SourceConfig::Http { .. } => "http",
            SourceConfig::Prometheus { .. } => "prometheus",
            SourceConfig::Host { .. } => "host",
            SourceConfig::Postgres { .. } => "postgres",
            SourceConfig::Mariadb { .. } => "mariadb",
            SourceConfig::Redis { .. } => "redis",
            SourceConfig::Cloudwatch { .. } => "cloudwatch",
        }
    }

    /// The fields its samples carry.
    pub fn fields(&self) -> Vec<String> {
        let fixed: &[&str] = match self {
            SourceConfig::Http { .. } => &["status", "latency", "up"],
            SourceConfig::Prometheus { queries, .. } => {
                return queries.keys().cloned().collect();
            }
            SourceConfig::Host { .. } => &["cpu", "memory", "disk", "load1", "load5", "load15"],
            SourceConfig::Postgres { .. } | SourceConfig::Mariadb { .. } => &[
                "connections",
                "max_connections",
                "connections_ratio",
                "slow_queries",
            ],
            SourceConfig::Redis { .. } => &["memory", "maxmemory", "memory_ratio", "clients"],
            SourceConfig::Cloudwatch {
                alarms, metrics, ..
            } => {
                return alarms.keys().chain(metrics.keys()).cloned().collect();
            }
        };
        fixed.iter().map(|s| (*s).to_owned()).collect()
    }

    /// `(interval, timeout)`, its own or the section's.
    pub fn timing(&self, section: &WatchConfig) -> (Duration, Duration) {
        let (i, t) = match self {
            SourceConfig::Http {
                interval, timeout, ..
            }
            | SourceConfig::Prometheus {
                interval, timeout, ..
            }
            | SourceConfig::Host {
                interval, timeout, ..
            }
            | SourceConfig::Postgres {
                interval, timeout, ..
            }
            | SourceConfig::Mariadb {
                interval, timeout, ..
            }
            | SourceConfig::Redis {
                interval, timeout, ..
            }
            | SourceConfig::Cloudwatch {
                interval, timeout, ..
            } => (*interval, *timeout),
        };
        (i.unwrap_or(section.interval), t.unwrap_or(section.timeout))
    }
}

/// What a firing rule does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Send the alert (firing, then resolved) through `[notify]`.
    #[default]
    Notify,
    /// Notify, and roll the deployment back (once per window) when the rule's most
    /// severe level fires.
    Rollback,
}

/// What a sample without data (an empty result, a query error, a probe timeout) means
/// for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoDataPolicy {
    /// As if the condition held: missing data is never a pass (the default of
    /// `rollback` rules).
    Alert,
    /// As if it did not hold (Prometheus's own behaviour).
    Ok,
    /// Changes nothing: the alert stays as it was (the default of `notify` rules).
    Keep,
}

/// One rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Its name: in alerts, the history and the report.
    pub name: String,
    /// The source whose samples it reads.
    pub source: String,
    /// What an empty result (no series, NaN) means for this rule, when it is not what
    /// `no_data` says: `ok` (an error count with no series is no errors), `alert`,
    /// `keep`.
    #[serde(default)]
    pub empty: Option<NoDataPolicy>,
    /// One condition, at `severity`.
    #[serde(default)]
    pub when: Option<Condition>,
    /// The severity of `when` (default: `critical` for rollback rules, `warning` otherwise).
    #[serde(default)]
    pub severity: Option<Severity>,
    /// A warning-level condition.
    #[serde(default)]
    pub warning: Option<Condition>,
    /// A critical-level condition.
    #[serde(default)]
    pub critical: Option<Condition>,
    /// How long the condition must hold before the alert fires (Prometheus's `for`).
    #[serde(default, rename = "for", with = "shipgate_config::duration::option")]
    pub hold_for: Option<Duration>,
    /// How many samples in a row must meet it before the alert fires (default 1).
    #[serde(default = "one")]
    pub consecutive: u32,
    /// A firing alert stays firing this long after the condition stops holding.
    #[serde(default, with = "shipgate_config::duration::option")]
    pub keep_firing_for: Option<Duration>,
    /// What a sample without data means.
    #[serde(default)]
    pub no_data: Option<NoDataPolicy>,
    /// `notify` (default) or `rollback`.
    #[serde(default)]
    pub action: Action,
    /// Extra labels, sent with the alert.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl RuleConfig {
    /// Its levels, least severe first.
    pub fn levels(&self) -> Vec<(Severity, &Condition)> {
        let mut out = Vec::new();
        if let Some(c) = &self.when {
            let default = if self.action == Action::Rollback {
                Severity::Critical
            } else {
                Severity::Warning
            };
            out.push((self.severity.unwrap_or(default), c));
        }
        if let Some(c) = &self.warning {
            out.push((Severity::Warning, c));
        }
        if let Some(c) = &self.critical {
            out.push((Severity::Critical, c));
        }
        out.sort_by_key(|(s, _)| *s);
        out
    }

    /// The no-data policy in force.
    pub fn no_data_policy(&self) -> NoDataPolicy {
        self.no_data.unwrap_or(match self.action {
            Action::Rollback => NoDataPolicy::Alert,
            Action::Notify => NoDataPolicy::Keep,
        })
    }
}

impl WatchConfig {
    /// Makes the files it names (a Prometheus source's `ca_file`) relative to
    /// `base`, the configuration's directory.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        for source in self.sources.values_mut() {
            if let SourceConfig::Prometheus {
                ca_file: Some(f), ..
            } = source
            {
                *f = base.join(&*f);
            }
        }
    }

    /// Every rule names a source that exists and fields that source gives, has at
    /// least one condition and no two at one severity, and a unique name.
    pub fn validate(&self) -> Result<(), Error> {
        let fail = |m: String| Err(Error::new(ErrorKind::Config, m));
        if self.rules.is_empty() {
            return fail("[watch] has no rules: add at least one [[watch.rules]]".to_owned());
        }
        for (name, source) in &self.sources {
            let (interval, _) = source.timing(self);
            if interval.is_zero() {
                return fail(format!("source `{name}`: the interval must be above zero"));
            }
            if let SourceConfig::Prometheus { queries, .. } = source
                && queries.is_empty()
            {
                return fail(format!(
                    "source `{name}`: a prometheus source needs at least one entry in `queries`"
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let which = format!("rule {} (`{}`)", i + 1, rule.name);
            if !seen.insert(rule.name.as_str()) {
                return fail(format!("{which}: another rule has the same name"));
            }
            let Some(source) = self.sources.get(&rule.source) else {
                let known: Vec<&str> = self.sources.keys().map(String::as_str).collect();
                return fail(format!(
                    "{which}: source `{}` is not in [watch.sources] (sources: {})",
                    rule.source,
                    known.join(", ")
                ));
            };
            let levels = rule.levels();
            if levels.is_empty() {
                return fail(format!(
                    "{which}: give a condition: `when`, `warning` or `critical`"
                ));
            }
            if levels.windows(2).any(|w| w[0].0 == w[1].0) {
                return fail(format!("{which}: two conditions at the same severity"));
            }
            let fields = source.fields();
            for (_, c) in &levels {
                if !fields.iter().any(|f| f == c.field()) {
                    return fail(format!(
                        "{which}: `{}` reads `{}`, which source `{}` ({}) does not give (it gives: {})",
                        c,
                        c.field(),
                        rule.source,
                        source.type_name(),
                        fields.join(", ")
                    ));
                }
            }
            if rule.consecutive == 0 {
                return fail(format!("{which}: `consecutive` must be at least 1"));
            }
        }
        Ok(())
    }
}
