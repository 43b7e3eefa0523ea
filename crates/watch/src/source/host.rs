//! This host, through shipgate-host: `cpu`, `memory`, `disk` (ratios 0–1) and load averages.

use std::collections::BTreeMap;

use tokio::sync::Mutex;

use crate::sample::{Missing, Reading};

/// The CPU reading, kept between samples: CPU use is the change since the last one.
#[derive(Debug, Default)]
pub(crate) struct HostState(Mutex<Option<shipgate_host::Cpu>>);

impl HostState {
    pub(crate) async fn sample(&self, disk: &str) -> BTreeMap<String, Reading> {
        let mut cpu = self.0.lock().await;
        if cpu.is_none() {
            // The first reading needs a second one, a moment later.
            *cpu = Some(shipgate_host::Cpu::new());
            tokio::time::sleep(shipgate_host::Cpu::MIN_INTERVAL).await;
        }
        let mut out = BTreeMap::new();
        let used = cpu.as_mut().expect("set above").used_ratio();
        out.insert("cpu".to_owned(), Reading::Value(used));
        out.insert(
            "memory".to_owned(),
            match shipgate_host::memory() {
                Ok(m) => Reading::Value(m.used_ratio()),
                Err(e) => Reading::none(Missing::Empty, e.to_string()),
            },
        );
        let load = shipgate_host::load();
        out.insert("load1".to_owned(), Reading::Value(load.one));
        out.insert("load5".to_owned(), Reading::Value(load.five));
        out.insert("load15".to_owned(), Reading::Value(load.fifteen));
        out.insert(
            "disk".to_owned(),
            match shipgate_host::disk(disk) {
                Ok(d) => Reading::Value(d.used_ratio()),
                Err(e) => Reading::none(Missing::Error, e.to_string()),
            },
        );
        out
    }
}
