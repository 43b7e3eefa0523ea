//! Disk, memory and load on the machine shipgate runs on.

use serde::Deserialize;

use crate::observation::Observation;

fn root() -> String {
    "/".to_owned()
}

/// `[checks.pre.system]`: used ratios (0–1) at which to warn and fail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemCheck {
    /// The file system to look at.
    #[serde(default = "root")]
    pub disk_path: String,
    /// Used disk ratio that warns (default 0.80).
    #[serde(default = "disk_warn")]
    pub disk_warn: f64,
    /// Used disk ratio that fails (default 0.95).
    #[serde(default = "disk_fail")]
    pub disk_fail: f64,
    /// Used memory ratio that warns (default 0.85).
    #[serde(default = "mem_warn")]
    pub memory_warn: f64,
    /// Used memory ratio that fails (default 0.95).
    #[serde(default = "mem_fail")]
    pub memory_fail: f64,
    /// One-minute load per core that warns (default: not checked).
    #[serde(default)]
    pub load_warn: Option<f64>,
}

fn disk_warn() -> f64 {
    0.80
}
fn disk_fail() -> f64 {
    0.95
}
fn mem_warn() -> f64 {
    0.85
}
fn mem_fail() -> f64 {
    0.95
}

fn judge(what: &str, used: f64, warn: f64, fail: f64, detail: &str) -> Observation {
    let text = format!("{what} {:.1}% used ({detail})", used * 100.0);
    if used >= fail {
        Observation::fail(text).recommend(format!("free {what} before deploying"))
    } else if used >= warn {
        Observation::warn(text).recommend(format!("{what} is getting full"))
    } else {
        Observation::pass(text)
    }
}

pub(crate) fn observe(check: &SystemCheck) -> Observation {
    let mut parts = Vec::new();
    match nix::sys::statvfs::statvfs(check.disk_path.as_str()) {
        Ok(s) => {
            let total = s.blocks() as f64 * s.fragment_size() as f64;
            let avail = s.blocks_available() as f64 * s.fragment_size() as f64;
            let used = if total > 0.0 {
                1.0 - avail / total
            } else {
                0.0
            };
            parts.push(
                judge(
                    "disk",
                    used,
                    check.disk_warn,
                    check.disk_fail,
                    &format!(
                        "{} GiB free on {}",
                        (avail / 1073741824.0) as u64,
                        check.disk_path
                    ),
                )
                .detail("disk_used", format!("{used:.3}")),
            );
        }
        Err(e) => parts.push(Observation::fail(format!(
            "cannot read disk usage of {}: {e}",
            check.disk_path
        ))),
    }
    match std::fs::read_to_string("/proc/meminfo") {
        Ok(info) => {
            let field = |name: &str| {
                info.lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<f64>().ok())
            };
            if let (Some(total), Some(avail)) = (field("MemTotal:"), field("MemAvailable:")) {
                let used = 1.0 - avail / total;
                parts.push(
                    judge(
                        "memory",
                        used,
                        check.memory_warn,
                        check.memory_fail,
                        &format!("{} MiB available", (avail / 1024.0) as u64),
                    )
                    .detail("memory_used", format!("{used:.3}")),
                );
            }
        }
        Err(e) => parts.push(Observation::fail(format!("cannot read /proc/meminfo: {e}"))),
    }
    if let Some(limit) = check.load_warn {
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        if let Some(load) = load {
            let per_core = load / cores;
            let text = format!("load {load:.2} on {cores} cores");
            parts.push(if per_core >= limit {
                Observation::warn(text)
            } else {
                Observation::pass(text)
            });
        }
    }
    let summary = parts
        .iter()
        .map(|p| p.message.clone())
        .collect::<Vec<_>>()
        .join("; ");
    Observation::combine(parts, &summary)
}
