//! The machine shipgate runs on, read one way for every layer: the checks' `system`
//! kind before a deployment, the watch layer's `host` source after it.
//!
//! Readings go through sysinfo (a maintained crate), not hand-parsed `/proc` files.
//! Ratios are 0–1.
//!
//! ```
//! let memory = shipgate_host::memory().expect("a total memory");
//! assert!((0.0..=1.0).contains(&memory.used_ratio()));
//! let disk = shipgate_host::disk("/").expect("/ is mounted");
//! assert!(disk.total >= disk.available);
//! let mut cpu = shipgate_host::Cpu::new();
//! std::thread::sleep(shipgate_host::Cpu::MIN_INTERVAL);
//! assert!((0.0..=1.0).contains(&cpu.used_ratio()));
//! ```

mod error;

use std::path::{Path, PathBuf};

use sysinfo::{CpuRefreshKind, Disks, MemoryRefreshKind, RefreshKind, System};

pub use error::Error;

/// Memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Installed.
    pub total: u64,
    /// Available to new work without swapping (`MemAvailable`).
    pub available: u64,
}

impl Memory {
    /// The used ratio: 1 − available / total.
    pub fn used_ratio(&self) -> f64 {
        1.0 - self.available as f64 / self.total as f64
    }
}

/// The memory now.
pub fn memory() -> Result<Memory, Error> {
    let mut sys = System::new();
    sys.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
    match sys.total_memory() {
        0 => Err(Error::NoMemory),
        total => Ok(Memory {
            total,
            available: sys.available_memory(),
        }),
    }
}

/// A file system, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// Where it is mounted.
    pub mount: PathBuf,
    /// Its size.
    pub total: u64,
    /// Free for unprivileged users.
    pub available: u64,
}

impl Disk {
    /// The used ratio (0 for a file system without size).
    pub fn used_ratio(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        1.0 - self.available as f64 / self.total as f64
    }
}

/// The file system holding `path` (the longest mount point that contains it).
pub fn disk(path: impl AsRef<Path>) -> Result<Disk, Error> {
    let path = path.as_ref();
    let disks = Disks::new_with_refreshed_list();
    disks
        .list()
        .iter()
        .filter(|d| path.is_absolute() && path.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| Disk {
            mount: d.mount_point().to_owned(),
            total: d.total_space(),
            available: d.available_space(),
        })
        .ok_or_else(|| Error::NoFileSystem(path.display().to_string()))
}

/// Load averages over 1, 5 and 15 minutes, and the CPUs this process may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// One minute.
    pub one: f64,
    /// Five minutes.
    pub five: f64,
    /// Fifteen minutes.
    pub fifteen: f64,
    /// CPUs available to this process.
    pub cpus: usize,
}

/// The load now.
pub fn load() -> Load {
    let l = System::load_average();
    Load {
        one: l.one,
        five: l.five,
        fifteen: l.fifteen,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// CPU use is a difference between two readings: keep one of these between them.
#[derive(Debug)]
pub struct Cpu(System);

impl Default for Cpu {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpu {
    /// The shortest time between two readings that gives a meaningful use.
    pub const MIN_INTERVAL: std::time::Duration = sysinfo::MINIMUM_CPU_UPDATE_INTERVAL;

    /// Takes the first reading.
    pub fn new() -> Self {
        Self(System::new_with_specifics(
            RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing().with_cpu_usage()),
        ))
    }

    /// The used ratio of all CPUs since the last call (or since [`Cpu::new`]).
    pub fn used_ratio(&mut self) -> f64 {
        self.0.refresh_cpu_usage();
        (f64::from(self.0.global_cpu_usage()) / 100.0).clamp(0.0, 1.0)
    }
}
