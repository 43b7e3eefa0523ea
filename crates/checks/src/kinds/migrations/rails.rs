//! Rails: `db/migrate/<14-digit version>_<name>.rb`; `schema_migrations` records the
//! version.

use std::path::Path;

use super::disk::{OnDisk, file_name, files};
use super::reversible::{MigrationFile, listed, named_in, read};
use crate::Error;

/// `<14-digit version>_<name>.rb`.
pub(super) fn disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
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

/// Each migration, reversible when it has `down` or `change` and does not raise
/// `ActiveRecord::IrreversibleMigration`.
pub(super) fn reversibility(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
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
        let destructive = named_in(&text, &["remove_column", "drop_table", "change_column"]);
        out.push(MigrationFile {
            id: version.to_owned(),
            path,
            irreversible,
            destructive,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::migrations::reversible::testing::{fixture, summary};

    #[test]
    fn the_fixture_project_as_rails_reads_it() {
        let dir = fixture("rails/db/migrate");
        let ids: Vec<String> = disk(&dir).unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(ids, ["20260101120000", "20260102120000"]);
        // `def change` with create_table: Rails reverses it.
        let found = summary(reversibility(&dir).unwrap());
        assert_eq!(
            found,
            [
                ("20260101120000".into(), true, vec![]),
                ("20260102120000".into(), true, vec![])
            ]
        );
    }
}
