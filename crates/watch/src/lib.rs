//! Watch a deployment after it lands, fire alerts the way Prometheus does, and roll
//! back on their verdict — with missing data as a verdict of its own, never a pass.
//!
//! - [`WatchConfig`]: the `[watch]` section: sources, each sampled on its own
//!   interval with a timeout ([`SourceConfig`]: HTTP probes, PromQL instant queries,
//!   this host, PostgreSQL, MariaDB, Redis), and rules ([`RuleConfig`]) with a
//!   [`Condition`] per severity (`error_rate > 5%`, `p95 > 500ms`), `for`,
//!   `consecutive`, `keep_firing_for`, a [`NoDataPolicy`] and an [`Action`].
//! - [`Alert`]: one rule at one severity, inactive → pending → firing → resolved; a
//!   pure state machine over wall-clock times passed in.
//! - [`Evaluator`]: every rule's alerts, moved by [`Sample`]s.
//! - [`Watch`]: the loop; firing and resolved alerts go to a shipgate-notify
//!   [`Notifier`](shipgate_notify::Notifier) (which dedups, groups and cools down), a
//!   firing `rollback` rule calls the [`Rollback`] hook once, a [`Mute`] holds alerts
//!   while a deployment's own switch is under way; every sample and transition goes
//!   to the [`History`], the [`Status`] file is rewritten each cycle (and read back
//!   on restart).
//! - [`Window`]: the verdict ([`Verdict`]: passed, failed, inconclusive) as a
//!   shipgate-report `Report`, and [`Window::html`], a self-contained page of each
//!   rule's values against its limits with its transitions and the rollback.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use shipgate_watch::{Evaluator, Reading, Sample, Transition, WatchConfig};
//!
//! let config: WatchConfig = toml::from_str(r#"
//!     sources.api = { type = "http", url = "http://127.0.0.1:8000/health" }
//!     [[rules]]
//!     name = "health"
//!     source = "api"
//!     when = "status != 200"
//!     consecutive = 3
//!     action = "rollback"
//! "#).unwrap();
//! config.validate().unwrap();
//! let mut eval = Evaluator::new(&config);
//! let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
//! let sample = |i: u64, status: f64| Sample {
//!     source: "api".into(),
//!     at: t0 + Duration::from_secs(5 * i),
//!     took: Duration::from_millis(3),
//!     readings: [("status".to_owned(), Reading::Value(status))].into(),
//! };
//! assert_eq!(eval.observe(&sample(0, 502.0), false)[0].transition, Transition::Pending);
//! assert!(eval.observe(&sample(1, 502.0), false).is_empty());
//! let fired = eval.observe(&sample(2, 502.0), false);
//! assert_eq!(fired[0].transition, Transition::Fired);
//! assert!(fired[0].rollback, "the third failure in a row asks for the rollback");
//! ```

mod alert;
mod condition;
mod config;
mod error;
mod evaluate;
mod history;
mod html;
mod metrics;
mod sample;
pub mod source;
mod status;
mod time;
mod watch;
mod window;

pub use alert::{Alert, AlertState, Observation, Timing, Transition};
pub use condition::{Condition, ConditionError, Op};
pub use config::{Action, NoDataPolicy, RuleConfig, SourceConfig, WatchConfig};
pub use error::{Error, ErrorKind};
pub use evaluate::{Change, Evaluator, Rule, RuleStats};
pub use history::{HISTORY_SCHEMA, History};
pub use sample::{Missing, Reading, Sample};
pub use status::{AlertStatus, RuleStatus, STATUS_SCHEMA, Status};
pub use time::{Clock, SystemClock, TokioClock, epoch_secs, from_epoch_secs, rfc3339};
pub use watch::{BoxError, BoxFuture, Mute, Rollback, Watch};
pub use window::{DeliveryRecord, RollbackRecord, RollbackResult, RuleWindow, Verdict, Window};

/// An error and its causes on one line, `a: b: c`.
pub(crate) fn report_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}
