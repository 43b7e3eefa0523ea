//! Whether each migration on disk can be gone back over, read from the files the way
//! each framework marks it: a down file (sqlx, golang-migrate, Diesel), an undo script
//! (Flyway), a reverse for `RunPython`/`RunSQL` (Django, which raises
//! `IrreversibleError` without one), a `downgrade` that does something (Alembic),
//! `ActiveRecord::IrreversibleMigration` (Rails), a rollback block (Liquibase). And
//! whether it destroys data (a dropped table or column, a type change): reversing such
//! a migration restores the schema, not what was in it. Each framework's reader is in
//! its own module; this one holds what they share.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use super::Framework;
use super::disk::{file_name, files};
use crate::{Error, ErrorKind};

/// One migration on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// Its id, as the framework names it (`0002`, `shop.0042_orders`, a revision).
    pub id: String,
    /// The file (or directory) it is.
    pub path: PathBuf,
    /// Why it cannot be reversed; none when it can.
    pub irreversible: Option<String>,
    /// What in it destroys data (`DROP COLUMN`, `RemoveField`), if anything.
    pub destructive: Vec<String>,
}

static DESTRUCTIVE_SQL: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)\b(drop\s+table|drop\s+column|alter\s+table\s+\S+\s+drop\s+(?:column\s+)?\w+|truncate(?:\s+table)?|alter\s+column\s+\S+\s+(?:set\s+data\s+)?type)\b",
    )
    .expect("a valid pattern")
});

pub(super) fn destructive_sql(text: &str) -> Vec<String> {
    let mut found: Vec<String> = DESTRUCTIVE_SQL
        .find_iter(&strip_sql_comments(text))
        .map(|m| {
            m.as_str()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_uppercase()
        })
        .collect();
    found.dedup();
    found
}

/// Those of `operations` that `text` names (`remove_column`, `op.drop_table`).
pub(super) fn named_in(text: &str, operations: &[&str]) -> Vec<String> {
    operations
        .iter()
        .filter(|op| text.contains(*op))
        .map(|op| (*op).to_owned())
        .collect()
}

pub(super) fn strip_sql_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::with_source(
            ErrorKind::Invalid,
            format!("cannot read {}", path.display()),
            e,
        )
    })
}

pub(super) fn listed(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    files(dir).map_err(invalid)
}

/// A disk reader's complaint as this module's error.
pub(super) fn invalid(message: String) -> Error {
    Error::new(ErrorKind::Invalid, message)
}

/// The migrations of `framework` in `dir`, each with whether it can be reversed and
/// what in it destroys data, sorted by id.
pub fn migration_files(framework: Framework, dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let mut out = match framework {
        Framework::Sqlx => super::sqlx_files::reversibility(dir)?,
        Framework::GolangMigrate => super::golang_migrate::reversibility(dir)?,
        Framework::Diesel => super::diesel::reversibility(dir)?,
        Framework::Flyway => super::flyway::reversibility(dir)?,
        Framework::Django => super::django::reversibility(dir)?,
        Framework::Alembic => super::alembic::reversibility(dir)?,
        Framework::Rails => super::rails::reversibility(dir)?,
        Framework::Liquibase => super::liquibase::reversibility(dir)?,
    };
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// `<version>_<name>.up.sql` with `.down.sql` beside it; sqlx's simple
/// `<version>_<name>.sql` has no way back.
pub(super) fn up_down(dir: &Path, framework: Framework) -> Result<Vec<MigrationFile>, Error> {
    let all = listed(dir)?;
    let mut out = Vec::new();
    for path in &all {
        let name = file_name(path);
        if name.ends_with(".down.sql") || !name.ends_with(".sql") {
            continue;
        }
        let Some((version, _)) = name.split_once('_') else {
            continue;
        };
        let Ok(version) = version.parse::<i64>() else {
            continue;
        };
        let irreversible = match name.strip_suffix(".up.sql") {
            Some(stem)
                if all
                    .iter()
                    .any(|p| file_name(p) == format!("{stem}.down.sql")) =>
            {
                None
            }
            Some(_) => Some("no .down.sql beside it".to_owned()),
            None if framework == Framework::Sqlx => {
                Some("a simple sqlx migration (no .up.sql/.down.sql pair)".to_owned())
            }
            None => continue,
        };
        out.push(MigrationFile {
            id: version.to_string(),
            path: path.clone(),
            irreversible,
            destructive: destructive_sql(&read(path)?),
        });
    }
    Ok(out)
}

/// For the framework modules' tests: `fixtures/migrations/<name>`, and what a reader
/// found as `(id, reversible, destructive)`.
#[cfg(test)]
pub(super) mod testing {
    use std::path::PathBuf;

    use super::MigrationFile;

    pub(in super::super) fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/migrations")
            .join(name)
    }

    pub(in super::super) fn summary(
        mut files: Vec<MigrationFile>,
    ) -> Vec<(String, bool, Vec<String>)> {
        files.sort_by(|a, b| a.id.cmp(&b.id));
        files
            .into_iter()
            .map(|m| (m.id, m.irreversible.is_none(), m.destructive))
            .collect()
    }
}
