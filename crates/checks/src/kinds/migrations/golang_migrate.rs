//! golang-migrate: `<version>_<title>.up.sql` with its `.down.sql`; `schema_migrations`
//! holds one row, the version reached and whether it is dirty.

use std::path::Path;

use super::Framework;
use super::disk::{file_name, files};
use super::reversible::{MigrationFile, up_down};
use crate::Error;

/// `<version>_<title>.up.sql`, versions ascending.
pub(super) fn disk(dir: &Path) -> Result<Vec<(i64, String)>, String> {
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

/// Each migration, reversible when its `.down.sql` is beside it.
pub(super) fn reversibility(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    up_down(dir, Framework::GolangMigrate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::migrations::reversible::testing::{fixture, summary};

    #[test]
    fn the_fixture_project_as_golang_migrate_reads_it() {
        let dir = fixture("golang-migrate");
        assert_eq!(
            disk(&dir).unwrap(),
            [
                (1, "create_users".to_owned()),
                (2, "add_email".to_owned()),
                (3, "create_orders".to_owned())
            ]
        );
        let ids: Vec<(String, bool)> = summary(reversibility(&dir).unwrap())
            .into_iter()
            .map(|(id, rev, _)| (id, rev))
            .collect();
        assert_eq!(
            ids,
            [("1".into(), true), ("2".into(), true), ("3".into(), true)]
        );
    }
}
