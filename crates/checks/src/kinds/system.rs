//! Disk, memory and load on the machine shipgate runs on, read through shipgate-host
//! (the watch layer's `host` source reads the same way).

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
    match shipgate_host::disk(&check.disk_path) {
        Ok(d) => {
            let used = d.used_ratio();
            parts.push(
                judge(
                    "disk",
                    used,
                    check.disk_warn,
                    check.disk_fail,
                    &format!(
                        "{} GiB free on {}",
                        d.available / 1_073_741_824,
                        check.disk_path
                    ),
                )
                .detail("disk_used", format!("{used:.3}")),
            );
        }
        Err(e) => parts.push(Observation::fail(format!("cannot read disk usage: {e}"))),
    }
    match shipgate_host::memory() {
        Ok(m) => {
            let used = m.used_ratio();
            parts.push(
                judge(
                    "memory",
                    used,
                    check.memory_warn,
                    check.memory_fail,
                    &format!("{} MiB available", m.available / 1_048_576),
                )
                .detail("memory_used", format!("{used:.3}")),
            );
        }
        Err(e) => parts.push(Observation::fail(format!("cannot read memory: {e}"))),
    }
    if let Some(limit) = check.load_warn {
        let load = shipgate_host::load();
        let cores = load.cpus as f64;
        let per_core = load.one / cores;
        let text = format!("load {:.2} on {cores} cores", load.one);
        parts.push(if per_core >= limit {
            Observation::warn(text)
        } else {
            Observation::pass(text)
        });
    }
    let summary = parts
        .iter()
        .map(|p| p.message.clone())
        .collect::<Vec<_>>()
        .join("; ");
    Observation::combine(parts, &summary)
}
