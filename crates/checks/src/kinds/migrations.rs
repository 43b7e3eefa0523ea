//! Migrations on disk against each framework's tracking table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha384};
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
        if !self.unknown.is_empty() {
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
            let disk = sqlx_disk(&dir)?;
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
            let disk = django_disk(&dir)?;
            let applied: Vec<Applied> = rows(format!("SELECT app, name FROM {table}"))
                .await?
                .iter()
                .map(|r| Applied {
                    id: format!("{}.{}", text(r, 0), text(r, 1)),
                    success: true,
                    ..Applied::default()
                })
                .collect();
            Ok(compare(&disk, &applied))
        }
        Framework::Rails | Framework::Diesel => {
            let disk = if framework == Framework::Rails {
                rails_disk(&dir)?
            } else {
                diesel_disk(&dir)?
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
            let disk = flyway_disk(&dir)?;
            let applied: Vec<Applied> = rows(format!("SELECT version, CASE WHEN success THEN 1 ELSE 0 END FROM {table} WHERE version IS NOT NULL"))
                .await?
                .iter()
                .map(|r| Applied { id: text(r, 0), success: int(r, 1) != 0, ..Applied::default() })
                .collect();
            Ok(compare(&disk, &applied))
        }
        Framework::Liquibase => {
            let disk = liquibase_disk(&dir)?;
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
            let disk = golang_disk(&dir)?;
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
            let graph = alembic_graph(&dir)?;
            let current: Vec<String> = rows(format!("SELECT version_num FROM {table}"))
                .await?
                .iter()
                .map(|r| text(r, 0))
                .collect();
            Ok(alembic_status(&graph, &current))
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

/// A migration found on disk: its id as the table records it, and a checksum if the
/// framework keeps one.
#[derive(Debug)]
struct OnDisk {
    id: String,
    checksum: Option<Vec<u8>>,
}

fn compare(disk: &[OnDisk], applied: &[Applied]) -> Status {
    let by_id: BTreeMap<&str, &Applied> = applied.iter().map(|a| (a.id.as_str(), a)).collect();
    let disk_ids: BTreeSet<&str> = disk.iter().map(|d| d.id.as_str()).collect();
    let mut status = Status {
        on_disk: disk.len(),
        ..Status::default()
    };
    for d in disk {
        match by_id.get(d.id.as_str()) {
            None => status.pending.push(d.id.clone()),
            Some(a) if !a.success => status.failed.push(d.id.clone()),
            Some(a) => {
                if let (Some(want), Some(got)) = (&d.checksum, &a.checksum)
                    && want != got
                {
                    status.changed.push(d.id.clone());
                }
                if a.dirty {
                    status.dirty.push(d.id.clone());
                }
            }
        }
    }
    for a in applied {
        if !disk_ids.contains(a.id.as_str()) {
            if a.success {
                status.unknown.push(a.id.clone());
            } else {
                status.failed.push(a.id.clone());
            }
        }
    }
    status
}

fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    out.sort();
    Ok(out)
}

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

/// `<version>_<description>.sql` or `.up.sql`; checksum = SHA-384 of the file, as sqlx stores it.
fn sqlx_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
    let mut out = Vec::new();
    for path in files(dir)? {
        let name = file_name(&path);
        if !name.ends_with(".sql") || name.ends_with(".down.sql") {
            continue;
        }
        let Some((version, _)) = name.split_once('_') else {
            continue;
        };
        let Ok(version) = version.parse::<i64>() else {
            continue;
        };
        let sql = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push(OnDisk {
            id: version.to_string(),
            checksum: Some(Sha384::digest(&sql).to_vec()),
        });
    }
    Ok(out)
}

/// Every `<app>/migrations/<name>.py` below `dir` (two levels deep at most), as `app.name`.
fn django_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
    let mut out = Vec::new();
    let mut app_dirs = vec![dir.to_owned()];
    for sub in files(dir)? {
        if sub.is_dir() {
            app_dirs.push(sub.clone());
            app_dirs.extend(files(&sub)?.into_iter().filter(|p| p.is_dir()));
        }
    }
    for app in app_dirs {
        let migrations = app.join("migrations");
        if !migrations.is_dir() {
            continue;
        }
        let label = file_name(&app).to_owned();
        for path in files(&migrations)? {
            let name = file_name(&path);
            if let Some(stem) = name.strip_suffix(".py")
                && stem != "__init__"
                && stem.starts_with(|c: char| c.is_ascii_digit())
            {
                out.push(OnDisk {
                    id: format!("{label}.{stem}"),
                    checksum: None,
                });
            }
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

/// `<14-digit version>_<name>.rb`.
fn rails_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
    Ok(files(dir)?
        .iter()
        .filter_map(|p| {
            let name = file_name(p).strip_suffix(".rb")?;
            let (version, _) = name.split_once('_')?;
            version.chars().all(|c| c.is_ascii_digit()).then(|| OnDisk {
                id: version.to_owned(),
                checksum: None,
            })
        })
        .collect())
}

/// Directories `<version>_<name>` holding `up.sql`; the version without `-`.
fn diesel_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
    Ok(files(dir)?
        .iter()
        .filter(|p| p.join("up.sql").is_file())
        .filter_map(|p| {
            let (version, _) = file_name(p).split_once('_')?;
            Some(OnDisk {
                id: version.replace('-', ""),
                checksum: None,
            })
        })
        .collect())
}

/// `V<version>__<name>.sql`, the version with `_` read as `.`, as Flyway records it.
fn flyway_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
    Ok(files(dir)?
        .iter()
        .filter_map(|p| {
            let name = file_name(p).strip_suffix(".sql")?.strip_prefix('V')?;
            let (version, _) = name.split_once("__")?;
            Some(OnDisk {
                id: version.replace('_', "."),
                checksum: None,
            })
        })
        .collect())
}

/// `--changeset author:id` in formatted SQL, `<changeSet id=".." author="..">` in XML.
fn liquibase_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
    let sql = regex::Regex::new(r"(?m)^\s*--\s*changeset\s+([^:\s]+):(\S+)")
        .map_err(|e| e.to_string())?;
    let xml_id =
        regex::Regex::new(r#"<changeSet\b[^>]*\bid="([^"]+)""#).map_err(|e| e.to_string())?;
    let xml_author = regex::Regex::new(r#"\bauthor="([^"]+)""#).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for path in files(dir)? {
        let name = file_name(&path);
        if name.ends_with(".sql") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for c in sql.captures_iter(&text) {
                out.push(OnDisk {
                    id: format!("{}:{}", &c[1], &c[2]),
                    checksum: None,
                });
            }
        } else if name.ends_with(".xml") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for tag in text
                .split("<changeSet")
                .skip(1)
                .map(|t| format!("<changeSet{}", t.split('>').next().unwrap_or_default()))
            {
                if let (Some(id), Some(author)) = (xml_id.captures(&tag), xml_author.captures(&tag))
                {
                    out.push(OnDisk {
                        id: format!("{}:{}", &author[1], &id[1]),
                        checksum: None,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// `<version>_<title>.up.sql`, versions ascending.
fn golang_disk(dir: &Path) -> Result<Vec<(i64, String)>, String> {
    let mut out: Vec<(i64, String)> = files(dir)?
        .iter()
        .filter_map(|p| {
            let name = file_name(p).strip_suffix(".up.sql")?;
            let (version, title) = name.split_once('_')?;
            Some((version.parse().ok()?, title.to_owned()))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// revision -> down revisions.
type Graph = BTreeMap<String, Vec<String>>;

fn alembic_graph(dir: &Path) -> Result<Graph, String> {
    let rev = regex::Regex::new(r#"(?m)^revision\s*(?::\s*\w+\s*)?=\s*['"]([^'"]+)['"]"#)
        .map_err(|e| e.to_string())?;
    let down = regex::Regex::new(r#"(?m)^down_revision\s*(?::[^=]+)?=\s*(.+)$"#)
        .map_err(|e| e.to_string())?;
    let quoted = regex::Regex::new(r#"['"]([^'"]+)['"]"#).map_err(|e| e.to_string())?;
    let mut graph = Graph::new();
    for path in files(dir)? {
        if !file_name(&path).ends_with(".py") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(r) = rev.captures(&text) else {
            continue;
        };
        let downs = down
            .captures(&text)
            .map(|d| {
                quoted
                    .captures_iter(&d[1])
                    .map(|q| q[1].to_owned())
                    .collect()
            })
            .unwrap_or_default();
        graph.insert(r[1].to_owned(), downs);
    }
    Ok(graph)
}

fn alembic_status(graph: &Graph, current: &[String]) -> Status {
    let mut status = Status {
        on_disk: graph.len(),
        ..Status::default()
    };
    for c in current {
        if !graph.contains_key(c) {
            status.unknown.push(c.clone());
        }
    }
    // Everything at or below a current revision is applied; the rest is pending.
    let mut applied = BTreeSet::new();
    let mut stack: Vec<&String> = current.iter().collect();
    while let Some(r) = stack.pop() {
        if applied.insert(r.clone())
            && let Some(downs) = graph.get(r)
        {
            stack.extend(downs);
        }
    }
    status.pending = graph
        .keys()
        .filter(|r| !applied.contains(*r))
        .cloned()
        .collect();
    status
}
