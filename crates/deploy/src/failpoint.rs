//! A crash on demand, for the tests that prove the journal: with
//! `SHIPGATE_DEPLOY_CRASH_AFTER=N`, the deployer kills itself with SIGKILL right after
//! its Nth journal record reached the disk (nothing after it runs: no destructor, no
//! flush). Unset, it costs one load of a `OnceLock` per record.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms it.
pub const CRASH_AFTER: &str = "SHIPGATE_DEPLOY_CRASH_AFTER";

static ARMED: OnceLock<Option<u64>> = OnceLock::new();
static WRITTEN: AtomicU64 = AtomicU64::new(0);

pub(crate) fn after_journal_write() {
    let armed = ARMED.get_or_init(|| std::env::var(CRASH_AFTER).ok()?.parse().ok());
    if let Some(n) = armed
        && WRITTEN.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
