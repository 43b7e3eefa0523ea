//! One module per kind of check.

mod audit;
#[cfg(feature = "aws")]
mod aws_secrets;
mod command;
mod coverage;
#[cfg(feature = "database")]
mod database;
mod django;
#[cfg(feature = "elasticsearch")]
mod elasticsearch;
mod env;
mod file;
mod http;
#[cfg(feature = "database")]
mod migrations;
mod net;
mod pyliteral;
#[cfg(feature = "redis")]
mod redis;
mod smoke;
mod system;
#[cfg(feature = "tls")]
mod tls;

use std::time::Duration;

pub use audit::{AuditCheck, Severity as AuditSeverity};
#[cfg(feature = "aws")]
pub use aws_secrets::AwsSecretsCheck;
pub use command::CommandCheck;
pub use coverage::CoverageCheck;
#[cfg(feature = "database")]
pub use database::{DatabaseCheck, MigrationsSpec};
pub use django::DjangoCheck;
#[cfg(feature = "elasticsearch")]
pub use elasticsearch::{ElasticsearchCheck, Health};
pub use env::EnvCheck;
pub use file::{FileCheck, ManifestCheck};
pub use http::{HttpCheck, Statuses};
#[cfg(feature = "database")]
pub use migrations::{Framework, MigrationFile, applied_unknown, migration_files};
pub use net::{DnsCheck, TcpCheck};
#[cfg(feature = "redis")]
pub use redis::RedisCheck;
pub use smoke::SmokeCheck;
pub use system::SystemCheck;
#[cfg(feature = "tls")]
pub use tls::TlsCheck;

use crate::Context;
use crate::observation::Observation;

/// A port written as a number or as a string holding one (interpolated values are strings).
pub(crate) fn port<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Port {
        Number(u16),
        Text(String),
    }
    match Port::deserialize(deserializer)? {
        Port::Number(n) => Ok(n),
        Port::Text(t) => t.trim().parse().map_err(|_| {
            serde::de::Error::custom(format!("port {t:?} is not a number from 0 to 65535"))
        }),
    }
}

use serde::Deserialize as _;

/// Runs one check of any kind. `timeout` is the check's budget, for clients that take one.
#[cfg_attr(not(feature = "elasticsearch"), allow(unused_variables))]
pub(crate) async fn observe(kind: &CheckKind, ctx: &Context, timeout: Duration) -> Observation {
    match kind {
        CheckKind::Env(c) => env::observe(c, ctx),
        CheckKind::Http(c) => http::observe(c, ctx).await,
        CheckKind::Tcp(c) => net::tcp(c).await,
        CheckKind::Dns(c) => net::dns(c).await,
        CheckKind::Command(c) => command::observe(c, ctx).await,
        CheckKind::File(c) => file::observe(c, ctx).await,
        CheckKind::System(c) => system::observe(c),
        #[cfg(feature = "database")]
        CheckKind::Database(c) => database::observe(c, ctx).await,
        #[cfg(feature = "redis")]
        CheckKind::Redis(c) => redis::observe(c).await,
        #[cfg(feature = "tls")]
        CheckKind::Tls(c) => tls::observe(c, ctx).await,
        CheckKind::Django(c) => django::observe(c, ctx),
        CheckKind::Coverage(c) => coverage::observe(c, ctx),
        CheckKind::Audit(c) => audit::observe(c, ctx),
        #[cfg(feature = "elasticsearch")]
        CheckKind::Elasticsearch(c) => elasticsearch::observe(c, timeout).await,
        CheckKind::Smoke(c) => smoke::observe(c, ctx).await,
        #[cfg(feature = "aws")]
        CheckKind::AwsSecrets(c) => aws_secrets::observe(c).await,
    }
}

/// What a check checks.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CheckKind {
    /// Environment variables and secrets.
    Env(EnvCheck),
    /// An HTTP endpoint.
    Http(HttpCheck),
    /// A TCP port.
    Tcp(TcpCheck),
    /// A DNS name.
    Dns(DnsCheck),
    /// A command's exit code and output.
    Command(CommandCheck),
    /// A file, and optionally URLs from a static-files manifest.
    File(FileCheck),
    /// Disk, memory and load.
    System(SystemCheck),
    /// A database: connection, version, pending migrations.
    #[cfg(feature = "database")]
    Database(DatabaseCheck),
    /// Redis: round trip and memory.
    #[cfg(feature = "redis")]
    Redis(RedisCheck),
    /// A TLS certificate.
    #[cfg(feature = "tls")]
    Tls(TlsCheck),
    /// Django's deploy checks on a settings dump.
    Django(DjangoCheck),
    /// Line coverage from a test-coverage report, against a minimum.
    Coverage(CoverageCheck),
    /// Vulnerable dependencies in a cargo-audit, npm audit or pip-audit report.
    Audit(AuditCheck),
    /// Elasticsearch cluster health.
    #[cfg(feature = "elasticsearch")]
    Elasticsearch(ElasticsearchCheck),
    /// Ordered HTTP steps.
    Smoke(SmokeCheck),
    /// AWS Secrets Manager secrets: there, not being deleted, with a current value
    /// (never read).
    #[cfg(feature = "aws")]
    AwsSecrets(AwsSecretsCheck),
}
