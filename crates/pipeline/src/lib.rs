//! Promote one build through environments: dev → staging → production, each taking
//! a version only when its gates hold.
//!
//! - [`PipelineConfig`]: `[pipeline]`, each environment's source and gates.
//! - [`gate::check`]: the gates in order: `promoted` (the source's last deployment of
//!   the version succeeded and its watch window passed, read from its journals and
//!   [`WatchRecord`]s), `soak`, `checks`, `load` (shipgate-load as a library, its
//!   reports kept with the promotion), `approval` ([`Approvals`]: four eyes, a wait
//!   timer from the approval, an expiry; or a GitHub environment's reviewers). The
//!   first that fails stops the promotion and says why; an emergency skips only
//!   the gates the stage names as skippable.
//! - [`WatchSetup`]: `[watch]` wired to shipgate-deploy (a rollback rule switches
//!   back, alerts are held during the deployment's own switch), so that a watch
//!   window is a deployment's last step and leaves its verdict on record.
//! - [`prepare`]: an operation the operator asks for ([`Intent`]: deploy, resume,
//!   abort, roll back) resolved to its release and plan, after the guards of a
//!   protected environment: a deployment whose rollback cannot be proved, or an
//!   application rollback the database's migrations stand in the way of, is refused
//!   before anything changes.
//! - [`layers`]: `[checks]` as a deployment's pre and post steps, `[notify]` for its
//!   announcements.
//!
//! ```no_run
//! # async fn demo(doc: shipgate_config::Document) -> Result<(), shipgate_pipeline::Error> {
//! use std::path::Path;
//! use shipgate_pipeline::{PipelineConfig, gate};
//!
//! let deploy: shipgate_deploy::DeployConfig = doc.section("deploy").unwrap().unwrap();
//! let pipeline: PipelineConfig = doc.section("pipeline").unwrap().unwrap();
//! let promote = gate::Promote {
//!     doc: &doc, base: Path::new("."), deploy: &deploy, pipeline: &pipeline,
//!     from: "staging", to: "production", version: "v1.76.0", by: "alice",
//!     emergency: None, github_actions: false, cancel: Default::default(), progress: None,
//! };
//! let gates = gate::check(&promote, &shipgate_watch::SystemClock).await?;
//! for f in gates.findings() {
//!     println!("{}: {:?} {}", f.name, f.outcome, f.message);
//! }
//! assert!(gates.passed(), "a gate stopped the promotion");
//! # Ok(()) }
//! ```

pub mod approval;
mod config;
mod error;
pub mod gate;
mod guard;
pub mod layers;
mod operation;
mod record;
mod run;
mod watch;
mod watch_hooks;

use std::time::SystemTime;

pub use approval::{Approvals, Request, Standing};
pub use config::{ApprovalConfig, Approver, GateConfig, GateKind, PipelineConfig, StageConfig};
pub use error::{Error, ErrorKind};
pub use operation::{Intent, Prepared, RollbackOf, Target, prepare};
pub use record::WatchRecord;
pub use run::{Ask, Done, Operator, Planned, Ready, plan};
pub use watch::WatchSetup;
pub use watch_hooks::{DeployMute, DeployRollback};

/// `20261203T101500123Z-v2`: sortable by time, unique enough per environment.
pub(crate) fn stamp_id(now: SystemTime, what: &str) -> String {
    let t = humantime::format_rfc3339_millis(now).to_string();
    let compact: String = t.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("{compact}-{what}")
}

/// Whether `id` can name a record file (as a release id can).
pub(crate) fn valid_id(id: &str) -> bool {
    shipgate_deploy::valid_release_id(id)
}
