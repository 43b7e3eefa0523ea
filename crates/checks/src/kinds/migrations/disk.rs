//! Each framework's migrations as they lie on disk, and how they compare with what the
//! database recorded.

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
