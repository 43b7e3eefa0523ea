//! Whether each migration on disk can be gone back over, read from the files the way
//! each framework marks it: a down file (sqlx, golang-migrate, Diesel), an undo script
//! (Flyway), a reverse for `RunPython`/`RunSQL` (Django, which raises
//! `IrreversibleError` without one), a `downgrade` that does something (Alembic),
//! `ActiveRecord::IrreversibleMigration` (Rails), a rollback block (Liquibase). And
//! whether it destroys data (a dropped table or column, a type change): reversing such
//! a migration restores the schema, not what was in it.

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

fn destructive_sql(text: &str) -> Vec<String> {
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

fn strip_sql_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::with_source(
            ErrorKind::Invalid,
            format!("cannot read {}", path.display()),
            e,
        )
    })
}

fn listed(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    files(dir).map_err(|e| Error::new(ErrorKind::Invalid, e))
}

/// The migrations of `framework` in `dir`, each with whether it can be reversed and
/// what in it destroys data, sorted by id.
pub fn migration_files(framework: Framework, dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let mut out = match framework {
        Framework::Sqlx | Framework::GolangMigrate => up_down(dir, framework)?,
        Framework::Diesel => diesel(dir)?,
        Framework::Flyway => flyway(dir)?,
        Framework::Django => django(dir)?,
        Framework::Alembic => alembic(dir)?,
        Framework::Rails => rails(dir)?,
        Framework::Liquibase => liquibase(dir)?,
    };
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// `<version>_<name>.up.sql` with `.down.sql` beside it; sqlx's simple
/// `<version>_<name>.sql` has no way back.
fn up_down(dir: &Path, framework: Framework) -> Result<Vec<MigrationFile>, Error> {
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

fn diesel(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let mut out = Vec::new();
    for path in listed(dir)? {
        let up = path.join("up.sql");
        if !up.is_file() {
            continue;
        }
        let Some((version, _)) = file_name(&path).split_once('_') else {
            continue;
        };
        let down = std::fs::read_to_string(path.join("down.sql")).unwrap_or_default();
        let irreversible = strip_sql_comments(&down)
            .trim()
            .is_empty()
            .then(|| "down.sql is missing or empty".to_owned());
        out.push(MigrationFile {
            id: version.replace('-', ""),
            destructive: destructive_sql(&read(&up)?),
            path,
            irreversible,
        });
    }
    Ok(out)
}

fn flyway(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let all = listed(dir)?;
    let mut out = Vec::new();
    for path in &all {
        let Some(rest) = file_name(path)
            .strip_suffix(".sql")
            .and_then(|n| n.strip_prefix('V'))
        else {
            continue;
        };
        let Some((version, _)) = rest.split_once("__") else {
            continue;
        };
        let undo = format!("U{version}__");
        let irreversible = (!all.iter().any(|p| file_name(p).starts_with(&undo)))
            .then(|| format!("no undo script ({undo}….sql)"));
        out.push(MigrationFile {
            id: version.replace('_', "."),
            path: path.clone(),
            irreversible,
            destructive: destructive_sql(&read(path)?),
        });
    }
    Ok(out)
}

/// The argument text of each `name(` call in `text` (parentheses balanced).
fn calls<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let needle = format!("{name}(");
    let mut from = 0;
    while let Some(at) = text[from..].find(&needle) {
        let start = from + at + needle.len();
        let mut depth = 1usize;
        let mut end = start;
        for (i, c) in text[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = start + i;
                break;
            }
        }
        out.push(&text[start..end.max(start)]);
        from = start;
    }
    out
}

/// Top-level arguments of a call's argument text.
fn arguments(args: &str) -> Vec<&str> {
    let (mut depth, mut last, mut out) = (0i32, 0, Vec::new());
    for (i, c) in args.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(args[last..i].trim());
                last = i + 1;
            }
            _ => {}
        }
    }
    out.push(args[last..].trim());
    out.retain(|a| !a.is_empty());
    out
}

fn django(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let mut out = Vec::new();
    let mut app_dirs = vec![dir.to_owned()];
    for sub in listed(dir)? {
        if sub.is_dir() {
            app_dirs.push(sub.clone());
            app_dirs.extend(listed(&sub)?.into_iter().filter(|p| p.is_dir()));
        }
    }
    for app in app_dirs {
        let migrations = app.join("migrations");
        if !migrations.is_dir() {
            continue;
        }
        let label = file_name(&app).to_owned();
        for path in listed(&migrations)? {
            let Some(stem) = file_name(&path).strip_suffix(".py") else {
                continue;
            };
            if stem == "__init__" || !stem.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            let text = read(&path)?;
            let mut why = Vec::new();
            for (call, reverse) in [("RunPython", "reverse_code"), ("RunSQL", "reverse_sql")] {
                for args in calls(&text, call) {
                    let positional = arguments(args).iter().filter(|a| !a.contains('=')).count();
                    let named = args.contains(&format!("{reverse}="))
                        && !args.contains(&format!("{reverse}=None"));
                    if positional < 2 && !named {
                        why.push(format!("{call} without {reverse}"));
                    }
                }
            }
            let destructive = ["RemoveField", "DeleteModel", "AlterField"]
                .into_iter()
                .filter(|op| {
                    text.contains(&format!("migrations.{op}(")) || text.contains(&format!(" {op}("))
                })
                .map(str::to_owned)
                .collect();
            why.dedup();
            out.push(MigrationFile {
                id: format!("{label}.{stem}"),
                path,
                irreversible: (!why.is_empty()).then(|| why.join(", ")),
                destructive,
            });
        }
    }
    Ok(out)
}

/// The body of `def name(` up to the next top-level statement.
fn body<'a>(text: &'a str, def: &str) -> Option<Vec<&'a str>> {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with(&format!("def {def}(")));
    lines.next()?;
    Some(
        lines
            .take_while(|l| l.is_empty() || l.starts_with(char::is_whitespace))
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect(),
    )
}

fn alembic(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    static REVISION: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r#"(?m)^revision\s*(?::\s*\w+\s*)?=\s*['"]([^'"]+)['"]"#)
            .expect("a valid pattern")
    });
    let mut out = Vec::new();
    for path in listed(dir)? {
        if !file_name(&path).ends_with(".py") {
            continue;
        }
        let text = read(&path)?;
        let Some(rev) = REVISION.captures(&text) else {
            continue;
        };
        let down = body(&text, "downgrade").unwrap_or_default();
        let meaningful: Vec<&&str> = down
            .iter()
            .filter(|l| !l.starts_with("\"\"\"") && !l.starts_with("'''"))
            .collect();
        let irreversible = if meaningful.iter().any(|l| l.contains("NotImplementedError")) {
            Some("downgrade() raises NotImplementedError".to_owned())
        } else if meaningful
            .iter()
            .all(|l| **l == "pass" || l.starts_with("\""))
        {
            Some("downgrade() does nothing".to_owned())
        } else {
            None
        };
        let up = body(&text, "upgrade").unwrap_or_default().join("\n");
        let destructive = ["op.drop_column", "op.drop_table", "op.alter_column"]
            .into_iter()
            .filter(|op| up.contains(op))
            .map(str::to_owned)
            .collect();
        out.push(MigrationFile {
            id: rev[1].to_owned(),
            path,
            irreversible,
            destructive,
        });
    }
    Ok(out)
}

fn rails(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let mut out = Vec::new();
    for path in listed(dir)? {
        let Some(name) = file_name(&path).strip_suffix(".rb") else {
            continue;
        };
        let Some((version, _)) = name.split_once('_') else {
            continue;
        };
        if !version.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let text = read(&path)?;
        let irreversible = if text.contains("ActiveRecord::IrreversibleMigration") {
            Some("raises ActiveRecord::IrreversibleMigration".to_owned())
        } else if !text.contains("def down") && !text.contains("def change") {
            Some("no `down` and no `change`".to_owned())
        } else {
            None
        };
        let destructive = ["remove_column", "drop_table", "change_column"]
            .into_iter()
            .filter(|op| text.contains(op))
            .map(str::to_owned)
            .collect();
        out.push(MigrationFile {
            id: version.to_owned(),
            path,
            irreversible,
            destructive,
        });
    }
    Ok(out)
}

fn liquibase(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    static CHANGESET: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"(?m)^\s*--\s*changeset\s+([^:\s]+):(\S+)").expect("a valid pattern")
    });
    let mut out = Vec::new();
    for path in listed(dir)? {
        if !file_name(&path).ends_with(".sql") {
            continue;
        }
        let text = read(&path)?;
        let starts: Vec<(usize, String)> = CHANGESET
            .captures_iter(&text)
            .map(|c| {
                (
                    c.get(0).map_or(0, |m| m.start()),
                    format!("{}:{}", &c[1], &c[2]),
                )
            })
            .collect();
        for (i, (start, id)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(text.len(), |(s, _)| *s);
            let part = &text[*start..end];
            let irreversible =
                (!part.contains("--rollback")).then(|| "no --rollback in its changeset".to_owned());
            out.push(MigrationFile {
                id: id.clone(),
                path: path.clone(),
                irreversible,
                destructive: destructive_sql(part),
            });
        }
    }
    Ok(out)
}
