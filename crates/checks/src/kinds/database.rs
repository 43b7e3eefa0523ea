//! A database (PostgreSQL, MySQL/MariaDB, SQLite): connection, round trip, version, and
//! migrations on disk compared with the framework's tracking table.

use std::time::{Duration, Instant};

use serde::Deserialize;
use shipgate_config::Secret;
use sqlx::{AnyConnection, Connection, Row};

use crate::Context;
use crate::kinds::migrations::{self, Framework};
use crate::observation::Observation;

/// `[checks.pre.database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseCheck {
    /// `postgres://…`, `mysql://…` (MariaDB too) or `sqlite://…`; a secret.
    pub url: Secret,
    /// Slowest acceptable `SELECT 1` round trip.
    #[serde(default, with = "shipgate_config::duration::option")]
    pub max_latency: Option<Duration>,
    /// Connections each instance of the application opens (its pool size); with
    /// `instances`, checked against the server's `max_connections`.
    #[serde(default)]
    pub pool_size: Option<u32>,
    /// Application instances sharing the server (default 1).
    #[serde(default = "one")]
    pub instances: u32,
    /// Migrations that must all be applied.
    #[serde(default)]
    pub migrations: Option<MigrationsSpec>,
}

fn one() -> u32 {
    1
}

/// Where the migrations are and who tracks them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationsSpec {
    /// sqlx, django, alembic, flyway, rails, diesel, golang-migrate or liquibase.
    pub framework: Framework,
    /// The migrations directory (for django: the project root; for alembic: `versions/`),
    /// relative to the configuration file.
    pub dir: String,
    /// The tracking table, when not the framework's default.
    #[serde(default)]
    pub table: Option<String>,
    /// Django: the app labels this check answers for (default: every app found under
    /// `dir`). Rows of other apps (Django's own `auth`, `admin`, … in site-packages)
    /// are neither pending nor unknown here.
    #[serde(default)]
    pub apps: Vec<String>,
    /// `files` (default): read the migrations from disk. `cli`: also ask the
    /// framework's own read-only command (Django: `manage.py showmigrations --plan`),
    /// where the release's environment is, and fail when it disagrees with the files.
    #[serde(default)]
    pub via: Via,
    /// With `via = "cli"`, the command (run with `sh -c` in `dir`), when not the
    /// framework's default.
    #[serde(default)]
    pub command: Option<String>,
}

/// How the migrations check reads what is pending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// The files on disk against the tracking table.
    #[default]
    Files,
    /// That, and the framework's own command, which must agree.
    Cli,
}

/// Which SQL dialect is on the other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Postgres,
    MySql,
    Sqlite,
}

impl Backend {
    pub(crate) fn of(url: &str) -> Option<Self> {
        let scheme = url.split(':').next()?.to_ascii_lowercase();
        match scheme.as_str() {
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::MySql),
            "sqlite" => Some(Backend::Sqlite),
            _ => None,
        }
    }

    /// The n-th (from 1) bind placeholder.
    pub(crate) fn placeholder(self, n: usize) -> String {
        match self {
            Backend::Postgres => format!("${n}"),
            Backend::MySql | Backend::Sqlite => "?".to_owned(),
        }
    }
}

pub(crate) async fn observe(check: &DatabaseCheck, ctx: &Context) -> Observation {
    sqlx::any::install_default_drivers();
    // A relative SQLite path is relative to the configuration file, as every path is.
    let resolved = shipgate_config::resolve_sqlite(check.url.expose(), &ctx.base_dir);
    let url = resolved.as_str();
    let Some(backend) = Backend::of(url) else {
        return Observation::fail(
            "the database URL must start with postgres://, mysql:// or sqlite://",
        )
        .recommend("fix the URL's scheme");
    };
    let start = Instant::now();
    let mut conn = match AnyConnection::connect(url).await {
        Ok(c) => c,
        Err(e) => {
            return Observation::unreachable(format!("cannot connect: {e}"))
                .recommend("check the host, port, database name, user and password, and that the server accepts this client");
        }
    };
    let connect = start.elapsed();
    let rt = Instant::now();
    if let Err(e) = sqlx::query("SELECT 1").fetch_one(&mut conn).await {
        return Observation::fail(format!("SELECT 1 failed: {e}"));
    }
    let round_trip = rt.elapsed();
    let version_sql = match backend {
        Backend::Postgres => "SELECT version()",
        Backend::MySql => "SELECT VERSION()",
        Backend::Sqlite => "SELECT sqlite_version()",
    };
    let version: String = sqlx::query(version_sql)
        .fetch_one(&mut conn)
        .await
        .ok()
        .and_then(|r| r.try_get(0).ok())
        .unwrap_or_default();
    let mut parts = Vec::new();
    if let Some(limit) = check.max_latency
        && round_trip > limit
    {
        parts.push(
            Observation::fail(format!(
                "SELECT 1 took {round_trip:?}, over the {limit:?} limit"
            ))
            .recommend("is the database overloaded or far away?"),
        );
    }
    let mut summary = format!(
        "connected in {connect:?}, SELECT 1 in {round_trip:?}; {}",
        short(&version)
    );
    if let Some(pool) = check.pool_size {
        let sql = match backend {
            Backend::Postgres => Some(
                "SELECT CAST(setting AS BIGINT) FROM pg_settings WHERE name = 'max_connections'",
            ),
            Backend::MySql => Some("SELECT CAST(@@max_connections AS SIGNED)"),
            Backend::Sqlite => None,
        };
        if let Some(sql) = sql {
            match sqlx::query(sql)
                .fetch_one(&mut conn)
                .await
                .and_then(|r| r.try_get::<i64, _>(0))
            {
                Ok(max) => {
                    let wanted = i64::from(pool) * i64::from(check.instances);
                    summary.push_str(&format!("; pools {wanted} of max_connections {max}"));
                    if wanted > max {
                        parts.push(
                            Observation::fail(format!(
                                "{} instances x pool {pool} = {wanted} connections, over the server's max_connections {max}",
                                check.instances
                            ))
                            .recommend("shrink the pools, add a connection pooler (PgBouncer), or raise max_connections"),
                        );
                    } else if wanted * 10 > max * 8 {
                        parts.push(
                            Observation::warn(format!("{wanted} pooled connections use over 80% of max_connections {max}"))
                                .recommend("leave headroom for migrations, admin sessions and a rolling deploy's overlap"),
                        );
                    }
                }
                Err(e) => parts.push(Observation::warn(format!(
                    "cannot read max_connections: {e}"
                ))),
            }
        }
    }
    if let Some(spec) = &check.migrations {
        let status = migrations::status(&mut conn, backend, spec, &ctx.base_dir).await;
        match status {
            Ok(status) => {
                summary.push_str(&format!("; {} migrations, all applied", status.on_disk));
                parts.extend(status.problems(spec.framework));
                if spec.via == Via::Cli {
                    let dir = ctx.base_dir.join(&spec.dir);
                    if let Some(disagreement) = migrations::cli::compare(spec, &dir, &status).await
                    {
                        parts.push(disagreement);
                    } else {
                        summary.push_str(&format!("; {} agrees", spec.framework));
                    }
                }
            }
            Err(e) => parts.push(Observation::fail(format!(
                "cannot read {} migrations: {e}",
                spec.framework.name()
            ))),
        }
    }
    let _ = conn.close().await;
    Observation::combine(parts, &summary)
        .detail("version", short(&version))
        .detail("connect", format!("{connect:?}"))
        .detail("round_trip", format!("{round_trip:?}"))
}

fn short(version: &str) -> String {
    version
        .split(" on ")
        .next()
        .unwrap_or(version)
        .chars()
        .take(80)
        .collect()
}
