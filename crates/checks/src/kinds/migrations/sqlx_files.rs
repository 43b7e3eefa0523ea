//! sqlx: `<version>_<description>.sql` (a simple migration, with no way back) or a
//! `.up.sql`/`.down.sql` pair; `_sqlx_migrations` records the version and the SHA-384
//! of the file.

use std::path::Path;

use sha2::{Digest, Sha384};

use super::Framework;
use super::disk::{OnDisk, file_name, files};
use super::reversible::{MigrationFile, up_down};
use crate::Error;

/// `<version>_<description>.sql` or `.up.sql`; checksum = SHA-384 of the file, as sqlx stores it.
///
/// As sqlx resolves them (sqlx-core's `resolve_blocking`): a directory, or a file whose
/// name has no `_` or does not end in `.sql`, is ignored; a file that has both but no
/// integer before the first `_` (`v2_add.sql`, macOS's `._0003_x.sql`) makes sqlx
/// refuse to resolve anything, so it is an error here too.
pub(super) fn disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
    let mut out = Vec::new();
    for path in files(dir)? {
        if !path.is_file() {
            continue;
        }
        let name = file_name(&path);
        let Some((version, rest)) = name.split_once('_') else {
            continue;
        };
        if !rest.ends_with(".sql") {
            continue;
        }
        let Ok(version) = version.parse::<i64>() else {
            return Err(format!(
                "{}: sqlx cannot parse this name (no integer version before the first `_`), and refuses to run any migration while it is there",
                path.display()
            ));
        };
        if name.ends_with(".down.sql") {
            continue;
        }
        let sql = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push(OnDisk {
            id: version.to_string(),
            checksum: Some(Sha384::digest(&sql).to_vec()),
        });
    }
    Ok(out)
}

/// Each migration, reversible when it is an `.up.sql` with its `.down.sql`.
pub(super) fn reversibility(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    up_down(dir, Framework::Sqlx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for n in names {
            std::fs::write(dir.path().join(n), "SELECT 1;\n").unwrap();
        }
        dir
    }

    #[test]
    fn a_name_sqlx_cannot_parse_refuses_as_sqlx_does() {
        // What sqlx ignores: no `_`, not `.sql`, a directory.
        let ok = dir_with(&[
            "1_a.sql",
            "README.md",
            "notes.sql",
            "2_b.up.sql",
            "2_b.down.sql",
        ]);
        std::fs::create_dir(ok.path().join("3_dir.sql")).unwrap();
        let ids: Vec<String> = disk(ok.path()).unwrap().into_iter().map(|d| d.id).collect();
        assert_eq!(ids, ["1", "2"]);
        // What makes it refuse everything: a `_` and `.sql` without an integer first.
        for bad in ["v3_add.sql", "._0003_x.sql", "3a_b.down.sql"] {
            let dir = dir_with(&["1_a.sql", bad]);
            let e = disk(dir.path()).unwrap_err();
            assert!(e.contains(bad) && e.contains("refuses"), "{bad}: {e}");
        }
    }
    use crate::kinds::migrations::reversible::testing::{fixture, summary};

    #[test]
    fn the_fixture_project_as_sqlx_reads_it() {
        let dir = fixture("sqlx");
        let found = disk(&dir).unwrap();
        let ids: Vec<&str> = found.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["20260101000000", "20260102000000", "20260103000000"]);
        // sqlx's checksum: SHA-384 of the file as it is.
        let first = std::fs::read(dir.join("20260101000000_create_users.sql")).unwrap();
        assert_eq!(
            found[0].checksum.as_deref(),
            Some(&Sha384::digest(&first)[..])
        );
        // Simple migrations have no way back.
        assert!(
            summary(reversibility(&dir).unwrap())
                .iter()
                .all(|(_, rev, _)| !rev)
        );
    }
}
