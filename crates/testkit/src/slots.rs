//! The processes a blue/green deployment started: found from the slot record the
//! nginx driver keeps (`shipgate-slots.json` beside the upstream file), killed with
//! their process groups when the test ends, and checked to be gone.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The slot processes a record names. Dropping it kills every process group it has
/// seen (a slot restarted since is killed too) and waits for them to go.
///
/// Declare it before the temporary directory that holds the record in a function, or
/// *first* in a struct (fields drop in declaration order): once the directory is
/// deleted there is no record left to read.
#[derive(Debug)]
pub struct SlotProcesses {
    record: PathBuf,
    seen: Mutex<BTreeSet<i32>>,
}

impl SlotProcesses {
    /// For the record at `record` (it may not exist yet).
    pub fn new(record: impl Into<PathBuf>) -> Self {
        Self {
            record: record.into(),
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// The pids the record names now, and every one it named before.
    pub fn pids(&self) -> Vec<i32> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(text) = std::fs::read_to_string(&self.record) {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            for slot in ["blue", "green"] {
                if let Some(pid) = v[slot]["pid"].as_i64().and_then(|p| i32::try_from(p).ok()) {
                    seen.insert(pid);
                }
            }
        }
        seen.iter().copied().filter(|p| *p > 1).collect()
    }
}

impl Drop for SlotProcesses {
    fn drop(&mut self) {
        let pids = self.pids();
        for pid in &pids {
            let _ = killpg(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        running_after_wait(&pids);
    }
}

/// Whether `pid` runs (a zombie does not: it has exited and waits to be reaped).
pub fn running(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    match stat.rsplit_once(") ") {
        Some((_, rest)) => !rest.starts_with('Z') && !rest.starts_with('X'),
        None => false,
    }
}

/// Those of `pids` still running after up to 5 s: a killed process takes a moment to
/// go; one that is there after that was not killed.
pub fn running_after_wait(pids: &[i32]) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<i32> = pids.iter().copied().filter(|p| running(*p)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        // tidy: polling processes that are not our children (no wait to block on)
        std::thread::sleep(Duration::from_millis(10));
    }
}
