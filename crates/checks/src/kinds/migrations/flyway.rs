//! Flyway: versioned `V<version>__<name>.sql`, undone by `U<version>__….sql`;
//! `flyway_schema_history` records the version with `_` read as `.`.

use std::path::Path;

use super::disk::{OnDisk, file_name, files};
use super::reversible::{MigrationFile, destructive_sql, listed, read};
use crate::Error;

/// `V<version>__<name>.sql`, the version with `_` read as `.`, as Flyway records it.
pub(super) fn disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
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

/// Each versioned migration, reversible when its undo script exists.
pub(super) fn reversibility(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::migrations::reversible::testing::{fixture, summary};

    #[test]
    fn the_fixture_project_as_flyway_reads_it() {
        let dir = fixture("flyway");
        let mut ids: Vec<String> = disk(&dir).unwrap().into_iter().map(|d| d.id).collect();
        ids.sort();
        assert_eq!(ids, ["1", "1.1", "2"]);
        // No undo scripts (U…): none can be undone.
        let found = summary(reversibility(&dir).unwrap());
        assert!(found.iter().all(|f| !f.1), "{found:?}");
    }
}
