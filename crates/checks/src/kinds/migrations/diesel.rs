//! Diesel: a directory `<timestamp>_<name>` per migration holding `up.sql` and
//! `down.sql`; `__diesel_schema_migrations` records the version without its `-`.

use std::path::Path;

use super::disk::{OnDisk, file_name, files};
use super::reversible::{MigrationFile, destructive_sql, listed, read, strip_sql_comments};
use crate::Error;

/// Directories `<version>_<name>` holding `up.sql`; the version without `-`.
pub(super) fn disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
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

/// Each migration, reversible when its `down.sql` does something.
pub(super) fn reversibility(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
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
