//! Each framework's migrations as they lie on disk, and how they compare with what the
//! database recorded.

use std::sync::LazyLock;

use super::*;

/// A migration found on disk: its id as the table records it, and a checksum if the
/// framework keeps one.
#[derive(Debug)]
pub(super) struct OnDisk {
    pub(super) id: String,
    pub(super) checksum: Option<Vec<u8>>,
}

pub(super) fn compare(disk: &[OnDisk], applied: &[Applied]) -> Status {
    let by_id: BTreeMap<&str, &Applied> = applied.iter().map(|a| (a.id.as_str(), a)).collect();
    let disk_ids: BTreeSet<&str> = disk.iter().map(|d| d.id.as_str()).collect();
    let mut status = Status {
        on_disk: disk.len(),
        ..Status::default()
    };
    for d in disk {
        match by_id.get(d.id.as_str()) {
            None => status.pending.push(d.id.clone()),
            Some(a) if !a.success => status.failed.push(d.id.clone()),
            Some(a) => {
                if let (Some(want), Some(got)) = (&d.checksum, &a.checksum)
                    && want != got
                {
                    status.changed.push(d.id.clone());
                }
                if a.dirty {
                    status.dirty.push(d.id.clone());
                }
            }
        }
    }
    for a in applied {
        if !disk_ids.contains(a.id.as_str()) {
            if a.success {
                status.unknown.push(a.id.clone());
            } else {
                status.failed.push(a.id.clone());
            }
        }
    }
    status
}

pub(super) fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    out.sort();
    Ok(out)
}

pub(super) fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or_default()
}

/// `<version>_<description>.sql` or `.up.sql`; checksum = SHA-384 of the file, as sqlx stores it.
pub(super) fn sqlx_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
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

/// `<14-digit version>_<name>.rb`.
pub(super) fn rails_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
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

/// Directories `<version>_<name>` holding `up.sql`; the version without `-`.
pub(super) fn diesel_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
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

/// `V<version>__<name>.sql`, the version with `_` read as `.`, as Flyway records it.
pub(super) fn flyway_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
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

/// The patterns, compiled once per process rather than per call.
fn pattern(text: &str) -> regex::Regex {
    regex::Regex::new(text).expect("a valid pattern")
}
static LIQUIBASE_SQL: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r"(?m)^\s*--\s*changeset\s+([^:\s]+):(\S+)"));
static LIQUIBASE_ID: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r#"<changeSet\b[^>]*\bid="([^"]+)""#));
static LIQUIBASE_AUTHOR: LazyLock<regex::Regex> =
    LazyLock::new(|| pattern(r#"\bauthor="([^"]+)""#));

/// `--changeset author:id` in formatted SQL, `<changeSet id=".." author="..">` in XML.
pub(super) fn liquibase_disk(dir: &Path) -> Result<Vec<OnDisk>, String> {
    let (sql, xml_id, xml_author) = (&*LIQUIBASE_SQL, &*LIQUIBASE_ID, &*LIQUIBASE_AUTHOR);
    let mut out = Vec::new();
    for path in files(dir)? {
        let name = file_name(&path);
        if name.ends_with(".sql") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for c in sql.captures_iter(&text) {
                out.push(OnDisk {
                    id: format!("{}:{}", &c[1], &c[2]),
                    checksum: None,
                });
            }
        } else if name.ends_with(".xml") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for tag in text
                .split("<changeSet")
                .skip(1)
                .map(|t| format!("<changeSet{}", t.split('>').next().unwrap_or_default()))
            {
                if let (Some(id), Some(author)) = (xml_id.captures(&tag), xml_author.captures(&tag))
                {
                    out.push(OnDisk {
                        id: format!("{}:{}", &author[1], &id[1]),
                        checksum: None,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// `<version>_<title>.up.sql`, versions ascending.
pub(super) fn golang_disk(dir: &Path) -> Result<Vec<(i64, String)>, String> {
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
