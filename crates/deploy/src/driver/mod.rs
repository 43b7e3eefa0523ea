//! How a release is put in place and made current. One trait, so that the host
//! driver here and the cloud drivers to come (ECS, Kubernetes) plug into the same
//! journal, lock and rollback.

#[cfg(feature = "ecs")]
pub mod ecs;
mod host;
mod nginx;

use std::future::Future;
use std::pin::Pin;

pub use host::Host;
pub use nginx::Nginx;

use crate::Error;

/// A future a driver returns (boxed, so that drivers can be chosen at run time).
pub type DriverFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Puts releases in place and switches between them.
///
/// Every method is idempotent: after a crash, the deployer calls them again rather
/// than guess what the dead one had done. [`Driver::current`] is how it tells.
pub trait Driver: Send + Sync {
    /// The driver's name, for reports (`host`).
    fn name(&self) -> &'static str;

    /// The release serving now; none before the first deployment. While traffic is
    /// split between two releases (a blue-green shift in steps), a line naming both,
    /// which is no release.
    fn current(&self) -> DriverFuture<'_, Option<String>>;

    /// The releases in place, oldest first.
    fn releases(&self) -> DriverFuture<'_, Vec<String>>;

    /// Makes `release` ready to switch to (copies it in place, starts an idle slot).
    /// Changes nothing that serves traffic.
    fn prepare<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()>;

    /// Makes `release` the one serving (it must be prepared): the one atomic change a
    /// rollback reverses.
    fn switch<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()>;

    /// Makes `release` the one serving again at once, for a rollback (it served
    /// before): what a driver that switches gradually (a blue-green shift in steps)
    /// does in one change. By default, [`Driver::switch`].
    fn switch_back<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        self.switch(release)
    }

    /// What follows a switch (a restart, a reload): run after every switch, and again
    /// after a crash between the switch and its end.
    fn activate<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()>;

    /// Where `release`'s files are, when the driver keeps them on this machine (to read
    /// its migrations); none otherwise.
    fn release_dir(&self, release: &str) -> Option<std::path::PathBuf> {
        let _ = release;
        None
    }

    /// Where `release`'s files will come from before it is prepared (the host driver's
    /// `source`), or are, once it is; none when the driver keeps no files here.
    fn candidate_dir(&self, release: &str) -> Option<std::path::PathBuf> {
        self.release_dir(release)
    }

    /// Removes releases beyond the driver's retention, never `keep` (the current and
    /// the previous release, which a rollback needs). Returns what was removed.
    fn prune<'a>(&'a self, keep: &'a [String]) -> DriverFuture<'a, Vec<String>>;

    /// Stops what an earlier deployment kept for an instant rollback once its time is
    /// up (the nginx driver's old slot after `scale_down_delay`). Returns what was
    /// stopped. Called under the lock: before a deployment, and by
    /// `shipgate-deploy gc`.
    fn gc<'a>(&'a self) -> DriverFuture<'a, Vec<String>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// What `--dry-run` shows beyond the step's line for switching to `release`: the
    /// calls [`Driver::prepare`], [`Driver::switch`] and [`Driver::activate`] would
    /// make (a cloud API's requests with their bodies), found by reading only.
    fn dry_run<'a>(&'a self, release: &'a str) -> DriverFuture<'a, Vec<String>> {
        let _ = release;
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The same for a command [`Driver::run_task`] would run; none when the driver
    /// does not run commands (they run here).
    fn dry_run_task<'a>(
        &'a self,
        release: &'a str,
        command: &'a str,
    ) -> Option<DriverFuture<'a, Vec<String>>> {
        let _ = (release, command);
        None
    }

    /// Runs a release's own command where the release runs (ECS: a one-off task of
    /// its task definition), for `[deploy.migrate]` and its undo; its line for the
    /// report. None: the driver has no such place, and the command runs here, through
    /// `sh -c`.
    fn run_task<'a>(
        &'a self,
        release: &'a str,
        command: &'a str,
        timeout: std::time::Duration,
    ) -> Option<DriverFuture<'a, String>> {
        let _ = (release, command, timeout);
        None
    }
}

/// The driver `[deploy.driver]` configures; relative paths from `base_dir`.
pub fn from_config(
    config: &crate::DeployConfig,
    base_dir: &std::path::Path,
) -> Result<Box<dyn Driver>, Error> {
    Ok(match &config.driver {
        crate::DriverConfig::Host(h) => Box::new(Host::new(h, base_dir, config.timeout)),
        crate::DriverConfig::Nginx(n) => Box::new(Nginx::new(n, base_dir, config.timeout)?),
        #[cfg(feature = "ecs")]
        crate::DriverConfig::Ecs(e) => Box::new(ecs::Ecs::new(e, config.timeout)?),
        #[cfg(not(feature = "ecs"))]
        crate::DriverConfig::Ecs(_) => {
            return Err(Error::new(
                crate::ErrorKind::Config,
                "[deploy.driver] type = \"ecs\": this build of shipgate has no ECS driver; \
                 build it with the `ecs` feature (cargo build --features ecs)",
            ));
        }
    })
}

/// Whether `id` can name a release: letters, digits, `.`, `_`, `-`, not `.` or `..`,
/// at most 100 characters (it becomes a directory name).
pub fn valid_release_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Seconds since the Unix epoch, for due times kept where a driver keeps its state.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
