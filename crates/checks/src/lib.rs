//! Pre-deployment checks and post-deployment smoke tests.
//!
//! A [`CheckSpec`] (from `[[checks.pre]]` / `[[checks.post]]` in shipgate.toml, see
//! [`ChecksConfig`]) names one [`CheckKind`]: env variables and secret strength, HTTP
//! (status, latency, security headers, secure cookies, assertions, HTTPS redirect),
//! TCP, DNS, a command, a file (and a static-files manifest), system resources, a
//! database with pending migrations for eight frameworks, Redis, a TLS certificate,
//! Django's deploy checks, Elasticsearch health, or a smoke scenario.
//!
//! [`run`] runs a phase: every check concurrently (bounded), each as a tower service
//! under its timeout (a black-holed host fails in time, never hangs), each waiting only
//! for the checks in its `depends_on` and skipped when one of them did not pass. Each
//! check ends in a [`shipgate_report::Finding`]; a check with `severity = "warn"` only
//! warns, and an `optional` one that cannot reach its target only warns.
//!
//! # Cargo features
//!
//! Every family of kinds that pulls in a heavy client has a feature, all on by default;
//! embed only what you use with `default-features = false, features = [...]`. A kind
//! whose feature is off is refused when the configuration is read, naming the feature.
//!
//! | feature | kinds | pulls in |
//! |---|---|---|
//! | `database` | `database` (connection, version, pending migrations) | sqlx (PostgreSQL, MySQL/MariaDB, SQLite), sha2 |
//! | `redis` | `redis` | fred |
//! | `elasticsearch` | `elasticsearch` | elasticsearch (rustls) |
//! | `tls` | `tls` (certificate expiry, chain, name) | rustls, tokio-rustls, webpki-roots, x509-parser |
//! | `aws` (not default) | `aws_secrets` (Secrets Manager: there, not being deleted, a current value; values never read) | the AWS SDK (shipgate-aws) |
//!
//! `env`, `http`, `tcp`, `dns`, `command`, `file`, `system`, `django` and `smoke` are
//! always there.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use shipgate_checks::{ChecksConfig, Context, RunConfig, run};
//! use shipgate_config::{Document, Vars};
//!
//! let doc = Document::load("shipgate.toml", Some("staging"), Vars::process())?;
//! let checks: ChecksConfig = doc.section("checks")?.unwrap();
//! let http = shipgate_http::HttpClient::new(&Default::default())?;
//! let ctx = Context { vars: Vars::process(), http, base_dir: ".".into() };
//! let config = RunConfig { timeout: checks.timeout, concurrency: checks.concurrency };
//! let findings = run(&checks.pre, shipgate_report::Phase::Pre, config, &ctx).await?;
//! # Ok(()) }
//! ```

mod config;
mod error;
mod kinds;
mod observation;
mod runner;
mod select;

pub use config::{CheckSeverity, CheckSpec, ChecksConfig, ChecksSettings};
pub use error::{Error, ErrorKind};
#[cfg(feature = "aws")]
pub use kinds::AwsSecretsCheck;
pub use kinds::CheckKind;
#[cfg(feature = "redis")]
pub use kinds::RedisCheck;
#[cfg(feature = "tls")]
pub use kinds::TlsCheck;
pub use kinds::{
    AuditCheck, AuditSeverity, CommandCheck, CoverageCheck, DjangoCheck, DnsCheck, EnvCheck,
    FileCheck, HttpCheck, ManifestCheck, SmokeCheck, Statuses, SystemCheck, TcpCheck,
};
#[cfg(feature = "database")]
pub use kinds::{
    DatabaseCheck, Framework, MigrationFile, MigrationsSpec, applied_unknown, migration_files,
};
#[cfg(feature = "elasticsearch")]
pub use kinds::{ElasticsearchCheck, Health};
pub use observation::{Observation, StepObservation, Verdict};
pub use runner::{Context, RunConfig, check_service, run, validate};
pub use select::{PhaseError, env_secrets, phase_specs, select};
