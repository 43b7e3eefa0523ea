//! This host, through sysinfo: `cpu`, `memory`, `disk` (ratios 0–1) and load averages.

use std::collections::BTreeMap;
use std::path::Path;

use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System};
use tokio::sync::Mutex;

use crate::sample::{Missing, Reading};

/// The system handle, kept between samples: CPU use is the change since the last one.
#[derive(Debug, Default)]
pub(crate) struct HostState(Mutex<Option<System>>);

impl HostState {
    pub(crate) async fn sample(&self, disk: &str) -> BTreeMap<String, Reading> {
        let mut guard = self.0.lock().await;
        if guard.is_none() {
            let mut sys = System::new_with_specifics(
                RefreshKind::nothing()
                    .with_cpu(CpuRefreshKind::nothing().with_cpu_usage())
                    .with_memory(MemoryRefreshKind::nothing().with_ram()),
            );
            // CPU use is a difference: the first reading needs a second refresh.
            tokio::time::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL).await;
            sys.refresh_cpu_usage();
            *guard = Some(sys);
        } else if let Some(sys) = guard.as_mut() {
            sys.refresh_cpu_usage();
        }
        let sys = guard.as_mut().expect("set above");
        sys.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let mut out = BTreeMap::new();
        out.insert(
            "cpu".to_owned(),
            Reading::Value(f64::from(sys.global_cpu_usage()) / 100.0),
        );
        let total = sys.total_memory();
        out.insert(
            "memory".to_owned(),
            if total == 0 {
                Reading::none(Missing::Empty, "total memory is unknown")
            } else {
                Reading::Value(1.0 - sys.available_memory() as f64 / total as f64)
            },
        );
        let load = System::load_average();
        out.insert("load1".to_owned(), Reading::Value(load.one));
        out.insert("load5".to_owned(), Reading::Value(load.five));
        out.insert("load15".to_owned(), Reading::Value(load.fifteen));
        out.insert("disk".to_owned(), disk_use(disk));
        out
    }
}

/// The used ratio of the file system mounted at `path`, or holding it.
fn disk_use(path: &str) -> Reading {
    let disks = Disks::new_with_refreshed_list();
    let target = Path::new(path);
    let best = disks
        .list()
        .iter()
        .filter(|d| target.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len());
    match best {
        Some(d) if d.total_space() > 0 => {
            Reading::Value(1.0 - d.available_space() as f64 / d.total_space() as f64)
        }
        Some(_) => Reading::none(
            Missing::Empty,
            format!("{path}: the file system has no size"),
        ),
        None => Reading::none(
            Missing::Error,
            format!("{path}: no mounted file system holds it"),
        ),
    }
}
