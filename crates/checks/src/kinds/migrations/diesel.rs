//! Diesel: a directory `<timestamp>_<name>` per migration holding `up.sql` and
//! `down.sql`; `__diesel_schema_migrations` records the version without its `-`.

use std::path::Path;

use super::disk::{OnDisk, file_name, files};
use super::reversible::{MigrationFile, destructive_sql, listed, read, strip_sql_comments};
use crate::Error;

/// Directories `<version>_<name>` holding `up.sql`; the version without `-`.
///
/// As diesel reads them: files and hidden directories are ignored; a directory
/// without `up.sql` makes diesel refuse to run ("Invalid migration directory"), so it
/// is an error here too; a directory without `_` is a migration whose version is its
/// whole name.
pub(super) fn disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
    let mut out = Vec::new();
    for p in files(dir)? {
        if !p.is_dir() || file_name(&p).starts_with('.') {
            continue;
        }
        if !p.join("up.sql").is_file() {
            return Err(format!(
                "{}: diesel refuses to run while this directory has no up.sql (\"Invalid migration directory\")",
                p.display()
            ));
        }
        let name = file_name(&p);
        let version = name.split('_').next().unwrap_or(name);
        out.push(OnDisk {
            id: version.replace('-', ""),
            checksum: None,
        });
    }
    Ok(out)
}

/// Each migration, reversible when its `down.sql` does something.
pub(super) fn reversibility(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    let mut out = Vec::new();
    for path in listed(dir)? {
        let up = path.join("up.sql");
        if !up.is_file() || file_name(&path).starts_with('.') {
            continue;
        }
        let name = file_name(&path);
        let version = name.split('_').next().unwrap_or(name);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_as_diesel_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |name: &str, up: bool| {
            let p = dir.path().join(name);
            std::fs::create_dir_all(&p).unwrap();
            if up {
                std::fs::write(p.join("up.sql"), "SELECT 1;").unwrap();
            }
        };
        mk("2026-01-01-120000_create_users", true);
        mk("20260102120000", true); // no `_name`: diesel lists it, as its whole name
        mk(".idea", false); // hidden: ignored
        std::fs::write(dir.path().join(".keep"), "").unwrap();
        let ids: Vec<String> = disk(dir.path())
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(ids, ["20260101120000", "20260102120000"]);
        mk("2026-01-03-120000_no_up", false);
        let e = disk(dir.path()).unwrap_err();
        assert!(e.contains("no_up") && e.contains("up.sql"), "{e}");
    }
    use crate::kinds::migrations::reversible::testing::{fixture, summary};

    #[test]
    fn the_fixture_project_as_diesel_reads_it() {
        let dir = fixture("diesel");
        let ids: Vec<String> = disk(&dir).unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(ids, ["00000000000000", "20260101120000", "20260102120000"]);
        let found = summary(reversibility(&dir).unwrap());
        let reversible: Vec<bool> = found.iter().map(|f| f.1).collect();
        assert_eq!(reversible, [false, true, true], "{found:?}");
    }
}
