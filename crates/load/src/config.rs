//! The `[load]` section of shipgate.toml: the locustfile equivalent.
//!
//! ```toml
//! [load]
//! host = "${BASE_URL}"              # the `{{host}}` variable in requests
//! graceful_stop = "30s"             # users finish their task, then a hard stop
//! thresholds = ["p95 < 500ms", "error_rate < 1%", "rps > 100"]
//! shape = { type = "stages", stages = [
//!   { users = 100, duration = "2m", spawn_rate = 10 },
//!   { users = 300, duration = "2m", spawn_rate = 20 },
//! ] }
//!
//! [[load.users]]
//! name = "browsing"
//! weight = 50                       # or fixed_count = 2
//! think = { between = ["1s", "3s"] }
//! [[load.users.tasks]]
//! weight = 3
//! request = { name = "home", url = "{{host}}/" }
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use shipgate_http::Step;

fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

/// The whole `[load]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadConfig {
    /// The target's base URL, available to requests as `{{host}}`.
    #[serde(default)]
    pub host: Option<String>,
    /// More `{{name}}` variables.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Variables holding secrets (a load-test account's password, a token): usable like
    /// `vars`, masked in the console, every report and the logs.
    #[serde(default)]
    pub secrets: BTreeMap<String, shipgate_config::Secret>,
    /// How users come and go, or how fast iterations arrive.
    pub shape: ShapeConfig,
    /// After the shape ends, users get this long to finish their task; then they are stopped.
    #[serde(default = "thirty_seconds", with = "shipgate_config::duration")]
    pub graceful_stop: Duration,
    /// Conditions that decide the exit code (`p95 < 500ms`, `"GET /": error_rate < 1%`).
    #[serde(default)]
    pub thresholds: Vec<String>,
    /// Request timeout.
    #[serde(default = "thirty_seconds", with = "shipgate_config::duration")]
    pub timeout: Duration,
    /// User classes.
    pub users: Vec<UserConfig>,
}

/// What a command line may change in a `[load]` section. Applied to the section
/// before it is resolved into a [`Plan`](crate::Plan), so the result is validated once,
/// as if the file had said it.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces `host`.
    pub host: Option<String>,
    /// Replaces the shape.
    pub shape: Option<ShapeConfig>,
    /// Added to the section's thresholds.
    pub thresholds: Vec<String>,
}

impl LoadConfig {
    /// A load test without a file: one user class sending `GET url` with no think
    /// time, in `shape` (as `oha URL` or `hey URL`).
    pub fn single_get(url: &str, shape: ShapeConfig) -> Result<Self, shipgate_http::Error> {
        Ok(Self {
            host: None,
            vars: BTreeMap::new(),
            secrets: BTreeMap::new(),
            shape,
            graceful_stop: thirty_seconds(),
            thresholds: Vec::new(),
            timeout: thirty_seconds(),
            users: vec![UserConfig {
                name: "get".to_owned(),
                weight: None,
                fixed_count: None,
                think: ThinkConfig::default(),
                sequential: false,
                on_start: Vec::new(),
                on_stop: Vec::new(),
                tasks: vec![TaskConfig {
                    weight: 1,
                    request: Step::get(url)?,
                }],
            }],
        })
    }

    /// The section with `overrides` applied.
    pub fn with(mut self, overrides: Overrides) -> Self {
        if let Some(host) = overrides.host {
            self.host = Some(host);
        }
        if let Some(shape) = overrides.shape {
            self.shape = shape;
        }
        self.thresholds.extend(overrides.thresholds);
        self
    }
}

/// One stage of a closed-model shape.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// Users to reach and hold.
    pub users: u32,
    /// How long this stage lasts.
    #[serde(with = "shipgate_config::duration")]
    pub duration: Duration,
    /// Users started (or stopped) per second on the way to `users`.
    #[serde(default = "ten")]
    pub spawn_rate: f64,
}

fn ten() -> f64 {
    10.0
}

/// One stage of an open-model shape: the rate moves linearly to `rate` over `duration`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStageConfig {
    /// Iterations per second at the end of the stage.
    pub rate: f64,
    /// How long the stage lasts.
    #[serde(with = "shipgate_config::duration")]
    pub duration: Duration,
}

/// How load is applied.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ShapeConfig {
    /// A fixed number of users for a duration (closed model).
    Constant {
        /// Users.
        users: u32,
        /// How long.
        #[serde(with = "shipgate_config::duration")]
        duration: Duration,
        /// Users started per second.
        #[serde(default = "ten")]
        spawn_rate: f64,
    },
    /// Stages of user counts (closed model): Locust's step shapes.
    Stages {
        /// The stages, in order.
        stages: Vec<StageConfig>,
    },
    /// Iterations start on a fixed schedule whatever the target does (open model:
    /// k6's constant/ramping arrival rate, wrk2's `-R`).
    Arrival {
        /// Iterations per second (the starting rate when `stages` are given).
        rate: f64,
        /// How long at `rate` (ignored when `stages` are given).
        #[serde(default, with = "shipgate_config::duration::option")]
        duration: Option<Duration>,
        /// Ramps from the previous rate.
        #[serde(default)]
        stages: Vec<RateStageConfig>,
        /// Virtual users allocated up front; an iteration that finds none idle is dropped.
        #[serde(default = "hundred")]
        max_vus: u32,
    },
}

fn hundred() -> u32 {
    100
}

/// Pauses between a user's tasks.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ThinkConfig {
    /// No pause.
    #[default]
    None,
    /// The same pause every time: `{ constant = "1s" }`.
    Constant(#[serde(with = "shipgate_config::duration")] Duration),
    /// A pause drawn between two durations: `{ between = ["1s", "3s"] }`.
    Between(#[serde(with = "pair")] (Duration, Duration)),
    /// A task starts every period at most (Locust's constant_pacing): `{ pacing = "2s" }`.
    Pacing(#[serde(with = "shipgate_config::duration")] Duration),
    /// Tasks per second per user (Locust's constant_throughput): `{ throughput = 0.5 }`.
    Throughput(f64),
}

mod pair {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, de};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<(Duration, Duration), D::Error> {
        let [a, b] = <[String; 2]>::deserialize(d)?;
        let a = shipgate_config::duration::parse(&a).map_err(|e| de::Error::custom(e.to_line()))?;
        let b = shipgate_config::duration::parse(&b).map_err(|e| de::Error::custom(e.to_line()))?;
        if b < a {
            return Err(de::Error::custom("`between` needs the shorter pause first"));
        }
        Ok((a, b))
    }
}

/// A user class.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Its name in reports.
    pub name: String,
    /// Share of the users (with other classes' weights).
    #[serde(default)]
    pub weight: Option<u32>,
    /// Exactly this many users, whatever the total.
    #[serde(default)]
    pub fixed_count: Option<u32>,
    /// Pause between tasks.
    #[serde(default)]
    pub think: ThinkConfig,
    /// Run tasks in order instead of by weight.
    #[serde(default)]
    pub sequential: bool,
    /// Steps each user runs once when it starts (log in).
    #[serde(default)]
    pub on_start: Vec<Step>,
    /// Steps each user runs when it stops (log out).
    #[serde(default)]
    pub on_stop: Vec<Step>,
    /// The tasks.
    pub tasks: Vec<TaskConfig>,
}

/// One task: a request with a weight.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// How often, relative to the class's other tasks.
    #[serde(default = "one")]
    pub weight: u32,
    /// The request, with captures and assertions (see shipgate-http's `Step`).
    pub request: Step,
}

fn one() -> u32 {
    1
}
