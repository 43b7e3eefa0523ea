//! `[deploy]` in shipgate.toml: where state lives, which environments are protected,
//! the driver, and the steps the team adds.
//!
//! ```toml
//! [deploy]
//! state_dir = ".shipgate/deploy"      # journals and locks, one directory per environment
//! protected = ["production"]          # ask for confirmation; refuse to skip health
//! timeout = "10m"                     # a step's default time limit
//!
//! [deploy.driver]
//! type = "host"                       # releases/<id>/ and an atomic `current` symlink
//! root = "/srv/shop"
//! source = "build"                    # copied into releases/<id>/
//! restart = "systemctl restart shop"  # after every switch
//! keep = 5                            # releases kept (never the current or previous)
//!
//! [deploy.backup]                     # first of all, verified, with a manifest
//! dir = "backups"
//! keep = 5
//! max_age = "30d"
//! items = [
//!   { name = "db", type = "postgres", url = "${DATABASE_URL}", tables = ["shop_order"] },
//!   { name = "media", type = "files", path = "media" },
//! ]
//!
//! [[deploy.commands]]                 # before migrate, in order
//! name = "tests"
//! run = "pytest -q"
//! timeout = "15m"
//!
//! [deploy.migrate]
//! run = "python manage.py migrate --noinput"
//! undo = "python manage.py migrate shop 0041"   # optional
//!
//! [deploy.health]                     # after the switch, retried until the deadline
//! url = "http://127.0.0.1:8000/health"
//! assert = ["status == 200"]
//! timeout = "60s"
//! interval = "1s"
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

fn default_state_dir() -> PathBuf {
    PathBuf::from(".shipgate/deploy")
}
fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}
fn one_minute() -> Duration {
    Duration::from_secs(60)
}
fn one_second() -> Duration {
    Duration::from_secs(1)
}
fn five() -> usize {
    5
}

/// The `[deploy]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// Journals and locks, one directory per environment (relative to the
    /// configuration file's directory).
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// Environments that need confirmation, and where backup and health cannot be
    /// skipped without `--force`.
    #[serde(default)]
    pub protected: Vec<String>,
    /// A step's time limit unless it sets its own.
    #[serde(default = "ten_minutes", with = "shipgate_config::duration")]
    pub timeout: Duration,
    /// How releases are put in place and switched.
    pub driver: DriverConfig,
    /// What to back up before anything changes.
    #[serde(default)]
    pub backup: Option<crate::backup::BackupConfig>,
    /// The team's own steps (tests, collectstatic, a build), before migrate.
    #[serde(default)]
    pub commands: Vec<CommandConfig>,
    /// The migration step.
    #[serde(default)]
    pub migrate: Option<CommandConfig>,
    /// The health wait after the switch.
    #[serde(default)]
    pub health: Option<HealthConfig>,
    /// Where each release keeps its migrations, so that an application rollback can
    /// tell whether the database has migrations the older release does not know that
    /// cannot be undone.
    #[serde(default)]
    pub migrations: Option<MigrationsConfig>,
}

/// `[deploy.migrations]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationsConfig {
    /// `sqlx`, `django`, `alembic`, `flyway`, `rails`, `diesel`, `golang-migrate`,
    /// `liquibase` (as `[checks]` `migrations.framework`).
    pub framework: String,
    /// The directory in a release that holds them (for Django, the project's).
    pub dir: PathBuf,
    /// The database whose tracking table says what is applied (a secret). Without it,
    /// the serving release's migrations are taken as applied.
    #[serde(default)]
    pub url: Option<shipgate_config::Secret>,
    /// The tracking table, when not the framework's default.
    #[serde(default)]
    pub table: Option<String>,
    /// Where each release's files are, for a driver that keeps none on this machine
    /// (nginx): a path with `{release}` in it (`builds/{release}`), relative to the
    /// configuration's directory. Without it (or the host driver's release
    /// directories) an application rollback cannot be compared, and is refused.
    #[serde(default)]
    pub releases: Option<String>,
}

impl MigrationsConfig {
    /// Where `release`'s files are: the driver's own directory for it, else
    /// [`releases`](Self::releases) filled in; none when neither is there.
    pub fn release_files(
        &self,
        driver: &dyn crate::Driver,
        base_dir: &std::path::Path,
        release: &str,
    ) -> Option<PathBuf> {
        driver.release_dir(release).or_else(|| {
            let template = self.releases.as_ref()?;
            let dir = base_dir.join(template.replace("{release}", release));
            dir.is_dir().then_some(dir)
        })
    }
}

impl DeployConfig {
    /// Where `environment`'s journals and lock live.
    pub fn state_dir_for(&self, base_dir: &std::path::Path, environment: &str) -> PathBuf {
        base_dir.join(&self.state_dir).join(environment)
    }
}

/// A command the deployment runs through `sh -c`, in the configuration's directory,
/// with `SHIPGATE_RELEASE`, `SHIPGATE_ENVIRONMENT` and `SHIPGATE_DEPLOYMENT` set.
/// On a resume after a crash in its middle it runs again: make it idempotent (a
/// migration tool is).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// The step's name (`migrate` for `[deploy.migrate]`).
    #[serde(default)]
    pub name: Option<String>,
    /// The command line.
    pub run: String,
    /// The command that reverses it, run when the deployment is rolled back or aborted.
    #[serde(default)]
    pub undo: Option<String>,
    /// Its time limit (default: `[deploy] timeout`).
    #[serde(default, with = "shipgate_config::duration::option")]
    pub timeout: Option<Duration>,
}

/// Which driver, and its settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DriverConfig {
    /// Releases side by side under `root`, switched by an atomic `current` symlink.
    Host(HostConfig),
    /// Blue-green behind nginx: two slots on two ports, the upstream rewritten and
    /// nginx reloaded gracefully.
    Nginx(NginxConfig),
    /// An AWS ECS service: a release is an image tag; a new task definition revision
    /// runs it (needs shipgate-deploy's `ecs` feature).
    Ecs(Box<EcsConfig>),
}

/// The `ecs` driver: a release is an image tag; deploying it registers a task
/// definition revision that copies the service's current one with only the image
/// (and `environment`) changed, updates the service and waits until it is stable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsConfig {
    /// The cluster's name or ARN.
    pub cluster: String,
    /// The service's name or ARN (a rolling update); with `[deploy.driver.blue_green]`,
    /// leave it out: the two sides name theirs.
    #[serde(default)]
    pub service: Option<String>,
    /// The container whose image a release changes (required when the task
    /// definition has more than one); migrations run in it.
    #[serde(default)]
    pub container: Option<String>,
    /// The image's repository, `REPOSITORY:RELEASE` being the image (default: the
    /// container's current image without its tag).
    #[serde(default)]
    pub repository: Option<String>,
    /// Environment variables a release sets in the container (`{release}` is the
    /// release), added to or replacing the task definition's.
    #[serde(default)]
    pub environment: std::collections::BTreeMap<String, String>,
    /// The region (default: `AWS_REGION`, then the profile's).
    #[serde(default)]
    pub region: Option<String>,
    /// A profile of `~/.aws/config` (default: `AWS_PROFILE`, then `default`).
    #[serde(default)]
    pub profile: Option<String>,
    /// Another endpoint for every AWS service (LocalStack, moto_server).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Refuse a release whose image tag is not in its ECR repository (images outside
    /// ECR are not checked).
    #[serde(default = "yes")]
    pub check_image: bool,
    /// How long the service has to become stable after an update (default: nine
    /// tenths of `[deploy] timeout`, so that this driver's report, not the step's
    /// time limit, says what was seen last).
    #[serde(default, with = "shipgate_config::duration::option")]
    pub wait: Option<Duration>,
    /// Between two reads of the service while waiting.
    #[serde(default = "five_seconds", with = "shipgate_config::duration")]
    pub poll: Duration,
    /// How stability is read: `deployment` (ECS's own: the PRIMARY deployment runs
    /// the new revision, its rolloutState is COMPLETED and no other deployment is
    /// left), or `counts` (the service runs the new revision with running = desired
    /// and none pending: for emulators that do not model deployments, such as moto).
    #[serde(default)]
    pub rollout: RolloutReading,
    /// ECS's deployment circuit breaker, set on the service with each update.
    #[serde(default)]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// CloudWatch alarms (names) that fail the release when one is in ALARM while
    /// the service stabilises or during a blue-green shift's bake times; the failure
    /// rolls back.
    #[serde(default)]
    pub alarms: Vec<String>,
    /// Blue-green through an ALB instead of a rolling update of one service.
    #[serde(default)]
    pub blue_green: Option<EcsBlueGreen>,
}

/// The `ecs` driver's blue-green: two services, each registered with its own target
/// group, behind one ALB listener whose weighted forward is shifted from the side
/// serving to the other.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcsBlueGreen {
    /// The production listener's ARN; its default action forwards to the target
    /// groups.
    pub listener: String,
    /// A test listener's ARN, pointed at the new side before any production traffic
    /// goes to it.
    #[serde(default)]
    pub test_listener: Option<String>,
    /// Checked (a GET, a status below 400) once the new side is stable and the test
    /// listener forwards to it, e.g. `http://shop-alb.internal:8443/health`.
    #[serde(default)]
    pub test_url: Option<String>,
    /// How long `test_url` has to answer well.
    #[serde(default = "two_minutes", with = "shipgate_config::duration")]
    pub test_timeout: Duration,
    /// One side: its service and target group.
    pub blue: EcsSide,
    /// The other side.
    pub green: EcsSide,
    /// Percentages of production traffic sent to the new side before all of it,
    /// increasing, each below 100 (e.g. `[10, 50]`); none: all at once.
    #[serde(default)]
    pub steps: Vec<u8>,
    /// How long each step holds before the next, the alarms watched meanwhile.
    #[serde(default, with = "shipgate_config::duration")]
    pub bake: Duration,
    /// Scale the old side to zero this long after a successful shift (at the next
    /// deployment or `shipgate-deploy gc` after that); none: keep it running until
    /// the next deployment takes it, so that a rollback is one listener change.
    #[serde(default, with = "shipgate_config::duration::option")]
    pub scale_down_delay: Option<Duration>,
}

/// One side of an ECS blue-green.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EcsSide {
    /// The service's name or ARN.
    pub service: String,
    /// The ARN of the target group the service registers its tasks with.
    pub target_group: String,
}

fn two_minutes() -> Duration {
    Duration::from_secs(120)
}

/// How the `ecs` driver reads a rollout's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutReading {
    /// The service's PRIMARY deployment, as ECS reports it.
    #[default]
    Deployment,
    /// The service's running and pending counts (emulators).
    Counts,
}

/// ECS's deployment circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    /// Stop a deployment whose tasks keep failing to start.
    pub enable: bool,
    /// And have ECS roll back to the last completed deployment.
    #[serde(default)]
    pub rollback: bool,
}

fn yes() -> bool {
    true
}
fn five_seconds() -> Duration {
    Duration::from_secs(5)
}

/// The `nginx` driver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NginxConfig {
    /// The file shipgate writes (`upstream NAME { server 127.0.0.1:PORT; }`), which
    /// nginx's configuration includes in its `http` block.
    pub upstream: PathBuf,
    /// The upstream's name, as `proxy_pass http://NAME;` says it.
    #[serde(default = "app")]
    pub upstream_name: String,
    /// Reloads nginx gracefully, e.g. `nginx -s reload` or `systemctl reload nginx`.
    pub reload: String,
    /// nginx's pid file (its `pid` directive, e.g. `/run/nginx.pid`). With it, a
    /// switch ends only when the workers that served the old upstream have exited,
    /// so that every request sent after it reaches the new slot.
    #[serde(default)]
    pub pid_file: Option<PathBuf>,
    /// Starts the application in the foreground (shipgate keeps it running in its own
    /// process group), with `SHIPGATE_SLOT`, `SHIPGATE_PORT` and `SHIPGATE_RELEASE`
    /// set, e.g. `exec ./bin/app --port $SHIPGATE_PORT`.
    pub start: String,
    /// The blue slot's port.
    pub blue: u16,
    /// The green slot's port.
    pub green: u16,
    /// Checked on the new slot's own port before any traffic goes to it.
    #[serde(default = "health_path")]
    pub health: String,
    /// How long a new slot has to become healthy.
    #[serde(default = "thirty_seconds", with = "shipgate_config::duration")]
    pub ready_timeout: Duration,
    /// Stop the old slot this long after a successful deployment (Argo's
    /// scaleDownDelay); none: keep it running until the next deployment takes its
    /// slot, so that a rollback is a switch back.
    #[serde(default, with = "shipgate_config::duration::option")]
    pub scale_down_delay: Option<Duration>,
}

fn app() -> String {
    "app".to_owned()
}
fn health_path() -> String {
    "/health".to_owned()
}
fn thirty_seconds() -> Duration {
    Duration::from_secs(30)
}

/// The `host` driver: the Capistrano layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Holds `releases/<id>/` and the `current` symlink.
    pub root: PathBuf,
    /// A directory copied into `releases/<id>/` when that release is not there yet.
    #[serde(default)]
    pub source: Option<PathBuf>,
    /// Run after every switch (the new release is `current` by then).
    #[serde(default)]
    pub restart: Option<String>,
    /// Releases kept; older ones are deleted after a deployment (never the current or
    /// the previous one).
    #[serde(default = "five")]
    pub keep: usize,
}

/// Health after the switch: a GET retried until it passes or the deadline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthConfig {
    /// What to GET (`{{release}}` is the release deployed).
    pub url: String,
    /// What the response must meet (default: a status below 400); `{{release}}` is
    /// the release deployed, e.g. `header x-app-version == "{{release}}"`, so that
    /// health also proves the switch took effect.
    #[serde(default, rename = "assert")]
    pub asserts: Vec<String>,
    /// Give up after this long.
    #[serde(default = "one_minute", with = "shipgate_config::duration")]
    pub timeout: Duration,
    /// Between attempts.
    #[serde(default = "one_second", with = "shipgate_config::duration")]
    pub interval: Duration,
}
