//! The `nginx` driver: blue-green with two slots of the application on two ports.
//!
//! `prepare` starts the release in the idle slot and checks its health on the slot's
//! own port (no traffic goes to it yet); `switch` rewrites the upstream file (a new
//! file renamed over the old) and reloads nginx gracefully, so connections in flight
//! finish on the old workers; the old slot keeps running, so a rollback is a switch
//! back, until the next deployment takes its slot, or, with `scale_down_delay`, until
//! the first operation after that delay ([`Driver::gc`]: a later deployment, or
//! `shipgate-deploy gc` from a timer). Nothing waits for the delay: the deployment
//! ends, and releases its lock, when the switch is done.
//!
//! Which release runs in which slot (and its pid) is kept beside the upstream file in
//! `shipgate-slots.json`; which slot serves is what the upstream file says.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use shipgate_http::retry::{Attempt, Backoff, retry};

use super::{Driver, DriverFuture, unix_now, valid_release_id};
use crate::config::NginxConfig;
use crate::{Error, ErrorKind};

/// Blue-green behind nginx.
#[derive(Debug, Clone)]
pub struct Nginx {
    config: NginxConfig,
    upstream: PathBuf,
    dir: PathBuf,
    http: shipgate_http::HttpClient,
    command_timeout: Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Slots {
    blue: Option<Running>,
    green: Option<Running>,
    /// The old slot a successful deployment keeps for an instant rollback, and when
    /// it is due to stop (`scale_down_delay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retire: Option<Retire>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Retire {
    /// `blue` or `green`.
    slot: String,
    /// The process it runs (a slot restarted since is not this one).
    pid: i32,
    /// Due at, in seconds since the Unix epoch.
    due: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Running {
    release: String,
    pid: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Blue,
    Green,
}

impl Slot {
    fn name(self) -> &'static str {
        match self {
            Slot::Blue => "blue",
            Slot::Green => "green",
        }
    }
    fn other(self) -> Self {
        match self {
            Slot::Blue => Slot::Green,
            Slot::Green => Slot::Blue,
        }
    }
}

impl Slots {
    fn get(&self, slot: Slot) -> Option<&Running> {
        match slot {
            Slot::Blue => self.blue.as_ref(),
            Slot::Green => self.green.as_ref(),
        }
    }
    fn set(&mut self, slot: Slot, running: Option<Running>) {
        match slot {
            Slot::Blue => self.blue = running,
            Slot::Green => self.green = running,
        }
    }
}

impl Nginx {
    /// The driver for `config`; relative paths are taken from `base_dir`.
    pub fn new(
        config: &NginxConfig,
        base_dir: &Path,
        command_timeout: Duration,
    ) -> Result<Self, Error> {
        let http = shipgate_http::HttpClient::new(&shipgate_http::ClientConfig {
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            ..Default::default()
        })
        .map_err(|e| Error::with_source(ErrorKind::Driver, "cannot build an HTTP client", e))?;
        Ok(Self {
            config: config.clone(),
            upstream: base_dir.join(&config.upstream),
            dir: base_dir.to_owned(),
            http,
            command_timeout,
        })
    }

    fn port(&self, slot: Slot) -> u16 {
        match slot {
            Slot::Blue => self.config.blue,
            Slot::Green => self.config.green,
        }
    }

    fn slots_path(&self) -> PathBuf {
        self.upstream.with_file_name("shipgate-slots.json")
    }

    fn slots(&self) -> Result<Slots, Error> {
        let path = self.slots_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Error::with_source(
                    ErrorKind::Driver,
                    format!("{} is not a slot record", path.display()),
                    e,
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Slots::default()),
            Err(e) => Err(io("read", &path, e)),
        }
    }

    fn save(&self, slots: &Slots) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(slots).expect("slots serialize");
        shipgate_report::write_atomic(&self.slots_path(), &text)
            .map_err(|e| io("write", &self.slots_path(), e))
    }

    /// The slot the upstream file sends traffic to.
    fn live(&self) -> Result<Option<Slot>, Error> {
        let text = match std::fs::read_to_string(&self.upstream) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read", &self.upstream, e)),
        };
        for slot in [Slot::Blue, Slot::Green] {
            if text.contains(&format!("127.0.0.1:{};", self.port(slot))) {
                return Ok(Some(slot));
            }
        }
        Ok(None)
    }

    async fn healthy(
        &self,
        slot: Slot,
        child: &mut Option<std::process::Child>,
    ) -> Result<(), Error> {
        let url = format!("http://127.0.0.1:{}{}", self.port(slot), self.config.health);
        let step = shipgate_http::Step::get(&url).map_err(|e| {
            Error::with_source(ErrorKind::Config, "the health path is not a URL", e)
        })?;
        let policy =
            Backoff::exponential(Duration::from_millis(20)).within(self.config.ready_timeout);
        let policy = Backoff {
            max_delay: Duration::from_millis(500),
            ..policy
        };
        let (ok, _) = retry(&policy, |_| {
            let exited = child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
                .map(|s| s.to_string());
            let (http, step, url) = (self.http.clone(), &step, &url);
            async move {
                if let Some(status) = exited {
                    return Attempt::Done(Err(format!("it exited ({status})")));
                }
                let mut vars = shipgate_http::TemplateVars::new();
                let mut jar = shipgate_http::CookieJar::new();
                if shipgate_http::run_step(&http, step, &mut vars, &mut jar)
                    .await
                    .passed()
                {
                    Attempt::Done(Ok(()))
                } else {
                    Attempt::again(Err(format!("no healthy answer from {url}")))
                }
            }
        })
        .await;
        ok.map_err(|why| {
            let log = std::fs::read_to_string(self.log(slot)).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Error::new(
                ErrorKind::Driver,
                format!(
                    "the {} slot did not become healthy within {:?}: {why}; its log ends: {}",
                    slot.name(),
                    self.config.ready_timeout,
                    tail.join(" | ")
                ),
            )
        })
    }

    /// The nginx master's worker processes now (none without `pid_file`).
    fn workers(&self) -> Vec<i32> {
        let Some(file) = &self.config.pid_file else {
            return Vec::new();
        };
        let Some(master) = std::fs::read_to_string(self.dir.join(file))
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // pid (comm) state ppid ...
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
                    == Some(master)
            })
            .collect()
    }

    fn log(&self, slot: Slot) -> PathBuf {
        self.upstream
            .with_file_name(format!("shipgate-{}.log", slot.name()))
    }

    fn start(&self, slot: Slot, release: &str) -> Result<std::process::Child, Error> {
        let log = self.log(slot);
        let out = std::fs::File::create(&log).map_err(|e| io("create", &log, e))?;
        let err = out.try_clone().map_err(|e| io("open", &log, e))?;
        std::os::unix::process::CommandExt::process_group(
            std::process::Command::new("sh")
                .arg("-c")
                .arg(&self.config.start)
                .current_dir(&self.dir)
                .env("SHIPGATE_SLOT", slot.name())
                .env("SHIPGATE_PORT", self.port(slot).to_string())
                .env("SHIPGATE_RELEASE", release)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err),
            0,
        )
        .spawn()
        .map_err(|e| {
            Error::with_source(
                ErrorKind::Driver,
                format!("cannot start the {} slot", slot.name()),
                e,
            )
        })
    }
}

/// Whether a process is alive (and not a zombie of ours).
fn alive(pid: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state is the field after the parenthesised command name.
    match status.rsplit_once(") ") {
        Some((_, rest)) => !rest.starts_with('Z') && !rest.starts_with('X'),
        None => false,
    }
}

/// Stops a slot's process group: SIGTERM, then SIGKILL after 10 s.
async fn stop(pid: i32) {
    use nix::sys::signal::Signal;
    let Ok(group) = u32::try_from(pid) else {
        return;
    };
    crate::command::kill_group(group, Signal::SIGTERM);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut wait = Duration::from_millis(10);
    while alive(pid) && tokio::time::Instant::now() < deadline {
        // tidy: polling a process that is not our child, at a growing interval
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_millis(200));
    }
    crate::command::kill_group(group, Signal::SIGKILL);
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::with_source(
        ErrorKind::Driver,
        format!("cannot {what} {}", path.display()),
        e,
    )
}

impl Nginx {
    /// The release serving now, read from this machine.
    pub(crate) fn current_now(&self) -> Result<Option<String>, Error> {
        let Some(live) = self.live()? else {
            return Ok(None);
        };
        Ok(self.slots()?.get(live).map(|r| r.release.clone()))
    }

    /// The releases in place, oldest first.
    pub(crate) fn releases_now(&self) -> Result<Vec<String>, Error> {
        let slots = self.slots()?;
        let live = self.live()?.unwrap_or(Slot::Blue);
        Ok([live.other(), live]
            .into_iter()
            .filter_map(|s| slots.get(s).map(|r| r.release.clone()))
            .collect())
    }
}

impl Driver for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }

    fn current(&self) -> DriverFuture<'_, Option<String>> {
        Box::pin(async move { self.current_now() })
    }

    fn releases(&self) -> DriverFuture<'_, Vec<String>> {
        Box::pin(async move { self.releases_now() })
    }

    fn prepare<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            if !valid_release_id(release) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("{release:?} cannot name a release"),
                ));
            }
            let mut slots = self.slots()?;
            let live = self.live()?;
            // Already running somewhere (a rollback to the old slot, a resume): use it.
            for slot in [Slot::Blue, Slot::Green] {
                if let Some(r) = slots.get(slot)
                    && r.release == release
                    && alive(r.pid)
                    && self.healthy(slot, &mut None).await.is_ok()
                {
                    return Ok(());
                }
            }
            let idle = live.map_or(Slot::Blue, Slot::other);
            if let Some(old) = slots.get(idle).cloned() {
                stop(old.pid).await;
            }
            let mut child = Some(self.start(idle, release)?);
            let pid = child.as_ref().map_or(0, |c| c.id() as i32);
            slots.set(
                idle,
                Some(Running {
                    release: release.to_owned(),
                    pid,
                }),
            );
            self.save(&slots)?;
            if let Err(e) = self.healthy(idle, &mut child).await {
                stop(pid).await;
                slots.set(idle, None);
                self.save(&slots)?;
                return Err(e);
            }
            Ok(())
        })
    }

    fn switch<'a>(&'a self, release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async move {
            let slots = self.slots()?;
            let Some(slot) = [Slot::Blue, Slot::Green]
                .into_iter()
                .find(|s| slots.get(*s).is_some_and(|r| r.release == release))
            else {
                return Err(Error::new(
                    ErrorKind::Driver,
                    format!("release {release} runs in no slot: prepare it first"),
                ));
            };
            let text = format!(
                "# written by shipgate-deploy: the {} slot serves {release}\nupstream {} {{\n    server 127.0.0.1:{};\n}}\n",
                slot.name(),
                self.config.upstream_name,
                self.port(slot)
            );
            let old_workers = self.workers();
            shipgate_report::write_atomic(&self.upstream, &text)
                .map_err(|e| io("write", &self.upstream, e))?;
            let done =
                crate::command::run(&self.config.reload, &self.dir, &[], self.command_timeout)
                    .await?;
            if !done.success {
                return Err(Error::new(
                    ErrorKind::Driver,
                    format!(
                        "`{}` failed ({}): {}",
                        self.config.reload, done.status, done.tail
                    ),
                ));
            }
            // A graceful reload starts new workers and lets the old ones finish what
            // they serve: until they exit, a request on a connection they hold still
            // goes to the old upstream.
            let deadline = tokio::time::Instant::now() + self.config.ready_timeout;
            let mut wait = Duration::from_millis(5);
            while old_workers.iter().any(|p| alive(*p)) {
                if tokio::time::Instant::now() >= deadline {
                    return Err(Error::new(
                        ErrorKind::Driver,
                        format!(
                            "nginx's old workers still run {:?} after the reload",
                            self.config.ready_timeout
                        ),
                    ));
                }
                // tidy: polling processes that are not ours, at a growing interval
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(100));
            }
            Ok(())
        })
    }

    fn activate<'a>(&'a self, _release: &'a str) -> DriverFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn prune<'a>(&'a self, _keep: &'a [String]) -> DriverFuture<'a, Vec<String>> {
        Box::pin(async move {
            let Some(delay) = self.config.scale_down_delay else {
                return Ok(Vec::new());
            };
            // Argo's scaleDownDelay: the old slot is kept for an instant rollback and
            // stopped by the first operation after the delay; none waits for it.
            let mut slots = self.slots()?;
            let Some(live) = self.live()? else {
                return Ok(Vec::new());
            };
            let Some(old) = slots.get(live.other()).cloned() else {
                return Ok(Vec::new());
            };
            slots.retire = Some(Retire {
                slot: live.other().name().to_owned(),
                pid: old.pid,
                due: unix_now() + delay.as_secs(),
            });
            self.save(&slots)?;
            if delay.is_zero() {
                return self.gc().await;
            }
            Ok(vec![format!(
                "{} (the {} slot) kept for an instant rollback for {}; stopped by the first operation after that, or `shipgate-deploy gc`",
                old.release,
                live.other().name(),
                humantime::format_duration(delay)
            )])
        })
    }

    fn gc<'a>(&'a self) -> DriverFuture<'a, Vec<String>> {
        Box::pin(async move {
            let mut slots = self.slots()?;
            let Some(retire) = slots.retire.clone() else {
                return Ok(Vec::new());
            };
            if retire.due > unix_now() {
                return Ok(Vec::new());
            }
            let live = self.live()?;
            let slot = [Slot::Blue, Slot::Green]
                .into_iter()
                .find(|s| s.name() == retire.slot);
            let mut stopped = Vec::new();
            // Only the very process kept back, and only while it serves nothing (a
            // rollback to it since made it live again).
            if let Some(slot) = slot
                && live != Some(slot)
                && let Some(old) = slots.get(slot).cloned()
                && old.pid == retire.pid
            {
                stop(old.pid).await;
                slots.set(slot, None);
                stopped.push(format!(
                    "{} (the {} slot, stopped)",
                    old.release,
                    slot.name()
                ));
            }
            slots.retire = None;
            self.save(&slots)?;
            Ok(stopped)
        })
    }
}
