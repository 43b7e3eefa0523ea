//! One item of a backup: dump, verify, restore, per kind. The database clients are the
//! vendors' own (pg_dump/pg_restore, mariadb-dump/mariadb, sqlite3), run directly
//! with the password in their environment, never on their command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ItemConfig, ItemKind};
use crate::command::Exec;
use crate::{Error, ErrorKind};

/// The parts of a `postgres://` or `mysql://` URL the clients take as flags.
#[derive(Debug)]
struct Url {
    user: Option<String>,
    password: Option<String>,
    host: String,
    port: Option<u16>,
    database: String,
}

fn parse_url(url: &str) -> Result<Url, Error> {
    let bad = |why: &str| Error::new(ErrorKind::Config, format!("a database URL {why}"));
    let (_, rest) = url.split_once("://").ok_or_else(|| bad("needs a scheme"))?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, database) = rest
        .split_once('/')
        .ok_or_else(|| bad("needs a database name (…/NAME)"))?;
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((u, p)) => (Some(decode(u)), Some(decode(p))),
            None => (Some(decode(u)), None),
        },
        None => (None, None),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h.to_owned(),
            Some(
                p.parse()
                    .map_err(|_| bad("has a port that is not a number"))?,
            ),
        ),
        None => (hostport.to_owned(), None),
    };
    if database.is_empty() {
        return Err(bad("needs a database name (…/NAME)"));
    }
    Ok(Url {
        user,
        password,
        host,
        port,
        database: decode(database),
    })
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn url(item: &ItemConfig) -> Result<Url, Error> {
    let Some(url) = &item.url else {
        return Err(Error::new(
            ErrorKind::Config,
            format!("backup {:?} needs `url`", item.name),
        ));
    };
    parse_url(url.expose())
}

fn path(item: &ItemConfig, base: &Path) -> Result<PathBuf, Error> {
    item.path.as_ref().map(|p| base.join(p)).ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            format!("backup {:?} needs `path`", item.name),
        )
    })
}

fn pg(program: &str, u: &Url, timeout: Duration) -> Exec {
    let mut e = Exec::new(program, "postgresql-client", timeout)
        .arg("-h")
        .arg(&u.host);
    if let Some(p) = u.port {
        e = e.arg("-p").arg(p.to_string());
    }
    if let Some(user) = &u.user {
        e = e.arg("-U").arg(user);
    }
    if let Some(pw) = &u.password {
        e = e.env("PGPASSWORD", pw);
    }
    e.arg("--no-password")
}

fn my(program: &str, u: &Url, timeout: Duration) -> Exec {
    let mut e = Exec::new(program, "mariadb-client", timeout)
        .arg("-h")
        .arg(&u.host)
        .arg("--protocol=TCP");
    if let Some(p) = u.port {
        e = e.arg("-P").arg(p.to_string());
    }
    if let Some(user) = &u.user {
        e = e.arg("-u").arg(user);
    }
    if let Some(pw) = &u.password {
        e = e.env("MYSQL_PWD", pw);
    }
    e
}

/// An RDS item is a snapshot AWS keeps, never a file here (`backup::rds`).
fn rds_has_no_file(item: &ItemConfig) -> Error {
    Error::new(
        ErrorKind::Backup,
        format!("backup {:?} is an RDS snapshot, not a file", item.name),
    )
}

/// The file name of an item's dump inside the backup directory.
pub(super) fn file_name(item: &ItemConfig) -> String {
    let ext = match item.kind {
        ItemKind::Postgres => "pgdump",
        ItemKind::Mariadb => "sql",
        ItemKind::Sqlite => "sqlite3",
        ItemKind::Files => "tar.gz",
        ItemKind::Rds => "snapshot",
    };
    format!("{}.{ext}", item.name)
}

/// Writes the item's dump to `out`.
pub(super) async fn dump(
    item: &ItemConfig,
    base: &Path,
    out: &Path,
    timeout: Duration,
) -> Result<(), Error> {
    match item.kind {
        ItemKind::Rds => return Err(rds_has_no_file(item)),
        ItemKind::Postgres => {
            let u = url(item)?;
            pg("pg_dump", &u, timeout)
                .arg("--format=custom")
                .arg("--file")
                .arg(out.to_string_lossy())
                .arg(&u.database)
                .run()
                .await?;
        }
        ItemKind::Mariadb => {
            let u = url(item)?;
            let mut e = my("mariadb-dump", &u, timeout)
                .arg("--single-transaction")
                .arg("--routines")
                .arg("--triggers")
                .arg("--databases")
                .arg(&u.database);
            e.stdout = Some(out.to_owned());
            e.run().await?;
        }
        ItemKind::Sqlite => {
            // An online backup: consistent while the application writes.
            let db = path(item, base)?;
            let target = out.to_string_lossy().replace('\'', "''");
            Exec::new("sqlite3", "sqlite3", timeout)
                .arg(db.to_string_lossy())
                .arg(format!("VACUUM INTO '{target}'"))
                .run()
                .await?;
        }
        ItemKind::Files => {
            let dir = path(item, base)?;
            let (parent, name) = match (dir.parent(), dir.file_name()) {
                (Some(p), Some(n)) => (p.to_owned(), n.to_string_lossy().into_owned()),
                _ => {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!(
                            "backup {:?}: {} is not a directory",
                            item.name,
                            dir.display()
                        ),
                    ));
                }
            };
            Exec::new("tar", "tar", timeout)
                .arg("-czf")
                .arg(out.to_string_lossy())
                .arg("-C")
                .arg(parent.to_string_lossy())
                .arg(name)
                .run()
                .await?;
        }
    }
    Ok(())
}

/// Checks that a dump can be read back and holds what it should: the whole archive
/// read through (PostgreSQL), a complete dump (MariaDB ends with "Dump completed"),
/// an intact database (SQLite's integrity check), a readable archive (files); and
/// every table of `tables`, unless `first` (a backup before the first release, whose
/// database may not have its tables yet). Returns the tables (or entries) found.
pub(super) async fn verify(
    item: &ItemConfig,
    file: &Path,
    timeout: Duration,
    first: bool,
) -> Result<Vec<String>, Error> {
    let found: Vec<String> = match item.kind {
        ItemKind::Rds => return Err(rds_has_no_file(item)),
        ItemKind::Postgres => {
            // The table of contents sits at the archive's start, so `--list` reads a
            // truncated archive happily; writing it all out as SQL reads every data
            // block, and fails on a short one.
            Exec::new("pg_restore", "postgresql-client", timeout)
                .arg("--file=/dev/null")
                .arg(file.to_string_lossy())
                .run()
                .await?;
            let toc = Exec::new("pg_restore", "postgresql-client", timeout)
                .arg("--list")
                .arg(file.to_string_lossy())
                .run()
                .await?;
            toc.lines()
                .filter(|l| !l.starts_with(';'))
                .filter_map(|l| {
                    let words: Vec<&str> = l.split_whitespace().collect();
                    let at = words.iter().position(|w| *w == "TABLE")?;
                    (words.get(at + 1) != Some(&"DATA"))
                        .then(|| words.get(at + 2).map(|s| (*s).to_owned()))?
                })
                .collect()
        }
        ItemKind::Mariadb => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                Error::with_source(
                    ErrorKind::Backup,
                    format!("cannot read {}", file.display()),
                    e,
                )
            })?;
            if !text
                .trim_end()
                .lines()
                .last()
                .is_some_and(|l| l.starts_with("-- Dump completed"))
            {
                return Err(Error::new(
                    ErrorKind::Backup,
                    format!(
                        "{} is incomplete: no \"-- Dump completed\" at its end",
                        file.display()
                    ),
                ));
            }
            text.lines()
                .filter_map(|l| l.strip_prefix("CREATE TABLE `"))
                .filter_map(|l| l.split('`').next())
                .map(str::to_owned)
                .collect()
        }
        ItemKind::Sqlite => {
            let check = Exec::new("sqlite3", "sqlite3", timeout)
                .arg("-readonly")
                .arg(file.to_string_lossy())
                .arg("PRAGMA integrity_check")
                .run()
                .await?;
            if check.trim() != "ok" {
                return Err(Error::new(
                    ErrorKind::Backup,
                    format!(
                        "{} fails SQLite's integrity check: {}",
                        file.display(),
                        check.trim()
                    ),
                ));
            }
            // A file cut short by less than a page still passes the integrity check
            // (the short page reads as zeros): its size must be whole pages.
            let pages = Exec::new("sqlite3", "sqlite3", timeout)
                .arg("-readonly")
                .arg(file.to_string_lossy())
                .arg("SELECT (SELECT page_size FROM pragma_page_size) * (SELECT page_count FROM pragma_page_count)")
                .run()
                .await?;
            let size = std::fs::metadata(file).map(|m| m.len()).map_err(|e| {
                Error::with_source(
                    ErrorKind::Backup,
                    format!("cannot read {}", file.display()),
                    e,
                )
            })?;
            if pages.trim().parse::<u64>().ok() != Some(size) {
                return Err(Error::new(
                    ErrorKind::Backup,
                    format!(
                        "{} is {size} bytes, but its header says {} (page size × page count): it was cut short or grown",
                        file.display(),
                        pages.trim()
                    ),
                ));
            }
            let tables: Vec<String> = Exec::new("sqlite3", "sqlite3", timeout)
                .arg("-readonly")
                .arg(file.to_string_lossy())
                .arg("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .run()
                .await?
                .lines()
                .map(str::to_owned)
                .collect();
            // Every row of every table read back (counted, so nothing is kept).
            if !tables.is_empty() {
                let counts: Vec<String> = tables
                    .iter()
                    .map(|t| format!("SELECT count(*) FROM \"{}\"", t.replace('"', "\"\"")))
                    .collect();
                Exec::new("sqlite3", "sqlite3", timeout)
                    .arg("-readonly")
                    .arg(file.to_string_lossy())
                    .arg(counts.join(" UNION ALL "))
                    .run()
                    .await?;
            }
            tables
        }
        ItemKind::Files => Exec::new("tar", "tar", timeout)
            .arg("-tzf")
            .arg(file.to_string_lossy())
            .run()
            .await?
            .lines()
            .map(|l| l.trim_end_matches('/').to_owned())
            .collect(),
    };
    if first {
        return Ok(found);
    }
    if let Some(missing) = item.tables.iter().find(|t| !found.contains(t)) {
        return Err(Error::new(
            ErrorKind::Backup,
            format!(
                "{}: the backup of {:?} has no {missing:?}",
                file.display(),
                item.name
            ),
        ));
    }
    if found.is_empty() && item.kind != ItemKind::Files {
        return Err(Error::new(
            ErrorKind::Backup,
            format!(
                "{}: the backup of {:?} holds no table",
                file.display(),
                item.name
            ),
        ));
    }
    Ok(found)
}

/// Puts a dump back: the database as it was when the backup was taken.
pub(super) async fn restore(
    item: &ItemConfig,
    base: &Path,
    file: &Path,
    timeout: Duration,
) -> Result<(), Error> {
    match item.kind {
        ItemKind::Rds => return Err(rds_has_no_file(item)),
        ItemKind::Postgres => {
            let u = url(item)?;
            pg("pg_restore", &u, timeout)
                .arg("--clean")
                .arg("--if-exists")
                .arg("--single-transaction")
                .arg("--dbname")
                .arg(&u.database)
                .arg(file.to_string_lossy())
                .run()
                .await?;
        }
        ItemKind::Mariadb => {
            let u = url(item)?;
            // The database is dropped and created again, so that tables created since
            // the backup go too: afterwards it is exactly the backup's.
            let quoted = u.database.replace('`', "``");
            my("mariadb", &u, timeout)
                .arg("-e")
                .arg(format!(
                    "DROP DATABASE IF EXISTS `{quoted}`; CREATE DATABASE `{quoted}`"
                ))
                .run()
                .await?;
            let mut e = my("mariadb", &u, timeout).arg(&u.database);
            e.stdin = Some(file.to_owned());
            e.run().await?;
        }
        ItemKind::Sqlite => {
            let db = path(item, base)?;
            let partial = db.with_extension("restoring");
            std::fs::copy(file, &partial).map_err(|e| {
                Error::with_source(
                    ErrorKind::Backup,
                    format!("cannot copy {}", file.display()),
                    e,
                )
            })?;
            std::fs::rename(&partial, &db).map_err(|e| {
                Error::with_source(
                    ErrorKind::Backup,
                    format!("cannot replace {}", db.display()),
                    e,
                )
            })?;
        }
        ItemKind::Files => {
            let dir = path(item, base)?;
            let parent = dir.parent().unwrap_or(base).to_owned();
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| {
                    Error::with_source(
                        ErrorKind::Backup,
                        format!("cannot clear {}", dir.display()),
                        e,
                    )
                })?;
            }
            Exec::new("tar", "tar", timeout)
                .arg("-xzf")
                .arg(file.to_string_lossy())
                .arg("-C")
                .arg(parent.to_string_lossy())
                .run()
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_their_parts_decoded() {
        let u = parse_url("postgres://app:p%40ss@db.internal:5433/shop?sslmode=require").unwrap();
        assert_eq!(u.user.as_deref(), Some("app"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        assert_eq!((u.host.as_str(), u.port), ("db.internal", Some(5433)));
        assert_eq!(u.database, "shop");
        let u = parse_url("mysql://root@127.0.0.1/test").unwrap();
        assert_eq!((u.password, u.port), (None, None));
        assert!(parse_url("postgres://h:5432").is_err());
        assert!(parse_url("postgres://h:x/db").is_err());
    }
}
