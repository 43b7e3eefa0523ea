//! Load generation with honest percentiles.
//!
//! A [`Plan`] (from `[load]`, see [`LoadConfig`], or built in Rust with [`Class`] and
//! [`Action`], where a task can be any async function) runs in an [`Engine`]:
//!
//! - **Closed model** (Locust): user classes by `weight` or `fixed_count`, dealt out in
//!   a smooth weighted round-robin so the ratios hold exactly at every user count;
//!   tasks by weight (the same way) or in sequence; `on_start`/`on_stop`; think time
//!   (constant, between, pacing, throughput); stages of user counts with spawn rates;
//!   a graceful stop (users finish their task and run `on_stop`), then a hard stop.
//! - **Open model** (k6's arrival rates, wrk2's `-R`): iterations start on a fixed
//!   schedule whatever the target does; each sample keeps its latency from the actual
//!   send and from the *intended* start (coordinated-omission corrected); an iteration
//!   that finds every virtual user busy is counted as dropped.
//!
//! Each virtual user owns a `shipgate-http` [`Session`](shipgate_http::Session): its own
//! keep-alive connections, one `send` and one `recv` per plain HTTP/1.1 request.
//! Every request is recorded into per-endpoint HDR histograms (`shipgate-stats`),
//! sharded so workers rarely contend; [`LoadReport`] turns the result into thresholds'
//! verdicts, a console table, a JSON summary and Locust-compatible CSV files.
//! [`Progress`] reads a running engine for a progress bar. For a distributed run, each
//! generator's JSON summary is read back with [`read_summary`] and the results merged
//! exactly with [`RunResult::merge`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use shipgate_load::{Engine, Plan, LoadReport};
//! # let config: shipgate_load::LoadConfig = unimplemented!();
//! let plan = Plan::from_config(&config)?;
//! let client = shipgate_http::HttpClient::new(&Default::default())?;
//! let engine = Engine::new(plan.clone(), client);
//! let result = engine.run(tokio_util::sync::CancellationToken::new()).await;
//! let report = LoadReport::new(&plan, &result);
//! println!("{}", report.table());
//! # Ok(()) }
//! ```

mod config;
mod engine;
mod error;
mod files;
mod html;
mod merge;
mod plan;
mod progress;
mod report;
mod shape;

pub use config::{
    LoadConfig, Overrides, RateStageConfig, ShapeConfig, StageConfig, TaskConfig, ThinkConfig,
    UserConfig,
};
pub use engine::{Engine, Live, RunResult, SmokeResult, TaskFailed, smoke};
pub use error::{Error, ErrorKind};
pub use files::Files;
pub use merge::{GeneratorSummary, merge_files, merge_summaries, read_summary};
pub use plan::{Action, Class, Plan, Shape, Stage, TaskError, TaskFn, parse_thresholds};
pub use progress::{Progress, Tick, run_with_progress};
pub use report::{JSON_SCHEMA, LoadReport};
