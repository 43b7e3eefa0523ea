//! Migrations on disk against each framework's tracking table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::kinds::database::{Backend, MigrationsSpec};
use crate::observation::Observation;

/// A migration framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framework {
    /// sqlx: `<version>_<name>.sql` / `.up.sql`; `_sqlx_migrations` with checksums.
    Sqlx,
    /// Django: `<app>/migrations/NNNN_name.py`; `django_migrations`.
    Django,
    /// Alembic: `versions/*.py` revision graph; `alembic_version`.
    Alembic,
    /// Flyway: `V<version>__<name>.sql`; `flyway_schema_history`.
    Flyway,
    /// Rails: `db/migrate/<timestamp>_name.rb`; `schema_migrations`.
    Rails,
    /// Diesel: `<timestamp>_name/up.sql`; `__diesel_schema_migrations`.
    Diesel,
    /// golang-migrate: `<version>_name.up.sql`; `schema_migrations(version, dirty)`.
    GolangMigrate,
    /// Liquibase: formatted SQL (`--changeset author:id`) or XML changelogs; `databasechangelog`.
    Liquibase,
}

impl Framework {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Framework::Sqlx => "sqlx",
            Framework::Django => "Django",
            Framework::Alembic => "Alembic",
            Framework::Flyway => "Flyway",
            Framework::Rails => "Rails",
            Framework::Diesel => "Diesel",
            Framework::GolangMigrate => "golang-migrate",
            Framework::Liquibase => "Liquibase",
        }
    }

    fn table(self) -> &'static str {
        match self {
            Framework::Sqlx => "_sqlx_migrations",
            Framework::Django => "django_migrations",
            Framework::Alembic => "alembic_version",
            Framework::Flyway => "flyway_schema_history",
            Framework::Rails | Framework::GolangMigrate => "schema_migrations",
            Framework::Diesel => "__diesel_schema_migrations",
            Framework::Liquibase => "databasechangelog",
        }
    }

    fn how_to_apply(self) -> &'static str {
        match self {
            Framework::Sqlx => "run `sqlx migrate run` (or the app's embedded migrator)",
            Framework::Django => "run `python manage.py migrate`",
            Framework::Alembic => "run `alembic upgrade head`",
            Framework::Flyway => "run `flyway migrate`",
            Framework::Rails => "run `bin/rails db:migrate`",
            Framework::Diesel => "run `diesel migration run`",
            Framework::GolangMigrate => "run `migrate -path … -database … up`",
            Framework::Liquibase => "run `liquibase update`",
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What was found.
#[derive(Debug, Default)]
pub(crate) struct Status {
    pub(crate) on_disk: usize,
    pub(crate) pending: Vec<String>,
    pub(crate) failed: Vec<String>,
    pub(crate) changed: Vec<String>,
    pub(crate) dirty: Vec<String>,
    pub(crate) unknown: Vec<String>,
    /// What the reader met and could not place (an app named in `apps` that has no
    /// migrations on disk): never passed over in silence.
    pub(crate) unreadable: Vec<String>,
    /// Django: applied migrations whose dependencies are not, which makes `migrate`
    /// refuse (InconsistentMigrationHistory) rather than run what is pending.
    pub(crate) inconsistent: Vec<String>,
}

impl Status {
    pub(crate) fn problems(&self, framework: Framework) -> Vec<Observation> {
        let list = |v: &[String]| {
            let shown: Vec<&str> = v.iter().take(10).map(String::as_str).collect();
            let more = if v.len() > 10 {
                format!(" and {} more", v.len() - 10)
            } else {
                String::new()
            };
            format!("{}{more}", shown.join(", "))
        };
        let mut out = Vec::new();
        if !self.unreadable.is_empty() {
            out.push(
                Observation::fail(format!(
                    "cannot tell what {framework} would do: {}",
                    self.unreadable.join("; ")
                ))
                .recommend("point `dir` at the project, or fix the layout this names"),
            );
        }
        if !self.inconsistent.is_empty() {
            out.push(
                Observation::fail(format!(
                    "{framework} will refuse to migrate (InconsistentMigrationHistory): {}",
                    self.inconsistent.join("; ")
                ))
                .recommend("apply the dependency first (migrate APP NAME), or, if the schema already has it, record it with migrate --fake APP NAME; a plain migrate fails"),
            );
        }
        if !self.pending.is_empty() {
            out.push(
                Observation::fail(format!(
                    "{} pending {framework} migration(s): {}",
                    self.pending.len(),
                    list(&self.pending)
                ))
                .detail("pending", self.pending.join(","))
                .recommend(format!(
                    "{} before deploying code that needs them",
                    framework.how_to_apply()
                )),
            );
        }
        if !self.failed.is_empty() {
            out.push(
                Observation::fail(format!("failed {framework} migration(s) recorded: {}", list(&self.failed)))
                    .recommend("repair the schema by hand, then remove or fix the failed row (flyway repair, …)"),
            );
        }
        if !self.dirty.is_empty() {
            out.push(
                Observation::fail(format!(
                    "{framework} version {} is dirty: a migration failed halfway",
                    list(&self.dirty)
                ))
                .recommend("fix the schema by hand, then `migrate force <version>`"),
            );
        }
        if !self.changed.is_empty() {
            out.push(
                Observation::fail(format!(
                    "applied {framework} migration(s) changed on disk since: {}",
                    list(&self.changed)
                ))
                .recommend("never edit an applied migration: restore it and add a new one"),
            );
        }
        if !self.unknown.is_empty() && framework == Framework::Sqlx {
            // `sqlx migrate run` refuses (VersionMissing) unless told --ignore-missing.
            out.push(
                Observation::fail(format!(
                    "the database has sqlx migrations this code does not have, and `sqlx migrate run` refuses to run while they are missing: {}",
                    list(&self.unknown)
                ))
                .recommend("restore the missing files, or deploy the release that has them (an embedded migrator with set_ignore_missing(true) would run: say so with severity = \"warning\")"),
            );
        } else if !self.unknown.is_empty() {
            out.push(
                Observation::warn(format!(
                    "the database has {framework} migrations this code does not know: {}",
                    list(&self.unknown)
                ))
                .recommend("is this an older release than the one that migrated the database?"),
            );
        }
        out
    }
}

/// One applied row.
#[derive(Debug, Default)]
struct Applied {
    id: String,
    success: bool,
    checksum: Option<Vec<u8>>,
    dirty: bool,
}

pub(crate) async fn status(
    conn: &mut AnyConnection,
    backend: Backend,
    spec: &MigrationsSpec,
    base: &Path,
) -> Result<Status, String> {
    let table = spec.table.as_deref().unwrap_or(spec.framework.table());
    if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "table name {table:?} may only hold letters, digits and `_`"
        ));
    }
    let dir = base.join(&spec.dir);
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let exists = table_exists(conn, backend, table).await?;
    let framework = spec.framework;
    let rows = |sql: String| async move {
        if exists {
            query(conn, sql).await
        } else {
            Ok(Vec::new())
        }
    };
    match framework {
        Framework::Sqlx => {
            let disk = sqlx_files::disk(&dir)?;
            let applied: Vec<Applied> = rows(format!(
                "SELECT version, CASE WHEN success THEN 1 ELSE 0 END, checksum FROM {table}"
            ))
            .await?
            .iter()
            .map(|r| Applied {
                id: text(r, 0),
                success: int(r, 1) != 0,
                checksum: r.try_get::<Vec<u8>, _>(2).ok(),
                dirty: false,
            })
            .collect();
            Ok(compare(&disk, &applied))
        }
        Framework::Django => {
            let project = django::project(&dir)?;
            let applied: Vec<django::Key> = rows(format!("SELECT app, name FROM {table}"))
                .await?
                .iter()
                .map(|r| (text(r, 0), text(r, 1)))
                .collect();
            Ok(django::status(&project, &applied, &spec.apps))
        }
        Framework::Rails | Framework::Diesel => {
            let disk = if framework == Framework::Rails {
                rails::disk(&dir)?
            } else {
                diesel::disk(&dir)?
            };
            let applied: Vec<Applied> = rows(format!("SELECT version FROM {table}"))
                .await?
                .iter()
                .map(|r| Applied {
                    id: text(r, 0),
                    success: true,
                    ..Applied::default()
                })
                .collect();
            Ok(compare(&disk, &applied))
        }
        Framework::Flyway => {
            let disk = flyway::disk(&dir)?;
            let applied: Vec<Applied> = rows(format!("SELECT version, CASE WHEN success THEN 1 ELSE 0 END FROM {table} WHERE version IS NOT NULL"))
                .await?
                .iter()
                .map(|r| Applied { id: text(r, 0), success: int(r, 1) != 0, ..Applied::default() })
                .collect();
            Ok(compare(&disk, &applied))
        }
        Framework::Liquibase => {
            let disk = liquibase::disk(&dir)?;
            let applied: Vec<Applied> = rows(format!("SELECT author, id FROM {table}"))
                .await?
                .iter()
                .map(|r| Applied {
                    id: format!("{}:{}", text(r, 0), text(r, 1)),
                    success: true,
                    ..Applied::default()
                })
                .collect();
            Ok(compare(&disk, &applied))
        }
        Framework::GolangMigrate => {
            let disk = golang_migrate::disk(&dir)?;
            let current = rows(format!(
                "SELECT version, CASE WHEN dirty THEN 1 ELSE 0 END FROM {table}"
            ))
            .await?;
            let mut status = Status {
                on_disk: disk.len(),
                ..Status::default()
            };
            let (version, dirty) = current
                .first()
                .map_or((-1, false), |r| (int(r, 0), int(r, 1) != 0));
            if dirty {
                status.dirty.push(version.to_string());
            }
            status.pending = disk
                .iter()
                .filter(|(v, _)| *v > version)
                .map(|(v, name)| format!("{v}_{name}"))
                .collect();
            if version >= 0 && !disk.iter().any(|(v, _)| *v == version) {
                status.unknown.push(version.to_string());
            }
            Ok(status)
        }
        Framework::Alembic => {
            let graph = alembic::graph(&dir)?;
            let current: Vec<String> = rows(format!("SELECT version_num FROM {table}"))
                .await?
                .iter()
                .map(|r| text(r, 0))
                .collect();
            Ok(alembic::status(&graph, &current))
        }
    }
}

async fn table_exists(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
) -> Result<bool, String> {
    let p = backend.placeholder(1);
    let sql = match backend {
        Backend::Postgres => format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = {p}"
        ),
        Backend::MySql => format!(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = {p}"
        ),
        Backend::Sqlite => {
            format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = {p}")
        }
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(table.to_owned())
        .fetch_one(conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(int(&row, 0) > 0)
}

async fn query(conn: &mut AnyConnection, sql: String) -> Result<Vec<AnyRow>, String> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await
        .map_err(|e| e.to_string())
}

/// A column as text, whatever its SQL type.
fn text(row: &AnyRow, i: usize) -> String {
    row.try_get::<String, _>(i)
        .or_else(|_| row.try_get::<i64, _>(i).map(|v| v.to_string()))
        .or_else(|_| row.try_get::<i32, _>(i).map(|v| v.to_string()))
        .or_else(|_| {
            row.try_get::<Vec<u8>, _>(i)
                .map(|v| String::from_utf8_lossy(&v).into_owned())
        })
        .unwrap_or_default()
}

/// A column as an integer, whatever its SQL integer or boolean type.
fn int(row: &AnyRow, i: usize) -> i64 {
    row.try_get::<i64, _>(i)
        .or_else(|_| row.try_get::<i32, _>(i).map(i64::from))
        .or_else(|_| row.try_get::<i16, _>(i).map(i64::from))
        .or_else(|_| row.try_get::<bool, _>(i).map(i64::from))
        .or_else(|_| {
            row.try_get::<String, _>(i)
                .map(|s| s.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

mod alembic;
pub(crate) mod cli;
mod diesel;
mod disk;
mod django;
mod flyway;
mod golang_migrate;
mod liquibase;
mod rails;
mod reversible;
mod sqlx_files;

pub use reversible::{MigrationFile, migration_files};

use disk::*;

/// The migrations the database at `url` has applied that the migrations in `dir` do
/// not know: what an older release would find ahead of it. The framework's tracking
/// table is read (or `table`); a database without one has applied nothing.
pub async fn applied_unknown(
    url: &str,
    framework: Framework,
    dir: &Path,
    table: Option<&str>,
) -> Result<Vec<String>, crate::Error> {
    use sqlx::Connection;
    let fail = |what: String| crate::Error::new(crate::ErrorKind::Invalid, what);
    sqlx::any::install_default_drivers();
    let backend = Backend::of(url).ok_or_else(|| {
        fail("the database URL must start with postgres://, mysql:// or sqlite://".into())
    })?;
    let mut conn = AnyConnection::connect(url).await.map_err(|e| {
        crate::Error::with_source(
            crate::ErrorKind::Invalid,
            "cannot connect to the database",
            e,
        )
    })?;
    let spec = MigrationsSpec {
        framework,
        dir: dir.to_string_lossy().into_owned(),
        table: table.map(str::to_owned),
        apps: Vec::new(),
        via: crate::kinds::database::Via::Files,
        command: None,
    };
    let status = status(&mut conn, backend, &spec, Path::new(""))
        .await
        .map_err(fail)?;
    let _ = conn.close().await;
    Ok(status.unknown)
}
