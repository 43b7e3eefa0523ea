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
pub(super) fn disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
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

/// Each migration, reversible when it is an `.up.sql` with its `.down.sql`.
pub(super) fn reversibility(dir: &Path) -> Result<Vec<MigrationFile>, Error> {
    up_down(dir, Framework::Sqlx)
}

#[cfg(test)]
mod tests {
    use super::*;
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
