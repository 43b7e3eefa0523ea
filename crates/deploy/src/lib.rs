//! Deploy a release, switch to it, and undo it when it is not safe, with a journal
//! that survives a crash.
//!
//! - [`DeployConfig`]: the `[deploy]` section (state directory, protected
//!   environments, driver, the team's commands, migrate, health).
//! - [`Plan`]: one release to one environment as named steps in a fixed order, pre
//!   checks → commands → migrate → release → health → post checks, each with a time
//!   limit; checks plug in as [`Hook`]s so this crate needs no check kind's client.
//! - [`Journal`]: every deployment's JSON-lines story, fsync'd: "step starting" before
//!   a step acts, "step done" with its [`Effect`] after. [`State`] replays it.
//! - [`Lock`]: one deployment per environment; the holder is named; a dead holder's
//!   lock is stale and taken over only by [`resume`], [`abort`] or [`unlock`].
//! - [`Driver`]: how a release is put in place and switched; [`Host`] keeps
//!   `releases/<id>/` and an atomic `current` symlink; [`Nginx`] runs blue and green
//!   slots and switches nginx's upstream with a graceful reload.
//! - [`backup`]: verified backups with manifests (PostgreSQL, MariaDB, SQLite,
//!   directories), retention, restore.
//! - [`deploy`], [`resume`], [`abort`], [`unlock`], [`history`]: the operations.
//!   A failure after a change undoes what was done, newest first; a step that took
//!   effect before a crash is never done again.
//!
//! ```no_run
//! # async fn demo() -> Result<(), shipgate_deploy::Error> {
//! use std::path::Path;
//! use shipgate_deploy::{Context, DeployConfig, Ending, Hooks, Plan};
//!
//! let config: DeployConfig = toml::from_str(r#"
//!     driver = { type = "host", root = "/srv/shop", source = "build", restart = "systemctl restart shop" }
//!     migrate = { run = "python manage.py migrate --noinput" }
//!     health = { url = "http://127.0.0.1:8000/health", timeout = "30s" }
//! "#).unwrap();
//! let driver = shipgate_deploy::driver_for(&config, Path::new("."))?;
//! let plan = Plan::from_config(&config, "staging", "v42", Path::new("."), Hooks::default())?;
//! let http = shipgate_http::HttpClient::new(&Default::default()).unwrap();
//! let ctx = Context::new(&plan, &*driver, http);
//! let outcome = shipgate_deploy::deploy(&ctx).await?;
//! assert_eq!(outcome.ending, Ending::Deployed);
//! assert_eq!(driver.current().await?.as_deref(), Some("v42"));
//! # Ok(()) }
//! ```

pub mod backup;
mod command;
mod config;
mod context;
mod driver;
mod error;
pub mod failpoint;
mod history;
mod journal;
mod leftovers;
mod lock;
mod plan;
mod run;
mod state;
mod step;
mod undo;

pub use config::{
    CircuitBreaker, CommandConfig, DeployConfig, DriverConfig, EcsConfig, HealthConfig, HostConfig,
    MigrationsConfig, NginxConfig, RolloutReading,
};
pub use context::Context;
#[cfg(feature = "ecs")]
pub use driver::ecs;
pub use driver::{Driver, DriverFuture, Host, Nginx, from_config as driver_for, valid_release_id};
pub use error::{Error, ErrorKind};
pub use history::{
    artifact_of, history, journals, latest, latest_release, previous_release, rollback_target,
};
pub use journal::{
    Artifact, Effect, Ending, Event, GateRecord, Journal, Promotion, Record, read as read_journal,
};
pub use lock::{Holder, Lock, LockState, actor};
pub use plan::{Hook, HookFuture, Hooks, Plan, Step, StepKind, UNSKIPPABLE};
pub use run::{Operation, Outcome, abort, deploy, gc, resume, unlock};
pub use state::{Acting, State, StepState};
